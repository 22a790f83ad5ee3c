"""White paper domain logic over real stores: versions, withdrawal, translations, acknowledgements, search.

Records travel between stores here through ``cbm.store.ingest`` plus a blob copy (what bundle import does);
tests/e2e/test_whitepaper_e2e.py sends them through real bundle files.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from cbm.app.reactions import after_import
from cbm.core.errors import IllegalTransition, InputRejected, NotFound, TamperedContent, UsageError
from cbm.measures import malformed
from cbm.measures.whitepaper import diff as wp_diff
from cbm.measures.whitepaper import files as wp_files
from cbm.measures.whitepaper import index as wp_index
from cbm.measures.whitepaper import reactions as wp_reactions
from cbm.measures.whitepaper import service as wp
from cbm.store.ingest import ingest
from tests.conftest import Party

SAMPLES = Path(__file__).resolve().parents[2] / "sample-data" / "whitepaper"
PDF = SAMPLES / "ru-infosec-strategy-2026-en.pdf"
MD = SAMPLES / "ru-infosec-strategy-2026.md"
MD2 = SAMPLES / "ru-infosec-strategy-2026-v2.md"


def deliver(src: Party, dst: Party, *, with_files: bool = True) -> list:
    """Land every record of ``src``'s store in ``dst`` (and the files they list), then run the import hooks."""
    with src.open() as s, dst.open() as d:
        records = [r for author in [s.party, *s.peers()] for r in s.log(author)]
        if with_files:
            for r in records:
                for sha in r.body.get("blobs", []):
                    with open(s.blobs.path(sha), "rb") as f:
                        d.blobs.put(f, expected=sha)
        report = ingest(d, [r.envelope for r in records if r.author != d.party])
        return after_import(d, report.landed)


def pub(party: Party, path: Path = MD, **kw):
    args = {"title": "Information security strategy", "issuer": "Ministry of Defence", "lang": "ru",
            "classification": "UNCLASSIFIED", "tlp": "CLEAR"} | kw
    with party.open() as store:
        return wp.publish(store, path, **args)


def counts(party: Party) -> tuple[int, int]:
    with party.open() as store:
        blobs = sum(1 for p in store.blobs.root.rglob("*") if p.is_file()) if store.blobs.root.exists() else 0
        return sum(store.counts()["by_author"].values()), blobs


@pytest.mark.parametrize("mark", ["SECRET", "CONFIDENTIAL", "UNCLASSIFIED//FOUO", "U", "TOP SECRET", ""])
def test_any_mark_but_unclassified_is_refused_and_nothing_stored(us_ru, mark):
    us, _ = us_ru
    before = counts(us)
    with pytest.raises(InputRejected, match="only UNCLASSIFIED"):
        pub(us, classification=mark)
    assert counts(us) == before


def test_missing_mark_is_a_usage_error_and_spacing_case_are_normalised(us_ru):
    us, _ = us_ru
    with pytest.raises(UsageError, match="classification"):
        pub(us, classification=None)
    record = pub(us, classification="  unclassified ")
    assert record.body["classification"] == "UNCLASSIFIED"


def test_record_names_the_file_by_hash_and_lists_its_blob(us_ru):
    us, _ = us_ru
    r = pub(us, PDF, lang="en", summary="Priorities for 2026", date="2026-11-01")
    f = r.body["file"]
    assert f["media_type"] == "application/pdf" and f["filename"] == PDF.name
    assert f["size"] == PDF.stat().st_size
    assert r.body["blobs"] == [f["sha256"]]
    assert (r.body["version"], r.body["supersedes"], r.body["date"], r.tlp) == (1, None, "2026-11-01", "CLEAR")
    with us.open() as store:
        assert store.blobs.path(f["sha256"]).read_bytes() == PDF.read_bytes()


def test_identical_bytes_twice_refused_unless_new_version(us_ru):
    us, _ = us_ru
    first = pub(us)
    before = counts(us)
    with pytest.raises(InputRejected, match="already published as version 1"):
        pub(us, title="Another title")
    assert counts(us) == before
    second = pub(us, supersedes=first.hash[:8], title="Corrected title")
    assert second.body["version"] == 2 and second.body["file"] == first.body["file"]


