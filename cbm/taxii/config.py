"""TAXII sources (``[taxii.sources.NAME]``) and server users (``[taxii.users.NAME]``) in the store's config.toml.

Secrets never live in config.toml nor on the command line: a source names a password or token *file*, or takes it
from the environment (``CBM_TAXII_PASSWORD_<NAME>``, ``CBM_TAXII_TOKEN_<NAME>``, NAME upper-cased with ``-`` as
``_``). Server users are kept as Argon2id hashes (docs/adr/0133-taxii-server.md).
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import nacl.exceptions
import nacl.pwhash
import tomli_w

from cbm.core.errors import NotFound, StoreCorrupt, UsageError
from cbm.core.files import written_atomically
from cbm.store import paths
from cbm.store.db import Store
from cbm.taxii import http

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
MAX_SECRET_FILE = 4096


@dataclass(frozen=True)
class Source:
    name: str
    url: str  # the discovery URL, e.g. https://cti.example/taxii2/
    api_root: str  # absolute URL or a path on the server, e.g. /api1/
    collection: str  # the collection id
    user: str | None = None
    password_file: str | None = None
    token_file: str | None = None
    ca_file: str | None = None

    @property
    def api_root_url(self) -> str:
        from urllib.parse import urljoin

        root = urljoin(self.url, self.api_root)
        return root if root.endswith("/") else root + "/"

    def env_name(self, what: str) -> str:
        return f"CBM_TAXII_{what}_" + re.sub(r"[^A-Z0-9]", "_", self.name.upper())

    def authorization(self) -> str | None:
        """The Authorization header value: a bearer token (file, then environment) or basic auth with the password
        (file, then environment). Raises UsageError when a user is named but no password is found."""
        token = _secret(self.token_file, self.env_name("TOKEN"))
        if token:
            return f"Bearer {token}"
        if self.user is None:
            return None
        password = _secret(self.password_file, self.env_name("PASSWORD"))
        if password is None:
            raise UsageError(f"no password for TAXII source {self.name}",
                             hint=f"add it with --password-file, or set {self.env_name('PASSWORD')}")
        return http.basic_auth(self.user, password)

    def endpoint(self) -> http.Endpoint:
        return http.Endpoint(self.url, authorization=self.authorization(), ca_file=self.ca_file)


def _secret(path: str | None, env: str) -> str | None:
    if path:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_SECRET_FILE + 1)
        except OSError as e:
            raise UsageError(f"cannot read the secret file {path}: {e.strerror}") from e
        if len(data) > MAX_SECRET_FILE:
            raise UsageError(f"the secret file {path} is over {MAX_SECRET_FILE} bytes: not a password or token")
        try:
            return data.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise UsageError(f"the secret file {path} is not UTF-8 text") from e
    value = os.environ.get(env)
    return value if value else None


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(f"{name!r} is not a source or user name",
                         hint="lower-case letters, digits, '-' and '_', up to 32, e.g. internal")
    return name


def _absolute(path: str | None, what: str) -> str | None:
    if path is None:
        return None
    p = Path(path).expanduser().resolve()
    if not os.path.isfile(p):
        raise NotFound(f"{what} {path} does not exist")
    return str(p)


# -- sources -----------------------------------------------------------------------------------------------


def sources(store: Store) -> list[Source]:
    """Every configured source, by name. Raises StoreCorrupt for a damaged entry."""
    table = store.config.get("taxii", {}).get("sources", {})
    if not isinstance(table, dict):
        raise StoreCorrupt("config.toml [taxii.sources] is not a table")
    found = []
    for name, entry in sorted(table.items()):
        try:
            found.append(Source(name=name, **entry))
        except TypeError as e:
            raise StoreCorrupt(f"config.toml [taxii.sources.{name}] is damaged: {e}") from e
    return found


def source(store: Store, name: str) -> Source:
    """The source called ``name``. Raises NotFound."""
    for s in sources(store):
        if s.name == name:
            return s
    raise NotFound(f"no TAXII source {name!r}", hint="list them with `cbm taxii list`; add one with `cbm taxii add`")


def add_source(store: Store, new: Source) -> Source:
    """Check and save a new source (files made absolute). Raises UsageError (bad name or URL, name taken),
    NotFound (a named file missing)."""
    check_name(new.name)
    http.check_url(new.url)
    if any(s.name == new.name for s in sources(store)):
        raise UsageError(f"a TAXII source {new.name!r} exists already", hint="remove it first")
    if not new.collection or not re.match(r"^[A-Za-z0-9._~-]{1,128}$", new.collection):
        raise UsageError(f"{new.collection!r} is not a collection id")
    if new.password_file and not new.user:
        raise UsageError("--password-file needs --user")
    saved = Source(new.name, new.url, new.api_root, new.collection, new.user,
                   _absolute(new.password_file, "the password file"), _absolute(new.token_file, "the token file"),
                   _absolute(new.ca_file, "the CA file"))
    http.check_url(saved.api_root_url)
    if http.origin(saved.api_root_url) != http.origin(saved.url):
        raise UsageError(f"the API root {new.api_root} is not on the server at {new.url}",
                         hint="cbm sends credentials to one scheme, host and port only; add the API root's "
                              "server as the source URL")
    entry = {k: v for k, v in asdict(saved).items() if v is not None and k != "name"}
    _update(store, lambda config: config.setdefault("taxii", {}).setdefault("sources", {}).__setitem__(
        saved.name, entry))
    return saved


def remove_source(store: Store, name: str) -> Source:
    """Forget a source (its pull cursor and pushed-object memory too). Raises NotFound."""
    gone = source(store, name)
    from cbm.store import taxii_state

    _update(store, lambda config: config["taxii"]["sources"].pop(name))
    with store.transaction() as conn:
        taxii_state.forget(conn, name)
    return gone


# -- server users ------------------------------------------------------------------------------------------


def users(store: Store) -> dict[str, str]:
    """User name -> Argon2id hash, for ``cbm taxii serve``."""
    table = store.config.get("taxii", {}).get("users", {})
    if not isinstance(table, dict):
        raise StoreCorrupt("config.toml [taxii.users] is not a table")
    return {name: str(entry.get("password", "")) for name, entry in table.items() if isinstance(entry, dict)}


def add_user(store: Store, name: str, password_file: str) -> str:
    """Add (or replace) a server user with the password in ``password_file``, kept hashed. Raises UsageError."""
    check_name(name)
    password = _secret(password_file, "")
    if not password or len(password) < 8:
        raise UsageError("the password file holds fewer than 8 characters")
    hashed = nacl.pwhash.argon2id.str(password.encode()).decode("ascii")
    _update(store, lambda config: config.setdefault("taxii", {}).setdefault("users", {}).__setitem__(
        name, {"password": hashed}))
    return name


def remove_user(store: Store, name: str) -> str:
    if name not in users(store):
        raise NotFound(f"no TAXII server user {name!r}")
    _update(store, lambda config: config["taxii"]["users"].pop(name))
    return name


def password_matches(hashed: str, password: str) -> bool:
    try:
        return bool(nacl.pwhash.verify(hashed.encode("ascii"), password.encode()))
    except (nacl.exceptions.InvalidkeyError, nacl.exceptions.CryptoError, ValueError, UnicodeEncodeError):
        return False


def _update(store: Store, change: Any) -> None:
    """Re-read config.toml, apply ``change`` to it, write it back atomically, and refresh ``store.config``."""
    path = store.root / paths.CONFIG
    try:
        config = tomllib.loads(path.read_text("utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise StoreCorrupt(f"{path} is damaged: {e}") from e
    change(config)
    with written_atomically(path, text=True) as out:
        out.write(tomli_w.dumps(config))
    store.config = config


@dataclass(frozen=True)
class SourceInfo:
    """A source as ``taxii list``/``show`` report it: where it is, how we authenticate (never the secret),
    where the next pull starts and how many object versions were pushed to it."""

    name: str
    url: str
    api_root: str
    collection: str
    user: str | None
    auth: str  # token-file | password-file | environment | none
    ca_file: str | None
    next_pull_after: str | None
    pushed: int


def describe(store: Store, name: str | None = None) -> list[SourceInfo]:
    """Every source (or the one named: NotFound if none) with its pull cursor and pushed count."""
    from cbm.store import taxii_state

    chosen = [source(store, name)] if name is not None else sources(store)
    found = []
    for s in chosen:
        auth = "token-file" if s.token_file else "password-file" if s.password_file else \
            "environment" if (os.environ.get(s.env_name("TOKEN")) or os.environ.get(s.env_name("PASSWORD"))) \
            else "none"
        found.append(SourceInfo(s.name, s.url, s.api_root, s.collection, s.user, auth, s.ca_file,
                                store.query(taxii_state.cursor, s.name), store.query(taxii_state.pushed_count, s.name)))
    return found
