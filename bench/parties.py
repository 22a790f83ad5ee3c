"""`make bench` at many parties: N real stores, a realistic day each, full exchange rounds, measured.

Each party gets a store (`cbm init`), confirms every other party's card (done through the library: it is setup,
not a day's work), and writes a day: its national feed of ``--indicators`` indicators (TLP mix of
bench/generate.py; RED and AMBER+STRICT ones are withheld from everyone), an inquiry and a hotline message to
its neighbour, a white paper. The first party tables a working-group proposal the evening before, delivered to
everyone (``distribution``); every member signs it during the day. Then ``--rounds`` full rounds (default 2),
each step a whole `cbm` process as an operator runs it: every party runs `cbm bundle export --to all -o DIR/`
(one bundle per peer), then imports the bundles addressed to it with one `cbm bundle import FILE...` (or one
process per bundle with ``--import-mode each``). Afterwards every party holds every signature: the proposal is
adopted everywhere (checked at each store). The second round carries no new day: what it moves beyond receipts
is forwarding (docs/adr/0173-late-forwarding.md; ``--forwarding relay`` makes every store relay at once, the
rule before it).

``--topology hub`` measures hub-and-relay instead of the full mesh: the first party is the hub (its config
relays third parties' records at once: ``[forwarding] relay = ["*"]``); in each round every other party exports
one bundle, to the hub; the hub imports them (one inbox), exports to all, and every spoke imports its one
bundle. Every card is confirmed everywhere in both topologies (a roster would do it), so what differs is only
the routing.

Measured: wall time of the day, of the exports and of the imports (total, mean and slowest per party), bytes
on the wire (every bundle file) and third parties' records forwarded in each round, store size (mean, largest),
the fixed cost of one import (a bundle imported again, alone in its process and among N-1 in one process), each
with how it grows against N.

Usage:  python bench/run.py --parties 3,10 [--indicators 10000] [--rounds 2] [--import-mode inbox|each]
                            [--forwarding late|relay] [--out DIR] [--workdir DIR (stores kept there)]
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import rows, write_feed  # noqa: E402  (bench/ is not a package)

SCHEMA = "cbm.bench.parties/2"
PROPOSAL = HERE.parent / "sample-data" / "workgroup" / "proposal.md"
PAPER = HERE.parent / "sample-data" / "whitepaper" / "ru-infosec-strategy-2026-v2.md"
NOW = "2026-12-07T08:00:00Z"


def codes(n: int) -> list[str]:
    """N distinct party codes: P01, P02, ..."""
    return [f"P{i:02d}" for i in range(1, n + 1)]


@dataclass
class Exchange:
    """One full round: every party exports to all, then imports what is addressed to it."""

    export_s: list[float] = field(default_factory=list)  # per party: `bundle export --to all`
    import_s: list[float] = field(default_factory=list)  # per party: all its imports
    imports: int = 0  # bundles imported
    processes: int = 0  # `cbm bundle import` processes run for them
    bundles: int = 0
    wire_bytes: int = 0
    forwarded: int = 0  # third parties' records carried (from each export's --json)
    forwarded_bytes: int = 0
    deferred: int = 0  # third parties' records held back for late forwarding
    # hub topology: the hub's own steps (also counted in export_s / import_s)
    hub_export_s: float = 0.0
    hub_import_s: float = 0.0
    export_cpu_s: list[float] = field(default_factory=list)  # CPU time of the same processes
    import_cpu_s: list[float] = field(default_factory=list)

    def critical_path(self) -> float:
        """The round's length if every party ran on its own machine: in a mesh the slowest export, then the
        slowest party's imports; through a hub the slowest spoke export, the hub's import and export, then the
        slowest spoke's import."""
        if self.hub_export_s:  # round() records the spokes' exports, the hub's import and export, the spokes' imports
            spokes_out, spokes_in = self.export_s[:-1] or [0.0], self.import_s[1:] or [0.0]
            return max(spokes_out) + self.hub_import_s + self.hub_export_s + max(spokes_in)
        return max(self.export_s) + max(self.import_s)

    def summary(self) -> dict[str, Any]:
        return {
            "round_s": round(sum(self.export_s) + sum(self.import_s), 1),
            "critical_path_s": round(self.critical_path(), 1),
            "cpu_s": round(sum(self.export_cpu_s) + sum(self.import_cpu_s), 1),
            "export_cpu_total_s": round(sum(self.export_cpu_s), 1),
            "import_cpu_total_s": round(sum(self.import_cpu_s), 1),
            "import_cpu_per_bundle_s": round(sum(self.import_cpu_s) / max(1, self.imports), 3),
            "hub_export_s": round(self.hub_export_s, 2), "hub_import_s": round(self.hub_import_s, 2),
            "export_total_s": round(sum(self.export_s), 1), "export_mean_s": round(statistics.fmean(self.export_s), 2),
            "export_max_s": round(max(self.export_s), 2),
            "import_total_s": round(sum(self.import_s), 1), "import_mean_s": round(statistics.fmean(self.import_s), 2),
            "import_max_s": round(max(self.import_s), 2),
            "import_per_bundle_s": round(sum(self.import_s) / max(1, self.imports), 3),
            "imports": self.imports, "import_processes": self.processes, "bundles": self.bundles,
            "wire_bytes": self.wire_bytes, "wire_mb": round(self.wire_bytes / 1e6, 1),
            "wire_per_bundle_kb": round(self.wire_bytes / max(1, self.bundles) / 1e3, 1),
            "forwarded_records": self.forwarded, "forwarded_mb": round(self.forwarded_bytes / 1e6, 2),
            "deferred_records": self.deferred,
        }


