"""The checks that keep a peer from speaking for another party, each with the tests that must catch its removal.

A mutant is one check of `cbm` weakened by hand (a condition dropped, a comparison made always true) in the way a
refactoring could weaken it by mistake. `make mutants` (mutants/run.py) applies each to a copy of the tree and runs
the tests named for it: they must fail. A mutant the tests let through is a rule nothing holds any more.

Each entry came from a session that removed the check and ran the suite (docs/adr/0307): most were caught at once;
the others (marked "held since 2026-12-0x") survived the whole suite then, and a test was written for them. Left out
on purpose, with the reason:

- `bundle/verify.py`'s "revoked with no last seq" branch: no command writes such a revocation any more (every
  revocation records a last seq), so no bundle can reach it;
- the export's query-level "never an all-addresses range" filter: the row-level filter behind it catches the same
  rows (tests/e2e/test_hostile_feed_checks.py holds the rule end to end);
- the hotline's "a call confirmed by its own caller" test beside "only by the called peer": the second implies the
  first unless a call is addressed to its own caller, which its malformed check already flags;
- the hotline's malformed-call flag for a call whose `with` is not its addressee: shown, never counted either way.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mutant:
    id: str
    rule: str  # what the check keeps true, in words
    path: str  # the file, relative to the repository
    old: str  # the exact text of the check (must occur once in the file)
    new: str  # the check weakened
    tests: tuple[str, ...]  # pytest node ids (a parametrised test: all of it, or one case)


BUNDLE_HOSTILE = "tests/security/test_bundle_hostile.py::test_hostile_bundle_is_refused_and_store_unchanged"
STRUCTURE = "tests/security/test_bundle_hostile_structure.py"
WG_FORGED = "tests/measures/test_workgroup_forged.py::test_every_forged_record_changes_nothing_for_either_member"
WG = "cbm/measures/workgroup/model.py"
HL = "cbm/measures/hotline/model.py"
HL_TESTS = "tests/measures/test_hotline.py"
WP_INDEX = "cbm/measures/whitepaper/index.py"
WP_TESTS = "tests/measures/test_whitepaper.py"


def _wg(id: str, rule: str, old: str, new: str, test: str = WG_FORGED) -> Mutant:
    return Mutant(id, rule, WG, old, new, (test,))


MUTANTS: tuple[Mutant, ...] = (
    # -- records and keys: a record is its author's only under a key valid for its seq
    Mutant("record-key-first-seq", "a record before its key's first seq is refused", "cbm/core/records.py",
           "    if record.seq < key.first_seq:", "    if False:",
           ("tests/core/test_records_and_cards.py::test_verify_record_key_validity_window",)),
    Mutant("record-key-last-seq", "a record after a rotated-out key's last seq is refused", "cbm/core/records.py",
           "    if key.last_seq is not None and record.seq > key.last_seq:", "    if False:",
           ("tests/security/test_records_cli_import.py::test_rotated_out_key_is_refused_after_the_rotation",)),
    Mutant("record-key-revoked", "a record under a key revoked outright is refused", "cbm/core/records.py",
           "    if key.status == \"revoked\" and key.last_seq is None:", "    if False:",
           ("tests/core/test_records_and_cards.py::test_verify_record_key_validity_window",)),
    Mutant("record-author-is-key-party", "a record's author is the party of the key that signed it",
           "cbm/core/records.py", "    if record.author != key.party:", "    if False:",
           (f"{BUNDLE_HOSTILE}[record_forged_by_the_sender_for_another_author]",)),
    Mutant("record-payload-type", "a record's payload type matches its kind", "cbm/core/records.py",
           "    if payload_type_for(record.kind) != envelope.payload_type:", "    if False:",
           ("tests/security/test_records_tamper.py::test_wrong_payload_type",)),
    Mutant("keys-import-fingerprint", "`keys import --fingerprint` compares the card's fingerprint",
           "cbm/store/trust.py", "        if expected != card.fingerprint.replace(\" \", \"\"):", "        if False:",
           ("tests/cli/test_contract.py::test_exit_codes",)),
    Mutant("ingest-equivocation", "two records for one seq of a peer's log are refused and kept as evidence",
           "cbm/store/ingest.py", "        if existing is not None:\n            error = Equivocation(",
           "        if False:\n            error = Equivocation(",
           ("tests/security/test_bundle_hostile.py::test_equivocation_is_refused_and_kept_as_evidence",)),
    Mutant("store-verify-chain", "`store verify` checks each record's link to the one before",
           "cbm/store/verify.py", "                elif expected != prev:", "                elif False:",
           ("tests/security/test_records_store_tamper.py::test_resigned_with_the_right_key_breaks_the_chain",)),
    Mutant("key-revoke-own", "a peer's revocation record revokes only that peer's own key", "cbm/store/trust.py",
           "WHERE keyid = ? AND party = ?\",\n            (record.seq, str(record.body.get(\"reason\", \"\")), "
           "record.body.get(\"keyid\"), record.author))",
           "WHERE keyid = ?\",\n"
           "            (record.seq, str(record.body.get(\"reason\", \"\")), record.body.get(\"keyid\")))",
           ("tests/security/test_records_tamper.py::test_peer_revocation_record_cannot_revoke_another_partys_key",)),
    Mutant("key-rotate-own-card", "a peer's rotation record brings a card of that peer only (held since 2026-12-08)",
           "cbm/store/trust.py",
           "        if card.party != record.author or card.first_seq != record.seq + 1:",
           "        if card.first_seq != record.seq + 1:",
           ("tests/security/test_records_tamper.py::test_a_rotation_record_brings_only_its_authors_next_key",)),
    Mutant("key-rotate-supersedes-signer", "a rotation's new card supersedes the key that signed the rotation "
           "(held since 2026-12-08)",
           "cbm/store/trust.py", "        if old is None or card.supersedes != old.keyid:", "        if old is None:",
           ("tests/security/test_records_tamper.py::test_a_rotation_record_brings_only_its_authors_next_key",)),
    # -- bundles
    Mutant("bundle-sender-is-signer", "a bundle's sender is the party of the key that signed it",
           "cbm/bundle/signing.py", "    if header.key.party != sender:", "    if False:",
           (f"{BUNDLE_HOSTILE}[resigned_by_another_trusted_party]",)),
    Mutant("bundle-for-us", "a store imports only bundles addressed to it", "cbm/bundle/importer.py",
           "        if store.party not in manifest.recipients:", "        if False:",
           (f"{BUNDLE_HOSTILE}[addressed_to_another_party]",)),
    Mutant("bundle-not-our-own", "a store does not import a bundle it made", "cbm/bundle/importer.py",
           "        if manifest.sender == store.party:", "        if False:", (f"{BUNDLE_HOSTILE}[our_own_bundle]",)),
    Mutant("bundle-pinned-fingerprint", "`bundle verify --fingerprint` fails a bundle signed by another key",
           "cbm/bundle/verify.py", "            if report.signer.fingerprint not in report.pinned:",
           "            if False:",
           ("tests/bundle/test_verify_report.py::test_a_bundle_signed_by_another_trusted_party_fails_the_pin",)),
    Mutant("bundle-deep-bad-signature", "`bundle verify --deep` fails a record whose own signature is bad",
           "cbm/bundle/verify.py", "        if bad:\n            author, seq = cast(",
           "        if False:\n            author, seq = cast(",
           (f"{STRUCTURE}::test_only_the_deep_check_reads_a_records_own_signature",)),
    Mutant("bundle-deep-key-window", "`bundle verify --deep` takes a key only for the seqs it is valid for "
           "(held since 2026-12-07)", "cbm/bundle/verify.py",
           "        in_range = record.seq >= key.first_seq and (key.last_seq is None or record.seq <= key.last_seq)",
           "        in_range = True",
           (f"{STRUCTURE}::test_the_deep_check_refuses_a_record_signed_by_a_key_past_its_rotation",
            f"{STRUCTURE}::test_the_deep_check_refuses_a_forwarded_record_whose_author_we_revoked")),
    Mutant("bundle-audience", "a bundle carries only what its recipient may see (TLP and audience)",
           "cbm/bundle/log_selection.py",
           "        visible = position.envelope is not None and may_see(self.recipient, self.author, position.to, "
           "position.tlp)", "        visible = position.envelope is not None",
           ("tests/bundle/test_confidential_default.py::test_only_clear_records_travel_plain",)),
    Mutant("tlp-named-only", "AMBER and RED records addressed to all peers still go to none unnamed",
           "cbm/core/tlp.py", "    return ALL_PEERS in to and tlp not in _NAMED_ONLY", "    return ALL_PEERS in to",
           ("tests/e2e/test_indicators_e2e.py::test_tlp_and_audience_decide_what_each_peer_receives",)),
    Mutant("bundle-staged-attachments", "a refused bundle leaves no attachment on disk (held since 2026-12-07)",
           "cbm/bundle/importer.py",
           "            staged.put(stream_of(chunks), expected=entry.sha256, max_bytes=entry.size)",
           "            store.blobs.put(stream_of(chunks), expected=entry.sha256, max_bytes=entry.size)",
           (f"{STRUCTURE}::test_a_well_signed_bundle_that_does_not_hold_together_is_refused",)),
    Mutant("receipt-peer-own-word", "a peer's own log counts in our receipts only up to a range another party "
           "claimed withheld", "cbm/bundle/receipts.py",
           "        if head is not None and author == peer:\n            head = _by_own_word(store, author, head)",
           "        if False:\n            head = _by_own_word(store, author, head)",
           ("tests/security/test_bundle_third_party_claims.py::"
            "test_forged_future_position_is_overridden_by_the_authors_own_records",)),
    Mutant("receipt-matches-our-log", "a peer's receipt naming another hash than ours for a seq does not count as "
           "acknowledged", "cbm/bundle/receipts.py",
           "seq == 0 or ours is None or ours == digest, when))", "True, when))",
           ("tests/e2e/test_restored_store.py::test_a_restored_store_that_wrote_again_is_told_its_log_forked",)),
    # -- TAXII
    Mutant("taxii-serve-tlp-max", "`taxii serve` offers nothing above its TLP maximum", "cbm/taxii/server.py",
           "        self.labels = [t for t in TLP_LABELS if tlp_rank(t) <= tlp_rank(opts.tlp_max)]",
           "        self.labels = list(TLP_LABELS)",
           ("tests/taxii/test_serve.py::test_tlp_max_and_auth",)),
    Mutant("taxii-push-tlp-max", "`indicators push` sends nothing above its TLP maximum", "cbm/taxii/push.py",
           "tlps=tuple(t for t in TLP_LABELS if tlp_rank(t) <= tlp_rank(top))", "tlps=TLP_LABELS",
           ("tests/taxii/test_pull_push.py::test_push_filters_by_author_and_tlp",)),
    Mutant("taxii-password", "the TAXII server checks a client's password", "cbm/taxii/config.py",
           "        return bool(nacl.pwhash.verify(hashed.encode(\"ascii\"), password.encode()))",
           "        return True", ("tests/taxii/test_serve.py::test_tlp_max_and_auth",)),
    # -- exports read by other tools
    Mutant("suricata-content-escaped", "a value's bytes cannot end a Suricata content string",
           "cbm/measures/indicators/formats/suricata.py",
           "        return _UNSAFE.sub(lambda m: f\"|{ord(m.group(0)):02X}|\", value)", "        return value",
           ("tests/border/test_exports_hostile.py::test_suricata_rules_parse_one_per_line_and_match_the_values_bytes",
            )),
    Mutant("csv-formula-cells", "no CSV cell is a formula a spreadsheet would run",
           "cbm/measures/indicators/formats/csv.py",
           "    if first in _FORMULA_START or (first == \"'\" and cell.lstrip(\"'\")[:1] in _FORMULA_START):",
           "    if False:",
           ("tests/border/test_exports_hostile.py::test_csv_keeps_every_row_whole_and_no_cell_a_spreadsheet_would_run",
            )),
    Mutant("enforcing-export-flagged", "txt, csv and suricata exports leave flagged indicators out",
           "cbm/measures/indicators/export.py", "            f = f._replace(flagged=False)\n", "            pass\n",
           ("tests/measures/test_indicators_export_equivalence.py::"
            "test_every_format_and_filter_writes_the_same_bytes_and_counts_as_before",)),
    # -- indicators: an id and its revocation belong to the author
    Mutant("indicator-revoke-author", "a revocation revokes only its author's own indicators",
           "cbm/measures/indicators/index.py",
           "    conn.executemany(\"UPDATE ind SET revoked = ? WHERE sid = ? AND author = ? AND modified <= ?\",\n"
           "                     [(reason, sid, record.author, record.created) for sid in wanted])",
           "    conn.executemany(\"UPDATE ind SET revoked = ? WHERE sid = ? AND modified <= ?\",\n"
           "                     [(reason, sid, record.created) for sid in wanted])",
           ("tests/e2e/test_indicators_e2e.py::test_a_peer_cannot_revoke_our_indicator_even_with_a_forged_record",)),
    Mutant("indicator-id-belongs-to-author", "an imported indicator under another party's id is re-authored "
           "under an id of ours", "cbm/measures/indicators/service.py",
           "    if not _held_by_another(store, item[0][R.ID]):\n        return item",
           "    if True:\n        return item",
           ("tests/e2e/test_indicators_authorship.py::test_another_partys_id_without_a_creator_is_reauthored_too",)),
    # -- the working group: adopted only when every member signs the same text
    _wg("wg-adoption-every-member", "a proposal is adopted only when every member signed",
        "    complete = not current.draft and all(m in signed for m in p.members)",
        "    complete = not current.draft and any(m in signed for m in p.members)",
        "tests/measures/test_workgroup.py::test_two_party_adoption_needs_both_signatures_on_the_same_digest"),
    _wg("wg-sign-digest", "a signature counts only for the text whose digest it names (held since 2026-12-07)",
        "        if b.digest != rev.digest or rev.draft:", "        if rev.draft:",
        "tests/measures/test_workgroup.py::test_a_signature_over_another_text_does_not_count_for_the_revision_it_names"),
    _wg("wg-sign-draft", "a draft is not signed before its proposer submits it (held since 2026-12-08)",
        "        if b.digest != rev.digest or rev.draft:", "        if b.digest != rev.digest:"),
    _wg("wg-minutes-every-member", "minutes are approved only when every member approved them",
        "            final = next((d for d in m.minutes if {a.party for a in d.approvals} >= set(m.members)), None)",
        "            final = next((d for d in m.minutes if d.approvals), None)",
        "tests/measures/test_workgroup.py::test_minutes_approved_by_every_member_once"),
    _wg("wg-attend-member", "only a member answers a meeting's roll call (held since 2026-12-08)",
        "        if r.author not in m.members:\n            raise ValueError(\"attend\")",
        "        if False:\n            raise ValueError(\"attend\")"),
    _wg("wg-meeting-convener-member", "a meeting's convener is among its members (held since 2026-12-08)",
        "        if r.author not in members:\n            raise ValueError(\"members\")",
        "        if False:\n            raise ValueError(\"members\")"),
    _wg("wg-minutes-convener", "only the convener drafts a meeting's minutes (held since 2026-12-08)",
        "        if r.author != m.convener:", "        if False:"),
    _wg("wg-approve-member", "only a member approves minutes (held since 2026-12-08)",
        "        if r.author not in m.members or b.digest != draft.digest:", "        if b.digest != draft.digest:"),
    _wg("wg-approve-digest", "an approval counts only for the draft text it names (held since 2026-12-08)",
        "        if r.author not in m.members or b.digest != draft.digest:", "        if r.author not in m.members:"),
    _wg("wg-approve-once", "a member's approval counts once (held since 2026-12-08)",
        "        if all(a.party != r.author for a in draft.approvals):", "        if True:"),
    _wg("wg-action-owner", "only an action's owner marks it done (held since 2026-12-08)",
        "        if r.author != a.owner:", "        if False:"),
    _wg("wg-proposer-member", "a proposal's proposer is among its members (held since 2026-12-08)",
        "            if r.author not in members:\n                raise ValueError(\"revision 1\")",
        "            if False:\n                raise ValueError(\"revision 1\")"),
    _wg("wg-revision-proposer", "only the proposer revises a proposal (held since 2026-12-08)",
        "        if r.author != p.proposer or b.supersedes", "        if b.supersedes"),
    _wg("wg-revision-supersedes", "a revision supersedes the current one (held since 2026-12-08)",
        "or b.supersedes != p.current.record or b.revision", "or b.revision"),
    _wg("wg-member-acts", "only a member signs, objects to or rejects a proposal (held since 2026-12-08)",
        "        if rev is None or r.author not in p.members:", "        if rev is None:"),
    _wg("wg-submit-proposer", "only the proposer submits a draft (held since 2026-12-08)",
        "        if r.author != p.proposer:\n            raise ValueError(\"submit\")",
        "        if False:\n            raise ValueError(\"submit\")"),
    _wg("wg-reject-after-signing", "a member's signature is final: no veto of the text it signed "
        "(held since 2026-12-08)", "        if any(s.party == r.author for s in rev.signatures):", "        if False:"),
    _wg("wg-reject-not-proposer", "the proposer's own 'rejection' does not close its proposal (held since 2026-12-08)",
        "        if rev is p.current and r.author != p.proposer and", "        if rev is p.current and",
        "tests/measures/test_workgroup_forged.py::test_the_proposer_rejecting_its_own_proposal_does_not_close_it"),
    _wg("wg-withdraw-proposer", "only the proposer withdraws a proposal (held since 2026-12-08)",
        "        if r.author != p.proposer:\n            raise ValueError(\"withdraw\")",
        "        if False:\n            raise ValueError(\"withdraw\")"),
    # -- the hotline: only the other side's own records show delivery, reading, answers, confirmations
    Mutant("hotline-receipt-recipient", "only the recipient's receipt shows a message delivered or read "
           "(held since 2026-12-07)", HL,
           "        if r.author != msg.recipient or kind not in (\"delivered\", \"read\"):",
           "        if kind not in (\"delivered\", \"read\"):",
           (f"{HL_TESTS}::test_a_receipt_from_the_sender_is_no_evidence_that_the_recipient_read",)),
    Mutant("hotline-receipt-type", "a receipt of unknown type says nothing (held since 2026-12-08)", HL,
           "        if r.author != msg.recipient or kind not in (\"delivered\", \"read\"):",
           "        if r.author != msg.recipient:",
           (f"{HL_TESTS}::test_a_receipt_of_unknown_type_from_the_recipient_counts_for_nothing",)),
    Mutant("hotline-translation-parties", "only the conversation's two parties translate in it "
           "(held since 2026-12-07)", HL,
           "        if msg is not None and r.author in (msg.sender, msg.recipient):", "        if msg is not None:",
           (f"{HL_TESTS}::test_a_translation_signed_by_a_third_party_is_not_part_of_the_conversation",)),
    Mutant("hotline-test-reply-peer", "only the tested peer answers a link test (held since 2026-12-08)", HL,
           "        if test is None or r.author != test.to or test.answer_id is not None:",
           "        if test is None or test.answer_id is not None:",
           (f"{HL_TESTS}::test_a_link_test_answered_by_a_third_party_stays_pending",)),
    Mutant("hotline-call-confirm-peer", "only the called peer confirms a call (held since 2026-12-08)", HL,
           "        if call is None or r.author != call.peer or r.author == call.by:",
           "        if call is None or r.author == call.by:",
           (f"{HL_TESTS}::test_a_call_confirmed_by_a_third_party_stays_unconfirmed",)),
    Mutant("hotline-others-conversations", "records between two other parties are no conversation of ours", HL,
           "        if r.author != self.me and self.me not in r.to:\n            return False",
           "        if False:\n            return False",
           (f"{HL_TESTS}::test_third_party_holding_the_records_cannot_read_or_answer",)),
    Mutant("hotline-one-recipient", "a message to more than one party is flagged (held since 2026-12-08)", HL,
           "        if len(r.to) != 1:\n            problems.append", "        if False:\n            problems.append",
           (f"{HL_TESTS}::test_a_message_addressed_to_two_parties_is_flagged",)),
    # -- inquiries: each side moves only its own part of the thread
    Mutant("inquiry-allowed-actions", "a party's message counts only when its role may send it now",
           "cbm/measures/inquiry/model.py", "        if action not in thread.allowed(record.author):",
           "        if False:",
           ("tests/measures/test_inquiry.py::test_a_peer_cannot_move_our_inquiry_with_a_message_it_may_not_send",)),
    Mutant("inquiry-delivered-by-recipient", "only the recipient's own record shows an inquiry delivered "
           "(held since 2026-12-08)", "cbm/measures/inquiry/model.py",
           "first.author == thread.recipient else None", "True else None",
           ("tests/measures/test_inquiry.py::"
            "test_an_inquiry_withdrawn_or_closed_before_it_reached_the_recipient_was_never_delivered",)),
    Mutant("inquiry-ack-shows-delivery", "the recipient's acknowledgement shows delivery before any receipt "
           "(held since 2026-12-08)", "cbm/measures/inquiry/model.py",
           "first.author == thread.recipient else None", "False else None",
           ("tests/measures/test_inquiry.py::"
            "test_an_inquiry_withdrawn_or_closed_before_it_reached_the_recipient_was_never_delivered",)),
    Mutant("inquiry-reference-by-recipient", "only the recipient names its own reference for an inquiry "
           "(held since 2026-12-07)", "cbm/measures/inquiry/index.py",
           "            if isinstance(alias, str) and alias.strip() and row is not None and row[0] == r.author:",
           "            if isinstance(alias, str) and alias.strip() and row is not None:",
           ("tests/measures/test_inquiry.py::test_only_the_recipient_names_its_own_reference_for_an_inquiry",)),
    # -- white papers: only the author versions, withdraws and officially translates its paper
    Mutant("whitepaper-version-author", "only a paper's author writes its next version (held since 2026-12-07)",
           WP_INDEX, "WHERE hash = ? AND doc = ? AND author = ? AND version = ?\",\n"
           "                            (supersedes, doc, r.author, version - 1)",
           "WHERE hash = ? AND doc = ? AND version = ?\",\n                            (supersedes, doc, version - 1)",
           (f"{WP_TESTS}::test_a_peers_new_version_of_another_authors_paper_is_kept_but_ignored",)),
    Mutant("whitepaper-official-translation", "only a paper's author marks a translation official "
           "(held since 2026-12-07)", WP_INDEX, "    if official and r.author != original[1]:", "    if False:",
           (f"{WP_TESTS}::test_a_peers_official_translation_of_another_authors_paper_is_kept_but_ignored",)),
    Mutant("whitepaper-withdrawal-final", "a withdrawn paper takes no new version (held since 2026-12-08)",
           WP_INDEX, "        if latest and latest[2] == \"withdraw\":", "        if False:",
           (f"{WP_TESTS}::test_a_withdrawn_paper_takes_no_new_version_and_its_withdrawal_no_translation",)),
    Mutant("whitepaper-translation-of-a-version", "a translation names a published version, not a withdrawal "
           "(held since 2026-12-08)", WP_INDEX,
           " or original[3] != \"publish\":\n        raise InvalidBody(f\"of does not",
           ":\n        raise InvalidBody(f\"of does not",
           (f"{WP_TESTS}::test_a_withdrawn_paper_takes_no_new_version_and_its_withdrawal_no_translation",)),
)
