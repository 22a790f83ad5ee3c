"""The one place cbm speaks HTTP(S) to a TAXII server, on cbm's terms (docs/adr/0131-taxii-network-errors.md).

- ``https://`` with the certificate and host name verified (system CAs, or a CA file); ``http://`` only to a
  loopback host (127.0.0.0/8, ::1, localhost), never as a silent downgrade.
- A redirect is followed only to the same scheme, host and port (at most 3); anything else is refused.
- Every answer is bounded in size and in time, must say it is TAXII JSON, and is parsed by cbm's strict JSON
  parser (no duplicate keys, no NaN).
- Every failure is a :class:`~cbm.core.errors.CbmError`: NetworkError (exit 7) for the exchange, NotFound (5)
  for HTTP 404, OversizedInput/MalformedInput (4) for what the server sent.
"""

from __future__ import annotations

import base64
import http.client
import ipaddress
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

from cbm.core.canonical import loads
from cbm.core.errors import MalformedInput, NetworkError, NotFound, OversizedInput, UsageError

TAXII_MEDIA = "application/taxii+json;version=2.1"
MAX_ANSWER = 64 * 1024 * 1024  # one page or status document; far above what a server's page limit gives
#: JSON values (at most: the commas, colons, braces and brackets in it) one answer may hold. Bytes alone do not
#: bound memory: 64 MiB of ``{},`` would be 22M dicts, about 2 GB as Python objects. A page of 1,000 STIX
#: indicators (cbm asks 1,000 a page) holds some 40,000; at the bound, parsing holds about 150 MB.
MAX_VALUES = 2_000_000
TIMEOUT = 60.0  # seconds for the whole answer, not per read: a server dripping bytes cannot hold us
MAX_REDIRECTS = 3
_MAX_ERROR_TEXT = 200


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]  # names in lower case
    body: Any


def check_url(url: str) -> None:
    """Refuse a URL cbm will not talk to: not http(s), no host, a port that is not one (``:99999``, ``:abc``),
    a user or password in it, or ``http://`` to a host that is not loopback (UsageError)."""
    try:
        parts = urlsplit(url)
        port = parts.port  # raises ValueError for a port out of range or not a number
    except ValueError as e:  # "http://[::1/": an unclosed IPv6 bracket
        raise UsageError(f"{url!r} is not a URL: {e}") from e
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise UsageError(f"{url!r} is not an https:// URL")
    if port == 0:
        raise UsageError(f"{url!r} is not a URL: port 0")
    if parts.username is not None or parts.password is not None:
        raise UsageError(f"{_short(url).split('@')[-1]}: a user or password in the URL is refused (it would be "
                         "kept in config.toml and shown by `cbm taxii list`)",
                         hint="give the user with --user and the password with --password-file")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise UsageError(f"refusing plain http:// to {parts.hostname}: credentials and indicators would travel "
                         "unencrypted", hint="use https:// (with --ca-file for a private CA); http:// is allowed "
                                             "only to 127.0.0.1, ::1 or localhost")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class Endpoint:
    """A TAXII server at ``url``: requests relative to it, with our credentials, verified TLS and the limits above."""

    def __init__(self, url: str, *, authorization: str | None = None, ca_file: str | None = None,
                 max_answer: int | None = None, timeout: float | None = None) -> None:
        check_url(url)
        self.url = url
        self.authorization = authorization
        self.max_answer = max_answer or MAX_ANSWER
        self.timeout = timeout or TIMEOUT
        self._tls: ssl.SSLContext | None = None
        if urlsplit(url).scheme == "https":
            try:
                self._tls = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as e:
                raise UsageError(f"cannot use the CA file {ca_file}: {e}") from e

    def get(self, url: str, params: dict[str, str] | None = None) -> Answer:
        """GET ``url`` (relative to the server's URL) expecting TAXII JSON. Raises as the module says."""
        full = urljoin(self.url, url)
        if params:
            full += ("&" if "?" in full else "?") + urlencode(params)
        return self._exchange("GET", full, None)

    def post(self, url: str, body: bytes) -> Answer:
        """POST a TAXII envelope to ``url``; redirects are refused (a body is never re-sent elsewhere)."""
        return self._exchange("POST", urljoin(self.url, url), body)

    def _exchange(self, method: str, url: str, body: bytes | None) -> Answer:
        home = origin(self.url)
        for _ in range(MAX_REDIRECTS + 1):
            if origin(url) != home:
                raise NetworkError(f"the server redirected to another host or scheme ({_short(url)}); refused",
                                   hint="configure the source with the URL the server really uses")
            status, headers, raw = self._once(method, url, body)
            if status in (301, 302, 303, 307, 308):
                if method != "GET" or "location" not in headers:
                    raise NetworkError(f"the server answered {method} {_path(url)} with a redirect (HTTP {status});"
                                       " refused")
                try:
                    url = urljoin(url, headers["location"])
                except ValueError as e:  # "http://[::1/": not a URL at all
                    raise NetworkError(f"the server redirected {_path(url)} to a URL that does not parse; refused") \
                        from e
                continue
            return Answer(status, headers, self._judge(method, url, status, headers, raw))
        raise NetworkError(f"more than {MAX_REDIRECTS} redirects from {_short(self.url)}; refused")

    def _once(self, method: str, url: str, body: bytes | None) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(url)
        host = parts.hostname or ""
        deadline = time.monotonic() + self.timeout
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(host, parts.port, timeout=self.timeout, context=self._tls)
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=self.timeout)
        headers = {"Accept": TAXII_MEDIA, "User-Agent": "cbm"}
        if self.authorization:
            headers["Authorization"] = self.authorization
        if body is not None:
            headers["Content-Type"] = TAXII_MEDIA
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        # the socket timeout bounds each read, not the answer: a server dripping a byte at a time (in the headers,
        # where the loop below cannot look at the clock) is cut off at the deadline by closing the socket under it
        watchdog = threading.Timer(self.timeout, _hang_up, (conn,))
        watchdog.daemon = True
        watchdog.start()
        try:
            conn.request(method, target, body=body, headers=headers)
            response = conn.getresponse()
            answer_headers = {k.lower(): v for k, v in response.getheaders()}
            declared = answer_headers.get("content-length", "")
            if declared.isdigit() and int(declared) > self.max_answer:
                raise OversizedInput(f"the server's answer to {_path(url)} is {int(declared)} bytes, over the "
                                     f"{self.max_answer}-byte limit")
            chunks: list[bytes] = []
            size = 0
            while True:
                if time.monotonic() > deadline:
                    raise self._too_slow(url)
                chunk = response.read1(65536) if hasattr(response, "read1") else response.read(65536)
                if not chunk:
                    if time.monotonic() > deadline:  # the watchdog hung up: a cut answer, not a whole one
                        raise self._too_slow(url)
                    break
                size += len(chunk)
                if size > self.max_answer:
                    raise OversizedInput(f"the server's answer to {_path(url)} is over the {self.max_answer}-byte "
                                         "limit; stopped reading")
                chunks.append(chunk)
            return response.status, answer_headers, b"".join(chunks)
        except ssl.SSLCertVerificationError as e:
            raise NetworkError(f"TLS certificate of {host} not accepted: {e.verify_message}",
                               hint="give the server's CA with --ca-file when you add the source") from e
        except (ssl.SSLError, http.client.HTTPException, OSError) as e:  # TimeoutError is an OSError
            if time.monotonic() > deadline:
                raise self._too_slow(url) from e
            raise NetworkError(f"cannot talk to {_short(url)}: {_reason(e)}", hint=_unreachable_hint(url, e)) from e
        finally:
            watchdog.cancel()
            conn.close()

    def _too_slow(self, url: str) -> NetworkError:
        return NetworkError(f"the server's answer to {_path(url)} took longer than {self.timeout:.0f} s")

    def _judge(self, method: str, url: str, status: int, headers: dict[str, str], raw: bytes) -> Any:
        if status in (401, 403):
            raise NetworkError(f"the server refused our credentials for {_path(url)} (HTTP {status})",
                               hint="check the source's --user and password file, or --token-file")
        if status == 404:
            raise NotFound(f"the server has no {_path(url)} (HTTP 404){_title(raw)}")
        if status >= 400 or status < 200:
            raise NetworkError(f"the server answered {method} {_path(url)} with HTTP {status}{_title(raw)}")
        media = headers.get("content-type", "").replace(" ", "").lower()
        if not media.startswith("application/taxii+json"):
            raise MalformedInput(f"the server's answer to {_path(url)} is not TAXII JSON "
                                 f"(Content-Type {media[:60]!r})")
        if not raw.strip() and status in (202, 204):
            return None
        if _values_at_most(raw) > MAX_VALUES:
            raise OversizedInput(f"the server's answer to {_path(url)} holds more than {MAX_VALUES:,} JSON values "
                                 "(a page of tiny values that would take gigabytes to read); refused")
        try:
            return loads(raw)
        except MalformedInput as e:
            raise MalformedInput(f"the server's answer to {_path(url)} is {e}") from e


