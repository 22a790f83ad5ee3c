# The watch desk (issue 17): a notification needs only an acknowledgement, a voice call goes on the record and is
# confirmed by the other side's own signature, `status --check` alerts a monitoring job, and the shift hands over.

step "US notifies RU (a notification needs an acknowledgement, never a reply)"
NOTE_REF=$(us inquiry open --to RU --type notification --precedence PRIORITY \
  --subject "Planned maintenance of the WECC-A control link" --body "Link down 02:00-04:00Z Sunday." --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
send us ru
show ru inquiry ack "$NOTE_REF" --note "noted"
show ru inquiry show "$NOTE_REF"      # acknowledged; nothing more is due, never OVERDUE

step "US records the voice call the principals just held; RU confirms it with its own signature"
CALL_START=$(date -u -d '-25 minutes' +%Y-%m-%dT%H:%M:%SZ)
CALL_END=$(date -u -d '-5 minutes' +%Y-%m-%dT%H:%M:%SZ)
printf 'Both sides agreed to isolate the affected substations; RU reports on the servers within the hour.\n' \
  > "$OUT/call-summary.md"
show us hotline call --with RU --start "$CALL_START" --end "$CALL_END" \
  --participant "US cybersecurity coordinator" --participant "RU deputy secretary of the security council" \
  --summary "$OUT/call-summary.md"
send us ru
show ru hotline calls --with US
CALL_ID=$(ru hotline calls --with US --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["calls"][-1]["id"])')
show ru hotline confirm "$CALL_ID"
send ru us
show us hotline transcript --with RU     # the call beside the messages, confirmed by RU

step "monitoring: status --check exits 8 when anything needs attention; the desk hands over"
show us status
us status --check --json > "$OUT/us-status.json" && echo "exit 0: nothing needs attention" \
  || echo "exit $?: something needs attention (see $OUT/us-status.json)"
show us handover --note "Call with RU confirmed; expect RU's report on the servers within the hour."
show us handover