@dataclass
class RoundResult:
    parties: int
    indicators_per_party: int
    import_mode: str = "inbox"
    forwarding: str = "late"
    topology: str = "mesh"
    setup_s: float = 0.0
    day_s: float = 0.0
    day_cpu_s: float = 0.0
    distribution_s: float = 0.0
    exchanges: list[Exchange] = field(default_factory=list)
    store_bytes: list[int] = field(default_factory=list)
    adopted_at: int = 0
    noop_import_s: float = 0.0  # a bundle imported again, alone in its process (lands nothing)
    noop_inbox_s: float = 0.0  # N-1 bundles imported again in one process, per bundle

    def summary(self) -> dict[str, Any]:
        n = self.parties
        return {
            "parties": n, "indicators_per_party": self.indicators_per_party,
            "import_mode": self.import_mode, "forwarding": self.forwarding, "topology": self.topology,
            **self.exchanges[0].summary(),  # the first round (the day's exchange) is the headline
            "rounds": [x.summary() for x in self.exchanges],
            "wire_all_rounds_mb": round(sum(x.wire_bytes for x in self.exchanges) / 1e6, 1),
            "store_mean_bytes": round(statistics.fmean(self.store_bytes)),
            "store_mean_mb": round(statistics.fmean(self.store_bytes) / 1e6, 1),
            "store_max_mb": round(max(self.store_bytes) / 1e6, 1),
            "stores_total_mb": round(sum(self.store_bytes) / 1e6, 1),
            "day_s": round(self.day_s, 1), "day_cpu_s": round(self.day_cpu_s, 1),
            "distribution_s": round(self.distribution_s, 1),
            "setup_s": round(self.setup_s, 1), "adopted_at": f"{self.adopted_at}/{n}",
            "noop_import_s": round(self.noop_import_s, 3), "noop_inbox_per_bundle_s": round(self.noop_inbox_s, 3),
            "n_squared": n * (n - 1),
        }


