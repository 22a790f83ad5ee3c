"""The typed white paper records: every record cbm writes round-trips byte for byte, and each body rule the
index relies on refuses with InvalidBody (exit 4) and the reason ``cbm status`` lists."""

from __future__ import annotations

import pytest

from cbm.core.bodies import InvalidBody
from cbm.core.canonical import canonical_bytes
from cbm.core.errors import InputRejected
from cbm.measures.whitepaper import index as ix
from cbm.measures.whitepaper import service as wp
from cbm.measures.whitepaper.records import RECORDS, Ack, Publish, Translate, VersionHead, Withdraw
from tests.measures.test_whitepaper import MD2, PDF, deliver, pub


@pytest.fixture
def papers(us_ru):
    """RU publishes two versions, translates and withdraws; US acknowledges what it received."""
    us, ru = us_ru
    v1 = pub(ru)
    pub(ru, MD2, supersedes=v1.hash)
    with ru.open() as store:
        wp.translate(store, v1.hash, PDF, lang="EN", official=True, version=1, title="Strategy (2026)")
        wp.withdraw(store, v1.hash, "replaced by the 2027 strategy")
    deliver(ru, us)
    with us.open() as store:
        return [r for author in ("RU", "US") for r in store.log(author) if r.kind.startswith("whitepaper.")]


def test_every_kind_written_round_trips_byte_for_byte(papers):
    assert {r.kind for r in papers} == set(RECORDS)
    for record in papers:
        typed = RECORDS[record.kind].from_body(record.body)
        assert canonical_bytes(typed.to_body()) == canonical_bytes(record.body), record.kind


def test_unknown_fields_are_kept_and_absent_ones_stay_absent(papers):
    publish = next(r for r in papers if r.kind == "whitepaper.publish" and r.body["version"] == 1)
    body = {**publish.body, "x-future": {"a": [1, 2]}}
    typed = Publish.from_body(body)
    assert typed.unrecognized == {"x-future": {"a": [1, 2]}}
    assert "ref" not in typed.to_body() and typed.to_body() == body


def _good(papers, kind, version=None):
    return dict(next(r for r in papers if r.kind == kind and (version is None or r.body.get("version") == version))
                .body)


@pytest.mark.parametrize("change, reason", [
    ({"version": 0}, "version must be a positive integer"),
    ({"version": True}, "version must be a positive integer"),
    ({"ref": "x"}, "version 1 must be a publication with no ref and no supersedes"),
    ({"title": " "}, "title must be a non-empty string of at most 500 characters"),
    ({"lang": "english"}, "lang must be a language tag"),
    ({"classification": "SECRET"}, "classification 'SECRET' is not UNCLASSIFIED"),
    ({"date": "2026-1-1"}, "date must be YYYY-MM-DD"),
    ({"summary": None}, "summary must be a string of at most 4000 characters"),
    ({"file": []}, "file must be an object"),
    ({"blobs": []}, "blobs must list exactly the file's sha256"),
])
def test_a_broken_publication_is_refused_with_its_reason(papers, change, reason):
    body = _good(papers, "whitepaper.publish", 1) | change
    with pytest.raises(InvalidBody, match=reason) as e:
        Publish.from_body(body)
    assert isinstance(e.value, InputRejected) and e.value.exit_code == 4


def test_broken_withdrawals_translations_and_acks_are_refused(papers):
    with pytest.raises(InvalidBody, match="version 1 must be a publication"):
        Withdraw.from_body(_good(papers, "whitepaper.withdraw") | {"version": 1})
    with pytest.raises(InvalidBody, match="reason must be a non-empty string"):
        Withdraw.from_body(_good(papers, "whitepaper.withdraw") | {"reason": ""})
    with pytest.raises(InvalidBody, match="official must be true or false"):
        Translate.from_body(_good(papers, "whitepaper.translate") | {"official": "yes"})
    with pytest.raises(InvalidBody, match="a translation must be marked UNCLASSIFIED"):
        Translate.from_body(_good(papers, "whitepaper.translate") | {"classification": None})
    with pytest.raises(InvalidBody, match="an acknowledgement needs ref"):
        Ack.from_body(_good(papers, "whitepaper.ack") | {"sha256": 5})
    with pytest.raises(InvalidBody, match="a JSON object"):
        Ack.from_body(["not", "an", "object"])
    with pytest.raises(InvalidBody, match="a later version needs ref"):
        VersionHead.of("whitepaper.publish", {"version": 2, "ref": "doc"})


def test_a_broken_peer_record_is_listed_as_malformed_with_the_records_reason(us_ru):
    """A peer's bad body lands, is not folded, and the malformed list says why (ADR 0116)."""
    from cbm.core.records import build_payload, sign_record
    from cbm.measures import malformed
    from cbm.store.ingest import ingest

    us, ru = us_ru
    v1 = pub(ru)
    with ru.open() as store:
        body = dict(store.get(v1.hash).body) | {"date": "yesterday"}
        seq, prev = store.head("RU")
        payload = build_payload(author="RU", seq=seq + 1, prev=prev, created="2026-11-23T05:00:00Z",
                                kind="whitepaper.publish", to=["US"], tlp="CLEAR", body=body)
        envelope = sign_record(payload, "whitepaper.publish", store.signer())
    deliver(ru, us)
    with us.open() as store:
        ingest(store, [envelope])
        listed = store.query(malformed.listed)
        assert store.query(ix.invalid) == []
    assert [(m.author, m.kind, m.reason) for m in listed] == [("RU", "whitepaper.publish", "date must be YYYY-MM-DD")]
