"""The hotline end to end: real stores exchanging real bundle files with `cbm bundle export/import`."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from cbm.core.errors import NotFound
from cbm.core.sealed import open_sealed
from cbm.measures.hotline.service import message_context
from tests.conftest import Party
from tests.measures.test_hotline_support import at, record_count, store_bytes

US_TEXT = "FLASH: a wiper is spreading through the grid operator's network. Are your forces involved?"
RU_TEXT = "Нет. Наши силы не причастны. Мы проверяем источник атаки."
TRANSLATION = "No. Our forces are not involved. We are checking the source of the attack."


def ship(src: Party, dst: Party, path: Path) -> Path:
    """``src`` exports a bundle for ``dst`` into a real file; ``dst`` imports it.

    Plain bundles (``--no-encrypt``): these tests show that hotline bodies are sealed inside the records
    themselves, so the bundle layer must not hide the records from the test (it would be encrypted by default).
    """
    r = src.cli("bundle", "export", "--to", dst.code, "-o", str(path), "--no-encrypt")
    assert r.exit_code == 0, r.stderr
    r = dst.cli("bundle", "import", str(path))
    assert r.exit_code == 0, r.stderr
    return path


def envelopes(path: Path) -> list[dict]:
    """Every record envelope in a plain bundle file, payload decoded."""
    found = []
    for line in path.read_bytes().splitlines():
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "payload" in doc:
            payload = doc["payload"]
            padded = payload + "=" * (-len(payload) % 4)
            found.append(json.loads(base64.urlsafe_b64decode(padded) if "-" in payload or "_" in payload
                                    else base64.b64decode(padded)))
    return found


def records(path: Path) -> list[dict]:
    """The record payloads of a bundle file (the manifest left out)."""
    return [p for p in envelopes(path) if "kind" in p and "author" in p]


def test_flash_exchange_with_receipts_translation_and_link_test_both_ways(us_ru, tmp_path):
    us, ru = us_ru
    with at("2026-11-23T05:00:00Z"):
        sent = us.cli("hotline", "send", "--to", "RU", "--precedence", "FLASH", "--body", US_TEXT, "--json")
        assert sent.exit_code == 0, sent.stderr
        flash = sent.json()["id"]
        assert us.cli("hotline", "test", "--to", "RU").exit_code == 0
        b1 = ship(us, ru, tmp_path / "1-us-ru.cbm")
    with at("2026-11-23T05:03:00Z"):
        inbox = ru.cli("hotline", "inbox", "--json").json()["messages"]
        assert [(m["id"], m["precedence"], m["state"]) for m in inbox] == [(flash, "FLASH", "unread")]
        r = ru.cli("hotline", "read", flash)
        assert r.exit_code == 0 and US_TEXT in r.stdout
        assert ru.cli("hotline", "translate", flash, "--lang", "ru", "--body", "Вспышка: вайпер...").exit_code == 0
        reply = ru.cli("hotline", "send", "--to", "US", "-p", "FLASH", "--lang", "ru", "--body", RU_TEXT, "--json")
        ru_id = reply.json()["id"]
        assert reply.json()["peer_seen"] == 1
        assert ru.cli("hotline", "test", "--to", "US").exit_code == 0
        b2 = ship(ru, us, tmp_path / "2-ru-us.cbm")
    with at("2026-11-23T05:06:00Z"):
        status = us.cli("hotline", "status", "--json").json()["peers"][0]
        assert status["unacknowledged"] == []  # RU's delivered and read receipts came back
        (test,) = status["tests"]
        assert (test["status"], test["rtt_seconds"]) == ("answered", 180)  # sent 05:00, answer landed 05:03
        us.cli("hotline", "read", ru_id)
        assert us.cli("hotline", "translate", ru_id, "--lang", "en", "--body", TRANSLATION).exit_code == 0
        b3 = ship(us, ru, tmp_path / "3-us-ru.cbm")
    with at("2026-11-23T05:07:00Z"):
        ru_status = ru.cli("hotline", "status", "--json").json()["peers"][0]
        assert ru_status["unacknowledged"] == [] and ru_status["unread"] == []
        assert ru_status["tests"][0]["rtt_seconds"] == 180  # sent 05:03, answer landed 05:06
        views = [p.cli("hotline", "transcript", "--verify", "--json") for p in (us, ru)]
    assert all(v.exit_code == 0 for v in views), [v.stderr for v in views]
    (us_view,), (ru_view,) = (v.json()["conversations"] for v in views)
    order = [m["id"] for m in us_view["messages"]]
    assert order == [m["id"] for m in ru_view["messages"]] == [flash, ru_id]
    assert us_view["verified"] is ru_view["verified"] is True
    assert [[t["text"] for t in m["translations"]] for m in ru_view["messages"]] == [["Вспышка: вайпер..."],
                                                                                    [TRANSLATION]]
    assert [(m["delivered"], m["read"]) for m in us_view["messages"]] == [
        ("2026-11-23T05:00:00Z", "2026-11-23T05:03:00Z"), ("2026-11-23T05:03:00Z", "2026-11-23T05:06:00Z")]
    # no plaintext in any bundle file or store file, in raw bytes or inside the decoded payloads
    for text in (US_TEXT, RU_TEXT, TRANSLATION, "Вспышка"):
        for path in (b1, b2, b3):
            assert text.encode() not in path.read_bytes()
            assert all(text not in json.dumps(p, ensure_ascii=False) for p in envelopes(path))
        for party in (us, ru):
            assert text.encode() not in store_bytes(party)
    kinds = [p["kind"] for p in records(b1)]
    assert "hotline.message" in kinds and "hotline.test" in kinds  # the records did travel in the file
    assert any(p["body"].get("precedence") == "FLASH" for p in records(b1))  # the decoder sees payloads
    # each side can check the other's signed export
    for exporter, checker in ((us, ru), (ru, us)):
        out = tmp_path / f"transcript-{exporter.code}.md"
        assert exporter.cli("hotline", "transcript", "--export", str(out)).exit_code == 0
        ship(exporter, checker, tmp_path / f"4-{exporter.code}.cbm")
        r = checker.cli("hotline", "check-export", str(out))
        assert r.exit_code == 0, r.stderr


def test_a_third_party_holding_the_bundle_cannot_read_it(three, tmp_path):
    us, ru, cn = three
    us.cli("hotline", "send", "--to", "RU", "-p", "FLASH", "--body", US_TEXT)
    stolen = tmp_path / "us-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(stolen), "--no-encrypt").exit_code == 0
    before = record_count(cn)
    r = cn.cli("bundle", "import", str(stolen))
    assert r.exit_code == 4, r.stderr  # not addressed to CN
    assert record_count(cn) == before
    (message,) = [p for p in records(stolen) if p["kind"] == "hotline.message"]
    with cn.open() as store:
        try:
            open_sealed(message["body"]["sealed"], reader="CN", reader_key=[p.encryption for p in store.key_pairs()],
                        sender_public=store.active_key("US").enc_key, context=message_context(1))
            raise AssertionError("CN decrypted a message sealed to RU and US")
        except NotFound:
            pass
    # CN's own bundle from US carries the message only as a withheld position
    for_cn = ship(us, cn, tmp_path / "us-cn.cbm")
    assert "hotline.message" not in [p["kind"] for p in records(for_cn)]
    assert cn.cli("hotline", "inbox", "--json").json()["messages"] == []


def test_a_tampered_hotline_record_in_a_bundle_is_refused(us_ru, tmp_path):
    us, ru = us_ru
    us.cli("hotline", "send", "--to", "RU", "-p", "ROUTINE", "--body", "routine traffic")
    path = tmp_path / "us-ru.cbm"
    assert us.cli("bundle", "export", "--to", "RU", "-o", str(path), "--no-encrypt").exit_code == 0  # plain lines
    lines = path.read_bytes().split(b"\n")
    for i, line in enumerate(lines):
        if line.startswith(b"{") and b'"payload"' in line:
            doc = json.loads(line)
            payload = doc["payload"]
            padded = payload + "=" * (-len(payload) % 4)
            decoded = base64.urlsafe_b64decode(padded) if "-" in payload or "_" in payload \
                else base64.b64decode(padded)
            if b'"hotline.message"' in decoded:
                changed = decoded.replace(b'"ROUTINE"', b'"FLASH"')
                doc["payload"] = base64.b64encode(changed).decode()
                lines[i] = json.dumps(doc, separators=(",", ":")).encode()
    (tmp_path / "tampered.cbm").write_bytes(b"\n".join(lines))
    before = record_count(ru)
    r = ru.cli("bundle", "import", str(tmp_path / "tampered.cbm"))
    assert r.exit_code == 1, r.stderr
    assert record_count(ru) == before
    assert ru.cli("hotline", "inbox", "--json").json()["messages"] == []
