"""``cbm taxii serve``: a read-only TAXII 2.1 server over the store (docs/adr/0133-taxii-server.md).

One API root (``/cbm/``) with one collection per TLP label up to ``--tlp-max``, each holding the current
indicators of that label as STIX 2.1 (exactly as ``indicators export --format stix`` writes them), opened by
cbm's extension definition and its creator (docs/adr/0168-taxii-extension-definition.md). Discovery,
API root, collections, objects (paging with ``limit``/``next``, ``added_after``, ``match[id]``,
``match[type]``, ``match[spec_version]``), one object, manifest, versions. Every request needs HTTP basic auth
against a user in config.toml (Argon2id hashes). Loopback only, unless a TLS certificate and key are given.
"""

from __future__ import annotations

import errno
import hashlib
import json
import re
import ssl
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from cbm.core.errors import CbmError, UsageError
from cbm.core.tlp import TLP_LABELS, check_tlp, tlp_rank
from cbm.store import taxii_feed
from cbm.taxii import config
from cbm.taxii.http import TAXII_MEDIA, is_loopback

DISCOVERY = "/taxii2/"
API_ROOT = "/cbm/"
STIX_MEDIA = "application/stix+json;version=2.1"
HASHING_AT_ONCE = 2  # password checks at a time (Argon2id, 64 MiB each); more requests wait their turn
PAGE_MAX = 1000  # objects per page at most; a client's smaller limit is honoured
ALLOWED = "GET, HEAD"  # the methods every resource answers (the Allow header of a 405 or 501)
MAX_CONTENT_LENGTH = 10 * 1024 * 1024  # the API root must say one; nothing can be posted here anyway
_NAMESPACE = uuid.UUID("6b0f6f5e-57b1-4d5e-9a3a-2f0b3c1d8e90")  # fixed: collection ids stay stable
_TIMESTAMP = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d{1,9})?Z$", re.ASCII)  # not "２０２６"
_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def collection_id(label: str) -> str:
    """The stable collection id of TLP ``label``'s indicators."""
    return str(uuid.uuid5(_NAMESPACE, f"cbm-tlp-{label}"))


@dataclass(frozen=True)
class ServeOptions:
    host: str
    port: int
    tlp_max: str = "GREEN"
    cert_file: str | None = None
    key_file: str | None = None


def _listen_hint(errno_: int | None, host: str, port: int) -> str | None:
    """What to do when the socket cannot be bound, for the usual reasons."""
    if errno_ == errno.EADDRINUSE:
        return (f"another program listens on port {port} (a `cbm taxii serve` still running?): stop it, or pick "
                f"a free port: --bind {host}:{port + 1 if port < 65535 else 8443}")
    if errno_ == errno.EACCES:
        return f"ports below 1024 need privileges: pick one above, e.g. --bind {host}:8443"
    if errno_ == errno.EADDRNOTAVAIL:
        return f"{host} is no address of this machine: --bind 127.0.0.1:{port}, or an address of one of its interfaces"
    return None


