"""One error tree. Each class carries the exit code the CLI returns for it (see README, "Exit codes").

Library code raises these (wrapping foreign exceptions with ``raise ... from e``); only ``cbm/cli`` turns
them into a message and an exit code.
"""

from __future__ import annotations


class CbmError(Exception):
    """Root of every error cbm reports to a user."""

    exit_code = 1
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    def diagnostics(self) -> str:
        """What happened and, where we know, what to do about it.

        Messages may quote peer text (a revocation reason, a key id): control characters, newlines included,
        are shown escaped so they can neither drive the terminal nor forge extra lines.
        """
        text = _printable(str(self))
        if self.hint:
            text += f"\n  hint: {_printable(self.hint)}"
        return text


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}"
                   for ch in text)


# exit 1 — the bytes do not verify


class VerificationError(CbmError):
    """A signature, hash or chain link is wrong: the content cannot be trusted."""

    exit_code = 1


class BadSignature(VerificationError):
    """A signature does not verify, or a required signature is missing."""


class TamperedContent(VerificationError):
    """Bytes differ from what their hash or signature says (including truncation)."""


class ChainBroken(VerificationError):
    """A record's ``prev`` does not link to its author's previous record."""


class Equivocation(VerificationError):
    """An author signed two different records with the same ``seq``; both are kept as evidence."""


# exit 2 — the command was used wrongly


class UsageError(CbmError):
    """Wrong arguments, missing passphrase, wrong passphrase, a prompt needed where none is possible."""

    exit_code = 2


# exit 3 — the signer is not one we trust


class UntrustedSigner(CbmError):
    """Signed by a key we do not trust: unknown, revoked, rotated out or expired."""

    exit_code = 3


class UnknownSigner(UntrustedSigner):
    """No trusted party card holds this key."""


class RevokedKey(UntrustedSigner):
    """The key was revoked (by its owner or by us) or rotated out before this record."""


class UnexpectedSigner(UntrustedSigner):
    """Signed by a trusted key, but not by the one the caller pinned (``bundle verify --fingerprint``)."""


# exit 4 — well-signed perhaps, but not acceptable


class InputRejected(CbmError):
    """Malformed or oversized input, a wrong recipient, or an illegal state transition."""

    exit_code = 4


class MalformedInput(InputRejected):
    """Not the format it claims to be."""


class OversizedInput(InputRejected):
    """Larger than cbm accepts (a line, a record, a count)."""


class WrongRecipient(InputRejected):
    """Meant for another party."""


class IllegalTransition(InputRejected):
    """The action is not allowed in the current state; the message lists what is."""


# exit 5


class NotFound(CbmError):
    """A record, party, file or reference does not exist."""

    exit_code = 5


# exit 6 — the store itself


class StoreError(CbmError):
    """The store is missing, locked, corrupt, or the check could not run."""

    exit_code = 6


class StoreMissing(StoreError):
    """No store at the resolved location."""


class StoreLocked(StoreError):
    """Another process holds the store for longer than we are willing to wait."""


class StoreCorrupt(StoreError):
    """The database or key files cannot be read as cbm wrote them."""


# exit 7 — the network exchange failed


class NetworkError(CbmError):
    """A server could not be reached or refused us: connection, TLS, credentials, a redirect to another host,
    an HTTP error. Nothing was changed in the store (docs/adr/0131-taxii-network-errors.md)."""

    exit_code = 7


EXIT_CODES: dict[int, str] = {
    0: "success",
    1: "verification failed (bad signature, tampered bytes, broken chain, equivocation)",
    2: "usage error (bad arguments, missing or wrong passphrase)",
    3: "untrusted signer (unknown, revoked, rotated-out or expired key)",
    4: "input rejected (malformed or oversized input, wrong recipient, illegal state transition)",
    5: "not found",
    6: "store error (missing, locked, corrupt)",
    7: "network error (server unreachable, TLS or credentials refused, HTTP error, redirect to another host)",
}
