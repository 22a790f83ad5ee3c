"""Fuzz what a *trusted* peer can send: the signed manifest (or encrypted outer header) and the body behind it.

Input: ``CBM-BUNDLE/1`` or ``CBM-ENCRYPTED/1``, then the header's payload JSON on one line (unsigned), then the
body. The harness fixes the body's SHA-256 and size in the payload (where the fuzzer left those fields), signs
it with the fixed key of its ``sender`` (US when it names none) and hands the bundle to cbm. Record lines
written as ``R`` + payload JSON are signed by their ``author``'s fixed key and relinked (``prev``, and the
manifest's ``last_hash``), so a changed record body still chains. So every mutation reaches the manifest
parser, the layer readers, the item checks and the landing of records behind valid signatures, as a hostile or
buggy trusted peer's bundle would.
"""

from __future__ import annotations

import hashlib
import re

from fuzz.bundles import verify_and_import
from fuzz.harness import instrumented, main, pair

with instrumented():
    from cbm.bundle import encryption
    from cbm.bundle.format import MAGIC, MANIFEST_TYPE
    from cbm.bundle.signing import sign_header
    from cbm.core import dsse
    from cbm.core.records import payload_type_for

_SHA = re.compile(rb'("body":\{[^{}]*"sha256":")[^"]*(")')
_SIZE = re.compile(rb'("body":\{[^{}]*"size":)-?[0-9]+')
_AUTHOR = re.compile(rb'"author":"(US|RU|CN)"')
_SENDER = re.compile(rb'"sender":"(US|RU|CN)"')
_KIND = re.compile(rb'"kind":"([a-z_.]+)"')
_PREV = re.compile(rb'"prev":"[0-9a-f]*"')
_LAST = re.compile(rb'("last_hash":")[^"]*(")')
_WITHHELD_HASH = re.compile(rb'"hash":"([0-9a-f]{64})"')


def _signed_records(body: bytes) -> tuple[bytes, bytes | None]:
    """The body with each ``R`` line signed, its ``prev`` relinked to the item before it (so a changed record
    still chains and reaches the checks behind the chain), and the hash of the last item."""
    lines, last = [], None
    for line in body.split(b"\n"):
        if line.startswith(b"R{"):
            payload = line[1:]
            if last is not None:
                payload = _PREV.sub(b'"prev":"' + last + b'"', payload, 1)
            last = hashlib.sha256(payload).hexdigest().encode()
            line = _signed_record(payload)
        elif line.startswith(b'{"withheld"'):
            withheld = _WITHHELD_HASH.search(line)
            last = withheld[1] if withheld else last
        lines.append(line)
    return b"\n".join(lines), last


def _signed_record(payload: bytes) -> bytes:
    author, kind = _AUTHOR.search(payload), _KIND.search(payload)
    signer = pair(author[1].decode() if author else "US")
    payload_type = payload_type_for(kind[1].decode()) if kind else "application/vnd.cbm.inquiry.v1+json"
    return dsse.sign(payload_type, payload, [(signer.keyid, signer.signing)]).to_json_bytes()


def assemble(data: bytes) -> bytes:
    """The bundle the input stands for (see the module docstring); other input is passed on as it is."""
    for magic, payload_type in ((MAGIC, MANIFEST_TYPE), (encryption.MAGIC, encryption.HEADER_TYPE)):
        if data.startswith(magic):
            payload, _, body = data[len(magic):].partition(b"\n")
            if magic == MAGIC and b"\nR{" in b"\n" + body:
                body, last = _signed_records(body)
                if last is not None:
                    payload = _LAST.sub(rb"\g<1>" + last + rb"\g<2>", payload, 1)
            digest, size = hashlib.sha256(body).hexdigest().encode(), str(len(body)).encode()
            payload = _SHA.sub(rb"\g<1>" + digest + rb"\g<2>", payload, 1)
            payload = _SIZE.sub(rb"\g<1>" + size, payload, 1)
            sender = _SENDER.search(payload)
            signer = pair(sender[1].decode() if sender else "US")
            return magic + sign_header(payload_type, payload, [signer]) + b"\n" + body
    return data


def check(data: bytes) -> None:
    verify_and_import(assemble(data))


if __name__ == "__main__":
    main(check)
