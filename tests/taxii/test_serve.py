"""`cbm taxii serve`, read by the real taxii2-client (and by cbm's own pull): collections per TLP label up to
--tlp-max, paging, added_after, manifest, one object, versions, basic auth, read-only."""

from __future__ import annotations

import errno
import uuid

import pytest
import requests
import stix2
from taxii2client.v21 import Server, as_pages

from cbm.measures.indicators.formats.stix_extension import CREATOR_ID, EXTENSION_ID
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
    everything = [o for page in as_pages(green.get_objects, per_request=7) for o in page.get("objects", [])]
    # cbm's extension definition and its creator open the collection, then the 25 indicators
    assert [o["id"] for o in everything[:2]] == [CREATOR_ID, EXTENSION_ID]
    objects = everything[2:]
    assert len(objects) == 25 and len({o["id"] for o in objects}) == 25
    assert all(o["type"] == "indicator" and o["object_marking_refs"] for o in objects)
    manifest = [m for page in as_pages(green.get_manifest, per_request=10) for m in page.get("objects", [])]
    assert len(manifest) == 27 and manifest[2]["date_added"].endswith("Z")
    assert green.get_object(EXTENSION_ID)["objects"][0]["extension_types"] == ["property-extension"]
    assert green.object_versions(EXTENSION_ID)["versions"] == [everything[1]["modified"]]
    one = green.get_object(objects[0]["id"])
    assert one["objects"][0]["id"] == objects[0]["id"]
    versions = green.object_versions(objects[0]["id"])
    assert versions["versions"] == [objects[0]["modified"]]


def test_added_after_returns_only_later_landings(store_with_indicators, serve):
    us = store_with_indicators
    served = serve(us)
    green = next(c for c in _server(served.url).api_roots[0].collections if c.id == collection_id("GREEN"))
    first = green.get_objects()
    assert len(first["objects"]) == 27  # the extension definition and its creator, 25 indicators
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
    assert status == 200 and [o["type"] for o in doc["objects"]] == ["identity", "extension-definition",
                                                                       "indicator"]
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


def test_a_strict_consumer_accepts_what_the_server_serves(us_ru, serve):
    us, _ = us_ru
    us.cli("indicators", "add", "--value", "grid-c2.example", "--sector", "energy")  # sectors: the extension
    us.cli("taxii", "user", "add", "opencti", "--password-file", str(_pw(us)))
    served = serve(us)
    green = next(c for c in _server(served.url).api_roots[0].collections if c.id == collection_id("GREEN"))
    objects = green.get_objects()["objects"]
    indicator = objects[-1]
    assert EXTENSION_ID in indicator["extensions"]
    assert EXTENSION_ID in {o["id"] for o in objects}  # the definition its extension names is served too
    stix2.parse({"type": "bundle", "id": "bundle--" + str(uuid.uuid4()), "objects": objects}, allow_custom=False)
    # pages of one object still give each object exactly once; polls with added_after skip the definition
    one_by_one = [o["id"] for page in as_pages(green.get_objects, per_request=1) for o in page.get("objects", [])]
    assert one_by_one == [o["id"] for o in objects]
    assert [o["id"] for o in green.get_objects(added_after="2020-01-01T00:00:00.000Z")["objects"]] \
        == [indicator["id"]]


def test_serve_refuses_without_users_or_on_a_public_address(us_ru):
    us, _ = us_ru
    r = us.cli("taxii", "serve", "--bind", "127.0.0.1:0")
    assert r.exit_code == 2 and "no TAXII server users" in r.stderr
    r = us.cli("taxii", "serve", "--bind", "0.0.0.0:8443")
    assert r.exit_code == 2 and "without TLS" in r.stderr


def test_a_port_in_use_or_an_address_not_ours_is_one_error_line_with_what_to_do(us_ru):
    """Another program on the port (a server still running), or an address this machine does not have: exit 2,
    one error line, and a hint naming the way out."""
    import socket

    us, _ = us_ru
    us.cli("taxii", "user", "add", "opencti", "--password-file", str(_pw(us)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = us.cli("taxii", "serve", "--bind", f"127.0.0.1:{port}")
    assert r.exit_code == 2 and "Traceback" not in r.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert "another program listens on port" in r.stderr and f"--bind 127.0.0.1:{port + 1}" in r.stderr

    from cbm.taxii.server import _listen_hint

    assert "above" in (_listen_hint(errno.EACCES, "127.0.0.1", 443) or "")  # ports below 1024 without root
    assert "no address of this machine" in (_listen_hint(errno.EADDRNOTAVAIL, "192.0.2.1", 8443) or "")


def test_the_server_is_read_only(store_with_indicators, serve):
    import urllib.error
    import urllib.request

    served = serve(store_with_indicators)
    url = served.url.replace("/taxii2/", f"/cbm/collections/{collection_id('GREEN')}/objects/")
    request = urllib.request.Request(url, data=b'{"objects":[]}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=10)
    assert e.value.code == 405
