"""Paths a user can type that the operating system refuses in ways ``Path.is_dir()``/``is_file()`` do not swallow
(a name over the 255-byte limit: ENAMETOOLONG), and paths with no file name ("/", "."). Each is one `cbm: error:`
line with its exit code, never a traceback."""

from __future__ import annotations

import pytest

from tests.cli.test_contract import assert_error

LONG = "x" * 5000  # one name far over NAME_MAX


@pytest.mark.parametrize("args, code, fragment", [
    (["bundle", "import", LONG], 5, "cannot read x"),
    (["bundle", "import", f"{LONG}/a.cbm"], 5, "cannot read x"),
    (["bundle", "verify", "{bundle}", "--keyring", LONG], 5, "keyring folder x"),
    (["taxii", "add", "h", "http://127.0.0.1:1/taxii2/", "--api-root", "/a/", "--collection", "c", "--user", "u",
      "--password-file", LONG], 5, "the password file x"),
    (["inquiry", "open", "--to", "RU", "--subject", "s", "--body", "b", "--attach", LONG], 5, "attachment x"),
    (["hotline", "check-export", "/"], 5, "cannot read /"),
    (["hotline", "check-export", ""], 5, "cannot read ."),
], ids=["bundle-import", "bundle-import-in-dir", "verify-keyring", "taxii-password-file", "inquiry-attach",
        "check-export-root", "check-export-empty"])
def test_a_path_the_system_refuses_is_one_error_line(us_ru, tmp_path, args, code, fragment):
    us, _ = us_ru
    bundle = tmp_path / "us-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(bundle), "--no-encrypt").exit_code == 0
    r = us.cli(*[str(bundle) if a == "{bundle}" else a for a in args])
    assert_error(r, code, fragment)
