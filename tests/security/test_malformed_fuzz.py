"""Property test: malformed bodies of every record kind, signed by a real trusted peer, carried in a real bundle,
break no command (issue 13 part 3, docs/adr/0116-malformed-peer-records.md).

Hypothesis builds bodies from each kind's own field names with wrong types, missing fields, huge numbers,
deep nesting and control characters. RU signs them, exports a bundle, US imports it; then every listing, show,
status and export command runs over US's store: each exits with a documented code, prints no traceback, and
``cbm status --json`` counts exactly the records the kinds' schemas refuse.
"""

from __future__ import annotations

import importlib
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cbm.measures.malformed import reason
from cbm.measures.registry import MEASURES
from tests.bundle.helpers import export, import_, write
from tests.conftest import Party

EXIT_CODES = {0, 1, 2, 3, 4, 5, 6}
STIX_ID = "indicator--6f1e0c1a-3c1b-4b7e-9d3e-1a2b3c4d5e6f"
HOSTILE_TEXT = st.sampled_from(["\n", "\r", "\x1b[2J", "\x00", "\x7f", "\x9b", "\u2028", "\u202e", "\u2067",
                                "RU-CERT\nfingerprint  E24E 55F4", "[bold]x[/]", "", "x" * 70_000])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1),
                    st.sampled_from([0, -1, 2**53 - 1]), st.text(max_size=20), HOSTILE_TEXT,
                    st.sampled_from(["a" * 64, STIX_ID, "2026-11-23T05:00:00Z", "US", "RU", "en", "FLASH"]))
KEYS = st.text(alphabet=string.ascii_letters + "_-", max_size=8)  # signed content takes ASCII keys only
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(KEYS, inner, max_size=4)),
                      max_leaves=12)


def _kinds() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for measure in MEASURES:
        for kind, cls in importlib.import_module(f"{measure.package}.records").RECORDS.items():
            # ``blobs`` is the bundle's business (the sender's exporter and the reader check it, issue 13 part 4)
            out[kind] = tuple(key for key in cls.keys() if key != "blobs")
    return out


KINDS = _kinds()


@st.composite
def body_for(draw: st.DrawFn, kind: str) -> dict[str, Any]:
    """A body with a random subset of the kind's own keys (so checks get past "missing field"), each holding a
    random value; an indicator batch also gets rows of random cells under its real column names."""
    keys = draw(st.lists(st.sampled_from(KINDS[kind]), unique=True))
    body = {key: draw(VALUES) for key in keys}
    if kind == "indicators.batch" and draw(st.booleans()):
        body["fields"] = ["id", "type", "value", "valid_until", "confidence", "sectors", "name"]
        body["rows"] = [[STIX_ID, "ipv4-addr", *draw(st.lists(VALUES, max_size=5))]]
    return body


BODIES = st.lists(st.tuples(st.sampled_from(sorted(KINDS)), st.data()), min_size=1, max_size=6)


def _commands(bundle: Path, out: Path) -> list[tuple[str, ...]]:
    return [("status",), ("status", "--json"), ("keys", "list"), ("store", "verify"),
            ("indicators", "list"), ("indicators", "list", "--json"), ("indicators", "show", STIX_ID),
            ("indicators", "stats"), ("indicators", "received"),
            ("indicators", "export", "--format", "stix", "-o", str(out / "x.json")),
            ("indicators", "export", "--format", "csv", "-o", str(out / "x.csv")),
            ("indicators", "export", "--format", "txt", "-o", str(out / "x.txt")),
            ("inquiry", "list"), ("inquiry", "list", "--json"), ("hotline", "inbox"), ("hotline", "status"),
            ("hotline", "transcript"), ("hotline", "transcript", "--with", "RU", "--verify"),
            ("whitepaper", "list"), ("whitepaper", "list", "--json"), ("workgroup", "members"),
            ("workgroup", "meeting", "list"), ("workgroup", "action", "list"), ("workgroup", "proposal", "list"),
            ("workgroup", "report"), ("bundle", "inspect", str(bundle)), ("bundle", "status")]


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(drafts=BODIES)
def test_malformed_bodies_of_every_kind_break_no_command(us_ru: tuple[Party, Party], tmp_path_factory: Any,
                                                          drafts: list[tuple[str, Any]]):
    us, ru = us_ru
    out = tmp_path_factory.mktemp("fuzz")
    written = []
    for kind, data in drafts:
        written += write(ru, kind, data.draw(body_for(kind)))
    bundle = out / "ru.cbmb"
    export(ru, "US", bundle)
    landed = import_(us, bundle)
    assert landed.exit_code in EXIT_CODES and "Traceback" not in landed.stderr, landed.stderr
    for args in _commands(bundle, out):
        r = us.cli(*args)
        assert r.exit_code in EXIT_CODES, (args, r.exit_code, r.stderr)
        assert "Traceback" not in r.stderr + r.stdout, (args, r.stderr)
        assert r.exit_code == 0 or r.stderr.startswith("cbm: error:"), (args, r.stderr)
    if landed.exit_code == 0:
        with us.open() as store:
            expected = sum(1 for record in store.records(author="RU") if reason(record) is not None)
        assert us.cli("status", "--json").json()["malformed_count"] == expected
        assert expected >= sum(1 for record in written if not record.body)  # an empty body breaks every kind


def test_every_kind_is_covered() -> None:
    assert {"indicators.batch", "inquiry.open", "hotline.message", "whitepaper.publish", "workgroup.sign"} \
        <= set(KINDS)
