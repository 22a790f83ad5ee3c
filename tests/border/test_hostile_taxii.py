"""A TAXII server that lies in ways the first hostile-server tests do not cover: paging that cycles, cursor
timestamps that look right and are not, objects whose ids are not strings, headers dripped byte by byte, a push
status that confirms what was never sent. Each gives one `cbm: error:` line with its exit code and leaves the
store as it was (or, for a page that landed before the lie, exactly what landed), and the next pull still works."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cbm.taxii import client as taxii_client
from cbm.taxii import http as taxii_http
from tests.cli.test_contract import assert_error
from tests.taxii.conftest import indicator
from tests.taxii.test_hostile_server import Answering

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "c1"
Pages = Callable[[dict[str, str]], tuple[dict[str, Any], dict[str, str]]]


class Scripted(Answering):
    """Discovery, API root and collection as a TAXII server gives them; object pages from the test's script."""

    def do_GET(self) -> None:  # noqa: N802
        path, _, query = self.path.partition("?")
        params = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
        server: Any = self.server
        server.requests.append(self.path)
        if path == "/taxii2/" and server.location:
            self.send_response(302)
            self.send_header("Location", server.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif path == "/taxii2/":
            self.send(200, {"title": "scripted", "api_roots": []})
        elif path == "/api1/":
            self.send(200, {"title": "root", "versions": [TAXII], "max_content_length": 100000})
        elif path == f"/api1/collections/{COLLECTION}/":
            self.send(200, {"id": COLLECTION, "title": "c", "can_read": True, "can_write": True})
        elif path.startswith("/api1/status/"):
            time.sleep(server.status_delay)
            self.send(200, server.status)
        else:
            doc, headers = server.pages(params)
            self.send(200, doc, headers)

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length", "0"))
        server: Any = self.server
        server.posted.append(json.loads(self.rfile.read(length)))
        self.send(202, server.status)



@pytest.fixture
def scripted() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Scripted)
    server.daemon_threads = True
    server.requests = []
    server.posted = []
    server.status_delay = 0.0
    server.location = None
    server.status = {"id": "s1", "status": "complete", "total_count": 0, "success_count": 0, "failure_count": 0,
                     "pending_count": 0}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _add(party: Any, port: int) -> None:
    assert party.cli("taxii", "add", "h", f"http://127.0.0.1:{port}/taxii2/", "--api-root", "/api1/",
                     "--collection", COLLECTION).exit_code == 0


def _records(party: Any) -> int:
    with party.open() as store:
        return int(store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0])


def test_paging_that_cycles_between_two_pages_is_stopped(us_ru, scripted):
    """more=true forever, alternating two pages with two next tokens: each differs from the one before it."""
    us, _ = us_ru

    def pages(params: dict[str, str]) -> tuple[dict[str, Any], dict[str, str]]:
        n = 2 if params.get("next") == "a" else 1
        return {"more": True, "next": "b" if n == 2 else "a", "objects": [indicator(n)]}, {}

    scripted.pages = pages
    _add(us, scripted.server_address[1])
    r = us.cli("indicators", "pull", "h")
    assert_error(r, 4, "paging does not advance")
    assert len(scripted.requests) < 50


@pytest.mark.parametrize("added_last", ["2026-13-45T25:61:61.000Z", "2026-02-30T00:00:00Z"])
def test_a_cursor_that_is_no_moment_is_refused_before_it_is_kept(us_ru, scripted, added_last):
    """The header matches the timestamp's shape but names no moment cbm can start from: refused, and the next
    pull from an honest answer still works (the store never kept it as its cursor)."""
    us, _ = us_ru
    scripted.pages = lambda params: ({"more": False, "objects": [indicator(1)]},
                                     {"X-TAXII-Date-Added-Last": added_last})
    _add(us, scripted.server_address[1])
    before = _records(us)
    assert_error(us.cli("indicators", "pull", "h"), 4, "not a TAXII timestamp")
    assert _records(us) == before
    scripted.pages = lambda params: ({"more": False, "objects": [indicator(1)]},
                                     {"X-TAXII-Date-Added-Last": "2026-12-01T00:00:00.000Z"})
    doc = us.cli("indicators", "pull", "h", "--json").json()
    assert (doc["created"], doc["cursor"]) == (1, "2026-12-01T00:00:00.000Z")