def _values_at_most(raw: bytes) -> int:
    """An upper bound of the JSON values in ``raw``: every value after a container's first follows a comma, every
    member's value a colon, and a container starts with a brace or bracket (counted in C, a few ms for 64 MiB)."""
    return raw.count(b",") + raw.count(b":") + raw.count(b"{") + raw.count(b"[") + 1


def _hang_up(conn: http.client.HTTPConnection) -> None:
    """Shut the connection's socket (from the watchdog's thread): a read blocked on it returns at once."""
    sock = conn.sock
    if sock is not None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:  # already closed
            pass


def origin(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) of a URL: where credentials may go. A URL that does not parse (a server's
    ``Location: http://[::1/``) is nowhere: ("", "", None)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "", "", None
    return parts.scheme, (parts.hostname or "").lower(), port


def _path(url: str) -> str:
    return urlsplit(url).path[:120] or "/"


def _short(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"[:120]


def _unreachable_hint(url: str, e: BaseException) -> str:
    """What to check when the server could not be reached: the one line a watch officer needs at 3 a.m."""
    parts = urlsplit(url)
    where = f"{parts.hostname or '?'} port {parts.port or (443 if parts.scheme == 'https' else 80)}"
    if isinstance(e, socket.gaierror):
        return f"the host name {parts.hostname} does not resolve here: check the source's URL " \
               "(`cbm taxii list`) and this machine's DNS"
    return f"check that a TAXII server runs at {where} and that a firewall or proxy lets us reach it " \
           "(`cbm taxii list` shows each source's URL)"


def _reason(e: BaseException) -> str:
    if isinstance(e, TimeoutError):
        return "timed out"
    if isinstance(e, ConnectionRefusedError):
        return "connection refused"
    text = getattr(e, "strerror", None) or str(e) or type(e).__name__
    return str(text)[:_MAX_ERROR_TEXT]


def _title(raw: bytes) -> str:
    """The TAXII error's title, if the body is one (peer text: the CLI prints it escaped)."""
    try:
        doc = loads(raw[:65536])
    except MalformedInput:
        return ""
    if isinstance(doc, dict) and isinstance(doc.get("title"), str):
        return ": " + doc["title"][:_MAX_ERROR_TEXT]
    return ""
