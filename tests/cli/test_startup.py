"""`cbm status` and `cbm --help` stay light: what they import is checked, not timed (`make bench` times them)."""

from __future__ import annotations

import json
import subprocess
import sys

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

# the measures' own work (service, fold, formats); the store opens every measure's index module (its tables and
# version) and the small modules those need, such as indicators.rows, so those do not count here
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
