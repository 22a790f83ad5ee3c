"""A hostile or broken TAXII server: oversized, endless, slow, malformed, redirecting, looping answers. Each gives
one `cbm: error:` line with its documented exit code, no traceback, and leaves the store exactly as it was."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from cbm.taxii import http as taxii_http
from tests.cli.test_contract import assert_error
from tests.taxii.conftest import indicator

TAXII = "application/taxii+json;version=2.1"
COLLECTION = "c1"


class Answering(BaseHTTPRequestHandler):
    """A test TAXII server's way of answering: a JSON document, or raw bytes of any media type."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def send(self, status: int, doc: object, headers: dict[str, str] | None = None) -> None:
        self.raw(status, json.dumps(doc).encode(), headers=headers)

    def raw(self, status: int, body: bytes, media: str = TAXII, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class Hostile(Answering):

    def do_GET(self) -> None:  # noqa: N802
        mode, _, rest = self.path.lstrip("/").partition("/")
        port = self.server.server_address[1]
        if rest.startswith("taxii2/"):
            self.early(mode, port) or self.send(200, {"title": "hostile", "api_roots": []})
        elif rest == "api1/":
            self.send(200, {"title": "root", "versions": [TAXII], "max_content_length": 100000})
        elif rest == f"api1/collections/{COLLECTION}/":
            self.send(200, {"id": COLLECTION, "title": "c", "can_read": True, "can_write": True})
        else:
            self.objects(mode)

    def early(self, mode: str, port: int) -> bool:
        if mode == "redirect-away":
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{port}/ok/taxii2/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "redirect-same" and "moved" not in self.path:
            self.send_response(307)
            self.send_header("Location", f"/{mode}/taxii2/moved/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "downgrade":
            self.send_response(301)
            self.send_header("Location", f"https://127.0.0.1:{port}/ok/taxii2/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif mode == "declared-huge":
            self.send_response(200)
            self.send_header("Content-Type", TAXII)
            self.send_header("Content-Length", str(10**12))
            self.end_headers()
        elif mode == "not-taxii":
            self.raw(200, b"<html>login</html>", "text/html")
        elif mode == "duplicate-keys":
            self.raw(200, b'{"title": "a", "title": "b"}')
        elif mode == "garbage":
            self.raw(200, b'{"title": "unterminated')
        elif mode == "error-with-escapes":
            self.raw(500, json.dumps({"title": "boom \x1b[31mred\x1b[0m\nforged line"}).encode())
        elif mode == "forbidden":
            self.raw(403, b"{}")
        else:
            return False
        return True

    def objects(self, mode: str) -> None:
        if mode == "endless":  # chunked, never ends
            self.send_response(200)
            self.send_header("Content-Type", TAXII)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b" " * 65536
            try:
                while True:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            except OSError:
                return
        elif mode == "slow":
            self.send_response(200)
            self.send_header("Content-Type", TAXII)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                return
        elif mode == "looping":
            self.send(200, {"more": True, "next": "again", "objects": [indicator(1)]})
        elif mode == "bad-header":
            self.send(200, {"more": False, "objects": [indicator(1)]},
                      {"X-TAXII-Date-Added-Last": "yesterday"})
        elif mode == "objects-not-list":
            self.send(200, {"more": False, "objects": {"a": 1}})
        else:
            self.send(200, {"more": False, "objects": [indicator(1)]},
                      {"X-TAXII-Date-Added-Last": "2026-12-01T00:00:00.000Z"})



@pytest.fixture
def hostile() -> Iterator[int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def _snapshot(party) -> tuple[int, int, bytes]:
    with party.open() as store:
        records = store.conn.execute("SELECT COUNT(*) FROM records").fetchone()[0]
        tables = store.conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name LIKE 'taxii_%'").fetchone()[0]
    return records, tables, (party.root / "config.toml").read_bytes()


CASES = [
    ("redirect-away", 7, "redirected to another host"),
    ("downgrade", 7, "redirected to another host or scheme"),
    ("declared-huge", 4, "over the"),
    ("not-taxii", 4, "not TAXII JSON"),
    ("duplicate-keys", 4, "duplicate JSON key"),
    ("garbage", 4, "not valid JSON"),
    ("error-with-escapes", 7, "HTTP 500: boom \\x1b[31mred"),
    ("forbidden", 7, "refused our credentials"),
    ("endless", 4, "over the 1048576-byte limit"),
    ("slow", 7, "took longer than"),
    ("looping", 4, "paging does not advance"),
    ("bad-header", 4, "not a TAXII timestamp"),
    ("objects-not-list", 4, "no list of objects"),
]


@pytest.mark.parametrize("mode, code, fragment", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_server_cannot_crash_cbm_or_change_the_store(us_ru, hostile, monkeypatch, mode, code, fragment):
    us, _ = us_ru
    monkeypatch.setattr(taxii_http, "MAX_ANSWER", 1024 * 1024)
    monkeypatch.setattr(taxii_http, "TIMEOUT", 1.0)
    assert us.cli("taxii", "add", "h", f"http://127.0.0.1:{hostile}/{mode}/taxii2/", "--api-root", "../api1/",
                  "--collection", COLLECTION).exit_code == 0
    before = _snapshot(us)
    r = us.cli("indicators", "pull", "h")
    assert_error(r, code, fragment)
    assert "\x1b" not in r.stderr
    after = _snapshot(us)
    if mode == "looping":  # the first page is a whole page: it landed once, the same page again did not
        assert after[0] == before[0] + 1
        after = (before[0], *after[1:])
    assert after[:1] + after[2:] == before[:1] + before[2:]


@pytest.mark.parametrize("mode", ["ok", "redirect-same"])
def test_the_good_case_beside_the_bad(us_ru, hostile, mode):
    us, _ = us_ru
    assert us.cli("taxii", "add", "h", f"http://127.0.0.1:{hostile}/{mode}/taxii2/", "--api-root", "../api1/",
                  "--collection", COLLECTION).exit_code == 0
    doc = us.cli("indicators", "pull", "h", "--json").json()
    assert (doc["created"], doc["cursor"]) == (1, "2026-12-01T00:00:00.000Z")


def test_unreachable_server_is_exit_7(us_ru):
    us, _ = us_ru
    from tests.taxii.conftest import free_port

    us.cli("taxii", "add", "gone", f"http://127.0.0.1:{free_port()}/taxii2/", "--api-root", "/api1/",
           "--collection", COLLECTION)
    assert_error(us.cli("indicators", "pull", "gone"), 7, "connection refused")


@pytest.mark.parametrize("url", ["http://cti.example/taxii2/", "ftp://127.0.0.1/taxii2/", "https:///x"])
def test_plain_http_is_only_for_loopback(us_ru, url):
    us, _ = us_ru
    r = us.cli("taxii", "add", "x", url, "--api-root", "/api1/", "--collection", COLLECTION)
    assert_error(r, 2, "")
    assert us.cli("taxii", "list", "--json").json()["sources"] == []


def test_credentials_are_never_options(cli):
    r = cli("taxii", "add", "--help")
    assert "--password " not in r.stdout and "--token " not in r.stdout


def test_an_api_root_on_another_server_is_refused_when_added(us_ru):
    us, _ = us_ru
    r = us.cli("taxii", "add", "x", "https://cti.example/taxii2/", "--api-root", "https://elsewhere.example/api1/",
               "--collection", COLLECTION)
    assert_error(r, 2, "is not on the server")
