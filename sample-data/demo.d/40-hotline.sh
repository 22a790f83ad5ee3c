# The crisis hotline: a FLASH exchange, encrypted end to end, with delivered/read receipts, an unofficial
# translation each way, a link test, and a signed transcript both sides can check.
HL_US_TEXT="A destructive wiper is spreading through our grid operator's network, controlled from servers in your territory. Are your forces involved? Please answer on this line."
HL_RU_TEXT="Нет. Наши силы не причастны. Мы блокируем указанные серверы и сообщим результаты в течение часа."

step "US sends a FLASH message on the hotline (sealed to RU and to itself) and tests the line"
show us hotline send --to RU --precedence FLASH --lang en --body "$HL_US_TEXT"
show us hotline test --to RU
send us ru

step "RU's store confirmed delivery and answered the link test on import; the officer reads the message"
show ru hotline inbox
HL_ID=$(ru hotline inbox --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["id"])')
show ru hotline read "$HL_ID"
show ru hotline translate "$HL_ID" --lang ru --body "Разрушительный вайпер распространяется по сети нашего сетевого оператора; серверы управления на вашей территории. Причастны ли ваши силы? Пожалуйста, ответьте по этой линии."
show ru hotline send --to US --precedence FLASH --lang ru --body "$HL_RU_TEXT"
send ru us

step "US sees RU's delivered and read receipts, the link test's round trip, and RU's answer"
show us hotline status
HL_RU_ID=$(us hotline inbox --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["messages"][0]["id"])')
show us hotline read "$HL_RU_ID"
show us hotline translate "$HL_RU_ID" --lang en --body "No. Our forces are not involved. We are blocking the servers you named and will report the results within the hour."
send us ru

step "both sides hold the same conversation: it verifies, and US exports it signed for the record"
show ru hotline transcript --with US --verify
show us hotline transcript --with RU --export "$OUT/hotline-transcript.md"
show us hotline check-export "$OUT/hotline-transcript.md"
send us ru
show ru hotline check-export "$OUT/hotline-transcript.md"
show ru hotline status

step "the bundle files and both stores hold only ciphertext"
if grep -rqF "forces involved" "$OUT"/*.cbm "$OUT/us" "$OUT/ru"; then
  echo "plaintext found in a bundle or store" >&2
  exit 1
fi
echo "no hotline plaintext in any bundle file or store file"
