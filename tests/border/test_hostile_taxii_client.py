"""What a TAXII client can send to `cbm taxii serve` (a real server process over a real store): query values that
look like numbers to Python's ``str.isdigit`` and are not, numbers past Python's digit limit, odd methods. Each is
answered as TAXII 2.1 says (a 4xx with a TAXII error body), and the server stays up for the next request."""

from __future__ import annotations

import base64
import http.client
import json
from urllib.parse import urlsplit

import pytest

from cbm.taxii.server import collection_id
from tests.conftest import at

PASSWORD = "correct horse battery"


@pytest.fixture
def served(us_ru, serve):
    us, _ = us_ru
    us.root.parent.joinpath("green.txt").write_text("".join(f"203.0.113.{n}\n" for n in range(1, 6)))
    with at("2026-12-01T10:00:00Z"):
        assert us.cli("indicators", "import", str(us.root.parent / "green.txt"), "--tlp", "GREEN").exit_code == 0
    pw = us.root.parent / "client.pw"
    pw.write_text(PASSWORD + "\n")
    assert us.cli("taxii", "user", "add", "client", "--password-file", str(pw)).exit_code == 0
    return serve(us)


def _ask(served, path: str, method: str = "GET") -> tuple[int, str, bytes]:
    parts = urlsplit(served.url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    auth = base64.b64encode(f"client:{PASSWORD}".encode()).decode()
    try:
        conn.request(method, path, headers={"Authorization": f"Basic {auth}",
                                            "Accept": "application/taxii+json;version=2.1"})
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


OBJECTS = f"/cbm/collections/{collection_id('GREEN')}/objects/"


@pytest.mark.parametrize("query", [
    "limit=%C2%B2",  # "²": str.isdigit() is true, int() refuses it
    "next=%C2%B9%C2%B2",
    "next=p%C2%B2",
    "added_after=%EF%BC%92026-12-01T00:00:00Z",  # a full-width digit
])
def test_a_query_value_that_only_looks_like_a_number_is_a_400(served, query):
    status, media, body = _ask(served, f"{OBJECTS}?{query}")
    assert status == 400, (status, body[:200])
    assert media.startswith("application/taxii+json")
    assert "title" in json.loads(body)
    status, _, body = _ask(served, OBJECTS)  # and the server still answers
    assert status == 200 and len(json.loads(body)["objects"]) == 7


def test_a_limit_longer_than_python_reads_is_a_whole_page(served):
    """A limit of 5,001 digits (past the 4,300 digits ``int()`` reads) asks for more than a page: a whole page."""
    status, _, body = _ask(served, f"{OBJECTS}?limit=1{'0' * 5000}")
    assert status == 200, body[:200]
    assert len(json.loads(body)["objects"]) == 7
    status, _, body = _ask(served, f"{OBJECTS}?limit={'0' * 5000}1")
    assert status == 200 and len(json.loads(body)["objects"]) == 1


@pytest.mark.parametrize("versions, count", [("2.0", 0), ("2.0,2.1", 7), ("2.1", 7)])
def test_match_spec_version_selects_what_the_collection_serves(served, versions, count):
    """Every object served is STIX 2.1: asked for 2.0 only, a page holds none (it held 2.1 objects); asked for
    2.1 among others, every object."""
    status, _, body = _ask(served, f"{OBJECTS}?match[spec_version]={versions}")
    assert status == 200, body[:200]
    doc = json.loads(body)
    assert len(doc.get("objects", [])) == count and doc["more"] is False
    assert all(o["spec_version"] == "2.1" for o in doc.get("objects", []))


def _peak_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def test_a_burst_of_password_guesses_does_not_take_64_mib_each(served):
    """Every guess for a known user costs an Argon2id check (64 MiB); guesses at once took 64 MiB each in the
    server (a client knowing a user name could exhaust its memory). They now wait their turn, two at a time: each
    is still refused, and the server's peak memory stays low."""
    from concurrent.futures import ThreadPoolExecutor

    parts = urlsplit(served.url)

    def guess(n: int) -> int:
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
        auth = base64.b64encode(f"client:wrong guess {n}".encode()).decode()
        try:
            conn.request("GET", "/taxii2/", headers={"Authorization": f"Basic {auth}"})
            return conn.getresponse().status
        finally:
            conn.close()

    with ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(guess, range(12)))
    assert statuses == [401] * 12
    assert _peak_kib(served.proc.pid) < 256 * 1024  # measured: 161 MiB with the fix, 352 MiB without
    status, _, _ = _ask(served, "/taxii2/")  # the right password still opens it
    assert status == 200
