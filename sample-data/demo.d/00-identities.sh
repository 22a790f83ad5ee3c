# Two national CERTs set up their stores and trust each other after reading fingerprints aloud.
step "US and RU create their stores (keys encrypted with a passphrase)"
show us init --party US --name "US-CERT"
show ru init --party RU --name "RU-CERT"
# The samples use the documentation ranges (RFC 5737) as stand-ins for hostile addresses; a real store flags
# them (rule:documentation) and keeps them out of firewall exports, so the demo stores switch that rule off.
for store in us ru; do
  printf '\n[indicators.checks]\nignore = ["rule:documentation"]\n' >> "$OUT/$store/config.toml"
done

step "they swap party cards and confirm fingerprints out of band"
us keys export -o "$OUT/us.card"
ru keys export -o "$OUT/ru.card"
US_FPR=$(us keys show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
RU_FPR=$(ru keys show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["fingerprint"])')
show us keys import "$OUT/ru.card" --fingerprint "$RU_FPR"
show ru keys import "$OUT/us.card" --fingerprint "$US_FPR"
show us keys list
show ru keys list
