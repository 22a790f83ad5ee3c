"""`cbm taxii serve` and every HTTP method a client may send: HEAD is GET without the body (the same status and
headers, Content-Length included), as medallion (Flask) answers it; every other method is a TAXII error message
(JSON, never http.server's HTML page) with its status and an Allow header; a request http.server cannot parse is
a TAXII error too; and the server writes no traceback to its log for anything a client sends or does
(docs/adr/0263-taxii-serve-methods.md). Spoken with Python's http.client over a real socket, and with requests
through taxii2-client's own session."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import struct
import time
from urllib.parse import urlsplit

import pytest
from taxii2client.v21 import Server

from cbm.taxii.server import collection_id
from tests.taxii.conftest import API_ROOT, PASSWORD, USER, _basic

TAXII = "application/taxii+json;version=2.1"
AUTH = {"Authorization": "Basic " + base64.b64encode(b"opencti:correct horse battery").decode(), "Accept": TAXII}


@pytest.fixture
def served(us_ru, serve):
    us, _ = us_ru
    for value in ("evil.example", "198.51.100.7"):
        assert us.cli("indicators", "add", "--value", value, "--tlp", "GREEN").exit_code == 0
    pw = us.root.parent / "opencti.pw"
    pw.write_text("correct horse battery\n")
    assert us.cli("taxii", "user", "add", "opencti", "--password-file", str(pw)).exit_code == 0
    return serve(us)


def _ask(url: str, method: str, path: str, headers: dict[str, str] | None = None,
         body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _paths() -> list[str]:
    green = f"/cbm/collections/{collection_id('GREEN')}/"
    return ["/taxii2/", "/cbm/", "/cbm/collections/", green, green + "objects/", green + "manifest/",
            "/cbm/no-such-thing/"]


@pytest.mark.parametrize("path", _paths())
def test_head_answers_as_get_does_without_the_body(served, path):
    got_status, got_headers, got_body = _ask(served.url, "GET", path, AUTH)
    status, headers, body = _ask(served.url, "HEAD", path, AUTH)
    assert body == b""
    assert status == got_status
    assert headers["content-length"] == str(len(got_body)) == got_headers["content-length"]
    assert headers["content-type"] == got_headers["content-type"] == TAXII


def test_head_without_credentials_is_401_with_its_challenge_and_no_body(served):
    status, headers, body = _ask(served.url, "HEAD", "/taxii2/", {"Accept": TAXII})
    assert (status, body) == (401, b"")
    assert headers["www-authenticate"] == 'Basic realm="cbm"'


def test_head_keeps_the_connection_usable_for_the_next_request(served):
    """A HEAD answer carries no body: a client reusing the connection reads the next answer, not leftovers."""
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        conn.request("HEAD", "/cbm/collections/", headers=AUTH)
        head = conn.getresponse()
        assert head.status == 200 and head.read() == b""
        conn.request("GET", "/cbm/collections/", headers=AUTH)
        doc = json.loads(conn.getresponse().read())
        assert {c["id"] for c in doc["collections"]} >= {collection_id("GREEN")}
    finally:
        conn.close()


def test_taxii2_clients_session_reads_head_as_requests_does(served):
    """taxii2-client's requests session (its auth, its headers) sees the same answer as a GET's, bodiless."""
    server = Server(served.url, user="opencti", password="correct horse battery")
    session = server._conn.session
    head = session.head(served.url, headers={"Accept": TAXII}, timeout=10)
    get = session.get(served.url, headers={"Accept": TAXII}, timeout=10)
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["Content-Length"] == get.headers["Content-Length"] == str(len(get.content))
    assert server.title == "cbm"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE"])
def test_every_other_method_is_a_taxii_error_with_allow(served, method):
    status, headers, body = _ask(served.url, method, f"/cbm/collections/{collection_id('GREEN')}/objects/",
                                 AUTH, body=b'{"objects":[]}' if method in ("POST", "PUT", "PATCH") else None)
    assert status == 405
    assert headers["allow"] == "GET, HEAD"
    assert headers["content-type"] == TAXII
    doc = json.loads(body)
    assert doc["title"] == "this TAXII server is read-only" and doc["http_status"] == "405"


@pytest.mark.parametrize("method", ["BREW", "PROPFIND", "get"])
def test_a_method_http_server_has_no_handler_for_is_a_taxii_error_not_html(served, method):
    status, headers, body = _ask(served.url, method, "/taxii2/", AUTH)
    assert status == 501
    assert headers["content-type"] == TAXII and headers["allow"] == "GET, HEAD"
    doc = json.loads(body)  # JSON, not "<!DOCTYPE HTML ..."
    assert doc["http_status"] == "501" and method in doc["title"]


@pytest.mark.parametrize("request_line, status", [
    (b"GET /taxii2/ HTTP/9.9\r\n\r\n", 505),
    (b"GET /taxii2/ FOO/1.1\r\n\r\n", 400),
    (b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET /taxii2/ HTTP/1.1\r\n" + b"X: y\r\n" * 120 + b"\r\n", 431),
], ids=["version", "not-http", "long-line", "many-headers"])
def test_a_request_http_server_cannot_parse_is_a_taxii_error(served, request_line, status):
    parts = urlsplit(served.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as s:
        s.sendall(request_line)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(f"HTTP/1.1 {status} ".encode()) or head.startswith(f"HTTP/1.0 {status} ".encode()), head
    assert b"Content-Type: " + TAXII.encode() in head
    assert json.loads(body)["http_status"] == str(status)


def test_a_client_that_resets_mid_answer_leaves_no_traceback_in_the_log(served):
    """A client gone before its answer is written (a reset): the server goes on serving and logs nothing."""
    parts = urlsplit(served.url)
    path = f"/cbm/collections/{collection_id('GREEN')}/objects/"
    for _ in range(20):
        s = socket.create_connection((parts.hostname, parts.port), timeout=10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close = RST at once
        request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: {AUTH['Authorization']}\r\nAccept: {TAXII}\r\n"
        s.sendall(request.encode() + b"\r\n")
        s.close()
    time.sleep(0.5)
    status, _, body = _ask(served.url, "GET", path, AUTH)
    assert status == 200 and json.loads(body)["objects"]
    served.proc.terminate()
    _, stderr = served.proc.communicate(timeout=10)
    assert b"Traceback" not in stderr and b"Exception" not in stderr, stderr.decode()


def test_medallion_answers_head_as_cbm_does(medallion):
    """The reference server (Flask) gives HEAD the GET's status and Content-Length with no body: cbm matches."""
    headers = {"Accept": TAXII, "Authorization": _basic(USER, PASSWORD)}
    get_status, get_headers, get_body = _ask(medallion.url, "GET", "/taxii2/", headers)
    status, head_headers, body = _ask(medallion.url, "HEAD", "/taxii2/", headers)
    assert (status, body) == (get_status, b"") == (200, b"")
    assert head_headers["content-length"] == str(len(get_body))
    assert API_ROOT in json.loads(get_body)["default"]
