"""cbm started with its standard input closed (`cbm ... <&-`, some schedulers and service managers): Python then
has no ``sys.stdin``. Reading `-` is one error line (exit 2); commands that do not read stdin are not affected."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.cli.test_contract import assert_error
from tests.conftest import Result


def _closed_stdin(party, *args: str) -> Result:
    proc = subprocess.run([sys.executable, "-c", "from cbm.cli.main import main; main()", "--store", str(party.root),
                           *args], capture_output=True, preexec_fn=lambda: os.close(0), timeout=120)
    return Result(proc.returncode, proc.stdout.decode(), proc.stderr.decode())


@pytest.mark.parametrize("args", [
    ["bundle", "import", "-"],
    ["bundle", "verify", "-"],
    ["keys", "import", "-", "--fingerprint", "AAAA"],
    ["inquiry", "open", "--to", "RU", "--subject", "s", "--body-file", "-"],
    ["hotline", "send", "--to", "RU"],
], ids=["bundle-import", "bundle-verify", "keys-import", "inquiry-body", "hotline-send"])
def test_reading_a_closed_stdin_is_one_error_line(us_ru, args):
    us, _ = us_ru
    assert_error(_closed_stdin(us, *args), 2, "standard input is closed")


def test_a_file_is_read_with_stdin_closed(us_ru, tmp_path):
    """Closing the file after an import compared it with ``sys.stdin.buffer``: with stdin closed, a traceback
    after the bundle had landed."""
    us, ru = us_ru
    bundle = tmp_path / "us-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle), "--no-encrypt").exit_code == 0
    r = _closed_stdin(ru, "bundle", "import", str(bundle))
    assert r.exit_code == 0, r.stderr
    assert _closed_stdin(ru, "bundle", "verify", str(bundle)).exit_code == 0
