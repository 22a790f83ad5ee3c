"""Real TAXII 2.1 servers for the tests: medallion (memory backend) and ``cbm taxii serve``, each on 127.0.0.1
on a free port, started as separate processes and stopped after the test."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

API_ROOT = "api1"
WRITABLE = "365fed99-08fa-fdcd-a1b3-fb247eb41d01"
READ_ONLY = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER, PASSWORD = "cbm", "medallion-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Medallion:
    url: str  # discovery URL
    port: int
    password_file: Path

    def add_cli_args(self, collection: str = WRITABLE) -> list[str]:
        return [self.url, "--api-root", f"/{API_ROOT}/", "--collection", collection, "--user", USER,
                "--password-file", str(self.password_file)]

    def post(self, objects: list[dict], collection: str = WRITABLE) -> dict:
        """Put objects into the server as another TAXII client would (urllib, not cbm)."""
        body = json.dumps({"objects": objects}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/{API_ROOT}/collections/{collection}/objects/", data=body,
            method="POST", headers={"Content-Type": "application/taxii+json;version=2.1",
                                    "Accept": "application/taxii+json;version=2.1",
                                    "Authorization": _basic(USER, PASSWORD)})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def objects(self, collection: str = WRITABLE) -> list[dict]:
        """Every object in a collection, read with urllib (paging through next)."""
        found: list[dict] = []
        query = "?limit=10"
        while True:
            request = urllib.request.Request(
                f"http://127.0.0.1:{self.port}/{API_ROOT}/collections/{collection}/objects/{query}",
                headers={"Accept": "application/taxii+json;version=2.1", "Authorization": _basic(USER, PASSWORD)})
            with urllib.request.urlopen(request, timeout=10) as response:
                doc = json.loads(response.read())
            found += doc.get("objects", [])
            if not doc.get("more"):
                return found
            query = f"?limit=10&next={doc['next']}"  # medallion fails a next without a limit


def _basic(user: str, password: str) -> str:
    import base64

    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def medallion_data(port: int) -> dict:
    media = ["application/stix+json;version=2.1"]
    return {
        "/discovery": {"title": "test TAXII server", "description": "medallion for cbm's tests",
                       "default": f"http://127.0.0.1:{port}/{API_ROOT}/",
                       "api_roots": [f"http://127.0.0.1:{port}/{API_ROOT}/"]},
        API_ROOT: {
            "information": {"title": "CERT platform", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 20000},
            "status": [],
            "collections": [
                {"id": WRITABLE, "title": "writable", "can_read": True, "can_write": True, "media_types": media,
                 "objects": [], "manifest": []},
                {"id": READ_ONLY, "title": "published", "can_read": True, "can_write": False,
                 "media_types": media, "objects": [], "manifest": []},
            ],
        },
    }


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[Medallion]:
    """A real medallion on 127.0.0.1 (memory backend, page size 10, max_content_length 20000 bytes)."""
    port = free_port()
    folder = tmp_path / "medallion"
    folder.mkdir()
    (folder / "data.json").write_text(json.dumps(medallion_data(port)))
    (folder / "config.json").write_text(json.dumps({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(folder / "data.json")},
        "users": {USER: PASSWORD}, "taxii": {"max_page_size": 10}}))
    password_file = tmp_path / "taxii-password"
    password_file.write_text(PASSWORD + "\n")
    proc = subprocess.Popen(
        [sys.executable, "-c", "from medallion.scripts.run import main; main()", "--host", "127.0.0.1",
         "--port", str(port), str(folder / "config.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        wait_listening(port, proc)
        yield Medallion(f"http://127.0.0.1:{port}/taxii2/", port, password_file)
    finally:
        stop(proc)


def indicator(n: int, *, tlp_ref: str | None = None, modified: str = "2026-11-01T00:00:00.000Z") -> dict:
    """A small STIX 2.1 indicator for 198.51.100.n (TEST-NET-2, documentation addresses)."""
    obj = {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
           "created": "2026-11-01T00:00:00.000Z", "modified": modified, "name": f"test {n}",
           "pattern": f"[ipv4-addr:value = '198.51.100.{n}']", "pattern_type": "stix",
           "valid_from": "2026-11-01T00:00:00Z"}
    if tlp_ref:
        obj["object_marking_refs"] = [tlp_ref]
    return obj


def get_json(url: str, auth: tuple[str, str] | None = None) -> tuple[int, dict]:
    headers = {"Accept": "application/taxii+json;version=2.1"}
    if auth:
        headers["Authorization"] = _basic(*auth)
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


@dataclass
class Served:
    url: str  # discovery URL printed by `cbm taxii serve`
    proc: subprocess.Popen[bytes]


@pytest.fixture
def serve() -> Iterator[object]:
    """``serve(party, "--tlp-max", "AMBER")`` starts a real `cbm taxii serve` process on a free loopback port."""
    started: list[subprocess.Popen[bytes]] = []

    def start(party: object, *args: str) -> Served:
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-c", "from cbm.cli.main import main; main()", "--store", str(party.root),  # type: ignore[attr-defined]
             "taxii", "serve", "--bind", f"127.0.0.1:{port}", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        started.append(proc)
        assert proc.stdout is not None
        url = proc.stdout.readline().decode().strip()
        if not url:
            raise RuntimeError(f"cbm taxii serve did not start: {proc.stderr.read().decode() if proc.stderr else ''}")
        return Served(url, proc)

    yield start
    for proc in started:
        stop(proc)
