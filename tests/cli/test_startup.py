"""`cbm status` and `cbm --help` stay light: what they import is checked, not timed (`make bench` times them)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cbm.measures.registry import MEASURES
from tests.conftest import Party

PROBE = """
import json, sys
from cbm.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(m for m in sys.modules if m.startswith(("rich", "cbm.measures.", "cbm.app.", "stix2")))),
      file=sys.stderr)
"""

# the measures' own work (service, fold, formats); index modules and the small modules they need (such as
# indicators.rows) are checked by the stricter tests below (a store opened to read loads no index module it does
# not query: docs/adr/0216-index-versions-as-data.md)
HEAVY = ("rich", "stix2", "cbm.measures.hotline.", "cbm.measures.inquiry.", "cbm.measures.whitepaper.",
         "cbm.measures.workgroup.", "cbm.measures.indicators.service", "cbm.measures.indicators.query",
         "cbm.measures.indicators.model", "cbm.measures.indicators.formats")
LIGHT = (".index", ".rows", ".records")


def _heavy(loaded: list[str], allowed: str = "") -> list[str]:
    return [m for m in loaded
            if m.startswith(HEAVY) and not m.endswith(LIGHT) and not (allowed and m.startswith(allowed))]


def _imported(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_status_on_a_tiny_store_imports_no_measure_and_no_rich(make_party):
    us: Party = make_party("US")
    loaded = _imported("--store", str(us.root), "status")
    # a measure with no records has nothing to report: it is not even imported (issue 16: 0.4 s of CPU)
    assert not _heavy(loaded)
    assert "cbm.app.status" in loaded  # the probe did run the command


def test_status_asks_only_the_measures_that_hold_records(us_ru):
    us, _ = us_ru
    assert us.cli("inquiry", "open", "--to", "RU", "--type", "request_for_information", "--precedence",
                  "ROUTINE", "--subject", "Scan", "--body", "Port scans.").exit_code == 0
    loaded = _imported("--store", str(us.root), "status")
    assert "cbm.measures.inquiry.service" in loaded or "cbm.measures.inquiry.model" in loaded
    assert not _heavy(loaded, allowed="cbm.measures.inquiry.")


def test_help_imports_no_measure():
    assert _imported("--help") == ["cbm.measures.registry"]  # the list of measures, names only


# Reading commands stay light (issue 20): no signature library and no index module they do not query. Each probe
# runs the command in a fresh interpreter, as `cbm` runs, and lists every module it loaded.
ALL_MODULES = """
import json, sys
from cbm.cli.main import app
try:
    app(sys.argv[1:])
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""
SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "indicators"
MEASURE_INDEXES = tuple(f"cbm.measures.{m.name}.index" for m in MEASURES)


