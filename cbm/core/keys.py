"""Key pairs, fingerprints, and the private-key file.

A party has an Ed25519 signing key and an X25519 encryption key. Private keys live in one file (mode 0600),
encrypted with a passphrase (Argon2id + XSalsa20-Poly1305 SecretBox) unless created for automation. The file
holds every key pair the party has had, newest last, so messages encrypted to a rotated key stay readable.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from cbm.core.errors import MalformedInput, StoreCorrupt, UsageError

# nacl loads only where keys are made, unlocked or used (about 10 ms): reading commands never need it
if TYPE_CHECKING:
    import nacl.public
    import nacl.signing

SECRET_FORMAT = "cbm-secret-keys/1"
# Argon2id cost: 3 passes over 64 MiB (~0.3 s here). Stored in the file, so it can be raised later.
KDF_OPSLIMIT = 3
KDF_MEMLIMIT = 64 * 1024 * 1024


def fingerprint_bytes(verify_key: bytes) -> bytes:
    """20 bytes that name a signing key; what operators read to each other over the phone."""
    return hashlib.sha256(b"cbm-ed25519-v1:" + verify_key).digest()[:20]


def fingerprint(verify_key: bytes) -> str:
    """``3F2A 9C1B …``: 40 hex digits in groups of four."""
    digits = fingerprint_bytes(verify_key).hex().upper()
    return " ".join(digits[i : i + 4] for i in range(0, len(digits), 4))


def keyid(verify_key: bytes) -> str:
    """16 hex digits: the first 8 bytes of the fingerprint (also the minisign key id)."""
    return fingerprint_bytes(verify_key)[:8].hex()


def normalise_fingerprint(text: str) -> str:
    """Accept any spacing/case/colons; return 40 upper-case hex digits or raise UsageError."""
    digits = "".join(ch for ch in text if ch not in " :-\t").upper()
    if len(digits) != 40 or any(ch not in "0123456789ABCDEF" for ch in digits):
        raise UsageError(f"{text!r} is not a key fingerprint", hint="a fingerprint is 40 hex digits")
    return digits


class KeyPair(NamedTuple):
    """One generation of a party's keys."""

    signing: nacl.signing.SigningKey
    encryption: nacl.public.PrivateKey
    created: str

    @classmethod
    def generate(cls, created: str) -> KeyPair:
        import nacl.public
        import nacl.signing

        return cls(nacl.signing.SigningKey.generate(), nacl.public.PrivateKey.generate(), created)

    @classmethod
    def from_seed(cls, seed: bytes, created: str) -> KeyPair:
        """Deterministic keys for golden test vectors. Never used for real parties."""
        import nacl.public
        import nacl.signing

        sign_seed = hashlib.sha256(b"sign" + seed).digest()
        enc_seed = hashlib.sha256(b"enc" + seed).digest()
        return cls(nacl.signing.SigningKey(sign_seed), nacl.public.PrivateKey(enc_seed), created)

    @property
    def verify_key(self) -> bytes:
        return bytes(self.signing.verify_key)

    @property
    def public_enc_key(self) -> bytes:
        return bytes(self.encryption.public_key)

    @property
    def keyid(self) -> str:
        return keyid(self.verify_key)


PassphraseSource = Callable[[], str]


def _kdf(passphrase: str, salt: bytes, opslimit: int, memlimit: int) -> bytes:
    import nacl.pwhash
    import nacl.secret

    return nacl.pwhash.argon2id.kdf(
        nacl.secret.SecretBox.KEY_SIZE, passphrase.encode("utf-8"), salt, opslimit=opslimit, memlimit=memlimit
    )


def write_secret_keys(path: Path, pairs: list[KeyPair], passphrase: str | None) -> None:
    """Write every key pair to ``path`` (0600, fsync + atomic rename). ``passphrase=None``: unencrypted."""
    from cbm.core.canonical import canonical_bytes  # the key file's codec loads where it is read or written:
    from cbm.core.dsse import b64  # `cbm status` needs only fingerprints (docs/adr/0256)

    inner = canonical_bytes(
        {
            "keys": [
                {
                    "created": p.created,
                    "enc_secret": b64(bytes(p.encryption)),
                    "keyid": p.keyid,
                    "sign_seed": b64(bytes(p.signing)),
                }
                for p in pairs
            ]
        }
    )
    if passphrase is None:
        doc: dict[str, object] = {"format": SECRET_FORMAT, "protection": "none", "keys": b64(inner)}
    else:
        if not passphrase:
            raise UsageError("the passphrase is empty", hint="choose a passphrase, or --no-passphrase")
        import nacl.pwhash
        import nacl.secret
        import nacl.utils

        salt = nacl.utils.random(nacl.pwhash.argon2id.SALTBYTES)
        box = nacl.secret.SecretBox(_kdf(passphrase, salt, KDF_OPSLIMIT, KDF_MEMLIMIT))
        doc = {
            "format": SECRET_FORMAT,
            "protection": "argon2id",
            "opslimit": KDF_OPSLIMIT,
            "memlimit": KDF_MEMLIMIT,
            "salt": b64(salt),
            "keys": b64(bytes(box.encrypt(inner))),
        }
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, canonical_bytes(doc) + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)
    from cbm.core.files import replace_durably  # tempfile: for writers only, not every command that reads keys

    replace_durably(tmp, path)


def is_protected(path: Path) -> bool:
    """Whether the key file needs a passphrase."""
    return _read_doc(path).get("protection") != "none"


def _read_doc(path: Path) -> dict[str, object]:
    from cbm.core.canonical import loads

    try:
        doc = loads(path.read_bytes())
    except OSError as e:
        raise StoreCorrupt(f"cannot read the private key file {path}: {e.strerror}") from e
    except MalformedInput as e:
        raise StoreCorrupt(f"the private key file {path} is damaged: {e}") from e
    if not isinstance(doc, dict) or doc.get("format") != SECRET_FORMAT:
        raise StoreCorrupt(f"{path} is not a cbm private key file")
    return doc


def read_secret_keys(path: Path, passphrase: PassphraseSource) -> list[KeyPair]:
    """Load every key pair, oldest first. ``passphrase`` is called only when the file is protected.

    Raises UsageError for a wrong passphrase, StoreCorrupt for a damaged file.
    """
    import nacl.exceptions
    import nacl.public
    import nacl.secret
    import nacl.signing

    from cbm.core.canonical import loads
    from cbm.core.dsse import unb64

    doc = _read_doc(path)
    try:
        blob = unb64(str(doc["keys"]), "key file")
        if doc.get("protection") == "none":
            inner = blob
        else:
            salt = unb64(str(doc["salt"]), "key file salt")
            opslimit, memlimit = doc["opslimit"], doc["memlimit"]
            if not isinstance(opslimit, int) or not isinstance(memlimit, int):
                raise StoreCorrupt(f"{path}: bad KDF parameters")
            key = _kdf(passphrase(), salt, opslimit, memlimit)
            try:
                inner = nacl.secret.SecretBox(key).decrypt(blob)
            except nacl.exceptions.CryptoError as e:
                raise UsageError(
                    "wrong passphrase for the private keys",
                    hint="check CBM_PASSPHRASE or --passphrase-file",
                ) from e
        items = loads(inner)["keys"]
        return [
            KeyPair(
                nacl.signing.SigningKey(unb64(item["sign_seed"], "signing key")),
                nacl.public.PrivateKey(unb64(item["enc_secret"], "encryption key")),
                item["created"],
            )
            for item in items
        ]
    except (KeyError, TypeError, MalformedInput) as e:
        raise StoreCorrupt(f"the private key file {path} is damaged") from e
