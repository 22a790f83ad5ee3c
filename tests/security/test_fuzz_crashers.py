"""What the fuzzers found (fuzz/, docs/adr/0120), replayed through the real command line: one named fixture per
hostile input in tests/security/fuzz_crashers/<target>/, each refused with its documented exit code, one
``cbm: error:`` line, nothing on stdout, no traceback, and the store exactly as before.

A fixture is the fuzzer's input as it found it. Card and signed-bundle inputs are turned into the real file by
the target's own assembly (self-signed card, bundle signed by the fixed US key), so the file reaches exactly the
code the fuzzer reached; the stores here hold the same fixed fuzz keys.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cbm.core.cards import parse_card
from cbm.core.errors import CbmError
from fuzz.fuzz_bundle_signed import assemble
from fuzz.fuzz_card import card_bytes
from fuzz.harness import card, make_store
from tests.bundle.forge import snapshot
from tests.conftest import Party, Result, run_cli

FIXTURES = Path(__file__).resolve().parent / "fuzz_crashers"

# fixture -> the exit code its command must give (README, "Exit codes"); every fixture must be listed
EXPECTED: dict[str, int] = {
    "card/first-seq-past-2-53": 4,
    "card/serial-1e999.card": 4,
    "csv/valid-from-past-9999-in-utc.csv": 4,
    "csv/valid-until-past-9999-in-utc.csv": 4,
    "misp/attribute-list-a-number.json": 4,
    "misp/attribute-tag-list-a-number.json": 4,
    "misp/event-a-list.json": 4,
    "misp/event-not-an-object.json": 4,
    "misp/event-tag-list-a-number.json": 4,
    "misp/filename-hash-without-bar.json": 4,
    "misp/object-attribute-list-a-number.json": 4,
    "stix/marking-ref-an-object.json": 4,
    "stix/marking-refs-a-number.json": 4,
    "stix/valid-from-before-year-1-in-utc.json": 4,
    "stix/valid-until-a-list.json": 4,
    "stix/valid-until-a-number.json": 4,
}

FEED_FORMATS = {"csv": "csv", "plain": "txt", "stix": "stix", "misp": "misp"}


def _refused(r: Result, code: int) -> None:
    assert r.exit_code == code, (r.exit_code, r.stderr)
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    # one error line (an import lists each bad line above it, as `cbm: FILE: line N: ...`)
    assert len([line for line in r.stderr.splitlines() if line.startswith("cbm: error: ")]) == 1
    assert all(line.startswith(("cbm: ", "  ")) for line in r.stderr.splitlines())


def _fingerprint(data: bytes) -> str:
    """What the peer would read aloud: the fingerprint of the key in the card, where one can be read."""
    try:
        return parse_card(data).fingerprint
    except CbmError:
        return card("US").fingerprint


def _run(target: str, data: bytes, tmp: Path) -> list[tuple[Party, tuple[str, ...]]]:
    """The commands a user would run on the file this input stands for, each with the store it touches."""
    ru, us = Party("RU", make_store(tmp / "RU", "RU")), Party("US", make_store(tmp / "US", "US"))
    if target == "card":
        path = tmp / "peer.card"
        path.write_bytes(card_bytes(data))
        return [(ru, ("keys", "import", str(path), "--fingerprint", _fingerprint(path.read_bytes())))]
    if target in ("bundle", "bundle_signed"):
        path = tmp / "in.cbm"
        path.write_bytes(assemble(data) if target == "bundle_signed" else data)
        keyring = tmp / "keyring"
        keyring.mkdir()
        for party in ("US", "RU"):
            (keyring / f"{party}.card").write_bytes(card(party).envelope)
        return [(ru, ("bundle", "import", str(path))),
                (ru, ("bundle", "verify", str(path), "--deep", "--keyring", str(keyring)))]
    path = tmp / f"feed.{FEED_FORMATS[target]}"
    path.write_bytes(data)
    return [(us, ("indicators", "import", str(path), "--format", FEED_FORMATS[target]))]


def test_every_fixture_has_its_expected_exit_code() -> None:
    found = sorted(f"{p.parent.name}/{p.name}" for p in FIXTURES.glob("*/*") if p.is_file())
    assert found == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fuzzer_finding_is_refused_without_traceback(name: str, tmp_path: Path) -> None:
    target = name.split("/", 1)[0]
    for party, args in _run(target, (FIXTURES / name).read_bytes(), tmp_path):
        before = snapshot(party)
        _refused(party.cli(*args), EXPECTED[name])
        assert snapshot(party) == before


@pytest.mark.parametrize("name", sorted(n for n in EXPECTED if n.startswith("card/")))
def test_keyring_folder_skips_a_hostile_card(name: str, tmp_path: Path) -> None:
    """A keyring folder may hold other files: a card cbm refuses is skipped, and a good bundle still verifies."""
    keyring = tmp_path / "keyring"
    keyring.mkdir()
    for party in ("US", "RU"):
        (keyring / f"{party}.card").write_bytes(card(party).envelope)
    (keyring / "hostile.card").write_bytes(card_bytes((FIXTURES / name).read_bytes()))
    seed = Path(__file__).resolve().parents[2] / "fuzz" / "corpus" / "bundle" / "us-to-ru-plain.cbm"
    r = run_cli("bundle", "verify", str(seed), "--deep", "--keyring", str(keyring))
    assert r.exit_code == 0, r.stderr
    assert "Traceback" not in r.stderr
