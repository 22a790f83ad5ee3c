"""`cbm indicators pull` and `push` against a real medallion: cursor, paging, resume, markings, chunking,
per-object failures, nothing pushed twice."""

from __future__ import annotations

import json
import sqlite3

from cbm.measures.indicators import model
from tests.conftest import DATA
from tests.taxii.conftest import READ_ONLY, WRITABLE, indicator


def _add_source(party, medallion, name="internal", collection=WRITABLE):
    r = party.cli("taxii", "add", name, *medallion.add_cli_args(collection))
    assert r.exit_code == 0, r.stderr
    return r


def _count(party) -> int:
    with party.open() as store:
        return int(store.conn.execute("SELECT COUNT(*) FROM ind").fetchone()[0])


def test_pull_fetches_every_page_then_only_what_is_new(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(n) for n in range(1, 26)])  # 25 objects, pages of 10
    _add_source(us, medallion)
    r = us.cli("indicators", "pull", "internal", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["schema"] == "cbm.indicators.pull/1"
    assert (doc["objects"], doc["created"], doc["pages"]) == (25, 25, 3)
    assert doc["cursor"] and doc["added_after"] is None
    assert _count(us) == 25
    again = us.cli("indicators", "pull", "internal", "--json").json()
    assert (again["created"], again["records"], again["added_after"]) == (0, 0, doc["cursor"])
    medallion.post([indicator(n) for n in range(26, 29)])
    third = us.cli("indicators", "pull", "internal", "--json").json()
    # medallion dates a whole envelope alike: the last one comes again (unchanged), then the new one
    assert (third["created"], third["unchanged"], third["records"]) == (3, 25, 1)
    assert third["added_after"] == doc["cursor"] != third["cursor"]
    assert _count(us) == 28
    medallion.post([indicator(29)])
    fourth = us.cli("indicators", "pull", "internal", "--json").json()
    assert (fourth["objects"], fourth["created"]) == (4, 1)  # the earlier envelopes are not fetched again


def test_pulled_indicators_keep_ids_and_markings_become_tlp(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(1, tlp_ref=model.TLP_MARKING_IDS["AMBER"]),
                    indicator(2, tlp_ref="marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"),  # TLP1 WHITE
                    indicator(3)])
    _add_source(us, medallion)
    doc = us.cli("indicators", "pull", "internal", "--json").json()
    assert doc["by_tlp"] == {"AMBER": 1, "CLEAR": 1, "GREEN": 1}
    shown = us.cli("indicators", "show", "indicator--00000000-0000-4000-8000-000000000001", "--json")
    assert shown.exit_code == 0 and "AMBER" in shown.stdout


def test_pull_accepts_what_the_stix_importer_accepts(us_ru, medallion):
    us, _ = us_ru
    objects = []
    for name in ("indicator-for-malicious-url.json", "malware-indicator-for-file-hash.json"):
        objects += json.loads((DATA / "stix21" / "oasis-cti-documentation" / name).read_text())["objects"]
    medallion.post(objects)
    _add_source(us, medallion)
    doc = us.cli("indicators", "pull", "internal", "--json").json()
    assert doc["created"] == 2
    assert doc["kept_objects"] == {"malware": 2, "relationship": 2}


def test_a_cut_off_pull_resumes_without_loss_or_duplicates(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(n) for n in range(1, 16)])
    medallion.post([{"type": "indicator", "id": "indicator--bad", "spec_version": "2.1"}])  # page 2 is bad
    medallion.post([indicator(n) for n in range(16, 21)])
    _add_source(us, medallion)
    r = us.cli("indicators", "pull", "internal")
    assert r.exit_code == 4 and "object" in r.stderr
    landed = _count(us)
    assert landed == 10  # page 1 landed with its cursor; the bad page and those after it did not
    r = us.cli("indicators", "pull", "internal", "--skip-invalid", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    # resumed from page 1's cursor: the rest of its envelope (same date_added) came again, nothing was lost
    assert doc["invalid"] == 1 and doc["created"] == 10 and doc["records"] >= 1
    assert _count(us) == 20


def test_pull_since_overrides_the_cursor_and_is_idempotent(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(n) for n in range(1, 4)])
    _add_source(us, medallion)
    us.cli("indicators", "pull", "internal")
    doc = us.cli("indicators", "pull", "internal", "--since", "2000-01-01T00:00:00Z", "--json").json()
    assert (doc["objects"], doc["created"], doc["unchanged"]) == (3, 0, 3)


def test_push_chunks_under_max_content_length_and_never_twice(us_ru, medallion):
    us, ru = us_ru
    feed = "\n".join(f"203.0.113.{n}" for n in range(1, 61)) + "\n"
    (us.root.parent / "feed.txt").write_text(feed)
    assert us.cli("indicators", "import", str(us.root.parent / "feed.txt")).exit_code == 0
    _add_source(us, medallion)
    r = us.cli("indicators", "push", "internal", "--json")
    assert r.exit_code == 0, r.stderr
    doc = r.json()
    assert doc["succeeded"] == 62 and doc["failed"] == 0  # 60 indicators, our identity, TLP:GREEN
    assert doc["envelopes"] > 1  # 62 objects do not fit the server's 20000 bytes at once
    served = medallion.objects()
    assert len([o for o in served if o["type"] == "indicator"]) == 60
    again = us.cli("indicators", "push", "internal", "--json").json()
    assert (again["sent"], again["already_pushed"]) == (0, 62)
    shown = us.cli("taxii", "show", "internal", "--json").json()
    assert shown["pushed"] == 62


