# Bundles: signed files over any transport, checked by anyone, acknowledged by signed receipts.
step "US rotates its signing key; the signed rotation travels to RU in a bundle, like any record"
show us keys rotate
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

step "RU's bundle carries the receipt back, encrypted and armored for a text-only channel"
show ru bundle export --to US --encrypt --armor -o "$OUT/10-ru-to-us.txt"
head -3 "$OUT/10-ru-to-us.txt"
show us bundle import "$OUT/10-ru-to-us.txt"

step "US sees what RU has acknowledged, per log"
show us bundle status
