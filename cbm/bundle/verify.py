"""``cbm bundle verify``: the quick check (manifest signature, body hash, every record's hash and chain link,
every attachment's hash: hashing-bound) and the deep check (also every record's own signature, on all cores).
Needs no store: trusted keys may come from a keyring of party cards. The sender's key may be pinned by
fingerprint, so a CI job trusts one key, not whatever card sits in its keyring folder.

The result is also the verification report CI dashboards read (``--json``, schema ``cbm.bundle.verify/1``,
documented in the README and shipped as ``cbm/bundle/schemas/bundle-verify-1.schema.json``; see
docs/adr/0140-bundle-verify-report.md). A refusal is a report too: :func:`check_bundle` never raises a
``CbmError``, it returns the report with ``ok`` false, the exit code, the reason and what was checked before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import nacl.bindings
import nacl.exceptions

from cbm.bundle.format import Manifest
from cbm.bundle.reader import EncryptedOnly, RecordItem, items, open_bundle
from cbm.core import errors
from cbm.core.dsse import pae
from cbm.core.errors import BadSignature, CbmError, RevokedKey, UnexpectedSigner, UnknownSigner
from cbm.core.keys import KeyPair, fingerprint, normalise_fingerprint
from cbm.core.memory import cycle_collector_paused
from cbm.core.parallel import BackgroundVerifier
from cbm.core.records import TrustedKey, TrustedKeyLookup

REPORT_SCHEMA = "cbm.bundle.verify/1"

# The checks a report may list, in the order they run. Only those that ran and passed are listed.
CHECKS = ("outer-signature", "ciphertext-hash", "signer-pin", "manifest-signature", "body-hash", "record-hashes",
          "chain-links", "attachment-hashes", "record-signatures")

# reason_code for each error class; the most specific class wins (a stable vocabulary for dashboards)
_REASON_CODES: list[tuple[type[CbmError], str]] = [
    (errors.BadSignature, "bad-signature"),
    (errors.TamperedContent, "tampered"),
    (errors.ChainBroken, "chain-broken"),
    (errors.Equivocation, "equivocation"),
    (errors.VerificationError, "verification-failed"),
    (errors.UsageError, "usage"),
    (errors.UnexpectedSigner, "unexpected-signer"),
    (errors.UnknownSigner, "unknown-signer"),
    (errors.RevokedKey, "revoked-key"),
    (errors.UntrustedSigner, "untrusted-signer"),
    (errors.MalformedInput, "malformed"),
    (errors.OversizedInput, "oversized"),
    (errors.WrongRecipient, "wrong-recipient"),
    (errors.InputRejected, "rejected"),
    (errors.NotFound, "not-found"),
    (errors.StoreError, "store-error"),
]
REASON_CODES = tuple(code for _, code in _REASON_CODES)


def reason_code(error: CbmError) -> str:
    """The report's stable name for an error class (``unexpected-signer``, ``tampered`` ...)."""
    for cls in type(error).__mro__:
        for known, code in _REASON_CODES:
            if cls is known:
                return code
    return "verification-failed"


@dataclass(frozen=True)
class Signer:
    """The sender's key that signed the bundle's header(s)."""

    party: str
    keyid: str
    fingerprint: str  # 40 hex digits in groups of four, as `cbm keys show` prints it