def test_push_filters_by_author_and_tlp(us_ru, medallion, tmp_path):
    us, _ = us_ru
    us.cli("indicators", "add", "--value", "203.0.113.1", "--tlp", "GREEN")
    us.cli("indicators", "add", "--value", "203.0.113.2", "--tlp", "RED", "--to", "RU")
    _add_source(us, medallion)
    doc = us.cli("indicators", "push", "internal", "--tlp-max", "AMBER", "--json").json()
    assert doc["succeeded"] == 3  # the GREEN one, identity, marking: RED stays home
    assert us.cli("indicators", "push", "internal", "--from", "RU", "--json").json()["selected"] == 0


def test_push_reports_objects_the_server_refuses(us_ru, medallion):
    us, _ = us_ru
    us.cli("indicators", "add", "--value", "203.0.113.9")
    _add_source(us, medallion)
    assert us.cli("indicators", "push", "internal").exit_code == 0
    with us.open() as store:  # forget what was pushed: medallion refuses the same id and version again
        store.conn.execute("DELETE FROM taxii_pushed")
    r = us.cli("indicators", "push", "internal", "--json")
    assert r.exit_code == 4
    assert json.loads(r.stdout)["failed"] == 3
    assert "not accepted" in r.stderr and "cbm: error: 3 object(s) not accepted" in r.stderr


def test_push_to_a_read_only_collection_is_refused_before_sending(us_ru, medallion):
    us, _ = us_ru
    us.cli("indicators", "add", "--value", "203.0.113.9")
    _add_source(us, medallion, collection=READ_ONLY)
    r = us.cli("indicators", "push", "internal")
    assert r.exit_code == 7 and "does not let us write" in r.stderr
    assert medallion.objects(READ_ONLY) == []


def test_wrong_password_and_unknown_collection(us_ru, medallion, tmp_path):
    us, _ = us_ru
    bad = tmp_path / "bad-pw"
    bad.write_text("wrong")
    args = medallion.add_cli_args()
    args[args.index(str(medallion.password_file))] = str(bad)
    assert us.cli("taxii", "add", "wrong", *args).exit_code == 0
    r = us.cli("indicators", "pull", "wrong")
    assert r.exit_code == 7 and "refused our credentials" in r.stderr and "Traceback" not in r.stderr
    _add_source(us, medallion, name="nowhere", collection="00000000-0000-4000-8000-000000000000")
    r = us.cli("indicators", "pull", "nowhere")
    assert r.exit_code == 5 and "no collection" in r.stderr
    with us.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM ind").fetchone()[0] == 0


def test_password_from_the_environment(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(1)])
    args = medallion.add_cli_args()
    i = args.index("--password-file")
    del args[i:i + 2]
    assert us.cli("taxii", "add", "env-src", *args).exit_code == 0
    assert us.cli("indicators", "pull", "env-src").exit_code == 2  # no password anywhere
    r = us.cli("indicators", "pull", "env-src", env={"CBM_TAXII_PASSWORD_ENV_SRC": "medallion-secret"})
    assert r.exit_code == 0, r.stderr


def test_removing_a_source_forgets_its_cursor(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(1)])
    _add_source(us, medallion)
    us.cli("indicators", "pull", "internal")
    assert us.cli("taxii", "remove", "internal").exit_code == 0
    assert us.cli("taxii", "show", "internal").exit_code == 5
    with sqlite3.connect(us.root / "store.sqlite") as conn:
        assert conn.execute("SELECT COUNT(*) FROM taxii_cursor").fetchone()[0] == 0


def test_what_we_pushed_does_not_come_back_as_ours(us_ru, medallion):
    us, ru = us_ru
    us.cli("indicators", "add", "--value", "203.0.113.7")
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(us.root.parent / "b.cbm")).exit_code == 0
    assert ru.cli("bundle", "import", str(us.root.parent / "b.cbm")).exit_code == 0
    _add_source(ru, medallion)
    assert ru.cli("indicators", "push", "internal", "--from", "US").exit_code == 0
    medallion.post([indicator(1)])  # an analyst's own indicator in the platform
    doc = ru.cli("indicators", "pull", "internal", "--json").json()
    assert doc["created"] == 1  # the analyst's; US's indicator is not re-authored by RU
    assert doc["skipped"]["objects we pushed to this source ourselves"] == 3
    with ru.open() as store:
        authors = dict(store.conn.execute("SELECT author, COUNT(*) FROM ind GROUP BY author").fetchall())
    assert authors == {"US": 1, "RU": 1}


def test_store_verify_and_rebuild_keep_the_taxii_state(us_ru, medallion):
    us, _ = us_ru
    medallion.post([indicator(1)])
    _add_source(us, medallion)
    cursor = us.cli("indicators", "pull", "internal", "--json").json()["cursor"]
    assert us.cli("store", "verify").exit_code == 0
    assert us.cli("store", "rebuild").exit_code == 0
    shown = us.cli("taxii", "show", "internal", "--json").json()
    assert shown["next_pull_after"] == cursor and shown["auth"] == "password-file"
    assert "medallion-secret" not in us.cli("taxii", "list", "--json").stdout
    assert "medallion-secret" not in (us.root / "config.toml").read_text()
