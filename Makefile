# Every target builds its own virtual environment, so a fresh machine needs only python3 and make.
VENV    ?= .venv
PY      := $(VENV)/bin/python
CBM     := $(VENV)/bin/cbm
STAMP   := $(VENV)/.installed

.PHONY: setup test lint demo bench clean tools

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

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

demo: setup
	PATH="$(abspath $(VENV))/bin:$$PATH" bash sample-data/demo.sh

# The many-parties simulation (bench/parties.py): N stores, one full round each. 57 takes hours on 2 cores.
BENCH_PARTIES ?= 3,10,30,57

bench: setup
	$(PY) bench/run.py $(BENCH_ARGS)
	$(PY) bench/run.py --parties $(BENCH_PARTIES) $(PARTIES_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo-out