@dataclass
class BundleVerification:
    """What was checked, and the outcome. Fields the check did not reach stay empty (None, 0, [])."""

    ok: bool = False
    depth: str = "quick"  # quick | deep
    sender: str | None = None
    recipients: list[str] = field(default_factory=list)
    number: int | None = None
    bundle: str | None = None  # id: SHA-256 of the manifest payload; None when encrypted and not opened
    signed_by: str | None = None  # keyid of the signer
    layers: list[str] = field(default_factory=list)
    contents_checked: bool = False  # False: encrypted and we hold no key to open it (outer signature and hash checked)
    records: int = 0
    withheld: int = 0
    blobs: int = 0
    signatures_checked: int = 0
    previous: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)
    signer: Signer | None = None
    pinned: list[str] = field(default_factory=list)  # fingerprints the signer had to match (empty: no pin)
    checks: list[str] = field(default_factory=list)  # names from CHECKS, in the order they passed
    exit_code: int = 0
    reason: str | None = None
    reason_code: str | None = None
    error: CbmError | None = field(default=None, repr=False, compare=False)  # not part of the report

    @classmethod
    def refused(cls, error: CbmError, *, depth: str = "quick") -> BundleVerification:
        """The report of a check that could not start (no keyring, file missing, bad arguments)."""
        report = cls(depth=depth)
        report.fail(error)
        return report

    def fail(self, error: CbmError) -> None:
        self.ok, self.error, self.exit_code = False, error, error.exit_code
        self.reason, self.reason_code = str(error), reason_code(error)

    @property
    def result(self) -> str:
        """``verified``, ``verified-outer-only`` (encrypted, no key here to open it) or ``failed``."""
        if not self.ok:
            return "failed"
        return "verified" if self.contents_checked else "verified-outer-only"

    def report(self) -> dict[str, Any]:
        """The ``--json`` document's fields (without ``schema``): a contract, fields only ever added."""
        return {
            "ok": self.ok, "result": self.result, "exit_code": self.exit_code, "reason": self.reason,
            "reason_code": self.reason_code, "error": self.reason,  # "error": the field's name before 0140
            "depth": self.depth, "checks": list(self.checks), "contents_checked": self.contents_checked,
            "sender": self.sender,
            "signer": None if self.signer is None else {"party": self.signer.party, "keyid": self.signer.keyid,
                                                        "fingerprint": self.signer.fingerprint},
            "signed_by": self.signed_by, "pinned": list(self.pinned), "recipients": list(self.recipients),
            "number": self.number, "bundle": self.bundle, "previous": self.previous, "layers": list(self.layers),
            "records": self.records, "withheld": self.withheld, "blobs": self.blobs,
            "signatures_checked": self.signatures_checked, "logs": [dict(log) for log in self.logs],
        }


def _key_for(item: RecordItem, keys: TrustedKeyLookup) -> tuple[TrustedKey, bytes]:
    """The trusted key valid for this record and the signature to check with it.

    Several signatures may name valid keys (a duplicate, or a bad copy beside a good one, as DSSE allows);
    the record verifies if any of them does, so with more than one candidate the good one is picked here
    (rare; the common single-signature case goes to the parallel batch unchecked).
    """
    record = item
    found: TrustedKey | None = None
    candidates: list[tuple[TrustedKey, bytes]] = []
    for signature in item.signatures():
        key = keys.trusted_key(signature.keyid)
        if key is None or key.party != record.author:
            continue
        found = key
        in_range = record.seq >= key.first_seq and (key.last_seq is None or record.seq <= key.last_seq)
        if in_range and not (key.status == "revoked" and key.last_seq is None):
            candidates.append((key, signature.sig))
    if len(candidates) > 1:
        message = pae(item.payload_type, item.payload)
        for key, sig in candidates:
            try:
                nacl.bindings.crypto_sign_open(sig + message, key.verify_key)
                return key, sig
            except (nacl.exceptions.BadSignatureError, ValueError):
                continue
    if candidates:
        return candidates[0]
    if found is not None:
        raise RevokedKey(f"{record.author} record {record.seq} is signed by key {found.keyid}, not valid for "
                         f"that seq ({found.status})")
    raise UnknownSigner(f"{record.author} record {record.seq} is signed by no trusted key of {record.author}",
                        hint=f"add {record.author}'s party card to the keyring")


def _pins(fingerprints: Iterable[str]) -> list[str]:
    """Pinned fingerprints in the grouped form `keys show` prints. UsageError for one that is not 40 hex digits."""
    pins = []
    for text in fingerprints:
        digits = normalise_fingerprint(text)
        grouped = " ".join(digits[i:i + 4] for i in range(0, 40, 4))
        if grouped not in pins:
            pins.append(grouped)
    return pins


def check_bundle(source: BinaryIO, keys: TrustedKeyLookup, *, deep: bool = False, party: str | None = None,
                 decrypt_with: Callable[[], list[KeyPair]] | None = None,
                 on_item: Callable[[RecordItem], None] | None = None,
                 pinned: Iterable[str] = (),
                 progress: Callable[[int, int], None] | None = None) -> BundleVerification:
    """Check a bundle; return the report. Never raises a ``CbmError``: a refusal is a report with ``ok``
    false, the error's exit code and reason, and ``error`` holding the exception.

    ``progress(done, total)``, if given, hears the bytes of the verified body checked so far (of its signed
    size) as the records pass, quick or deep.

    ``pinned``: fingerprints (any spacing) of which the sender's signing key must be one, else the refusal is
    UnexpectedSigner (exit 3), raised before anything the key signed is read. An encrypted bundle without
    ``party`` and ``decrypt_with`` (or not for ``party``) is checked as far as its outer signature and
    ciphertext hash (``contents_checked`` false).
    """
    report = BundleVerification(depth="deep" if deep else "quick")
    try:
        report.pinned = _pins(pinned)
        _check(source, keys, report, deep=deep, party=party, decrypt_with=decrypt_with, on_item=on_item,
               progress=progress)
    except CbmError as e:
        report.fail(e)
    return report