@pytest.mark.parametrize("how", ["--since", "cursor"])
def test_a_pull_from_the_first_moment_starts_there(us_ru, scripted, how):
    """``--since 0001-01-01`` or a server's cursor at the first moment: there is no microsecond before it, so the
    pull asks from that moment itself (it was a traceback, or a stored cursor no later pull could read)."""
    us, _ = us_ru
    first = "0001-01-01T00:00:00.000Z"
    scripted.pages = lambda params: ({"more": False, "objects": [indicator(1)]},
                                     {"X-TAXII-Date-Added-Last": first})
    _add(us, scripted.server_address[1])
    if how == "cursor":
        assert us.cli("indicators", "pull", "h").exit_code == 0
        r = us.cli("indicators", "pull", "h", "--json")
    else:
        r = us.cli("indicators", "pull", "h", "--since", "0001-01-01T00:00:00Z", "--json")
    assert r.exit_code == 0, r.stderr
    assert r.json()["added_after"] == first
    assert scripted.requests[-1].endswith("added_after=0001-01-01T00%3A00%3A00.000000Z")


def test_an_object_id_that_is_not_a_string_beside_an_echo(us_ru, scripted):
    """A page holding an indicator we pushed (an echo, skipped) and an object whose id is a list: the bad object
    is refused as bad input, not a crash in the echo check."""
    us, _ = us_ru
    _add(us, scripted.server_address[1])
    assert us.cli("indicators", "add", "--value", "198.51.100.7", "--tlp", "GREEN").exit_code == 0
    r = us.cli("indicators", "push", "h", "--json")
    assert r.exit_code == 0 and r.json()["succeeded"] == 3, r.stderr
    echo = next(o for o in scripted.posted[0]["objects"] if o["type"] == "indicator")
    bad = indicator(9) | {"id": ["indicator--00000000-0000-4000-8000-000000000009"]}
    scripted.pages = lambda params: ({"more": False, "objects": [echo, bad]}, {})
    before = _records(us)
    r = us.cli("indicators", "pull", "h")
    assert r.exit_code == 4 and "Traceback" not in r.stderr, r.stderr
    assert "no valid STIX id" in r.stderr
    assert _records(us) == before


class Dripping(BaseHTTPRequestHandler):
    """Answers with a status line, then one header byte every 0.2 s for up to 8 s: each read is quick, the
    answer never comes."""

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        try:
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
            self.wfile.flush()
            for _ in range(40):
                self.wfile.write(b"a")
                self.wfile.flush()
                self.server.dripped += 1  # type: ignore[attr-defined]
                time.sleep(0.2)
        except OSError:  # the client hung up
            pass
        self.close_connection = True


def test_headers_dripped_byte_by_byte_are_held_to_the_answer_deadline(us_ru, monkeypatch):
    """The deadline is for the whole answer, headers included; before, it was only checked while reading the
    body, so a server dripping header bytes faster than the socket timeout held a pull for as long as it liked."""
    us, _ = us_ru
    monkeypatch.setattr(taxii_http, "TIMEOUT", 1.0)
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), Dripping)
    server.daemon_threads = True
    server.dripped = 0
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        _add(us, server.server_address[1])
        before = _records(us)
        assert_error(us.cli("indicators", "pull", "h"), 7, "took longer than 1 s")
        assert _records(us) == before
        assert server.dripped < 20  # cbm hung up at its deadline, not when the server was done (40 bytes, 8 s)
    finally:
        server.shutdown()
        server.server_close()


