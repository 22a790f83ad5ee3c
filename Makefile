# Every target builds its own virtual environment, so a fresh machine needs only python3 and make.
VENV    ?= .venv
PY      := $(VENV)/bin/python
CBM     := $(VENV)/bin/cbm
STAMP   := $(VENV)/.installed

.PHONY: setup test lint demo bench bench-smoke mutants clean tools fuzz fuzz-replay fuzz-seeds root-help

$(STAMP): pyproject.toml
	@echo "setup: creating $(VENV) and installing cbm with its dependencies (first run only, a minute or two)" >&2
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install --progress-bar on -e '.[dev]'
	@echo "setup: done; cbm is $(CBM)" >&2
	touch $(STAMP)

setup: $(STAMP) tools

# The real minisign binary verifies detached bundle signatures in the tests and the demo; the real openssl
# makes the private CA the TAXII TLS tests serve with.
tools:
	@command -v minisign >/dev/null 2>&1 && command -v openssl >/dev/null 2>&1 || { \
	  echo "installing minisign and openssl (Debian packages)" >&2; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq minisign openssl >/dev/null; }

# The suite runs on every core (pytest-xdist; docs/adr/0302): TEST_WORKERS=0 runs it in one process.
# The benchmark's own end-to-end runs (marked bench) are `make bench-smoke`, which CI runs too (docs/adr/0306).
TEST_WORKERS ?= auto
test: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m "not bench"

bench-smoke: setup
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal -m bench tests/bench

# Each check that keeps a peer from speaking for another party, weakened in a copy of the tree, must fail the
# tests named for it (mutants/checks.py; docs/adr/0307). About 2 min on 2 cores.
mutants: setup
	$(PY) -m mutants.run $(MUTANTS_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# The root help the fast path prints without Typer (docs/adr/0246): written from the Typer app; run it after
# changing the root's options or its list of commands (tests/cli/test_fast_path.py fails until then).
root-help: setup
	$(PY) -c "from cbm.cli.root import write_help; write_help()"

demo: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" bash sample-data/demo.sh

# The many-parties simulation (bench/parties.py): N stores, a day and two exchange rounds each (--rounds in
# PARTIES_ARGS). 57 takes hours on 2 cores (README, "Many parties").
BENCH_PARTIES ?= 3,10,30,57

bench: setup
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/run.py --parties $(BENCH_PARTIES) $(PARTIES_ARGS)

# Coverage-guided fuzzing (docs/adr/0120): each target in turn for FUZZ_SECONDS, starting from the committed
# seeds (fuzz/corpus/T), the fixed crashers (tests/security/fuzz_crashers/T) and what earlier runs found
# (fuzz/work/T, not committed). A crash or a hang (over 10 s for one input) stops the run with exit 1 and leaves
# the input in fuzz/crashes/. atheris comes from the `fuzz` extra.
FUZZ_SECONDS ?= 300
FUZZ_TARGETS ?= bundle bundle_signed card csv plain stix misp
FUZZ_STAMP   := $(VENV)/.fuzz-installed

$(FUZZ_STAMP): $(STAMP)
	@echo "fuzz: installing atheris (the project's fuzz extra; first run only)" >&2
	$(PY) -m pip install -q -e '.[dev,fuzz]'
	touch $(FUZZ_STAMP)

fuzz: setup $(FUZZ_STAMP)
	@mkdir -p fuzz/crashes
	@for t in $(FUZZ_TARGETS); do \
	  mkdir -p fuzz/work/$$t; \
	  echo "fuzz: $$t for $(FUZZ_SECONDS) s" >&2; \
	  found=$$( [ -d tests/security/fuzz_crashers/$$t ] && echo tests/security/fuzz_crashers/$$t ); \
	  $(PY) -m fuzz.fuzz_$$t fuzz/work/$$t fuzz/corpus/$$t $$found -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	    -rss_limit_mb=2048 -max_len=65536 -artifact_prefix=fuzz/crashes/$$t- -print_final_stats=1 \
	    2> fuzz/work/$$t.log || { tail -n 40 fuzz/work/$$t.log >&2; echo "fuzz: $$t CRASHED (input in fuzz/crashes/)" >&2; exit 1; }; \
	  grep -E "^stat::number_of_executed_units|^Done" fuzz/work/$$t.log >&2 || true; \
	done

# Run every committed seed and every fixed crasher through its target once, without atheris.
fuzz-replay: setup
	@for t in $(FUZZ_TARGETS); do \
	  $(PY) -m fuzz.fuzz_$$t --replay fuzz/corpus/$$t tests/security/fuzz_crashers/$$t || exit 1; done

# Rewrite the seed corpora from real stores and tests/data (fuzz/seeds.py).
fuzz-seeds: setup
	$(PY) -m fuzz.seeds

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-out fuzz/work