def _loaded(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", ALL_MODULES, *args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


# What only a writer, a prompt or a card needs (issue 20): temporary files and durable renames, party cards, the
# passphrase prompt, and the socket module (IPv6 normalisation, when a value is one)
WRITERS_ONLY = ("tempfile", "cbm.core.files", "cbm.core.cards", "getpass", "socket")


def _unwanted(loaded: list[str], *needed: str) -> list[str]:
    """Signature code (nacl, the landing checks), measure index modules other than ``needed``, and what only
    writers need (:data:`WRITERS_ONLY`)."""
    return [m for m in loaded if m == "nacl" or m.startswith("nacl.") or m == "cbm.measures.indicators.checks"
            or (m in MEASURE_INDEXES and m not in needed) or m in WRITERS_ONLY]


@pytest.fixture
def with_indicators(make_party) -> Party:
    us: Party = make_party("US")
    r = us.cli("indicators", "import", str(SAMPLES / "feed.csv"), "--json")
    assert r.exit_code == 0, r.stderr
    return us


def test_help_imports_no_signature_code_and_no_index():
    loaded = _loaded("--help")
    assert not _unwanted(loaded)
    assert "typer" in loaded  # the probe did run
    # nor any dataclass: making one compiles its methods from source at every start; the registry that every
    # command loads holds named tuples (docs/adr/0243)
    assert "dataclasses" not in loaded


def test_status_imports_no_signature_code_and_no_index_module(with_indicators: Party):
    us = with_indicators
    for args in (("status",), ("status", "--json")):
        loaded = _loaded("--store", str(us.root), *args)
        # the indicators' attention counts flagged and expiring indicators with the three small queries of
        # status_queries: neither the index module nor the query filters load (docs/adr/0229)
        assert _unwanted(loaded) == []
        assert "cbm.measures.indicators.queries" not in loaded
        assert "cbm.measures.indicators.status_queries" in loaded  # the probe did ask the indicators
        assert "cbm.app.status" in loaded


def test_status_on_a_tiny_store_imports_no_index_module(make_party):
    us: Party = make_party("US")
    us.open().close()  # the first opening builds the (empty) index tables: that one loads every index module
    loaded = _loaded("--store", str(us.root), "status")
    assert _unwanted(loaded) == []
    # no peer yet: nothing waits to be sent, so the receipts that say what a peer holds are not read
    assert "cbm.bundle.receipts" not in loaded and "cbm.app.outbox" in loaded


# What status reads only when its table holds a row (docs/adr/0242): records held back for missing ones, claims
# a log's author contradicted, malformed peer records. A store at peace loads none of the three modules.
AT_PEACE = ("cbm.store.ingest", "cbm.store.claims", "cbm.measures.malformed")


def test_status_on_a_store_at_peace_reads_no_held_claim_or_malformed_module(us_ru):
    us, ru = us_ru
    assert ru.cli("inquiry", "open", "--to", "US", "--type", "request_for_information", "--precedence",
                  "ROUTINE", "--subject", "Scan", "--body", "Port scans.").exit_code == 0
    bundle = ru.root.parent / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle), "--no-encrypt").exit_code == 0
    assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    for args in (("status",), ("status", "--json")):
        loaded = _loaded("--store", str(us.root), *args)
        assert [m for m in loaded if m in AT_PEACE] == []
        assert "cbm.bundle.receipts" in loaded  # a peer: its outbox is read (the probe did run)


@pytest.mark.parametrize("args", [("indicators", "search", "198.51.100.23", "--json"),
                                  ("indicators", "search", "198.51.100.23"),
                                  ("indicators", "list", "--json"),
                                  ("indicators", "list")])
def test_indicator_queries_import_no_signature_code_and_no_index_module(with_indicators: Party, args):
    loaded = _loaded("--store", str(with_indicators.root), *args)
    # the queries read the index's rows through index_shape: the module that folds records (and what landing
    # needs: index_rows, the Bloom filter) does not load
    assert _unwanted(loaded) == []
    assert "cbm.measures.indicators.index_rows" not in loaded
    assert "cbm.measures.indicators.query" in loaded
    if "--json" in args:
        assert not [m for m in loaded if m == "rich" or m.startswith("rich.")]  # JSON needs no Rich console


# The console script's own path (cbm.cli.main:main, docs/adr/0246): the root help loads neither Typer nor typing
# (typing is a tenth of it), and status loads no Typer; the probes above call the Typer app directly.
ENTRY = """
import json, sys
sys.argv = ["cbm", *sys.argv[1:]]
from cbm.cli.main import main
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def _entry_loaded(*args: str) -> list[str]:
    proc = subprocess.run([sys.executable, "-c", ENTRY, *args], capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stderr.strip().splitlines()[-1])


def test_help_through_the_entry_point_loads_neither_typer_nor_typing():
    loaded = _entry_loaded("--help")
    assert "cbm.cli.root_help" in loaded  # the probe did print the kept help
    assert [m for m in loaded if m.split(".")[0] in ("typer", "typing", "rich") or m.startswith("cbm.store")
            or m.startswith("cbm.measures")] == []


def test_status_through_the_entry_point_loads_no_typer(with_indicators: Party):
    loaded = _entry_loaded("--store", str(with_indicators.root), "status")
    assert "cbm.app.status" in loaded and "cbm.cli.status_view" in loaded
    assert [m for m in loaded if m == "typer" or m.startswith(("typer.", "click"))] == []
    assert _unwanted(loaded) == []


# What `cbm status` and `cbm indicators search` must not load through the console script (issue 20,
# docs/adr/0256-reading-commands-load-no-record-codec.md): the record codec (DSSE, canonical JSON, orjson, which
# brings uuid, platform, dataclasses and json), base64, and the dataclasses module with the inspect, ast, dis and
# tokenize it imports. Each costs milliseconds at every start; these two commands read only index tables and keys.
NOT_FOR_READERS = ("dataclasses", "inspect", "ast", "dis", "tokenize", "orjson", "uuid", "platform", "base64",
                   "cbm.core.records", "cbm.core.dsse", "cbm.core.canonical", "cbm.store.record_rows")
# status reads no JSON column in a store whose keys were all confirmed by phone, and prints no JSON unless asked;
# search needs no key at all, so nothing computes a fingerprint (hashlib still loads: the indicator ids need it)
NOT_FOR_STATUS = (*NOT_FOR_READERS, "json")
NOT_FOR_SEARCH = (*NOT_FOR_READERS, "cbm.core.keys")

ENTRY_TIMED = """
import sys
sys.argv = ["cbm", *sys.argv[1:]]
from cbm.cli.main import main
try:
    main()
