# Inquiry over the risk-reduction link: US asks about an incident, RU acknowledges and answers, US closes.
INQ_DATA="$HERE/inquiry"

step "US opens a formal inquiry (IMMEDIATE: acknowledge within 1h, reply within 12h of delivery)"
INQ_REF=$(us inquiry open --to RU --type request_for_information --precedence IMMEDIATE \
  --subject "Scanning of US energy SCADA from AS12345" --body-file "$INQ_DATA/incident.md" \
  --sector energy --attach "$INQ_DATA/pcap-summary.txt" --tlp AMBER --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
echo "opened $INQ_REF"
show us inquiry list

step "the next bundle carries it to RU; RU's watch officer sees it waiting, with the time left"
send us ru
show ru status
show ru inquiry list

step "RU acknowledges (with its own reference), saves the attachment, and answers"
show ru inquiry ack "$INQ_REF" --note "routed to competent authority" --own-ref "RU-US/2026/0031"
show ru inquiry show "$INQ_REF" --save-attachments "$OUT/ru-inquiry-files"
show ru inquiry reply "$INQ_REF" --body-file "$INQ_DATA/answer.md"
send ru us

step "US reads the whole thread, with who signed what, and closes it"
show us inquiry show "$INQ_REF"
show us inquiry close "$INQ_REF" --outcome satisfied --note "thank you; matter closed"
send us ru
show ru inquiry list --all
show us inquiry export "$INQ_REF" --format markdown -o "$OUT/inquiry-record.md"