class Simulation:
    def __init__(self, cbm: Path, work: Path, n: int, indicators: int, seed: int, progress: Any, *,
                 rounds: int = 2, import_mode: str = "inbox", forwarding: str = "late",
                 topology: str = "mesh") -> None:
        self.cbm, self.work, self.n, self.indicators, self.seed = cbm, work, n, indicators, seed
        self.topology = topology
        self.progress = progress
        self.rounds, self.import_mode, self.forwarding = rounds, import_mode, forwarding
        self.parties = codes(n)
        self.env = {**os.environ, "CBM_NOW": NOW, "CBM_LOCK_TIMEOUT": "600"}
        self.env.pop("CBM_PASSPHRASE", None)
        self.result = RoundResult(n, indicators, import_mode, forwarding, topology)
        self.hub = self.parties[0] if topology == "hub" else None
        self.cpu_s = 0.0  # CPU time of every cbm process run so far

    def store(self, party: str) -> Path:
        return self.work / "stores" / party

    def cbm_run(self, party: str, *args: str) -> subprocess.CompletedProcess[str]:
        """Run one whole `cbm` process against ``party``'s store; its CPU time (with any process it waited for,
        e.g. a reader child) is added to ``self.cpu_s``: the sim runs one process at a time, so the delta of
        the children's rusage is that process's."""
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run([str(self.cbm), "--store", str(self.store(party)), *args], env=self.env,
                              capture_output=True, text=True, check=False)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        if proc.returncode != 0:
            raise RuntimeError(f"{party}: cbm {' '.join(args)} exited {proc.returncode}: {proc.stderr.strip()}")
        return proc

    def setup(self) -> None:
        from cbm.app.stores import open_store
        from cbm.store.trust import create_store, import_card, own_card

        started = time.perf_counter()
        for party in self.parties:
            create_store(self.store(party), party, f"{party} national CERT", None)
            if self.forwarding == "relay" or party == self.hub:  # relays at once (before ADR 0173; or the hub)
                config = self.store(party) / "config.toml"
                config.write_text(config.read_text("utf-8") + '\n[forwarding]\nrelay = ["*"]\n', "utf-8")
        cards = {}
        for party in self.parties:
            with open_store(self.store(party)) as store:
                cards[party] = own_card(store)
        for party in self.parties:
            with open_store(self.store(party)) as store:
                for other in self.parties:
                    if other != party:
                        import_card(store, cards[other].envelope, cards[other].fingerprint)
        feeds = self.work / "feeds"
        feeds.mkdir(parents=True)
        for i, party in enumerate(self.parties):
            write_feed(feeds / f"{party}.csv", rows(self.indicators, seed=self.seed, party_salt=i + 7))
        self.result.setup_s = time.perf_counter() - started

    def day(self) -> str:
        """Everyone's day; returns the proposal id."""
        started, cpu = time.perf_counter(), self.cpu_s
        first = self.parties[0]
        proposal = json.loads(self.cbm_run(first, "workgroup", "proposal", "new", "--title", "Joint notification "
                                           "template", "--text-file", str(PROPOSAL), "--json").stdout)["id"]
        distribution = time.perf_counter()
        out = self.work / "evening"
        self.cbm_run(first, "bundle", "export", "--to", "all", "-o", f"{out}/", "--no-minisig")
        for party in self.parties[1:]:
            self.cbm_run(party, "bundle", "import", str(out / f"{first.lower()}-to-{party.lower()}.cbm"))
        self.result.distribution_s = time.perf_counter() - distribution
        for i, party in enumerate(self.parties):
            neighbour = self.parties[(i + 1) % self.n]
            self.cbm_run(party, "indicators", "import", str(self.work / "feeds" / f"{party}.csv"))
            self.cbm_run(party, "inquiry", "open", "--to", neighbour, "--type", "request_for_information",
                         "--precedence", "ROUTINE", "--subject", f"Scanning from {neighbour} address space",
                         "--body", "Please confirm whether the listed sources are known to you.", "--tlp", "AMBER")
            self.cbm_run(party, "hotline", "send", "--to", neighbour, "--precedence", "ROUTINE", "--lang", "en",
                         "--body", f"Daily check from {party}: nothing to report.")
            self.cbm_run(party, "whitepaper", "publish", str(PAPER), "--title", f"{party} ICT strategy 2026",
                         "--issuer", f"{party} Ministry of Defence", "--lang", "en",
                         "--classification", "UNCLASSIFIED", "--tlp", "CLEAR")
            self.cbm_run(party, "workgroup", "proposal", "sign", proposal)
        self.result.day_s = time.perf_counter() - started - self.result.distribution_s
        self.result.day_cpu_s = self.cpu_s - cpu
        return proposal

    def inbox(self, outbox: Path, party: str) -> list[str]:
        """The bundles addressed to ``party`` in one round's outbox: one per other party (mesh, or the hub's
        inbox), or the hub's one bundle (a spoke)."""
        senders = [self.hub] if self.hub and party != self.hub else [p for p in self.parties if p != party]
        return [str(outbox / sender / f"{sender.lower()}-to-{party.lower()}.cbm") for sender in senders]

    def export(self, x: Exchange, outbox: Path, party: str, to: str) -> float:
        started, cpu = time.perf_counter(), self.cpu_s
        doc = json.loads(self.cbm_run(party, "bundle", "export", "--to", to, "-o", f"{outbox / party}/",
                                      "--no-minisig", "--json").stdout)
        elapsed = time.perf_counter() - started
        x.export_s.append(elapsed)
        x.export_cpu_s.append(self.cpu_s - cpu)
        for bundle in doc["bundles"]:
            x.forwarded += bundle["forwarded"]
            x.forwarded_bytes += bundle["forwarded_bytes"]
            x.deferred += bundle["deferred"]
        return elapsed

    def import_inbox(self, x: Exchange, outbox: Path, party: str) -> float:
        started, cpu = time.perf_counter(), self.cpu_s
        files = self.inbox(outbox, party)
        if self.import_mode == "each":
            for name in files:
                self.cbm_run(party, "bundle", "import", name)
            x.processes += len(files)
        else:  # a morning's inbox: one process, one transaction per bundle
            self.cbm_run(party, "bundle", "import", *files)
            x.processes += 1
        x.imports += len(files)
        elapsed = time.perf_counter() - started
        x.import_s.append(elapsed)
        x.import_cpu_s.append(self.cpu_s - cpu)
        return elapsed

    def round(self, number: int) -> None:
        outbox = self.work / f"round{number}"
        x = Exchange()
        if self.hub is None:  # full mesh: everyone exports to all, then everyone imports
            for party in self.parties:
                self.export(x, outbox, party, "all")
            receivers = self.parties
        else:  # spokes to the hub; the hub imports them and sends each spoke everyone else's records
            spokes = [p for p in self.parties if p != self.hub]
            for party in spokes:
                self.export(x, outbox, party, self.hub)
            x.hub_import_s = self.import_inbox(x, outbox, self.hub)
            x.hub_export_s = self.export(x, outbox, self.hub, "all")
            receivers = spokes
        for path in outbox.rglob("*.cbm"):
            x.bundles += 1
            x.wire_bytes += path.stat().st_size
        for party in receivers:
            self.import_inbox(x, outbox, party)
        self.result.exchanges.append(x)

    def fixed_import_cost(self) -> None:
        """A bundle imported again lands nothing: what every import pays (process start, open, verify), alone in
        its process, and per bundle when the N-1 bundles of a round share one process."""
        outbox, party = self.work / "round1", self.parties[1]
        files = self.inbox(outbox, party)
        inbox_party = self.hub or party  # through a hub only the hub has an inbox of N-1 bundles
        many = self.inbox(outbox, inbox_party)
        alone, together = [], []
        for _ in range(3):
            started = time.perf_counter()
            self.cbm_run(party, "bundle", "import", files[0])
            alone.append(time.perf_counter() - started)
            started = time.perf_counter()
            self.cbm_run(inbox_party, "bundle", "import", *many)
            together.append((time.perf_counter() - started) / len(many))
        self.result.noop_import_s = statistics.median(alone)
        self.result.noop_inbox_s = statistics.median(together)

    def check(self, proposal: str) -> None:
        for party in self.parties:
            doc = json.loads(self.cbm_run(party, "workgroup", "proposal", "show", proposal, "--json").stdout)
            self.result.adopted_at += doc.get("state") == "adopted"
            self.result.store_bytes.append(sum(p.stat().st_size for p in self.store(party).rglob("*") if p.is_file()))

    def run(self) -> RoundResult:
        self.progress(f"parties {self.n}: setting up {self.n} stores and feeds of {self.indicators} indicators")
        self.setup()
        self.progress(f"parties {self.n}: the day (feeds, inquiries, hotline, white papers, proposal signatures)")
        proposal = self.day()
        for number in range(1, self.rounds + 1):
            if self.hub is None:
                what = f"{self.n} exports to all, {self.n * (self.n - 1)} imports"
            else:
                what = f"{self.n - 1} exports to the hub {self.hub}, its import and export to all, {self.n - 1} imports"
            self.progress(f"parties {self.n}: round {number} of {self.rounds} ({what}, {self.import_mode})")
            self.round(number)
        self.fixed_import_cost()
        self.check(proposal)
        return self.result


