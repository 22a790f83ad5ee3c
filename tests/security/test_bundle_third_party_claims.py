"""A forwarder cannot frame a third party (issue 13, part 1; docs/adr/0110-claims-about-a-log.md).

US, RU and CN trust each other. US — a real trusted peer, signing with its real key — sends RU bundles claiming
withheld ranges of CN's log (or of RU's own log) that CN never wrote. One named attack each. Whatever US claims,
CN's own signed records win when they arrive, CN is never marked as equivocating, the claim is recorded against
US with the bundle it came from, and a store poisoned before this rule recovers by itself or by `store rebuild`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from cbm.core.records import Record
from tests.bundle.forge import add_withheld, body_lines, join_lines, resign, signer
from tests.bundle.helpers import export, hashes, write
from tests.conftest import Party, introduce

FORGED = "ab" * 32


@dataclass
class Trio:
    us: Party
    ru: Party
    cn: Party
    tmp: Path
    cn_records: list[Record]
    cn_first_two: Path  # a real CN -> RU bundle made when CN had written only its records 1-2

    def path(self, name: str) -> Path:
        return self.tmp / f"{name}-{len(list(self.tmp.iterdir()))}.cbm"

    def send(self, sender: Party, to: Party, *flags: str) -> Path:
        """A real bundle from ``sender`` to ``to``."""
        path = self.path(f"{sender.code}-{to.code}")
        export(sender, to.code, path, *flags)
        return path

    def forged(self, author: str, first: int, last: int, digest: str = FORGED) -> Path:
        """A real US -> RU bundle (US's own new records) plus a withheld range of ``author``'s log that US
        claims, signed by US's real key."""
        write(self.us, n=1)
        real = self.send(self.us, self.ru, "--no-encrypt").read_bytes()  # plain: its manifest is edited
        path = self.path("forged")
        path.write_bytes(add_withheld(real, [signer(self.us)], author, first, last, digest))
        return path

    def import_(self, party: Party, path: Path, code: int = 0) -> dict:
        r = party.cli("bundle", "import", str(path), "--json")
        assert r.exit_code == code, r.stderr
        assert "Traceback" not in r.stderr
        return r.json() if code == 0 else {}

    def status(self) -> dict:
        r = self.ru.cli("status", "--json")
        assert r.exit_code == 0, r.stderr
        return r.json()


@pytest.fixture
def trio(make_party, tmp_path: Path) -> Trio:
    us, ru, cn = make_party("US"), make_party("RU"), make_party("CN")
    introduce(us, ru, cn)
    out = tmp_path / "bundles"
    out.mkdir()
    first_two = write(cn, n=2)
    early = out / "cn-first-two.cbm"
    export(cn, "RU", early)
    return Trio(us, ru, cn, out, first_two + write(cn, n=1), early)


def _bundle_id(path: Path) -> str:
    import hashlib

    from cbm.core import dsse
    from tests.bundle.forge import split
    return hashlib.sha256(dsse.parse(split(path.read_bytes())[0]).payload).hexdigest()


def assert_held_against_us(trio: Trio, forged: Path, author: str = "CN") -> None:
    """CN (or ``author``) is not blamed; US is, with the bundle it sent; the store verifies."""
    status = trio.status()
    assert status["counts"]["equivocations"] == 0
    assert not any("equivocat" in a["text"] for a in status["attention"])
    claims = status["claims"]
    assert [(c["claimant"], c["author"], c["hash"]) for c in claims] == [("US", author, FORGED)]
    assert claims[0]["source"] == f"bundle {_bundle_id(forged)}"
    assert any(a["text"].startswith("US made 1 claim(s)") for a in status["attention"])
    human = trio.ru.cli("status")
    assert "US made 1 claim(s) about other parties' logs" in human.stdout
    assert trio.ru.cli("store", "verify").exit_code == 0


def test_forged_future_position_is_overridden_by_the_authors_own_records(trio: Trio):
    """US claims CN's records 1-2 (which RU has not seen yet) end in a hash CN never signed. RU keeps it as a
    hint, but its receipts to CN do not acknowledge CN's log on US's word; CN's next ordinary bundle (no --all)
    carries its records, and they win."""
    forged = trio.forged("CN", 1, 2)
    assert trio.import_(trio.ru, forged)["withheld_new"] == 1
    trio.import_(trio.cn, trio.send(trio.ru, trio.cn))
    r = trio.ru.cli("bundle", "import", str(trio.send(trio.cn, trio.ru)), "--json")
    assert r.exit_code == 0, r.stderr  # before: exit 1, "CN signed two different records with seq 2"
    assert "warning: US claimed positions" in r.stderr and "of CN's log that CN's own records contradict" in r.stderr
    assert [(c["claimant"], c["author"]) for c in r.json()["claims"]] == [("US", "CN")]
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)


