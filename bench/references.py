"""The references `make bench` puts beside each `cbm` figure: the libraries a CERT would otherwise script with,
and the machine's own floors, run on the same data.

Each reference runs as its own process (``python bench/references.py NAME ...``) so the runner measures its
peak memory the same way as for `cbm`; it prints one JSON document on stdout with the timings of its phases
(wall seconds of the work itself, interpreter start and data loading excluded unless said).

- ``stix2``      build one ``stix2.Indicator`` per CSV row (first ``--limit`` rows), serialise them as a STIX 2.1
                 bundle, parse the bundle back with ``stix2.parse``;
- ``encode``     the same indicators as plain STIX dicts, encoded one per line with ``json`` and ``orjson``;
- ``parse``      JSON parse floor of a bundle file: every JSON line parsed, and every envelope's base64 payload
                 decoded and parsed (``orjson``, and ``json``);
- ``sqlite``     bare ``sqlite3`` insert of the CSV rows (WAL, synchronous=FULL, one transaction, value index);
- ``lookup``     one indexed lookup in that database: the whole process is the floor for a search;
- ``signatures`` bare pynacl loop verifying N Ed25519 signatures over messages of a given size, one core;
- ``checks``     the landing checks alone (issue 15): `cbm`'s own checker, built for a store as an import builds
                 it (its settings and warninglists), run over the CSV rows' values, refanged as the import
                 stores them: its share of the import is what the checks cost;
- ``misp-stix``  MISP's own converter (``misp_stix_converter.MISPtoSTIX21Parser``) turning a MISP event into a
                 STIX 2.1 bundle written to a file: the peer a CERT would otherwise use for MISP data;
- ``check-stix`` not a reference: checks an exported STIX bundle (object count, and a sample through the
                 OASIS ``stix2-validator``), so the report can say "valid".
"""

from __future__ import annotations

import argparse
import base64
import csv
import gzip
import json
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

NAMESPACE = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")
PATTERN_PATH = {
    "ipv4-addr": "ipv4-addr:value",
    "ipv6-addr": "ipv6-addr:value",
    "domain-name": "domain-name:value",
    "url": "url:value",
    "md5": "file:hashes.MD5",
    "sha1": "file:hashes.'SHA-1'",
    "sha256": "file:hashes.'SHA-256'",
}
# stix2 3.0 ships the TLP 1.0 marking definitions only; TLP 2.0 labels map onto them for the reference.
TLP1 = {"CLEAR": "TLP_WHITE", "GREEN": "TLP_GREEN", "AMBER": "TLP_AMBER", "AMBER+STRICT": "TLP_AMBER",
        "RED": "TLP_RED"}
CREATED = "2026-11-23T00:00:00.000Z"


def csv_rows(path: Path, limit: int | None = None) -> Iterator[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        for i, row in enumerate(csv.DictReader(f)):
            if limit is not None and i >= limit:
                return
            yield row


def refang(value: str) -> str:
    return value.replace("[.]", ".").replace("hxxp", "http", 1)


def pattern_of(row: dict[str, str]) -> str:
    value = refang(row["value"]).replace("\\", "\\\\").replace("'", "\\'")
    return f"[{PATTERN_PATH[row['type']]} = '{value}']"


def plain_indicator(row: dict[str, str], i: int, identity: str, markings: dict[str, str]) -> dict[str, Any]:
    """The STIX 2.1 indicator a careful script builds as a plain dict (what `cbm` is compared with)."""
    doc: dict[str, Any] = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(NAMESPACE, row['value'])}",
        "created": CREATED, "modified": CREATED, "created_by_ref": identity, "pattern": pattern_of(row),
        "pattern_type": "stix", "valid_from": row["valid_from"], "confidence": int(row["confidence"]),
        "indicator_types": row["indicator_types"].split(";"), "description": row["description"],
        "object_marking_refs": [markings[row["tlp"]]],
    }
    if row["valid_until"]:
        doc["valid_until"] = row["valid_until"]
    if row["name"]:
        doc["name"] = row["name"]
    labels = _labels(row)
    if labels:
        doc["labels"] = labels
    return doc


def _labels(row: dict[str, str]) -> list[str]:
    """Tags, and the critical-infrastructure sectors as ``sector:NAME`` labels."""
    tags = [t for t in row["labels"].split(";") if t]
    return tags + [f"sector:{s}" for s in row["sectors"].split(";") if s]