def parse_bind(bind: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[::1]:PORT`` for IPv6). Raises UsageError."""
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535 or not host:
        raise UsageError(f"--bind {bind!r} is not HOST:PORT", hint="e.g. --bind 127.0.0.1:8443")
    return host.strip("[]"), int(port)


def check_options(opts: ServeOptions) -> ServeOptions:
    """Refuse a non-loopback bind without TLS, and a bad label (UsageError)."""
    check_tlp(opts.tlp_max)
    if (opts.cert_file is None) != (opts.key_file is None):
        raise UsageError("--tls-cert and --tls-key go together")
    if not is_loopback(opts.host) and opts.cert_file is None:
        raise UsageError(f"refusing to serve on {opts.host} without TLS: passwords and indicators would travel "
                         "unencrypted", hint="bind to 127.0.0.1, or give --tls-cert and --tls-key")
    return ServeOptions(opts.host, opts.port, check_tlp(opts.tlp_max), opts.cert_file, opts.key_file)


class TaxiiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path, users: dict[str, str], opts: ServeOptions) -> None:
        if not users:
            raise UsageError("no TAXII server users in config.toml: every request needs one",
                             hint="add one with `cbm taxii user add NAME --password-file F`")
        self.root = root
        self.users = users
        self.opts = opts
        self.labels = [t for t in TLP_LABELS if tlp_rank(t) <= tlp_rank(opts.tlp_max)]
        self.by_collection = {collection_id(t): t for t in self.labels}
        self._granted: OrderedDict[str, bool] = OrderedDict()  # sha256(header) -> ok: Argon2id once per user
        self._lock = threading.Lock()
        self._hashing = threading.BoundedSemaphore(HASHING_AT_ONCE)
        # parsed batch records (up to 5,000 rows each) shared by requests: a client paging through one batch
        # in pages of 1,000 would otherwise parse it once per page
        self.batches: OrderedDict[int, list[list[Any]]] = OrderedDict()
        self.batches_lock = threading.Lock()
        try:
            super().__init__((opts.host, opts.port), Handler)
        except OSError as e:
            raise UsageError(f"cannot listen on {opts.host}:{opts.port}: {e.strerror}",
                             hint=_listen_hint(e.errno, opts.host, opts.port)) from e
        if opts.cert_file and opts.key_file:
            try:
                context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
                context.load_cert_chain(opts.cert_file, opts.key_file)
            except (OSError, ssl.SSLError) as e:
                self.server_close()
                raise UsageError(f"cannot use the TLS certificate and key: {e}") from e
            self.socket = context.wrap_socket(self.socket, server_side=True)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client gone mid-answer (a reset, a broken pipe, a TLS session torn down) is the client's business:
        nothing in the server's log. Anything else is a bug in cbm, and keeps socketserver's traceback."""
        import sys

        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return
        super().handle_error(request, client_address)

    @property
    def base_url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        scheme = "https" if self.opts.cert_file else "http"
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}:{port}"

    def authorised(self, header: str | None) -> bool:
        if not header or not header.startswith("Basic "):
            return False
        digest = hashlib.sha256(header.encode("utf-8", "surrogateescape")).hexdigest()
        with self._lock:
            known = self._granted.get(digest)
        if known is not None:
            return known
        import base64
        import binascii

        try:
            decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
            user, _, password = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        hashed = self.users.get(user)
        if hashed is None:
            ok = False
        else:
            with self._hashing:  # each Argon2id check takes 64 MiB: a burst of guesses waits, not the memory
                ok = config.password_matches(hashed, password)
        with self._lock:
            self._granted[digest] = ok
            if len(self._granted) > 256:
                self._granted.popitem(last=False)
        return ok


