"""``whitepaper publish --supersedes`` with the very bytes of the version it supersedes and nothing else changed
is refused (exit 4, one line, the store as it was), on the day of publication or any later day; the same bytes
with a changed title, summary, TLP... are a new version, and a changed file is one as always
(docs/adr/0279-a-new-version-says-something-new.md)."""

from __future__ import annotations

from pathlib import Path

from tests.bundle.forge import snapshot
from tests.conftest import at

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "whitepaper"
MD = SAMPLES / "ru-infosec-strategy-2026.md"
MD2 = SAMPLES / "ru-infosec-strategy-2026-v2.md"


def _versions(party, doc: str) -> list[tuple[int, str, str]]:
    shown = party.cli("--json", "whitepaper", "show", doc).json()
    return [(v["version"], v["sha256"], v["title"]) for v in shown["versions"]]


def test_the_same_bytes_again_with_nothing_changed_are_refused(us_ru):
    us, _ = us_ru
    with at("2026-12-01T09:00:00Z"):
        r = us.cli("whitepaper", "publish", str(MD), "--title", "Strategy", "--issuer", "MoD", "--lang", "ru",
                   "--classification", "UNCLASSIFIED", "--json")
        assert r.exit_code == 0, r.stderr
        doc = r.json()["doc"]
    before = snapshot(us)
    for moment in ("2026-12-01T10:00:00Z", "2026-12-05T10:00:00Z"):  # the same day, and a later one
        with at(moment):
            r = us.cli("whitepaper", "publish", str(MD), "--supersedes", doc[:12])
        assert r.exit_code == 4, r.stderr
        assert r.stderr.startswith(f"cbm: error: these exact bytes are already version 1 of paper {doc[:12]}")
        assert "nothing new to publish" in r.stderr and "Traceback" not in r.stderr and r.stdout == ""
    assert snapshot(us) == before and len(_versions(us, doc)) == 1


def test_the_same_bytes_with_a_new_title_or_a_new_file_are_new_versions(us_ru):
    us, _ = us_ru
    r = us.cli("whitepaper", "publish", str(MD), "--title", "Strategy", "--issuer", "MoD", "--lang", "ru",
               "--classification", "UNCLASSIFIED", "--json")
    doc = r.json()["doc"]
    assert us.cli("whitepaper", "publish", str(MD), "--supersedes", doc, "--title", "Strategy (corrected)"
                  ).exit_code == 0
    assert us.cli("whitepaper", "publish", str(MD), "--supersedes", doc).exit_code == 4  # v2 said it already
    assert us.cli("whitepaper", "publish", str(MD2), "--supersedes", doc).exit_code == 0
    versions = _versions(us, doc)
    assert [(v, t) for v, _, t in versions] == [(1, "Strategy"), (2, "Strategy (corrected)"),
                                                (3, "Strategy (corrected)")]
    assert versions[0][1] == versions[1][1] != versions[2][1]