except SystemExit as e:
    assert not e.code, e.code
print(" ".join(sorted(sys.modules)), file=sys.stderr)
"""  # no json here: the probe itself must load nothing the commands are held to


def _chain(importtime: str, module: str) -> str:
    """Who imported ``module``, outermost last: ``a <- b <- c``, read from ``python -X importtime`` lines (each
    module's line comes after its own imports', indented one step deeper than its importer's)."""
    rows = []
    for line in importtime.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1]
            rows.append((len(name) - len(name.lstrip()), name.strip()))
    for i, (depth, name) in enumerate(rows):
        if name == module:
            chain = [name]
            for outer_depth, outer in rows[i + 1:]:
                if outer_depth < depth:
                    chain.append(outer)
                    depth = outer_depth
            return " <- ".join(chain)
    return f"{module} (not in the import log)"


def _entry_unwanted(root: Path, args: tuple[str, ...], unwanted: tuple[str, ...]) -> list[str]:
    """The modules of ``unwanted`` that ``cbm --store ROOT ARGS`` loads through the console script's own path,
    each with the chain of imports that brought it."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", ENTRY_TIMED, "--store", str(root), *args],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    loaded = proc.stderr.strip().splitlines()[-1].split()
    assert "cbm.cli.fast" in loaded and "typer" not in loaded  # the probe took the fast path
    return [_chain(proc.stderr, m) for m in unwanted if m in loaded]


def test_the_guard_names_the_chain_that_loaded_a_module():
    log = ("import time: self [us] | cumulative | imported package\n"
           "import time:        10 |         10 |       inspect\n"
           "import time:        20 |         30 |     dataclasses\n"
           "import time:         5 |          5 |     json\n"
           "import time:        40 |         75 |   cbm.core.records\n"
           "import time:        50 |        125 | cbm.store.db\n")
    assert _chain(log, "inspect") == "inspect <- dataclasses <- cbm.core.records <- cbm.store.db"
    assert _chain(log, "json") == "json <- cbm.core.records <- cbm.store.db"


def test_status_and_search_load_no_record_codec_and_no_dataclasses(with_indicators: Party):
    root = with_indicators.root
    for args in (("status",), ("status", "--wide", "--check")):
        assert _entry_unwanted(root, args, NOT_FOR_STATUS) == []
    assert _entry_unwanted(root, ("status", "--json"), NOT_FOR_READERS) == []
    for args in (("indicators", "search", "198.51.100.23"), ("indicators", "search", "198.51.100.23", "--json"),
                 ("indicators", "search", "example", "--substring", "--limit", "3")):
        assert _entry_unwanted(root, args, NOT_FOR_SEARCH) == []


def test_status_and_search_with_a_peer_load_no_record_codec(us_ru):
    # a peer's indicators landed from its bundle: status reads the outbox (receipts, bundles sent), search finds
    # the peer's rows; neither parses a record
    us, ru = us_ru
    assert ru.cli("indicators", "import", str(SAMPLES / "feed.csv")).exit_code == 0
    bundle = ru.root.parent / "ru-to-us.cbm"
    assert ru.cli("bundle", "export", "--to", "US", "-o", str(bundle), "--no-encrypt").exit_code == 0
    assert us.cli("bundle", "import", str(bundle)).exit_code == 0
    assert _entry_unwanted(us.root, ("status",), NOT_FOR_STATUS) == []
    assert _entry_unwanted(us.root, ("indicators", "search", "198.51.100.23"), NOT_FOR_SEARCH) == []
