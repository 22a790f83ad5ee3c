# Bundles: signed files over any transport, checked by anyone, acknowledged by signed receipts.
step "US rotates its signing key; the signed rotation travels to RU in a bundle, like any record"
show us keys rotate
# only TLP:CLEAR records (the rotation) travel: the bundle stays readable, and the report says so
show us bundle export --to RU -o "$OUT/10-us-to-ru.cbm"

step "anyone can check the bundle without a store: a keyring of trusted cards, or the standard minisign tool"
mkdir -p "$OUT/keyring"
cp "$OUT/us.card" "$OUT/keyring/"
show cbm bundle verify "$OUT/10-us-to-ru.cbm" --keyring "$OUT/keyring" --deep
us keys export --format minisign -o "$OUT/us-minisign.pub"
if command -v minisign >/dev/null 2>&1; then
  show minisign -Vm "$OUT/10-us-to-ru.cbm" -p "$OUT/us-minisign.pub"
fi

step "RU looks inside, imports (learning US's new key without a phone call) and signs a receipt"
show ru bundle inspect "$OUT/10-us-to-ru.cbm"
show ru bundle import "$OUT/10-us-to-ru.cbm"
show ru bundle import "$OUT/10-us-to-ru.cbm"
show ru keys list

step "RU's bundle carries the receipt back: TLP:GREEN, so encrypted by default; armored for a text-only channel"
show ru bundle export --to US --armor -o "$OUT/10-ru-to-us.txt"
head -3 "$OUT/10-ru-to-us.txt"
show us bundle import "$OUT/10-ru-to-us.txt"

step "US sees what RU has acknowledged, per log"
show us bundle status

step "a CI job at RU's desk checks US's bundles: US's card history, US's fingerprint pinned, a JSON report"
# the job holds public cards only (docs/ci/ has the GitHub Actions and GitLab CI versions of these steps)
mkdir -p "$OUT/ci/keyring" "$OUT/ci/reports"
show ru keys export --party US --history -o "$OUT/ci/keyring/us.cards"
show ru keys export -o "$OUT/ci/keyring/ru.card"   # a second trusted card in the folder: only the pin stops it
US_FPR_NOW=$(us keys show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
printf '$ cbm bundle verify 10-us-to-ru.cbm --keyring ci/keyring --fingerprint "%s" --deep --json\n' "$US_FPR_NOW"
cbm bundle verify "$OUT/10-us-to-ru.cbm" --keyring "$OUT/ci/keyring" --fingerprint "$US_FPR_NOW" --deep --json \
  > "$OUT/ci/reports/10-us-to-ru.json"
python3 - "$OUT/ci/reports/10-us-to-ru.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"{r['result']}: bundle {r['number']} from {r['sender']}, signer {r['signer']['fingerprint']} (pinned), "
      f"{r['records']} records; checks: {', '.join(r['checks'])}")
PY
printf '$ cbm bundle verify 10-ru-to-us.txt --keyring ci/keyring --fingerprint "%s"   # signed by RU, not US\n' \
  "$US_FPR_NOW"
if cbm bundle verify "$OUT/10-ru-to-us.txt" --keyring "$OUT/ci/keyring" --fingerprint "$US_FPR_NOW"; then
  echo "a bundle signed by RU passed a check pinned to US" >&2
  exit 1
else
  echo "refused with exit $?: the CI job fails"
fi
