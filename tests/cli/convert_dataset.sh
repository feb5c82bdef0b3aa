#!/usr/bin/env bash
# scripts/convert_dataset.py on CSV, TSV and HF-style JSONL dumps; the result must load in
# symtune (symtune data preview); bad rows are named by file and row.
set -u
bin=$1 py=$2 root=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail=0 ok=0
check() { if eval "$2"; then echo "ok: $1"; ok=$((ok + 1)); else echo "FAIL: $1"; fail=$((fail + 1)); fi; }

printf 'review,stars\n"great, really",1\nawful,0\nfine film,1\nbad,0\nloved it,1\nhated it,0\nsuperb,1\ndull,0\n' >"$work/train.csv"
"$py" "$root/scripts/convert_dataset.py" --name movies --task sentiment --train "$work/train.csv" --test "$work/train.csv" \
  --text review --label stars --labels negative,positive --out "$work/data/movies" >/dev/null
check "CSV with integer labels converts" '[ "$(head -1 "$work/data/movies/train.jsonl")" = "{\"text\": \"great, really\", \"label\": \"positive\"}" ]'

printf 'q\tp\tgold\nIs it?\tIt is.\tyes\nIs not?\tIt is.\tno\nReally?\tYes.\tyes\nNo?\tNo.\tno\nA?\tB.\tyes\nC?\tD.\tno\n' >"$work/pairs.tsv"
"$py" "$root/scripts/convert_dataset.py" --name qa --train "$work/pairs.tsv" --text q --text2 p --label gold --out "$work/data/qa" >/dev/null
check "TSV sentence pairs with string labels convert" '[ "$(head -1 "$work/data/qa/train.jsonl")" = "{\"text\": \"Is it?\", \"label\": \"yes\", \"text2\": \"It is.\"}" ]'

for i in 0 1 2 3 4 5; do echo "{\"sentence\": \"text $i\", \"label\": $((i % 2))}"; done >"$work/hf.jsonl"
"$py" "$root/scripts/convert_dataset.py" --name hf --train "$work/hf.jsonl" --text sentence --label label --labels neg,pos --out "$work/data/hf" >/dev/null
check "HF to_json dump converts, integer labels mapped through --labels" '[ "$(wc -l <"$work/data/hf/train.jsonl")" -eq 6 ] && [ "$(sed -n 2p "$work/data/hf/train.jsonl")" = "{\"text\": \"text 1\", \"label\": \"pos\"}" ]'

printf 'review,stars\ngood,1\n,0\n' >"$work/bad.csv"
out=$("$py" "$root/scripts/convert_dataset.py" --name bad --train "$work/bad.csv" --text review --label stars --labels n,p --out "$work/data/bad" 2>&1)
status=$?
check "an empty text is an error naming file and row, exit non-zero" '[ "$status" -ne 0 ] && [[ "$out" == *"bad.csv: row 2: empty text"* ]]'
out=$("$py" "$root/scripts/convert_dataset.py" --name bad --train "$work/bad.csv" --text review --label stars --labels n,p --skip-bad --out "$work/data/bad" 2>&1)
check "--skip-bad skips and counts, and keeps the good row" '[[ "$out" == *"1 skipped"* ]] && [ "$(cat "$work/data/bad/train.jsonl")" = "{\"text\": \"good\", \"label\": \"p\"}" ]'

cat >"$work/config.json" <<JSON
{"data": {"classification_dir": "$work/data", "tuning_datasets": ["movies", "qa", "hf"], "exemplars_per_class": [2, 2],
          "symbols": {"word_list": ""}, "tokenizer": "bytes", "max_input_tokens": 512, "max_target_tokens": 16}}
JSON
check "converted datasets load in symtune" '"$bin" data preview --config "$work/config.json" -n 3 >"$work/preview.txt" 2>&1 && grep -q "=== example 2" "$work/preview.txt"'
echo "$ok passed, $fail failed"
[ "$fail" -eq 0 ]
