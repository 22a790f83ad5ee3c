"""`cbm taxii serve`, read by the real taxii2-client (and by cbm's own pull): collections per TLP label up to
--tlp-max, paging, added_after, manifest, one object, versions, basic auth, read-only."""

from __future__ import annotations

import pytest
import requests
from taxii2client.v21 import Server, as_pages

from cbm.taxii.server import collection_id
from tests.conftest import at
from tests.taxii.conftest import get_json


@pytest.fixture
def store_with_indicators(us_ru):
    us, ru = us_ru
    us.root.parent.joinpath("green.txt").write_text("".join(f"203.0.113.{n}\n" for n in range(1, 26)))
    with at("2026-12-01T10:00:00Z"):
        assert us.cli("indicators", "import", str(us.root.parent / "green.txt"), "--tlp", "GREEN").exit_code == 0
        us.cli("indicators", "add", "--value", "evil.example", "--tlp", "AMBER")
        us.cli("indicators", "add", "--value", "clear.example", "--tlp", "CLEAR")
    us.cli("taxii", "user", "add", "opencti", "--password-file", str(_pw(us)))
    return us


def _pw(party):
    path = party.root.parent / "opencti.pw"
    path.write_text("correct horse battery\n")
    return path


def _server(url: str) -> Server:
    return Server(url, user="opencti", password="correct horse battery")


def test_taxii2_client_reads_every_page_of_a_collection(store_with_indicators, serve):
    served = serve(store_with_indicators)
    server = _server(served.url)
    assert server.title == "cbm"
    root = server.api_roots[0]
    titles = sorted(c.title for c in root.collections)
    assert titles == ["TLP:CLEAR indicators", "TLP:GREEN indicators"]  # AMBER is above the default --tlp-max
    green = next(c for c in root.collections if c.id == collection_id("GREEN"))
    assert green.can_read and not green.can_write
    objects = [o for page in as_pages(green.get_objects, per_request=7) for o in page.get("objects", [])]
    assert len(objects) == 25 and len({o["id"] for o in objects}) == 25
    assert all(o["type"] == "indicator" and o["object_marking_refs"] for o in objects)
    manifest = [m for page in as_pages(green.get_manifest, per_request=10) for m in page.get("objects", [])]
    assert len(manifest) == 25 and manifest[0]["date_added"].endswith("Z")
    one = green.get_object(objects[0]["id"])
    assert one["objects"][0]["id"] == objects[0]["id"]
    versions = green.object_versions(objects[0]["id"])
    assert versions["versions"] == [objects[0]["modified"]]


def test_added_after_returns_only_later_landings(store_with_indicators, serve):
    us = store_with_indicators
    served = serve(us)
    green = next(c for c in _server(served.url).api_roots[0].collections if c.id == collection_id("GREEN"))
    first = green.get_objects()
    assert len(first["objects"]) == 25
    later = green.get_objects(added_after="2026-12-01T10:00:00.000Z")
    assert later.get("objects", []) == []
    with at("2026-12-02T10:00:00Z"):
        us.cli("indicators", "add", "--value", "203.0.113.200", "--tlp", "GREEN")
    later = green.get_objects(added_after="2026-12-01T10:00:00.000Z")
    assert [o["pattern"] for o in later["objects"]] == ["[ipv4-addr:value = '203.0.113.200']"]


def test_tlp_max_and_auth(store_with_indicators, serve):
    served = serve(store_with_indicators, "--tlp-max", "AMBER")
    base = served.url.replace("/taxii2/", "/cbm/")
    amber = f"{base}collections/{collection_id('AMBER')}/objects/"
    status, doc = get_json(amber, ("opencti", "correct horse battery"))
    assert status == 200 and len(doc["objects"]) == 1
    assert get_json(amber, ("opencti", "wrong"))[0] == 401
    assert get_json(amber)[0] == 401
    assert get_json(f"{base}collections/{collection_id('RED')}/", ("opencti", "correct horse battery"))[0] == 404
    with pytest.raises(requests.HTTPError, match="401"):
        Server(served.url, user="opencti", password="nope").title  # noqa: B018


def test_cbm_pulls_from_cbm_taxii_serve(store_with_indicators, serve, make_party, tmp_path):
    served = serve(store_with_indicators)
    fr = make_party("FR")
    pw = tmp_path / "fr.pw"
    pw.write_text("correct horse battery")
    assert fr.cli("taxii", "add", "us", served.url, "--api-root", "/cbm/", "--collection",
                  collection_id("GREEN"), "--user", "opencti", "--password-file", str(pw)).exit_code == 0
    doc = fr.cli("indicators", "pull", "us", "--page-size", "10", "--json").json()
    assert (doc["created"], doc["pages"], doc["by_tlp"]) == (25, 3, {"GREEN": 25})


def test_serve_refuses_without_users_or_on_a_public_address(us_ru):
    us, _ = us_ru
    r = us.cli("taxii", "serve", "--bind", "127.0.0.1:0")
    assert r.exit_code == 2 and "no TAXII server users" in r.stderr
    r = us.cli("taxii", "serve", "--bind", "0.0.0.0:8443")
    assert r.exit_code == 2 and "without TLS" in r.stderr


def test_the_server_is_read_only(store_with_indicators, serve):
    import urllib.error
    import urllib.request

    served = serve(store_with_indicators)
    url = served.url.replace("/taxii2/", f"/cbm/collections/{collection_id('GREEN')}/objects/")
    request = urllib.request.Request(url, data=b'{"objects":[]}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=10)
    assert e.value.code == 405