def _clock() -> tuple[float, float]:
    return time.perf_counter(), time.process_time()


def _since(start: tuple[float, float]) -> dict[str, float]:
    wall, cpu = _clock()
    return {"wall_s": round(wall - start[0], 4), "cpu_s": round(cpu - start[1], 4)}


# -- references -----------------------------------------------------------------------------------------

def ref_stix2(csv_path: Path, limit: int, out: Path) -> dict[str, Any]:
    import stix2

    rows = list(csv_rows(csv_path, limit))
    t = _clock()
    identity = stix2.Identity(name="US-CERT", identity_class="organization")
    objects: list[Any] = [identity]
    for row in rows:
        kwargs: dict[str, Any] = {}
        if row["valid_until"]:
            kwargs["valid_until"] = row["valid_until"]
        if row["name"]:
            kwargs["name"] = row["name"]
        labels = _labels(row)
        if labels:
            kwargs["labels"] = labels
        objects.append(stix2.Indicator(
            pattern=pattern_of(row), pattern_type="stix", valid_from=row["valid_from"],
            indicator_types=row["indicator_types"].split(";"), confidence=int(row["confidence"]),
            description=row["description"], created_by_ref=identity.id,
            object_marking_refs=[getattr(stix2, TLP1[row["tlp"]])], **kwargs))
    build = _since(t)
    t = _clock()
    bundle = stix2.Bundle(objects=objects)
    text = bundle.serialize()  # compact: stix2's pretty printer is quadratic in the bundle size
    out.write_text(text, encoding="utf-8")
    serialise = _since(t)
    t = _clock()
    parsed = stix2.parse(out.read_text(encoding="utf-8"), allow_custom=False)
    parse = _since(t)
    count = len(parsed.objects) - 1
    return {"rows": len(rows), "objects": count, "bytes": out.stat().st_size, "build": build,
            "serialise": serialise, "parse": parse}


def ref_encode(csv_path: Path) -> dict[str, Any]:
    import orjson

    identity = "identity--" + str(uuid.uuid5(NAMESPACE, "US-CERT"))
    markings = {k: f"marking-definition--{uuid.uuid5(NAMESPACE, v)}" for k, v in TLP1.items()}
    t = _clock()
    docs = [plain_indicator(row, i, identity, markings) for i, row in enumerate(csv_rows(csv_path))]
    build = _since(t)
    t = _clock()
    size_json = sum(len(json.dumps(d, sort_keys=True, separators=(",", ":")).encode()) + 1 for d in docs)
    with_json = _since(t)
    t = _clock()
    size_orjson = sum(len(orjson.dumps(d, option=orjson.OPT_SORT_KEYS)) + 1 for d in docs)
    with_orjson = _since(t)
    return {"records": len(docs), "bytes_json": size_json, "bytes_orjson": size_orjson, "build_dicts": build,
            "json": with_json, "orjson": with_orjson}


def _open_maybe_compressed(path: Path) -> tuple[bytes, str]:
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":
        return gzip.decompress(data), "gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        try:
            import zstandard
        except ImportError:
            return b"", "zstd (not decodable here)"
        return zstandard.ZstdDecompressor().decompressobj().decompress(data), "zstd"
    return data, "none"


def ref_parse(bundle: Path) -> dict[str, Any]:
    """Parse floor for a bundle: the JSON lines it carries (a non-JSON line, e.g. armor, is counted apart); the
    ``json`` figure beside it decodes with the standard library throughout."""
    import orjson
    import pybase64

    data, compression = _open_maybe_compressed(bundle)
    lines = [line for line in data.split(b"\n") if line.strip()]
    t = _clock()
    parsed = skipped = 0
    envelope_sizes = []
    for line in lines:
        try:
            doc = orjson.loads(line)
            parsed += 1
        except orjson.JSONDecodeError:
            skipped += 1
            continue
        if isinstance(doc, dict) and "payloadType" in doc:
            envelope_sizes.append(len(line))
            # a verifier reads author, seq and prev from the signed payload: decode and parse it too, with the
            # fastest strict base64 decoder at hand (cbm reads payloads with it: docs/adr/0223)
            orjson.loads(pybase64.b64decode(doc["payload"], validate=True))
    with_orjson = _since(t)
    records = envelope_sizes[1:]  # the first envelope is the bundle's manifest
    t = _clock()
    for line in lines:
        try:
            doc = json.loads(line)
        except ValueError:
            continue
        if isinstance(doc, dict) and "payloadType" in doc:
            json.loads(base64.b64decode(doc["payload"]))
    with_json = _since(t)
    return {"lines": len(lines), "json_lines": parsed, "other_lines": skipped, "bytes": len(data),
            "compression": compression, "orjson": with_orjson, "json": with_json,
            "mean_line_bytes": round(len(data) / max(1, len(lines))), "record_envelopes": len(records),
            # base64 carries 3 payload bytes in 4: the signed message is about 3/4 of the envelope line
            "mean_record_payload_bytes": round(0.75 * sum(records) / max(1, len(records)))}