def test_version_chain_and_withdrawal_keep_everything(us_ru, tmp_path):
    us, ru = us_ru
    v1 = pub(us)
    v2 = pub(us, MD2, supersedes=v1.hash)
    assert (v2.body["ref"], v2.body["version"], v2.body["supersedes"]) == (v1.hash, 2, v1.hash)
    assert (v2.body["title"], v2.body["lang"], v2.tlp) == (v1.body["title"], "ru", "CLEAR")  # inherited
    with us.open() as store:
        w = wp.withdraw(store, v2.hash[:10], "replaced by the 2027 strategy")
        paper = wp.describe(store, v1.hash[:6])
        assert [(v.version, v.state) for v in paper.versions] == [(1, "superseded"), (2, "superseded"),
                                                                   (3, "withdrawal")]
        assert paper.status == "withdrawn" and w.body["supersedes"] == v2.hash
        # nothing deleted: both files still come out, byte for byte
        wp_files.save_file(store, wp_files.choose_file(store, v1.hash, version=1), tmp_path / "v1.md")
        wp_files.save_file(store, wp_files.choose_file(store, v1.hash), tmp_path / "latest.md")
        with pytest.raises(IllegalTransition, match="already withdrawn"):
            wp.withdraw(store, v1.hash, "again")
        with pytest.raises(NotFound, match="withdrawal and has no file"):
            wp_files.choose_file(store, v1.hash, version=3)
    assert (tmp_path / "v1.md").read_bytes() == MD.read_bytes()
    assert (tmp_path / "latest.md").read_bytes() == MD2.read_bytes()
    with pytest.raises(IllegalTransition, match="withdrawn"):
        pub(us, PDF, supersedes=v1.hash)
    # the peer sees the same chain
    deliver(us, ru)
    with ru.open() as store:
        assert [v.state for v in wp.describe(store, v1.hash).versions] == ["superseded", "superseded",
                                                                           "withdrawal"]


def test_only_the_issuer_versions_or_withdraws(us_ru):
    us, ru = us_ru
    v1 = pub(ru)
    deliver(ru, us)
    with us.open() as store:
        with pytest.raises(IllegalTransition, match="only its issuer"):
            wp.publish(store, MD2, title=None, issuer=None, lang=None, classification="UNCLASSIFIED",
                       supersedes=v1.hash)
        with pytest.raises(IllegalTransition, match="only its issuer"):
            wp.withdraw(store, v1.hash, "not yours")


def test_a_peers_new_version_of_another_authors_paper_is_kept_but_ignored(us_ru):
    """US signs a version 2 of RU's paper (bypassing `publish`, which refuses it): only RU versions RU's papers, so
    at RU the paper stays at RU's version 1 and US's record is listed as not folded in, kept as signed evidence."""
    us, ru = us_ru
    v1 = pub(ru)
    deliver(ru, us)
    with us.open() as store:
        body = dict(store.get(v1.hash).body)
        body.update(version=2, ref=v1.hash, supersedes=v1.hash, title="Information security strategy (amended)")
        forged = store.append("whitepaper.publish", body, to=("*",), tlp="CLEAR")
    deliver(us, ru)
    with ru.open() as store:
        [paper] = wp.list_papers(store)
        assert (paper.current_version, paper.author, paper.title) == (1, "RU", "Information security strategy")
        [(digest, author, _kind, reason)] = store.query(wp_index.invalid)  # listed for `cbm status`
        assert (digest, author) == (forged.hash, "US") and "supersedes does not name version 1" in reason
        assert store.get(forged.hash).hash == forged.hash  # kept as signed evidence