def test_a_hint_contradicted_by_the_next_record_is_dropped_and_the_gap_refilled(trio: Trio):
    """US claims CN 1-2 end in a forged hash; CN's record 3 arrives first, in a bundle CN signed that starts
    after 2: its prev contradicts the claim, so the claim goes, 3 is held, RU's receipt tells CN it holds
    nothing of its log, and CN's next ordinary bundle fills the gap."""
    forged = trio.forged("CN", 1, 2)
    trio.import_(trio.ru, forged)
    full = trio.send(trio.cn, trio.ru, "--all", "--no-encrypt").read_bytes()  # plain: its body is cut

    def from_three(doc: dict) -> None:
        doc["logs"][0].update(first=3, records=doc["logs"][0]["records"] - 2)
    path = trio.path("cn-from-3")
    path.write_bytes(resign(full, [signer(trio.cn)], body=join_lines(body_lines(full)[2:]), change=from_three))
    r = trio.ru.cli("bundle", "import", str(path), "--json")
    assert r.exit_code == 0, r.stderr  # before: exit 1, "does not link"
    assert r.json()["held"] == 1 and r.json()["missing"] == {"CN": [1, 2]}
    trio.import_(trio.cn, trio.send(trio.ru, trio.cn))
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru))
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)


def test_forged_future_position_loses_to_the_record_at_that_position(trio: Trio):
    forged = trio.forged("CN", 2, 2)
    trio.import_(trio.ru, forged)
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru, "--all"))  # before: exit 1, "CN signed two different..."
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)


def test_forged_past_position_does_not_block_the_claimants_own_records(trio: Trio):
    """RU holds CN 1-3; US claims 1-2 end elsewhere. US's own records still land; the claim is held against US."""
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru))
    forged = trio.forged("CN", 1, 2)
    landed = trio.import_(trio.ru, forged)["landed"]  # before: exit 1, "contradicts the record we hold"
    assert landed == {"US": 1}
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)


def test_forged_range_overlapping_real_records(trio: Trio):
    """RU holds CN 1-2; US claims a range 1-3 over them. Only the position RU lacks is kept as a hint, and CN's
    own record 3 overrides it."""
    trio.import_(trio.ru, trio.cn_first_two)
    forged = trio.forged("CN", 1, 3)
    trio.import_(trio.ru, forged)
    with trio.ru.open() as store:
        kept = store.conn.execute("SELECT first_seq, last_seq, claimant FROM withheld").fetchall()
    assert kept == [(3, 3, "US")]  # never over records RU holds
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru, "--all"))
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)


def test_a_claimed_range_of_our_own_log_is_never_kept(trio: Trio):
    """US claims RU's own log runs to 5 with a hash RU never signed: RU's next records still follow its own."""
    own = write(trio.ru, n=1)
    forged = trio.forged("RU", 1, 5)
    result = trio.import_(trio.ru, forged)
    assert result["withheld_new"] == 0
    after = write(trio.ru, n=1)[0]
    with trio.ru.open() as store:
        seqs = [(r.seq, r.prev) for r in store.log("RU")]
    assert seqs[0] == (1, None) and [s for s, _ in seqs] == list(range(1, len(seqs) + 1))
    assert after.seq == len(seqs) and own[0].seq == 1
    assert_held_against_us(trio, forged, author="RU")


def test_a_claimed_range_of_our_own_log_ending_at_a_record_we_hold_is_held_against_its_sender(trio: Trio):
    """US claims RU's record 1 is withheld with a hash RU never signed for it: not kept, recorded against US with
    the hash RU does hold named; the same claim with RU's true hash says nothing false and is not recorded."""
    own = write(trio.ru, n=1)[0]
    forged = trio.forged("RU", 1, 1)
    assert trio.import_(trio.ru, forged)["withheld_new"] == 0
    assert_held_against_us(trio, forged, author="RU")
    problem = trio.status()["claims"][0]["problem"]
    assert problem == f"claimed a withheld range of our own log; our record 1 has hash {own.hash[:12]}", problem
    true = trio.forged("RU", 1, 1, own.hash)
    assert trio.import_(trio.ru, true)["withheld_new"] == 0
    assert len(trio.status()["claims"]) == 1  # only the false one
    with trio.ru.open() as store:
        assert [r.hash for r in store.log("RU")][0] == own.hash