class Reply(Exception):
    """An answer other than 200: status, TAXII error title."""

    def __init__(self, status: int, title: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title


class Handler(BaseHTTPRequestHandler):
    server: TaxiiServer
    protocol_version = "HTTP/1.1"
    server_version = "cbm-taxii"
    sys_version = ""
    timeout = 30  # seconds a client may leave a connection idle or half-sent

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
        pass  # quiet: a scheduled client's every page is not news; errors reach the client

    def do_GET(self) -> None:  # noqa: N802
        try:
            if not self.server.authorised(self.headers.get("Authorization")):
                raise Reply(401, "authentication required")
            accept = self.headers.get("Accept", TAXII_MEDIA).replace(" ", "")
            if "application/taxii+json" not in accept and "*/*" not in accept:
                raise Reply(406, "this server answers application/taxii+json;version=2.1 only")
            body, headers = self._route(urlsplit(self.path))
            self._send(200, body, headers)
        except Reply as e:
            self._send(e.status, {"title": e.title}, {"WWW-Authenticate": 'Basic realm="cbm"'}
                       if e.status == 401 else {})
        except CbmError as e:
            self._send(500, {"title": "the store cannot be read", "description": str(e)[:200]}, {})

    # HEAD is GET without the body (RFC 9110 9.3.2: same status and headers, Content-Length included), as
    # taxii2-client's and medallion's HTTP stacks expect of any server (docs/adr/0263-taxii-serve-methods.md)
    do_HEAD = do_GET  # noqa: N815

    def _refuse(self) -> None:
        self.close_connection = True  # the body is not read: the connection cannot carry another request
        self._send(405, {"title": "this TAXII server is read-only", "http_status": "405"}, {"Allow": ALLOWED})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = do_TRACE = do_CONNECT = _refuse  # noqa: N815

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """What http.server answers by itself — a method it has no ``do_`` for (501), a request line or headers
        it cannot parse (400, 414, 431) — as a TAXII error message (JSON), never its HTML page. ``message`` may
        quote the client's request line: it is cut short and goes out JSON-escaped."""
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # the version was never read: the answer still says its status
            self.request_version = "HTTP/1.0"
        title = (message or HTTPStatus(code).phrase)[:200]
        body: dict[str, Any] = {"title": title, "http_status": str(code)}
        headers = {"Connection": "close"}
        if code == HTTPStatus.NOT_IMPLEMENTED:
            headers["Allow"] = ALLOWED
        self._send(code, body, headers)

    def _send(self, status: int, body: Any, headers: dict[str, str]) -> None:
        data = _encode(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", TAXII_MEDIA)
        self.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _route(self, url: Any) -> tuple[Any, dict[str, str]]:
        path = unquote(url.path)
        if not path.endswith("/"):
            path += "/"
        params = {k: v[-1] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        if path == DISCOVERY:
            return {"title": "cbm", "description": "Indicators in this cbm store, one collection per TLP label",
                    "default": self.server.base_url + API_ROOT, "api_roots": [self.server.base_url + API_ROOT]}, {}
        if path == API_ROOT:
            return {"title": "cbm indicators", "versions": [TAXII_MEDIA],
                    "max_content_length": MAX_CONTENT_LENGTH}, {}
        if not path.startswith(API_ROOT + "collections/"):
            raise Reply(404, "no such resource")
        parts = path[len(API_ROOT + "collections/"):].strip("/").split("/")
        if parts == [""]:
            return {"collections": [self._collection(t) for t in self.server.labels]}, {}
        label = self.server.by_collection.get(parts[0])
        if label is None:
            raise Reply(404, "no such collection")
        rest = parts[1:]
        if not rest:
            return self._collection(label), {}
        with _Reader(self.server) as reader:
            if rest == ["objects"]:
                return reader.objects(label, params, manifest=False)
            if rest == ["manifest"]:
                return reader.objects(label, params, manifest=True)
            if len(rest) == 2 and rest[0] == "objects":
                return reader.objects(label, {**params, "match[id]": rest[1]}, manifest=False, one=True)
            if len(rest) == 3 and rest[0] == "objects" and rest[2] == "versions":
                return reader.versions(label, rest[1])
        raise Reply(404, "no such resource")

    @staticmethod
    def _collection(label: str) -> dict[str, Any]:
        return {"id": collection_id(label), "title": f"TLP:{label} indicators",
                "description": f"Current indicators labelled TLP:{label} in this cbm store",
                "can_read": True, "can_write": False, "media_types": [STIX_MEDIA]}


class _Reader:
    """One request's read-only view of the store; parsed batch records come from the server's shared cache."""

    def __init__(self, server: TaxiiServer) -> None:
        self.feed = taxii_feed.FeedReader(server.root)
        self.server = server

    def __enter__(self) -> _Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.feed.close()

    def _row(self, r: taxii_feed.FeedRow) -> list[Any]:
        cache, lock = self.server.batches, self.server.batches_lock
        with lock:
            rows = cache.get(r.rec)
        if rows is None:
            from cbm.measures.indicators import rows as R
            from cbm.store.record_rows import record_from_row

            rows = R.rows_of(record_from_row(*self.feed.envelope(r.rec)).body)
            with lock:
                cache[r.rec] = rows
                if len(cache) > 8:
                    cache.popitem(last=False)
        return rows[r.pos]

    def objects(self, label: str, params: dict[str, str], *, manifest: bool,
                one: bool = False) -> tuple[Any, dict[str, str]]:
        from cbm.measures.indicators.formats import stix

        limit = _limit(params.get("limit"))
        token = params.get("next")
        pinned_from = _pinned_next(token)  # None: the definition objects were all served on earlier pages
        after_k = _next(token) if pinned_from is None else 0
        added_after = _added_after(params.get("added_after"))
        ids = [i for i in params.get("match[id]", "").split(",") if i]
        if len(ids) > 100:
            raise Reply(400, "match[id] takes at most 100 ids")
        types = [t for t in params.get("match[type]", "").split(",") if t]
        spec_versions = [v for v in params.get("match[spec_version]", "").split(",") if v]
        if spec_versions and "2.1" not in spec_versions:  # every object served here is STIX 2.1
            if one:
                raise Reply(404, "no such object in this collection")
            return {"more": False}, {}
        pinned = _pinned(ids, types)[pinned_from:] if pinned_from is not None and added_after is None else []
        if pinned and not ids:  # the definition belongs to a collection only when it holds an indicator
            pinned = pinned if self.feed.page(label, limit=1) else []
        more_after = len(pinned) >= limit  # a page too small for them and an indicator: the definition alone
        if more_after:
            pinned = pinned[:limit]
        if more_after or (types and "indicator" not in types):
            rows: list[taxii_feed.FeedRow] = []
        else:
            rows = self.feed.page(label, after_k=after_k, added_after=added_after, ids=ids,
                                  limit=limit - len(pinned) + 1)
        more = more_after or len(rows) > limit - len(pinned)
        rows = rows[:limit - len(pinned)]
        if one and not rows and not pinned:
            raise Reply(404, "no such object in this collection")
        items: list[dict[str, Any]] = []
        for obj in pinned:
            items.append({"id": obj["id"], "date_added": PINNED_ADDED, "version": obj["modified"],
                          "media_type": STIX_MEDIA} if manifest else obj)
        for r in rows:
            if manifest:
                items.append({"id": r.id, "date_added": _date_added(r.received),
                              "version": stix.stix_time(r.modified), "media_type": STIX_MEDIA})
            else:
                items.append(stix.indicator(r.author, r.tlp, self._row(r), r.modified, r.revoked is not None))
        body: dict[str, Any] = {"more": more}
        if more:
            body["next"] = str(rows[-1].k) if rows else f"p{(pinned_from or 0) + len(pinned)}"
        if items:
            body["objects"] = items
        headers = {}
        if items:
            headers = {"X-TAXII-Date-Added-First": PINNED_ADDED if pinned else _date_added(rows[0].received),
                       "X-TAXII-Date-Added-Last": _date_added(rows[-1].received) if rows else PINNED_ADDED}
        return body, headers

    def versions(self, label: str, sid: str) -> tuple[Any, dict[str, str]]:
        from cbm.measures.indicators.formats import stix

        for obj in _pinned([sid], []):
            return {"more": False, "versions": [obj["modified"]]}, {
                "X-TAXII-Date-Added-First": PINNED_ADDED, "X-TAXII-Date-Added-Last": PINNED_ADDED}
        found = self.feed.versions(label, sid)
        if not found:
            raise Reply(404, "no such object in this collection")
        return {"more": False, "versions": [stix.stix_time(m) for m, _ in found]}, {
            "X-TAXII-Date-Added-First": _date_added(found[0][1]),
            "X-TAXII-Date-Added-Last": _date_added(found[-1][1])}


# cbm's extension definition and its creator open every collection that holds an indicator, on the first page
# (ADR 0168): an indicator's sectors ride in that extension, and a strict consumer wants its definition.
PINNED_ADDED = "2013-06-17T00:00:00.000Z"  # before anything a store can hold: `added_after` polls skip them


def _pinned(ids: list[str], types: list[str]) -> list[dict[str, Any]]:
    """The definition objects a first page carries, narrowed by ``match[id]`` and ``match[type]``."""
    from cbm.measures.indicators.formats import stix_extension

    return [o for o in stix_extension.definition_objects()
            if (not ids or o["id"] in ids) and (not types or o["type"] in types)]


def _pinned_next(token: str | None) -> int | None:
    """How many definition objects earlier pages served: 0 on a first page, N for a ``pN`` token, None for
    a token that continues after an indicator (all of them were served)."""
    if token is None or token == "":
        return 0
    if token.startswith("p") and _whole_number(token[1:]) and len(token) < 4:
        return int(token[1:])
    return None


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return PAGE_MAX
    if not _whole_number(value) or not value.strip("0"):
        raise Reply(400, "limit must be a positive whole number")
    # int() refuses over 4,300 digits: a limit that long is simply more than a page
    return min(int(value[-10:]) if not value[:-10].strip("0") else PAGE_MAX, PAGE_MAX)


def _next(value: str | None) -> int:
    if value is None or value == "":
        return 0
    if not _whole_number(value) or len(value) > 18:
        raise Reply(400, "next is not a token this server gave")
    return int(value)


def _whole_number(value: str) -> bool:
    """ASCII digits only: ``str.isdigit`` is also true of "²" and "١", which ``int()`` refuses or reads."""
    return value.isascii() and value.isdigit()


def _added_after(value: str | None) -> str | None:
    """``added_after`` as the index's whole-second form: landing times have whole seconds, so "landed after
    10:00:00.5" is "landed after 10:00:00"."""
    if not value:
        return None
    m = _TIMESTAMP.match(value)
    if not m:
        raise Reply(400, "added_after is not a TAXII timestamp (e.g. 2026-12-01T00:00:00.000Z)")
    try:
        datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError as e:
        raise Reply(400, "added_after is not a valid time") from e
    return m.group(1) + "Z"


def _date_added(received: str) -> str:
    return received[:-1] + ".000Z" if received.endswith("Z") and len(received) == 20 else received


def serve(root: Path, users: dict[str, str], opts: ServeOptions, *, ready: Any = None) -> None:
    """Serve until interrupted. ``ready(server)`` is called once listening (the CLI prints the URL)."""
    server = TaxiiServer(root, users, check_options(opts))
    try:
        if ready is not None:
            ready(server)
        server.serve_forever()
    finally:
        server.server_close()