def ref_sqlite(csv_path: Path, db: Path) -> dict[str, Any]:
    db.unlink(missing_ok=True)
    t = _clock()
    rows = [tuple(r.values()) for r in csv_rows(csv_path)]
    read = _since(t)
    t = _clock()
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE indicators (id INTEGER PRIMARY KEY, type TEXT, value TEXT, tlp TEXT, "
                 "confidence INTEGER, valid_from TEXT, valid_until TEXT, sectors TEXT, labels TEXT, "
                 "indicator_types TEXT, name TEXT, description TEXT)")
    conn.execute("CREATE INDEX indicators_value ON indicators(value)")
    conn.execute("BEGIN")
    conn.executemany("INSERT INTO indicators (type, value, tlp, confidence, valid_from, valid_until, sectors, "
                     "labels, indicator_types, name, description) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.execute("COMMIT")
    conn.close()
    insert = _since(t)
    return {"rows": len(rows), "read_csv": read, "insert": insert, "db_bytes": db.stat().st_size}


def ref_lookup(db: Path, value: str) -> dict[str, Any]:
    t = _clock()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    hits = conn.execute("SELECT type, value, tlp FROM indicators WHERE value = ?", (value,)).fetchall()
    return {"hits": len(hits), "lookup": _since(t)}


def ref_signatures(count: int, message_bytes: int, distinct: int = 4096) -> dict[str, Any]:
    """Verify ``count`` Ed25519 signatures with ``nacl.bindings`` in one loop on one core.

    ``distinct`` different messages are signed once and verified in turn (libsodium caches nothing between
    calls, so cycling through them costs what ``count`` different ones would, without minutes of signing).
    """
    import nacl.bindings
    import nacl.signing

    key = nacl.signing.SigningKey(b"\x07" * 32)
    public = bytes(key.verify_key)
    distinct = max(1, min(distinct, count))
    filler = b"x" * max(0, message_bytes - 16)
    signed = [key.sign(b"%016d" % i + filler) for i in range(distinct)]
    smessages = [bytes(s) for s in signed]  # signature || message, as crypto_sign_open takes it
    t = _clock()
    for i in range(count):
        nacl.bindings.crypto_sign_open(smessages[i % distinct], public)
    loop = _since(t)
    return {"signatures": count, "message_bytes": message_bytes, "verify": loop,
            "per_second_one_core": round(count / max(loop["wall_s"], 1e-9))}


CSV_KIND = {"md5": "file-md5", "sha1": "file-sha1", "sha256": "file-sha256"}  # the CSV's hash types, as stored


def ref_checks(csv_path: Path, store: Path) -> dict[str, Any]:
    """Build the store's checker (reading its warninglists, as every import does once) and check every row."""
    import tomllib

    from cbm.measures.indicators import checks

    pairs = [(CSV_KIND.get(row["type"], row["type"]), refang(row["value"])) for row in csv_rows(csv_path)]
    t = _clock()
    try:
        config = tomllib.loads((store / "config.toml").read_text("utf-8"))
    except (OSError, ValueError):
        config = {}
    checker = checks.checker_for(store, config)
    checker.check("ipv4-addr", "192.0.2.1")  # the address ranges are indexed on first use: part of the load
    load = _since(t)
    t = _clock()
    check = checker.check
    flagged = sum(1 for kind, value in pairs if check(kind, value))
    run = _since(t)
    return {"rows": len(pairs), "flagged": flagged, "lists": len(checker.counts), "load": load, "check": run,
            "total": {"wall_s": round(load["wall_s"] + run["wall_s"], 4),
                      "cpu_s": round(load["cpu_s"] + run["cpu_s"], 4)}}


def ref_misp_stix(event: Path, out: Path) -> dict[str, Any]:
    """misp-stix converting one MISP event to a STIX 2.1 bundle file: parse the JSON, convert, serialise."""
    from misp_stix_converter import MISPtoSTIX21Parser

    t = _clock()
    doc = json.loads(event.read_text("utf-8"))
    load = _since(t)
    t = _clock()
    parser = MISPtoSTIX21Parser()
    parser.parse_misp_event(doc)
    convert = _since(t)
    t = _clock()
    text = parser.bundle.serialize()
    out.write_text(text, encoding="utf-8")
    serialise = _since(t)
    by_type: dict[str, int] = {}
    for obj in json.loads(text)["objects"]:
        by_type[obj["type"]] = by_type.get(obj["type"], 0) + 1
    return {"attributes": len(doc.get("Event", doc).get("Attribute", [])), "objects": sum(by_type.values()),
            "by_type": by_type, "errors": len(parser.errors), "warnings": len(parser.warnings or ()),
            "bytes": out.stat().st_size, "load": load, "convert": convert, "serialise": serialise}


def check_stix(path: Path, sample: int) -> dict[str, Any]:
    """Count the objects of an exported STIX bundle and run a sample through the OASIS validator."""
    import orjson
    from stix2validator import ValidationOptions, validate_instance

    t = _clock()
    doc = orjson.loads(path.read_bytes())
    load = _since(t)
    if not isinstance(doc, dict) or doc.get("type") != "bundle" or not isinstance(doc.get("objects"), list):
        return {"valid": False, "errors": ["not a STIX bundle object"], "load": load}
    objects = doc["objects"]
    by_type: dict[str, int] = {}
    for obj in objects:
        by_type[obj.get("type", "?")] = by_type.get(obj.get("type", "?"), 0) + 1
    indicators = [o for o in objects if o.get("type") == "indicator"]
    step = max(1, len(indicators) // max(1, sample))
    picked = indicators[::step][:sample]
    others = [o for o in objects if o.get("type") != "indicator"][:200]
    sub = {"type": "bundle", "id": doc.get("id", f"bundle--{uuid.uuid4()}"), "objects": others + picked}
    t = _clock()
    result = validate_instance(sub, ValidationOptions(strict=False))
    validate = _since(t)
    errors = [str(e) for r in ([result] if not hasattr(result, "object_results") else result.object_results)
              for e in getattr(r, "errors", [])]
    if not errors and hasattr(result, "errors"):
        errors = [str(e) for e in result.errors]
    return {"valid": bool(result.is_valid), "objects": len(objects), "by_type": by_type,
            "validated_sample": len(picked) + len(others), "errors": errors[:5], "load": load,
            "validate": validate}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="One benchmark reference; prints a JSON document.")
    sub = ap.add_subparsers(dest="name", required=True)
    p = sub.add_parser("stix2")
    p.add_argument("csv", type=Path)
    p.add_argument("--limit", type=int, default=100_000)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("encode")
    p.add_argument("csv", type=Path)
    p = sub.add_parser("parse")
    p.add_argument("bundle", type=Path)
    p = sub.add_parser("sqlite")
    p.add_argument("csv", type=Path)
    p.add_argument("--db", type=Path, required=True)
    p = sub.add_parser("lookup")
    p.add_argument("db", type=Path)
    p.add_argument("value")
    p = sub.add_parser("signatures")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--message-bytes", type=int, default=700)
    p = sub.add_parser("checks")
    p.add_argument("csv", type=Path)
    p.add_argument("--store", type=Path, required=True)
    p = sub.add_parser("misp-stix")
    p.add_argument("event", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p = sub.add_parser("check-stix")
    p.add_argument("path", type=Path)
    p.add_argument("--sample", type=int, default=1000)
    args = ap.parse_args(argv)
    if args.name == "stix2":
        doc = ref_stix2(args.csv, args.limit, args.out)
    elif args.name == "encode":
        doc = ref_encode(args.csv)
    elif args.name == "parse":
        doc = ref_parse(args.bundle)
    elif args.name == "sqlite":
        doc = ref_sqlite(args.csv, args.db)
    elif args.name == "lookup":
        doc = ref_lookup(args.db, args.value)
    elif args.name == "signatures":
        doc = ref_signatures(args.count, args.message_bytes)
    elif args.name == "checks":
        doc = ref_checks(args.csv, args.store)
    elif args.name == "misp-stix":
        doc = ref_misp_stix(args.event, args.out)
    else:
        doc = check_stix(args.path, args.sample)
    json.dump(doc, sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
