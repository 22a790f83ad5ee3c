"""A command group makes its commands on first use (issue 20): `cbm indicators search` reads the parameters of
`search` alone. The lazy tree must be the tree Typer would make: same names, order, options, help."""

from __future__ import annotations

import importlib
from typing import Any

import pytest
import typer.main

from cbm.cli.main import SUBCOMMANDS, _command
from cbm.cli.reflow import reflow_tree
from tests.conftest import Party

MODULES = sorted({module for module, _ in SUBCOMMANDS.values()})


def _shape(command: Any) -> Any:
    """What a user sees of a command: its name, help, options and arguments, and its subcommands in order."""
    params = [(p.name, tuple(p.opts), tuple(p.secondary_opts), p.required, repr(p.default), p.help if
               hasattr(p, "help") else None) for p in command.params
              if p.name not in ("install_completion", "show_completion")]
    subcommands = [(name, _shape(sub)) for name, sub in getattr(command, "commands", {}).items()]
    return command.name, command.help, command.short_help, command.no_args_is_help, params, subcommands


@pytest.mark.parametrize("module", MODULES)
def test_the_lazy_tree_is_the_tree_typer_makes(module: str):
    app = importlib.import_module(f"cbm.cli.{module}").app
    lazy, made = _command(app), typer.main.get_command(app)
    reflow_tree(lazy)  # as cbm.cli.root._load shows both: help paragraphs reflowed (cbm/cli/reflow.py)
    reflow_tree(made)
    assert _shape(lazy) == _shape(made)


def test_a_group_makes_only_the_commands_used():
    group = _command(importlib.import_module("cbm.cli.indicators").app)
    made = [name for name in group.commands if dict.__getitem__(group.commands, name) is not None]
    assert made == []
    assert "search" in group.commands and "export" in group.commands  # every name is known up front
    ctx = group.make_context("indicators", ["search", "--help"], resilient_parsing=True)
    assert group.get_command(ctx, "search").name == "search"
    made = [name for name in group.commands if dict.__getitem__(group.commands, name) is not None]
    assert made == ["search"]


def test_a_search_through_the_lazy_group_still_finds_and_fails_as_documented(make_party):
    us: Party = make_party("US")
    assert us.cli("indicators", "add", "--value", "evil.example.com").exit_code == 0
    found = us.cli("indicators", "search", "evil.example.com", "--json")
    assert found.exit_code == 0, found.stderr
    assert [hit["value"] for hit in found.json()["hits"]] == ["evil.example.com"]
    missing = us.cli("indicators", "search", "nothing.example")
    assert missing.exit_code == 5
    assert missing.stdout == ""
    unknown = us.cli("indicators", "serch", "evil.example.com")
    assert unknown.exit_code == 2
    assert "cbm: error:" in unknown.stderr