def growth(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """How each figure grows from the smallest N measured: the ratio, beside N's and N(N-1)'s ratios."""
    if len(summaries) < 2:
        return []
    base = summaries[0]
    out = []
    for s in summaries[1:]:
        out.append({"from": base["parties"], "to": s["parties"],
                    "n_ratio": round(s["parties"] / base["parties"], 2),
                    "pairs_ratio": round(s["n_squared"] / base["n_squared"], 2),
                    **{key: round(s[key] / base[key], 2) if base[key] else None
                       for key in ("round_s", "export_mean_s", "import_mean_s", "import_per_bundle_s", "wire_mb",
                                   "store_mean_mb")}})
    return out


def hub_estimate(summaries: list[dict[str, Any]], parties: int = 200) -> dict[str, Any]:
    """Full mesh against hub-and-relay at ``parties``, extrapolated from the largest measured round.

    One party's day weighs D in a peer's bundle. Mesh: P(P-1) bundles of D; each party imports P-1 of them (in
    one process). Hub: P-1 bundles of D go to the hub, and the hub sends each party one bundle of everyone else's
    days, (P-1)D: the same bytes on the wire, 2(P-1) bundles instead of P(P-1), one import per party instead of
    P-1. Import time is modelled as a fixed cost per bundle (measured: bundles imported again, which land nothing;
    alone in a process for a spoke's one bundle, among N-1 in one process for the mesh and the hub) plus a cost
    per MB (the rest of the first round's import time over its bytes). Before late forwarding (ADR 0173) a mesh
    also forwarded every day again to the P-2 peers that already had it: ``mesh_forwarded_before_gb``.
    """
    s = summaries[-1]
    n = s["parties"]
    wire = s["wire_bytes"] / 1e6
    day_mb = wire / (n * (n - 1))
    alone = s["noop_import_s"]  # one bundle imported again, alone in its process
    fixed = s["noop_inbox_per_bundle_s"] or alone  # the same, per bundle, with N-1 of them in one process
    per_bundle_fixed = fixed if s["import_mode"] == "inbox" else alone
    per_mb = max(0.0, s["import_total_s"] - s["imports"] * per_bundle_fixed) / wire if wire else 0.0
    mesh_wire_gb = day_mb * parties * (parties - 1) / 1e3
    return {
        "parties": parties, "from_measured_n": n, "day_mb_per_party": round(day_mb, 2),
        "fixed_import_s": round(alone, 3), "fixed_import_in_inbox_s": round(fixed, 3),
        "import_s_per_mb": round(per_mb, 3),
        "mesh": {"bundles": parties * (parties - 1), "wire_gb": round(mesh_wire_gb, 1),
                 "imports_per_party": parties - 1,
                 "import_hours_per_party": round((parties - 1) * (fixed + day_mb * per_mb) / 3600, 2),
                 "mesh_forwarded_before_gb": round(mesh_wire_gb * (parties - 2), 1)},
        "hub": {"bundles": 2 * (parties - 1), "wire_gb": round(mesh_wire_gb, 1), "imports_per_party": 1,
                "import_hours_per_party": round((alone + (parties - 1) * day_mb * per_mb) / 3600, 2),
                "hub_imports": parties - 1,
                "hub_import_hours": round((parties - 1) * (fixed + day_mb * per_mb) / 3600, 2),
                "hub_bundle_mb_per_peer": round((parties - 1) * day_mb, 1),
                "hub_export_gb": round((parties - 1) ** 2 * day_mb / 1e3, 1)},
    }


def markdown(doc: dict[str, Any]) -> str:
    lines = ["# cbm at many parties: full exchange rounds", "",
             f"{doc['indicators']} indicators per party, seed {doc['seed']}, {doc['machine']}; load before "
             f"{doc['load_before']}, after {doc['load_after']}; imports: {doc['import_mode']} (inbox: one "
             f"`cbm bundle import FILE...` per party and round; each: one process per bundle); forwarding: "
             f"{doc['forwarding']} (late: ADR 0173; relay: every store forwards at once, the rule before it); "
             f"topology: {doc.get('topology', 'mesh')} (mesh: every party exchanges with every other; hub: the first "
             f"party relays for all, the others exchange only with it). Times are of whole `cbm` processes run one "
             f"after another on this machine; the critical path is the round's length if every party had its own "
             f"machine.", "",
             "Round 1 (the day's exchange):", "",
             "| N | bundles | round (s) | export to all, mean/max (s) | imports per party, mean/max (s) | "
             "per import (s) | wire (MB) | per bundle (kB) | store mean/max (MB) | fixed import alone / in inbox (s) "
             "| day, time / CPU (s) | adopted |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in doc["rounds"]:
        lines.append(f"| {s['parties']} | {s['bundles']} | {s['round_s']} | {s['export_mean_s']} / {s['export_max_s']}"
                     f" | {s['import_mean_s']} / {s['import_max_s']} | {s['import_per_bundle_s']} | {s['wire_mb']} | "
                     f"{s['wire_per_bundle_kb']} | {s['store_mean_mb']} / {s['store_max_mb']} | "
                     f"{s['noop_import_s']} / {s['noop_inbox_per_bundle_s']} | "
                     f"{s['day_s']} / {s.get('day_cpu_s', '—')} | {s['adopted_at']} |")
    lines += ["", "Every round (a later round carries no new day: receipts, and whatever is forwarded):", "",
              "| N | round | time / CPU (s) | per import, time / CPU (s) | critical path (s) | "
              "hub import / export (s) | wire (MB) | per bundle (kB) | "
              "forwarded records | forwarded (MB) | held back (late) | import processes |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in doc["rounds"]:
        for i, r in enumerate(s["rounds"], 1):
            hub_steps = f"{r['hub_import_s']} / {r['hub_export_s']}" if r.get("hub_export_s") else "—"
            lines.append(f"| {s['parties']} | {i} | {r['round_s']} / {r.get('cpu_s', '—')} | "
                         f"{r['import_per_bundle_s']} / {r.get('import_cpu_per_bundle_s', '—')} | "
                         f"{r.get('critical_path_s', '—')} | {hub_steps} | "
                         f"{r['wire_mb']} | {r['wire_per_bundle_kb']} | {r['forwarded_records']} | "
                         f"{r['forwarded_mb']} | {r['deferred_records']} | {r['import_processes']} |")
    if doc["growth"]:
        lines += ["", "Growth against the smallest N (ratios; N and N(N-1) for comparison):", "",
                  "| from → to | N | N(N-1) | round | export mean | import mean | per import | wire | store mean |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for g in doc["growth"]:
            lines.append(f"| {g['from']} → {g['to']} | {g['n_ratio']} | {g['pairs_ratio']} | {g['round_s']} | "
                         f"{g['export_mean_s']} | {g['import_mean_s']} | {g['import_per_bundle_s']} | {g['wire_mb']} | "
                         f"{g['store_mean_mb']} |")
    hub = doc["hub_estimate"]
    if hub is None:
        return "\n".join(lines + [""])
    lines += ["", f"Full mesh against hub-and-relay at {hub['parties']} parties (extrapolated from N="
                  f"{hub['from_measured_n']}): `{json.dumps(hub)}`", ""]
    return "\n".join(lines)


def run(parties: list[int], *, cbm: Path, out: Path, indicators: int, seed: int, keep: Path | None,
        rounds: int = 2, import_mode: str = "inbox", forwarding: str = "late", topology: str = "mesh") -> int:
    def progress(text: str) -> None:
        print(f"bench: {text}", file=sys.stderr, flush=True)

    summaries = []
    load_before = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    for n in parties:
        work = Path(tempfile.mkdtemp(prefix=f"cbm-parties-{n}-", dir=keep))
        try:
            result = Simulation(cbm, work, n, indicators, seed, progress, rounds=rounds, import_mode=import_mode,
                                forwarding=forwarding, topology=topology).run()
        finally:
            if keep is None:
                shutil.rmtree(work, ignore_errors=True)
        summaries.append(result.summary())
        progress(f"parties {n}: {json.dumps(summaries[-1])}")
    load_after = " ".join(Path("/proc/loadavg").read_text().split()[:3]) if Path("/proc/loadavg").exists() else "?"
    doc = {"schema": SCHEMA, "indicators": indicators, "seed": seed, "import_mode": import_mode,
           "forwarding": forwarding, "topology": topology, "rounds": summaries,
           "growth": growth(summaries), "hub_estimate": hub_estimate(summaries) if topology == "mesh" else None,
           "machine": f"{os.cpu_count()} cores", "load_before": load_before, "load_after": load_after}
    out.mkdir(parents=True, exist_ok=True)
    stem = "parties-" + "-".join(str(n) for n in parties) + ("" if forwarding == "late" else f"-{forwarding}") \
        + ("" if import_mode == "inbox" else f"-{import_mode}") + ("" if topology == "mesh" else f"-{topology}")
    (out / f"{stem}.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    text = markdown(doc)
    (out / f"{stem}.md").write_text(text, encoding="utf-8")
    progress(f"report written to {out / stem}.md and .json")
    print(text)
    return 0