def test_a_status_that_stays_pending_and_answers_slowly_is_given_up_on_time(us_ru, scripted, monkeypatch):
    """The poll limit is wall time: it counted only cbm's own sleeps, so a server taking (say) 59 s per status
    answer held a push for an hour instead of 300 s. Here: a 1 s limit, 0.6 s per answer."""
    us, _ = us_ru
    monkeypatch.setattr(taxii_client, "POLL_LIMIT_SECONDS", 1.0)
    _add(us, scripted.server_address[1])
    assert us.cli("indicators", "add", "--value", "198.51.100.7", "--tlp", "GREEN").exit_code == 0
    scripted.status = {"id": "s1", "status": "pending", "total_count": 3, "success_count": 0,
                       "failure_count": 0, "pending_count": 3}
    scripted.status_delay = 0.6
    assert_error(us.cli("indicators", "push", "h"), 7, "still 'pending' after 1 s")
    polls = [p for p in scripted.requests if p.startswith("/api1/status/")]
    assert len(polls) <= 2, polls  # 0.1 s + 0.6 s, 0.2 s + 0.6 s: past the limit (it made 4)
    assert us.cli("taxii", "list", "--json").json()["sources"][0]["pushed"] == 0


@pytest.mark.parametrize("location", ["http://[::1/taxii2/", "//[bad/taxii2/"])
def test_a_redirect_to_a_url_that_does_not_parse_is_refused(us_ru, scripted, location):
    us, _ = us_ru
    scripted.location = location
    _add(us, scripted.server_address[1])
    assert_error(us.cli("indicators", "pull", "h"), 7, "does not parse")


@pytest.mark.parametrize("url, fragment", [
    ("http://[::1/taxii2/", "Invalid IPv6 URL"),
    ("http://127.0.0.1:99999/taxii2/", "Port out of range"),
    ("http://127.0.0.1:abc/taxii2/", "Port could not be cast"),
    ("http://127.0.0.1:0/taxii2/", "port 0"),
    ("https://cbm:secret@cti.example/taxii2/", "a user or password in the URL is refused"),
])
def test_a_source_url_that_cbm_cannot_use_is_refused_when_added(us_ru, url, fragment):
    """Before, the first three were saved (or a traceback at once), and every pull of them was a traceback; a
    password in the URL was kept in config.toml and shown by `taxii list`."""
    us, _ = us_ru
    r = us.cli("taxii", "add", "h", url, "--api-root", "/api1/", "--collection", COLLECTION)
    assert_error(r, 2, fragment)
    assert "secret" not in r.stderr
    assert us.cli("taxii", "list", "--json").json()["sources"] == []


def test_a_page_of_millions_of_tiny_values_is_refused_before_it_is_parsed(us_ru, scripted, monkeypatch):
    """A page within the byte limit but made of millions of empty objects: parsing it would take about 30 times
    its size as Python objects (64 MiB of ``{},`` about 2 GB). Refused as oversized (exit 4) before the parse,
    nothing lands; an honest page after it pulls."""
    us, _ = us_ru
    monkeypatch.setattr(taxii_http, "MAX_VALUES", 50_000)  # the same rule at a test's size (the bound: 2,000,000)
    parsed: list[int] = []
    real_loads = taxii_http.loads
    monkeypatch.setattr(taxii_http, "loads", lambda raw: parsed.append(len(raw)) or real_loads(raw))
    scripted.pages = lambda params: ({"more": False, "objects": [indicator(1), *([{}] * 60_000)]}, {})
    _add(us, scripted.server_address[1])
    before = _records(us)
    parsed.clear()
    assert_error(us.cli("indicators", "pull", "h"), 4, "holds more than 50,000 JSON values")
    assert all(size < 100_000 for size in parsed)  # the discovery and collection documents, never the page
    assert _records(us) == before
    scripted.pages = lambda params: ({"more": False, "objects": [indicator(1)]}, {})
    doc = us.cli("indicators", "pull", "h", "--json").json()
    assert doc["created"] == 1
