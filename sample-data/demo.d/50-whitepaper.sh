# White papers: RU publishes its unclassified strategy (Markdown, Russian) with an official English PDF;
# US receives it, checks the bytes, finds it by a word inside the PDF, and acknowledges it; RU sees who
# acknowledged which version. Then RU revises it, and US compares the versions.
WP="$HERE/whitepaper"

step "RU publishes its information-security strategy (only UNCLASSIFIED papers are accepted)"
show ru whitepaper publish "$WP/ru-infosec-strategy-2026.md" --classification SECRET \
  --title "Стратегия Минобороны России в области информационной безопасности" \
  --issuer "Министерство обороны Российской Федерации" --lang ru || echo "(refused, exit $?: as it should be)"
RU_WP=$(ru whitepaper publish "$WP/ru-infosec-strategy-2026.md" --classification UNCLASSIFIED --tlp CLEAR \
  --title "Стратегия Минобороны России в области информационной безопасности" \
  --issuer "Министерство обороны Российской Федерации" --lang ru --date 2026-11-01 \
  --summary "Взгляды на защиту критической информационной инфраструктуры и меры доверия")
show ru whitepaper translate "$RU_WP" "$WP/ru-infosec-strategy-2026-en.pdf" --lang en --official \
  --title "Information security strategy of the Russian Ministry of Defence (2026)"

step "RU sends it to US; on import US verifies the bytes and signs an acknowledgement"
send ru us
show us whitepaper list --from RU
show us whitepaper list --search "nuclear risk"
show us whitepaper get "$RU_WP" --lang en -o "$OUT/ru-strategy-en.pdf"
show cmp "$OUT/ru-strategy-en.pdf" "$WP/ru-infosec-strategy-2026-en.pdf"

step "the acknowledgement travels back: RU sees who received which version"
send us ru
show ru whitepaper show "$RU_WP"

step "RU publishes a revision; US compares it with the first version"
show ru whitepaper publish "$WP/ru-infosec-strategy-2026-v2.md" --supersedes "$RU_WP"
send ru us
show us whitepaper diff "$RU_WP" --from 1 --to 2
send us ru