def verify_bundle(source: BinaryIO, keys: TrustedKeyLookup, *, deep: bool = False, party: str | None = None,
                  decrypt_with: Callable[[], list[KeyPair]] | None = None,
                  on_item: Callable[[RecordItem], None] | None = None,
                  pinned: Iterable[str] = ()) -> BundleVerification:
    """Check a bundle; return what was checked. Raises the refusal's error class on the first fault."""
    report = check_bundle(source, keys, deep=deep, party=party, decrypt_with=decrypt_with, on_item=on_item,
                          pinned=pinned)
    if report.error is not None:
        raise report.error
    return report


@cycle_collector_paused()
def _check(source: BinaryIO, keys: TrustedKeyLookup, report: BundleVerification, *, deep: bool,
           party: str | None, decrypt_with: Callable[[], list[KeyPair]] | None,
           on_item: Callable[[RecordItem], None] | None,
           progress: Callable[[int, int], None] | None = None) -> None:
    """Fill ``report`` as each check passes; raise the refusal's error class on the first fault."""

    def accept_signer(header: str, key: TrustedKey) -> None:
        if header == "manifest" and "outer-signature" in report.checks:
            report.checks.append("ciphertext-hash")  # the inner manifest is read only after the ciphertext verified
        report.checks.append("outer-signature" if header == "encrypted" else "manifest-signature")
        report.signer = Signer(key.party, key.keyid, fingerprint(key.verify_key))
        report.sender, report.signed_by = key.party, key.keyid
        if report.pinned and "signer-pin" not in report.checks:
            if report.signer.fingerprint not in report.pinned:
                raise UnexpectedSigner(
                    f"the bundle is signed by {key.party}'s key {report.signer.fingerprint}, not by the pinned "
                    + ("key " if len(report.pinned) == 1 else "keys ") + ", ".join(report.pinned),
                    hint="check the fingerprint with the sender out of band; after a rotation, pin the new key")
            report.checks.append("signer-pin")

    def manifest_seen(m: Manifest) -> None:
        report.recipients, report.number, report.previous = list(m.recipients), m.number, m.previous
        report.logs = [log.doc() for log in m.logs]

    try:
        opened = open_bundle(source, keys, party=party, decrypt_with=decrypt_with, check=manifest_seen,
                             accept_signer=accept_signer)
    except EncryptedOnly as e:
        h = e.header
        report.checks.append("ciphertext-hash")
        report.recipients, report.number, report.layers = list(h.recipients), h.number, e.layers
        report.depth, report.ok = "quick", True
        return
    with opened:
        m = opened.manifest
        report.checks.append("body-hash")
        report.bundle, report.layers, report.contents_checked = opened.bundle_id, opened.layers, True
        with BackgroundVerifier() as verifier:
            for item in items(opened, strict=deep):
                if progress is not None:
                    progress(opened.body_read(), m.body_size)
                if isinstance(item, RecordItem):
                    report.records += 1
                    if on_item is not None:
                        on_item(item)
                    if deep:
                        key, sig = _key_for(item, keys)
                        verifier.add((item.payload_type, item.payload, sig, key.verify_key), (item.author, item.seq))
                else:
                    report.withheld += item.last_seq - item.first_seq + 1
            if progress is not None:
                progress(opened.body_read(), m.body_size)
            bad = verifier.finish()
            report.signatures_checked = verifier.checked
        report.checks += ["record-hashes", "chain-links", "attachment-hashes"]
        if bad:
            author, seq = cast(tuple[str, int], bad[0])
            raise BadSignature(f"{author} record {seq} has a signature that does not verify"
                               + (f" ({len(bad)} records in all)" if len(bad) > 1 else ""))
        if deep:
            report.checks.append("record-signatures")
        report.blobs = len(m.blobs)
        report.ok = True
