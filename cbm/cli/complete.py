"""Shell completion (bash, zsh, fish): the root's --install-completion / --show-completion, both orders of
the completion variable (``bash_source`` as Click documents it, ``source_bash`` as Typer writes it), and
dynamic values from the store: party codes, indicator ids, inquiry numbers, proposal, meeting and action ids,
hotline message and call ids, white-paper ids (and their versions' and translations' ids).

Completers are attached here, by parameter, when a subcommand loads (cbm/cli/main.py), so `cbm --help` pays
nothing and the group modules stay as they are. A completer never fails: no store, a locked or damaged one,
anything at all gives no suggestions rather than a traceback in the user's shell. docs/adr/0152.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

LIMIT = 200
Completer = Callable[[Any, Any, str], list[str]]


def _store(ctx: Any) -> Any:
    from cbm.app.stores import open_store
    from cbm.store import paths

    root = ctx.find_root()
    explicit = root.params.get("store_dir") or os.environ.get("CBM_STORE")
    return open_store(paths.resolve(explicit))


def _safely(query: Callable[[Any, str], list[str]]) -> Completer:
    def complete(ctx: Any, param: Any, incomplete: str) -> list[str]:
        try:
            with _store(ctx) as store:
                return query(store, incomplete)[:LIMIT]
        except Exception:  # completion must never print a traceback into a shell
            return []

    return complete


def _parties(store: Any, incomplete: str) -> list[str]:
    return [p for p in [store.party, *store.peers()] if p.startswith(incomplete.upper())]


def _peers(store: Any, incomplete: str) -> list[str]:
    return [p for p in store.peers() if p.startswith(incomplete.upper())]


def _indicators(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.indicators import queries

    return list(store.query(queries.id_prefixes, incomplete, LIMIT))


def _inquiries(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.inquiry import index

    return list(store.query(index.numbers, incomplete, LIMIT))


def _short(ids: Any, incomplete: str) -> list[str]:
    """Record ids as the lists show them (12 hex digits), or longer when the user typed more; sorted."""
    typed = incomplete.strip().lower()
    width = max(12, len(typed))
    return sorted({i[:width] for i in ids if i.startswith(typed)})


def _proposals(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.workgroup import service as workgroup

    return _short((r.record for p in workgroup.load(store).proposals.values() for r in p.revisions), incomplete)


def _meetings(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.workgroup import service as workgroup

    return _short(workgroup.load(store).meetings, incomplete)


def _actions(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.workgroup import service as workgroup

    return _short(workgroup.load(store).actions, incomplete)


def _hotline(kind: str) -> Callable[[Any, str], list[str]]:
    def query(store: Any, incomplete: str) -> list[str]:
        from cbm.measures.hotline import index

        return _short(store.query(index.ids, kind, incomplete.strip().lower(), LIMIT), incomplete)

    return query


def _papers(store: Any, incomplete: str) -> list[str]:
    from cbm.measures.whitepaper import index

    return _short(store.query(index.ids, incomplete.strip().lower(), LIMIT), incomplete)


PARTIES, PEERS = _safely(_parties), _safely(_peers)
INDICATORS, INQUIRIES, PROPOSALS = _safely(_indicators), _safely(_inquiries), _safely(_proposals)
MEETINGS, ACTIONS, PAPERS = _safely(_meetings), _safely(_actions), _safely(_papers)
MESSAGES, CALLS = _safely(_hotline("hotline.message")), _safely(_hotline("hotline.call"))

# (command path, parameter name) -> completer; "*" matches any command of the group
RULES: dict[tuple[str, str], Completer] = {
    ("bundle export", "to"): PEERS, ("bundle status", "peer"): PEERS,
    ("hotline send", "to"): PEERS, ("hotline test", "to"): PEERS,
    ("hotline status", "with_"): PEERS, ("hotline transcript", "with_"): PEERS,
    ("hotline read", "message_id"): MESSAGES, ("hotline translate", "message_id"): MESSAGES,
    ("hotline confirm", "call_id"): CALLS,
    ("indicators *", "party"): PARTIES, ("indicators *", "to"): PEERS,
    ("indicators revoke", "ref"): INDICATORS, ("indicators show", "ref"): INDICATORS,
    ("indicators sighting", "ref"): INDICATORS,
    ("inquiry *", "ref"): INQUIRIES, ("inquiry *", "indicator"): INDICATORS,
    ("inquiry open", "to"): PEERS, ("inquiry list", "to"): PARTIES, ("inquiry list", "sender"): PARTIES,
    ("keys export", "party"): PARTIES, ("keys revoke", "party"): PEERS,
    ("whitepaper list", "from_"): PARTIES, ("whitepaper publish", "to"): PEERS,
    ("whitepaper translate", "to"): PEERS, ("whitepaper *", "doc"): PAPERS,
    ("workgroup action add", "owner"): PARTIES, ("workgroup action list", "owner"): PARTIES,
    ("workgroup proposal *", "proposal"): PROPOSALS,
    ("workgroup minutes", "meeting"): MEETINGS, ("workgroup meeting *", "meeting"): MEETINGS,
    ("workgroup action add", "meeting"): MEETINGS, ("workgroup action done", "action"): ACTIONS,
}


def attach(command: Any, path: str) -> None:
    """Give the parameters of ``command`` (and its subcommands) their completers from RULES."""
    for name, sub in getattr(command, "commands", {}).items():
        attach(sub, f"{path} {name}")
    group = path.rsplit(" ", 1)[0]
    for param in command.params:
        completer = RULES.get((path, param.name)) or RULES.get((f"{group} *", param.name))
        if completer is not None:
            param._custom_shell_complete = completer


def normalised_instruction(value: str) -> str:
    """Typer's ``complete_bash`` / ``source_zsh`` from either order (Click documents ``bash_source``)."""
    first, _, second = value.partition("_")
    shells = ("bash", "zsh", "fish", "powershell", "pwsh")
    return f"{second}_{first}" if first in shells else value