def test_translations_link_to_the_version_they_translate(us_ru, tmp_path):
    us, ru = us_ru
    v1 = pub(ru)
    v2 = pub(ru, MD2, supersedes=v1.hash)
    with ru.open() as store:
        official = wp.translate(store, v1.hash, PDF, lang="EN", official=True, version=1,
                                title="Information security strategy (2026)")
    assert (official.body["of"], official.body["version"], official.body["official"]) == (v1.hash, 1, True)
    deliver(ru, us)
    (tmp_path / "us-en.txt").write_text("Courtesy translation of revision 2\n")
    with us.open() as store:
        with pytest.raises(IllegalTransition, match="only RU"):
            wp.translate(store, v1.hash, tmp_path / "us-en.txt", lang="en", official=True)
        courtesy = wp.translate(store, v1.hash, tmp_path / "us-en.txt", lang="en")
        assert courtesy.body["of"] == v2.hash and courtesy.body["official"] is False
        paper = wp.describe(store, v1.hash)
        assert [(t.lang, t.of_version, t.official, t.by) for t in paper.translations] == [
            ("en", 1, True, "RU"), ("en", 2, False, "US")]
        assert wp_files.choose_file(store, v1.hash, lang="en", version=1).record == official.hash
        assert wp_files.choose_file(store, v1.hash, lang="en").record == courtesy.hash  # newest version first
        assert wp.describe(store, official.hash[:8]).doc == v1.hash  # a translation id finds its paper
        with pytest.raises(NotFound, match="no fr translation"):
            wp_files.choose_file(store, v1.hash, lang="fr")


def test_a_peers_official_translation_of_another_authors_paper_is_kept_but_ignored(us_ru, tmp_path):
    """US signs a translation of RU's paper marked official (bypassing `translate`, which refuses it): only RU
    issues official translations of RU's papers, so at RU the paper lists only US's unofficial one, and the
    forged record is listed as not folded in."""
    us, ru = us_ru
    v1 = pub(ru)
    deliver(ru, us)
    (tmp_path / "us-en.txt").write_text("Our own rendering\n")
    with us.open() as store:
        courtesy = wp.translate(store, v1.hash, tmp_path / "us-en.txt", lang="en")
        forged = store.append("whitepaper.translate", dict(courtesy.body, official=True), to=("*",), tlp="CLEAR")
    deliver(us, ru)
    with ru.open() as store:
        assert [(t.by, t.official) for t in wp.describe(store, v1.hash).translations] == [("US", False)]
        [(digest, author, _kind, reason)] = store.query(wp_index.invalid)
        assert (digest, author) == (forged.hash, "US") and "only the document's author" in reason


def test_a_withdrawn_paper_takes_no_new_version_and_its_withdrawal_no_translation(us_ru, tmp_path):
    """RU withdraws its paper; then RU's own tool signs a version 3 superseding the withdrawal, and US's signs a
    translation "of" the withdrawal record (the CLI refuses both). A withdrawal is final and has no text to
    translate: at both stores the paper stays withdrawn at version 2 with no translation, and both records are
    listed as not folded in."""
    us, ru = us_ru
    v1 = pub(ru)
    with ru.open() as store:
        withdrawal = wp.withdraw(store, v1.hash, "superseded by the 2027 strategy")
        body = dict(store.get(v1.hash).body)
        body.update(version=3, ref=v1.hash, supersedes=withdrawal.hash, title="Information security strategy (back)")
        revived = store.append("whitepaper.publish", body, to=("*",), tlp="CLEAR")
    deliver(ru, us)
    (tmp_path / "us-en.txt").write_text("Our own rendering\n")
    with us.open() as store:
        courtesy = wp.translate(store, v1.hash, tmp_path / "us-en.txt", lang="en")
        of_withdrawal = store.append("whitepaper.translate", dict(courtesy.body, of=withdrawal.hash), to=("*",),
                                     tlp="CLEAR")
    deliver(us, ru)
    for party in (us, ru):
        with party.open() as store:
            [paper] = wp.list_papers(store)
            assert (paper.current_version, paper.status, paper.title) == (2, "withdrawn",
                                                                          "Information security strategy")
            assert [(t.by, t.of_version) for t in wp.describe(store, v1.hash).translations] == [("US", 1)]
            invalid = {digest: reason for digest, _author, _kind, reason in store.query(wp_index.invalid)}
        assert set(invalid) == {revived.hash, of_withdrawal.hash}, party.code
        assert "already withdrawn" in invalid[revived.hash]
        assert "of does not name a published version" in invalid[of_withdrawal.hash]


