# Working group: US convenes a meeting (agenda, roll call, an action item for RU), drafts the minutes, and
# tables a joint notification template. Both delegations sign the exact text digest: it is adopted on both
# sides. Minutes are approved the same way; US then writes the report for the Presidential Commission.
WG="$HERE/workgroup"
json_field() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

step "US convenes the 4th meeting of the working group and answers the roll call"
show us workgroup members
WG_M=$(us workgroup meeting new --at 2026-11-20T09:00Z --place "Geneva" --title "4th meeting" \
  --agenda-file "$WG/agenda.md" --json | json_field '["meeting"]["id"]')
show us workgroup meeting attend "$WG_M" --name "J. Smith (US-CERT)" --name "A. Jones (State)"
show us workgroup action add "Share sinkhole data format" --owner RU --due 2027-01-15 --meeting "$WG_M"

step "US tables the joint notification template and signs its exact text (members sign its sha256)"
WG_P=$(us workgroup proposal new --title "Joint notification template" --text-file "$WG/proposal.md" --json \
  | json_field '["id"]')
show sha256sum "$WG/proposal.md"
show us workgroup proposal sign "$WG_P"
show us workgroup minutes "$WG_M" --file "$WG/minutes.md"
show us workgroup minutes "$WG_M" --approve
send us ru

step "RU sees what awaits it, answers the roll call, reads the text and signs the same digest"
show ru status
show ru workgroup meeting attend "$WG_M" --name "A. Ivanov (RU-CERT)" --name "B. Petrov (MFA)"
show ru workgroup proposal show "$WG_P"
WG_D=$(sha256sum "$WG/proposal.md" | cut -d' ' -f1)
show ru workgroup proposal sign "$WG_P" --digest "$WG_D"
show ru workgroup minutes "$WG_M" --approve
show ru workgroup minutes "$WG_M" --approve || echo "(refused, exit $?: minutes are approved once)"
send ru us

step "adopted on both sides: every member signed the same text digest"
show us workgroup proposal list
show us workgroup proposal show "$WG_P"
show us workgroup meeting show "$WG_M"
show us workgroup report --from 2026-10-01 --to 2026-12-31 -o "$OUT/workgroup-report.md"
show cat "$OUT/workgroup-report.md"