def _poison(trio: Trio) -> Path:
    """RU as the code before this rule left it: US's forged claim stored as the truth for CN seq 1 (no claimant
    columns, no claims table), and CN's genuine record 1 kept as 'equivocation evidence' after the refused
    import of CN's bundle."""
    forged = trio.forged("CN", 1, 1)
    trio.import_(trio.ru, forged)
    with trio.ru.open() as store:
        store.conn.execute("BEGIN IMMEDIATE")
        store.conn.execute("DROP TABLE IF EXISTS claims")
        columns = {row[1] for row in store.conn.execute("PRAGMA table_info(withheld)")}
        for column in {"claimant", "source"} & columns:
            store.conn.execute(f"ALTER TABLE withheld DROP COLUMN {column}")
        store.conn.execute("INSERT INTO equivocations (author, seq, hash, envelope, detected, source)"
                           " VALUES ('CN', 1, ?, ?, '2026-12-01T00:00:00Z', 'bundle 0123456789ab')",
                           (trio.cn_records[0].hash, trio.cn_records[0].envelope))
        store.conn.execute("COMMIT")
    return forged


def test_a_poisoned_store_recovers_on_the_next_genuine_bundle(trio: Trio):
    forged = _poison(trio)
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru, "--all"))  # before: exit 1, CN "equivocating"
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")
    assert_held_against_us(trio, forged)  # the claimant found again from RU's own receipt of US's bundle


def test_a_poisoned_store_recovers_by_rebuild(trio: Trio):
    forged = _poison(trio)
    r = trio.ru.cli("store", "rebuild")
    assert r.exit_code == 0, r.stderr
    with trio.ru.open() as store:
        assert store.conn.execute("SELECT COUNT(*) FROM withheld").fetchone()[0] == 0
    assert_held_against_us(trio, forged)
    trio.import_(trio.ru, trio.send(trio.cn, trio.ru, "--all"))
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")


def test_real_equivocation_evidence_survives_rebuild(trio: Trio):
    """The sweep keeps what is evidence: two records both signed by CN for one position."""
    from cbm.core.records import build_payload, sign_record

    trio.import_(trio.ru, trio.send(trio.cn, trio.ru))
    payload = build_payload(author="CN", seq=2, prev=trio.cn_records[0].hash, created="2026-11-23T00:00:00Z",
                            kind="inquiry.open", to=["*"], tlp="GREEN", body={"ref": "other story"})
    other = sign_record(payload, "inquiry.open", signer(trio.cn))
    from cbm.core.records import record_hash
    with trio.ru.open() as store:
        store.conn.execute("BEGIN IMMEDIATE")
        store.conn.execute("INSERT INTO equivocations (author, seq, hash, envelope, detected, source)"
                           " VALUES ('CN', 2, ?, ?, '2026-12-01T00:00:00Z', 'test')", (record_hash(payload), other))
        store.conn.execute("COMMIT")
    assert trio.ru.cli("store", "rebuild").exit_code == 0
    assert trio.status()["counts"]["equivocations"] == 1



def test_a_true_forwarded_range_does_not_stop_the_author_delivering_what_we_may_see(trio: Trio):
    """CN writes a RED record for RU only. US holds it as withheld and forwards that range to RU (true, but only
    US's word). RU's receipts to CN must not acknowledge that position on US's word: CN then delivers the
    record itself, and nothing is recorded against US."""
    write(trio.cn, to=("RU",), tlp="RED")
    write(trio.cn, n=1)
    trio.import_(trio.us, trio.send(trio.cn, trio.us))
    trio.import_(trio.ru, trio.send(trio.us, trio.ru))
    for _ in range(2):  # receipts travel to CN; CN's bundles travel to RU
        trio.import_(trio.cn, trio.send(trio.ru, trio.cn))
        trio.import_(trio.ru, trio.send(trio.cn, trio.ru))
    assert hashes(trio.ru, "CN") == hashes(trio.cn, "CN")  # before: RU never got CN's record 4 (for RU only)
    status = trio.status()
    assert status["claims"] == [] and status["counts"]["equivocations"] == 0
    assert trio.ru.cli("store", "verify").exit_code == 0
