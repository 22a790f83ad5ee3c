# Indicators: US-CERT shares a feed with RU-CERT; RU sights one, US hears back; RU feeds its firewall and IDS.
IND="$HERE/indicators"

step "US adds a C2 address for the energy sector, then imports a CSV feed and a defanged mailing-list list"
show us indicators add --type ipv4-addr --value 203.0.113.5 --tlp GREEN --confidence 80 \
  --indicator-type malicious-activity --valid-until 2027-06-01 --sector energy \
  --description "C2 server contacted by implants in substation networks"
show us indicators import "$IND/feed.csv" --to RU
show us indicators import "$IND/feed-defanged.txt" --sector energy
show us indicators import "$IND/bundle.stix.json"
show us indicators list --limit 8

step "US reports a phishing host that appears to originate from RU territory (country and AS, signed with it)"
show us indicators add --value 198.51.100.77 --origin RU --asn 64500 --confidence 70 --valid-until 2027-06-01 \
  --description "phishing kit host"

step "a malformed feed is refused line by line, and nothing is imported"
printf '198.51.100.99\nnot-an-indicator\n300.1.1.1\n' > "$OUT/20-bad-feed.txt"
show us indicators import "$OUT/20-bad-feed.txt" || echo "(exit $?: nothing imported)"

step "a tired analyst adds Google's public resolver: it is signed and kept, but flagged by the warninglists"
show us indicators add --value 8.8.8.8 --description "seen in the implant's config"

step "the indicators travel to RU in a signed bundle (TLP:RED only because RU is named)"
send us ru
show ru indicators stats
show ru indicators stats --from US --origin RU
show ru indicators search "203[.]0[.]113[.]5"

step "RU's sensors see the C2 address three times; the sighting goes back to US"
C2=$(ru indicators search 203.0.113.5 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hits"][0]["id"])')
show ru indicators sighting "$C2" --count 3 --first-seen 2026-11-20T08:00Z --last-seen 2026-11-22T17:30Z \
  --description "beaconing from a substation VLAN"
send ru us
show us indicators show "$C2"

step "US withdraws a false positive; the revocation reaches RU"
OLD=$(us indicators search 5d41402abc4b2a76b9719d911017c592 --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["hits"][0]["id"])')
show us indicators revoke "$OLD" --reason "false positive: benign test file"
send us ru
show ru indicators list --revoked

step "RU exports what its firewall and IDS eat: live, shareable indicators only"
show ru indicators list --flagged
show ru indicators export --format txt --type ipv4-addr --active --tlp-max GREEN -o "$OUT/20-ru-blocklist-ip.txt"
cat "$OUT/20-ru-blocklist-ip.txt"
if grep -qx 8.8.8.8 "$OUT/20-ru-blocklist-ip.txt"; then echo "8.8.8.8 reached the firewall list" >&2; exit 1; fi
show ru indicators export --format suricata --active --tlp-max GREEN -o "$OUT/20-ru-cbm.rules"
head -4 "$OUT/20-ru-cbm.rules"
show ru indicators export --format stix --from US -o "$OUT/20-ru-us-feed.stix.json"
