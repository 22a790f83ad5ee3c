"""A working group of one is no working group (docs/adr/0265-a-working-group-has-two-members.md).

A proposal's or a meeting's own member list defines "every member" (ADR 0060). A peer that tables a proposal
naming only itself, signs it, and sends both would otherwise have it shown "adopted" in our store on its
signature alone: a "joint" proposal no one else agreed to. Every record here is signed by a real trusted peer
and travels in a real bundle file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from tests.bundle.helpers import export, import_, write
from tests.conftest import Party

TEXT = "Joint notification template: a peer alone cannot make this joint.\n"
DIGEST = hashlib.sha256(TEXT.encode()).hexdigest()


def proposal(members: list[str]) -> dict[str, Any]:
    return {"title": "Joint notification template", "text": TEXT, "digest": DIGEST, "revision": 1,
            "draft": False, "members": members}


def meeting(members: list[str]) -> dict[str, Any]:
    return {"at": "2026-12-10T09:00:00Z", "place": "Moscow", "title": "", "agenda": TEXT, "agenda_digest": DIGEST,
            "members": members, "carried": []}


def carry(ru: Party, us: Party, path: Path) -> None:
    export(ru, "US", path)
    landed = import_(us, path)
    assert landed.exit_code == 0, landed.stderr


@pytest.mark.parametrize("members", [["RU"], ["RU", "RU"]], ids=["alone", "alone-twice"])
def test_a_peers_proposal_naming_only_itself_is_never_adopted(us_ru: tuple[Party, Party], tmp_path: Path,
                                                             members: list[str]):
    us, ru = us_ru
    (tabled,) = write(ru, "workgroup.proposal", proposal(members), to=("US",))
    write(ru, "workgroup.sign", {"ref": tabled.hash, "revision": tabled.hash, "digest": DIGEST}, to=("US",))
    carry(ru, us, tmp_path / "ru.cbm")

    listed = us.cli("workgroup", "proposal", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert listed.json()["proposals"] == []
    shown = us.cli("workgroup", "proposal", "show", tabled.hash)
    assert shown.exit_code == 4, shown.stderr
    assert shown.stderr == f"cbm: error: proposal {tabled.hash[:12]} is malformed and was skipped\n"
    status = us.cli("status", "--json").json()
    (bad,) = [m for m in status["malformed"] if m["kind"] == "workgroup.proposal"]
    assert bad["author"] == "RU" and "at least two parties" in bad["reason"]


def test_a_peers_meeting_of_one_cannot_finalise_minutes_alone(us_ru: tuple[Party, Party], tmp_path: Path):
    us, ru = us_ru
    (convened,) = write(ru, "workgroup.meeting", meeting(["RU"]), to=("US",))
    (minutes,) = write(ru, "workgroup.minutes", {"ref": convened.hash, "text": TEXT, "digest": DIGEST},
                       to=("US",))
    write(ru, "workgroup.approve", {"ref": convened.hash, "minutes": minutes.hash, "digest": DIGEST}, to=("US",))
    carry(ru, us, tmp_path / "ru.cbm")

    listed = us.cli("workgroup", "meeting", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert listed.json()["meetings"] == []
    status = us.cli("status", "--json").json()
    assert any(m["kind"] == "workgroup.meeting" and "at least two parties" in m["reason"]
               for m in status["malformed"])


def test_a_store_without_peers_cannot_table_a_proposal_or_convene(make_party, tmp_path: Path):
    """Our own side of the rule: with nobody else in the group, the command says so before signing anything."""
    solo = make_party("US")
    text = tmp_path / "proposal.md"
    text.write_text(TEXT)
    with solo.open() as store:
        before = [r.hash for r in store.log("US")]
    for args in (("workgroup", "proposal", "new", "--title", "Template", "--text-file", str(text)),
                 ("workgroup", "meeting", "new", "--at", "2026-12-10T09:00Z", "--place", "Geneva",
                  "--agenda-file", str(text))):
        r = solo.cli(*args)
        assert r.exit_code == 2, (args, r.stdout, r.stderr)
        first, *rest = r.stderr.splitlines()
        assert first == ("cbm: error: the working group is only us (US): a meeting or a proposal needs at least "
                         "one other member"), r.stderr
        assert all(line.startswith("  hint:") for line in rest) and "cbm keys import" in r.stderr
    with solo.open() as store:
        assert [r.hash for r in store.log("US")] == before