def test_import_acknowledges_each_version_once_and_issuer_sees_it(us_ru):
    us, ru = us_ru
    v1 = pub(ru)
    acks = deliver(ru, us)
    assert [(a.kind, a.body["of"], a.body["sha256"], a.to) for a in acks] == [
        ("whitepaper.ack", v1.hash, v1.body["file"]["sha256"], ("RU",))]
    assert deliver(ru, us) == []  # idempotent: no second acknowledgement
    v2 = pub(ru, MD2, supersedes=v1.hash)
    assert [a.body["of"] for a in deliver(ru, us)] == [v2.hash]
    deliver(us, ru)
    with ru.open() as store:
        receipts = wp.describe(store, v1.hash).receipts
    assert [(r.by, r.what) for r in receipts] == [("US", "version 1"), ("US", "version 2")]


def test_paper_without_its_file_is_not_acknowledged_until_the_file_arrives(us_ru):
    us, ru = us_ru
    v1 = pub(ru, PDF, lang="en")
    assert deliver(ru, us, with_files=False) == []
    with us.open() as store:
        items = wp_reactions.attention(store)
        assert [i.ref for i in items] == [v1.hash] and "without its file" in items[0].text
        with pytest.raises(NotFound, match="not in this store"):
            list(wp_files.read_file(store, wp_files.choose_file(store, v1.hash)))
    acks = deliver(ru, us)
    assert [a.body["of"] for a in acks] == [v1.hash]
    with us.open() as store:
        assert wp_reactions.attention(store) == []


def test_peer_record_breaking_the_rules_is_kept_but_ignored(us_ru):
    us, ru = us_ru
    with ru.open() as store:  # a peer that bypasses `publish`: signed, but marked SECRET
        sha, size = store.blobs.put_file(MD)
        bad = store.append("whitepaper.publish", {
            "title": "T", "issuer": "I", "lang": "ru", "classification": "SECRET", "date": "2026-11-01",
            "summary": "", "version": 1, "supersedes": None, "blobs": [sha],
            "file": {"sha256": sha, "size": size, "media_type": "text/markdown", "filename": "x.md"}})
    assert deliver(ru, us) == []
    with us.open() as store:
        assert wp.list_papers(store) == []
        assert [(m.hash, m.author) for m in store.query(malformed.listed)] == [(bad.hash, "RU")]
        assert "not UNCLASSIFIED" in store.query(malformed.listed)[0].reason
        assert store.get(bad.hash).hash == bad.hash  # kept as signed evidence


def test_search_covers_metadata_markdown_and_pdf_text(us_ru):
    us, ru = us_ru
    md = pub(ru, summary="Приоритеты защиты")
    with ru.open() as store:
        wp.translate(store, md.hash, PDF, lang="en", official=True)
    other = pub(us, _write(us.root.parent / "other.txt", "Notes on election systems\n"), lang="en",
                title="Election security study", issuer="Department of Defense")
    deliver(ru, us)
    with us.open() as store:
        def found(term: str, **kw) -> list[str]:
            return [p.doc for p in wp.list_papers(store, search=term, **kw)]
        assert found("инфраструктур") == [md.hash]      # Markdown body, Cyrillic, prefix
        assert found("ПРИОРИТЕТЫ") == [md.hash]          # summary, case-folded
        assert found("Nuclear Risk Reduction") == [md.hash]  # text of the PDF translation (pypdf)
        assert found("election") == [other.hash]
        assert found("Department Defense") == [other.hash]
        assert found("election infrastructure") == []   # every word must match
        assert found('"; DROP TABLE') == []              # no FTS syntax reaches SQLite
        assert [p.doc for p in wp.list_papers(store, author="ru")] == [md.hash]
        assert {p.doc for p in wp.list_papers(store, lang="en")} == {other.hash, md.hash}  # or a translation
        with pytest.raises(UsageError):
            wp.list_papers(store, search="  ...  ")
        # a rebuilt index finds the same (text re-extracted on demand)
        store.rebuild()
        assert found("Nuclear") == [md.hash] and found("инфраструктур") == [md.hash]


