#!/usr/bin/env bash
# The symtune binary on bad input: one clear line on stderr naming the file or option, a
# non-zero exit, never a crash (a signal would give an exit status above 128).
set -u
bin=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0 passed=0

expect_error() {  # expect_error "what" "pattern in stderr" command...
  local what=$1 pattern=$2; shift 2
  local status
  "$@" >"$work/out" 2>"$work/err"; status=$?
  if [ "$status" -eq 0 ] || [ "$status" -ge 128 ]; then
    echo "FAIL: $what: exit status $status (wanted a clean failure)"; cat "$work/err"; failures=$((failures + 1))
  elif ! grep -q -- "$pattern" "$work/err"; then
    echo "FAIL: $what: stderr lacks '$pattern':"; cat "$work/err"; failures=$((failures + 1))
  else
    echo "ok: $what -> $(head -c 300 "$work/err" | head -n 1)"; passed=$((passed + 1))
  fi
}

expect_ok() {  # expect_ok "what" "pattern in stdout" command...
  local what=$1 pattern=$2; shift 2
  if "$@" >"$work/out" 2>"$work/err" && grep -q -- "$pattern" "$work/out"; then
    echo "ok: $what"; passed=$((passed + 1))
  else
    echo "FAIL: $what"; cat "$work/out" "$work/err"; failures=$((failures + 1))
  fi
}

