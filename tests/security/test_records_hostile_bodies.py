"""Well-signed records with hostile bodies, for every record kind the code knows.

A peer can sign anything. Whatever a record's body holds, landing it (indexes), the measures' import hooks
and ``cbm status`` must either accept it or refuse it with a CbmError (a clean message and exit code) --
never a Python exception, which would be a traceback for the operator and a way for one peer to block
every import.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from cbm.app import reactions
from cbm.core.errors import CbmError
from cbm.core.records import KIND, MEASURES, build_payload, sign_record
from cbm.store.ingest import ingest
from tests.conftest import Party

SOURCE = Path(__file__).resolve().parents[2] / "cbm"
_LITERAL = re.compile(r'"((?:' + "|".join(MEASURES) + r')\.[a-z_]+(?:\.[a-z_]+)*)"')


def known_kinds() -> list[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        found.update(k for k in _LITERAL.findall(path.read_text("utf-8")) if KIND.fullmatch(k))
    return sorted(found)


HOSTILE_BODIES: list[dict] = [
    {},
    {"ref": 5, "text": None, "logs": [], "blobs": "zz", "to": 7, "items": {"a": 1}},
    {"ref": "INQ-1", "logs": {"US": {"seq": "1", "hash": 5}, "RU": "x"}, "blobs": ["../../etc/passwd", 3]},
    {"ref": "[red]X\x1b[2J", "text": "\x1b]0;owned\x07", "deadline": "not a time", "due": "2026-99-99",
     "status": {"x": []}, "number": -1, "seq": 2**53 - 1, "version": "v", "lang": 1, "indicators": "x"},
    {"ref": "", "body": [[[[[[[[[[[]]]]]]]]]]], "card": "x", "keyid": ["x"], "sealed": {"alg": 1}},
]


@pytest.fixture(scope="module")
def kinds() -> list[str]:
    found = known_kinds()
    assert {"inquiry.open", "bundle.receipt", "keys.rotate", "hotline.message"} <= set(found)
    return found


def test_hostile_bodies_never_escape_as_python_errors(us_ru: tuple[Party, Party], kinds: list[str]):
    us, ru = us_ru
    with ru.open() as ru_store:
        pair = ru_store.signer()
    failures: list[str] = []
    refused = landed = 0
    with us.open() as store:
        store.conn.execute("PRAGMA synchronous = OFF")  # speed only: durability is not under test here
        seq, prev = 1, None
        for kind in kinds:
            for n, body in enumerate(HOSTILE_BODIES):
                payload = build_payload(author="RU", seq=seq, prev=prev, created="2026-11-23T05:00:00Z",
                                        kind=kind, to=["US"], tlp="AMBER", body=body)
                envelope = sign_record(payload, kind, pair)
                try:
                    report = ingest(store, [envelope])
                    reactions.after_import(store, report.landed)
                except CbmError:
                    refused += 1
                    continue
                except Exception as e:  # noqa: BLE001 - the point of the test
                    failures.append(f"{kind} body #{n}: {type(e).__name__}: {e}")
                    continue
                if report.landed:
                    landed += 1
                    seq, prev = seq + 1, report.landed[-1].hash
        try:
            reactions.attention(store)
        except CbmError:
            pass
        except Exception as e:  # noqa: BLE001
            failures.append(f"attention(): {type(e).__name__}: {e}")
    assert not failures, "hostile bodies raised Python errors:\n" + "\n".join(failures)
    assert landed > 0
    status = us.cli("status")
    assert status.exit_code == 0, status.stderr
    assert "\x1b" not in status.stdout + status.stderr
