"""Writes tiny random HF transformers models and their reference logits for the parity tests.

For each architecture symtune supports, this builds a small model with transformers itself
(so config.json and the safetensors are exactly what HF writes), perturbs every weight so that
norms and biases are not at their trivial initial values, saves it with save_pretrained, and
records logits for:
  * plain rows: HF's own forward on [2, T] tokens;
  * packed rows: each packed example run through HF on its own (positions from 0, seeing
    nothing of its neighbours), then laid side by side - the ground truth that symtune's
    packed attention must reproduce in one forward.
When a CUDA device is present it also records the same logits from HF in bfloat16 on CUDA.

Usage: make_hf_fixtures.py OUT_DIR
"""
import json
import os
import sys

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'transformers', 'safetensors')

import torch
import transformers
from safetensors.torch import save_file

T = 12
PACKED_SEGMENTS = [[5, 4, 3], [7, 5]]  # example lengths per row, summing to T

CASES = {
    # name: (config class, model class, config kwargs, save kwargs)
    "llama": ("LlamaConfig", "LlamaForCausalLM", dict(), dict()),
    "llama_llama3_rope_tied": (
        "LlamaConfig", "LlamaForCausalLM",
        dict(tie_word_embeddings=True, attention_bias=True, rope_scaling={
            "rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
            "original_max_position_embeddings": 16}, rope_theta=500000.0),
        dict(max_shard_size="40KB")),  # sharded, with model.safetensors.index.json
    "mistral_sliding_window": ("MistralConfig", "MistralForCausalLM", dict(sliding_window=5), dict()),
    "qwen2": ("Qwen2Config", "Qwen2ForCausalLM", dict(), dict()),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", dict(head_dim=24, hidden_activation="gelu_pytorch_tanh"), dict()),
}

BASE = dict(vocab_size=96, hidden_size=64, intermediate_size=112, num_hidden_layers=2, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, rms_norm_eps=1e-6, bos_token_id=1, eos_token_id=2,
            pad_token_id=0)


def packed_layout():
    positions, segments = [], []
    for lengths in PACKED_SEGMENTS:
        positions.append([p for n in lengths for p in range(n)])
        segments.append([s for s, n in enumerate(lengths) for _ in range(n)])
    return positions, segments


def reference_logits(model, tokens, device, dtype):
    model = model.to(device=device, dtype=dtype)
    with torch.no_grad():
        plain = model(tokens.to(device)).logits.float().cpu()
        rows = []
        for r, lengths in enumerate(PACKED_SEGMENTS):
            parts, start = [], 0
            for n in lengths:
                parts.append(model(tokens[r:r + 1, start:start + n].to(device)).logits.float().cpu())
                start += n
            rows.append(torch.cat(parts, dim=1))
        packed = torch.cat(rows, dim=0)
    return plain.contiguous(), packed.contiguous()


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, (config_cls, model_cls, extra, save_kwargs) in CASES.items():
        torch.manual_seed(1234)
        config = getattr(transformers, config_cls)(**{**BASE, **extra})
        config._attn_implementation = "eager"
        model = getattr(transformers, model_cls)(config).eval()
        with torch.no_grad():
            for p in model.parameters():  # nonzero biases, non-unit norms, larger weights
                p.add_(torch.randn_like(p) * 0.08)
        case_dir = os.path.join(out_dir, name)
        model.save_pretrained(case_dir, **save_kwargs)
        gen = torch.Generator().manual_seed(7)
        tokens = torch.randint(3, BASE["vocab_size"], (len(PACKED_SEGMENTS), T), generator=gen)
        plain, packed = reference_logits(model, tokens, "cpu", torch.float32)
        save_file({"plain_logits": plain, "packed_logits": packed}, os.path.join(case_dir, "reference.safetensors"))
        if torch.cuda.is_available():
            plain16, packed16 = reference_logits(model, tokens, "cuda", torch.bfloat16)
            save_file({"plain_logits": plain16, "packed_logits": packed16},
                      os.path.join(case_dir, "reference_bf16_cuda.safetensors"))
        positions, segments = packed_layout()
        with open(os.path.join(case_dir, "reference.json"), "w") as f:
            json.dump({"tokens": tokens.tolist(), "position_ids": positions, "segment_ids": segments,
                       "transformers_version": transformers.__version__}, f)
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters -> {case_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