expect_help() {  # expect_help "CMD" NAME...: CMD --help (one run) shows every NAME
  local cmd=$1 missing=(); shift
  "$bin" $cmd --help >"$work/help" 2>&1
  for name in "$@"; do grep -q -- "$name" "$work/help" || missing+=("$name"); done
  if [ ${#missing[@]} -eq 0 ]; then echo "ok: ${cmd:-symtune} --help shows $*"; passed=$((passed + 1))
  else echo "FAIL: ${cmd:-symtune} --help lacks ${missing[*]}"; failures=$((failures + 1)); fi
}
expect_help "" "  convert " "  export " "  generate " "  inspect " "  data " "  train " "  eval " "  compare " \
  "  ablate " "  tokenize "
expect_help convert --from --tokenizer --out --dtype
expect_help export --model --out --dtype --max-shard-mb
expect_help generate --model --prompt --max-new-tokens --temperature --top-k --seed
expect_help inspect --model --no-tokenizer
expect_help train --config --set --resume --config-reference
expect_help eval --model --suite --out --tasks
expect_help ablate --config --ratios --print-commands
expect_error "no subcommand" "subcommand" "$bin"
expect_error "unknown option" "--bogus" "$bin" inspect --model "$work" --bogus
expect_error "missing model directory" "$work/absent: model directory not found" "$bin" inspect --model "$work/absent"
mkdir -p "$work/noconfig"
expect_error "directory without config.json" "config.json: not found" "$bin" inspect --model "$work/noconfig"
mkdir -p "$work/badjson" && echo '{"architectures": [' >"$work/badjson/config.json"
expect_error "malformed config.json" "config.json: not valid JSON" "$bin" inspect --model "$work/badjson"
mkdir -p "$work/gpt2" && echo '{"architectures": ["GPT2LMHeadModel"]}' >"$work/gpt2/config.json"
expect_error "unknown architecture" "architecture 'GPT2LMHeadModel' is not supported" "$bin" inspect --model "$work/gpt2"
cat >"$work/noweights.json" <<'JSON'
{"architectures":["LlamaForCausalLM"],"vocab_size":8,"hidden_size":8,"intermediate_size":8,"num_hidden_layers":1,"num_attention_heads":2}
JSON
mkdir -p "$work/noweights" && cp "$work/noweights.json" "$work/noweights/config.json"
expect_error "no weights" "no model.safetensors" "$bin" inspect --model "$work/noweights"
mkdir -p "$work/trunc" && cp "$work/noweights.json" "$work/trunc/config.json"
printf '\x10\x00\x00\x00\x00\x00\x00\x00{"a":' >"$work/trunc/model.safetensors"
expect_error "truncated safetensors" "trunc/model.safetensors: header length" "$bin" inspect --model "$work/trunc"
# A one-layer Llama whose safetensors are written by hand: header length, JSON, data.
tiny_config='{"architectures":["LlamaForCausalLM"],"vocab_size":4,"hidden_size":2,"intermediate_size":2,"num_hidden_layers":1,"num_attention_heads":1}'
write_safetensors() {  # write_safetensors FILE HEADER_JSON DATA_BYTES
  local header=$2 n
  n=${#header}
  printf "$(printf '\\x%02x\\x%02x\\x00\\x00\\x00\\x00\\x00\\x00' $((n % 256)) $((n / 256)))" >"$1"
  printf '%s' "$header" >>"$1"
  head -c "$3" /dev/zero >>"$1"
}
mkdir -p "$work/overlap" && echo "$tiny_config" >"$work/overlap/config.json"
write_safetensors "$work/overlap/model.safetensors" \
  '{"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"model.embed_tokens.weight":{"dtype":"F32","shape":[4,2],"data_offsets":[4,36]}}' 36
expect_error "overlapping tensors" "overlap" "$bin" inspect --model "$work/overlap"
mkdir -p "$work/dtype" && echo "$tiny_config" >"$work/dtype/config.json"
write_safetensors "$work/dtype/model.safetensors" '{"model.norm.weight":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}' 16
expect_error "unsupported dtype" "tensor 'model.norm.weight': dtype 'F64' is not supported" "$bin" inspect --model "$work/dtype"
mkdir -p "$work/missing" && echo "$tiny_config" >"$work/missing/config.json"
write_safetensors "$work/missing/model.safetensors" '{"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 8
expect_error "missing tensors" "are missing: model.embed_tokens.weight" "$bin" inspect --model "$work/missing"
write_safetensors "$work/past_end.safetensors" '{"model.norm.weight":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}' 4
mkdir -p "$work/past" && echo "$tiny_config" >"$work/past/config.json" && cp "$work/past_end.safetensors" "$work/past/model.safetensors"
expect_error "tensor past the end of the file" "run past the end of the data section" "$bin" inspect --model "$work/past"

printf 'not a checkpoint' >"$work/x.bin"
expect_error "convert of a foreign file" "x.bin: truncated: 16 bytes, a llama2.c header needs 28" "$bin" convert --from llama2c "$work/x.bin" --tokenizer "$work/none.model" --out "$work/o"
expect_error "convert from an unknown format" "--from: onnx not in {llama2c,gguf}" "$bin" convert --from onnx "$work/x.bin" --out "$work/o"
expect_error "convert of a file that is not GGUF" "x.bin: not a GGUF file" "$bin" convert --from gguf "$work/x.bin" --out "$work/o"
expect_error "bad dtype" '--dtype: the dtype to write must be "float32" ("fp32") or "bfloat16" ("bf16"), found "float64"' "$bin" export --model "$work/absent" --out "$work/o" --dtype float64


# Config values of the wrong JSON type, in every section: named, with what was expected; nothing
# converted on the way (3.5 is not read as 3, -1 not as a huge seed).
demo="$(cd "$(dirname "$0")/../.." && pwd)/configs/demo_synthetic.json"
expect_error "fractional step count" "train: 'max_steps' must be an integer, found 3.5" \
  "$bin" train --config "$demo" --set train.max_steps=3.5 --set train.output_dir="$work/run"
expect_error "string for a number" "data: 'symbol_fraction' must be a number, found \"half\"" \
  "$bin" train --config "$demo" --set 'data.symbol_fraction="half"' --set train.output_dir="$work/run"
expect_error "negative seed" "optimizer: 'seed' must be a non-negative integer, found -1" \
  "$bin" train --config "$demo" --set optimizer.seed=-1 --set train.output_dir="$work/run"
expect_error "list with a number" "'tuning_datasets' must be a list of strings" \
  "$bin" train --config "$demo" --set 'data.tuning_datasets=["a", 3]' --set train.output_dir="$work/run"
expect_error "number for a name" "schedule: 'kind' must be a string, found 3" \
  "$bin" train --config "$demo" --set schedule.kind=3 --set train.output_dir="$work/run"
# A run that cannot fit in memory is refused before anything is written or allocated.
expect_error "a batch no machine can hold" "the run needs about" \
  "$bin" train --config "$demo" --set data.rows_per_batch=1000000 --set train.output_dir="$work/run"
expect_error "an evaluation of no examples" "--examples: Value 0 not in range" \
  "$bin" eval --model "$work/absent" -n 0
expect_error "a prompt budget past the bound" "--max-input-tokens: Value 10000000000 not in range" \
  "$bin" eval --model "$work/absent" --max-input-tokens 10000000000
[ -e "$work/run" ] && { echo "FAIL: a refused config still created its output directory"; failures=$((failures + 1)); }

echo "$passed passed, $failures failed"
[ "$failures" -eq 0 ]