def _write(path: Path, text: str) -> Path:
    path.write_text(text, "utf-8")
    return path


def test_altered_file_on_disk_is_caught_on_the_way_out(us_ru, tmp_path):
    us, _ = us_ru
    r = pub(us, PDF, lang="en")
    sha = r.body["file"]["sha256"]
    with us.open() as store:
        path = store.blobs.path(sha)
        data = bytearray(path.read_bytes())
        data[100] ^= 0x01
        path.write_bytes(bytes(data))
        with pytest.raises(TamperedContent):
            wp_files.save_file(store, wp_files.choose_file(store, r.hash), tmp_path / "out.pdf")
    assert not (tmp_path / "out.pdf").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".cbm-get")] == []


def test_diff_text_and_metadata(us_ru):
    us, _ = us_ru
    v1 = pub(us)
    v2 = pub(us, MD2, supersedes=v1.hash, summary="Revised response times")
    v3 = pub(us, PDF, supersedes=v1.hash, lang="en")
    with us.open() as store:
        d = wp_diff.diff(store, v1.hash, 1, 2)
        assert d.metadata["summary"] == ["", "Revised response times"]
        assert d.text_diff is not None and "+Национальный центр" in d.text_diff and "12 часов" in d.text_diff
        assert d.text_diff.startswith("--- v1/")
        d = wp_diff.diff(store, v1.hash)  # default: the newest against the one before
        assert (d.from_version, d.to_version, d.text_diff) == (2, 3, None)
        assert d.metadata["media_type"] == ["text/markdown", "application/pdf"] and "not text" in (d.note or "")
        with pytest.raises(NotFound):
            wp_diff.diff(store, v1.hash, 1, 9)
    assert v3.body["version"] == 3 and v2.body["version"] == 2


def test_a_broken_pdf_is_published_and_found_by_metadata_its_text_marked_failed(us_ru, tmp_path):
    us, _ = us_ru
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\n" + bytes(range(256)) * 40)
    r = pub(us, broken, lang="en", title="Damaged annex")
    with us.open() as store:
        [version] = wp.describe(store, r.hash).versions
        assert version.media_type == "application/pdf" and version.text in ("failed", "none")
        assert [p.doc for p in wp.list_papers(store, search="damaged")] == [r.hash]


def test_media_type_detection(tmp_path):
    cases = {"a.pdf": b"%PDF-1.4 x", "paper": b"%PDF-1.4 x", "notes": "Заметки\n".encode(),
             "blob": b"\x00\x01\x02", "a.md": b"# x", "a.docx": b"PK\x03\x04"}
    found = {}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        found[name] = wp.detect_media_type(tmp_path / name)
    assert found == {"a.pdf": "application/pdf", "paper": "application/pdf", "notes": "text/plain",
                     "blob": "application/octet-stream", "a.md": "text/markdown",
                     "a.docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}


def test_a_record_whose_size_does_not_match_its_file_is_not_acknowledged(us_ru):
    us, ru = us_ru
    with ru.open() as store:  # signed by RU, but the size it states is not the file's
        sha, size = store.blobs.put_file(MD)
        liar = store.append("whitepaper.publish", {
            "title": "T", "issuer": "I", "lang": "ru", "classification": "UNCLASSIFIED", "date": "2026-11-01",
            "summary": "", "version": 1, "supersedes": None, "blobs": [sha],
            "file": {"sha256": sha, "size": size + 1, "media_type": "text/markdown", "filename": "x.md"}})
    assert deliver(ru, us) == []
    with us.open() as store:
        assert [i.ref for i in wp_reactions.attention(store)] == [liar.hash]
        with pytest.raises(TamperedContent, match="record says"):
            list(wp_files.read_file(store, wp_files.choose_file(store, liar.hash)))
