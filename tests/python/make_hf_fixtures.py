"""Writes tiny random HF transformers models and their reference logits for the parity tests.

For each architecture symtune supports, this builds a small model with transformers itself
(so config.json and the safetensors are exactly what HF writes), perturbs every weight so that
norms and biases are not at their trivial initial values, saves it with save_pretrained, and
records for each:
  * plain rows: HF's own forward on [2, T] tokens;
  * packed rows: each packed example run through HF on its own (positions from 0, seeing
    nothing of its neighbours), then laid side by side - the ground truth that symtune's
    packed attention must reproduce in one forward;
  * gradients: every parameter's gradient (by HF name) of HF's mean next-token loss on the
    plain rows (reference_grads.safetensors), so a wrong backward names its tensor;
  * greedy ids: 32 tokens continued greedily from the first 5 tokens of row 0, one full
    forward per token (reference.json "greedy_ids").
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
    # Query width (4 x 24) above the hidden size, as Qwen3's head_dim allows.
    "qwen3": ("Qwen3Config", "Qwen3ForCausalLM", dict(head_dim=24), dict()),
    "qwen3_tied_bias": ("Qwen3Config", "Qwen3ForCausalLM", dict(head_dim=16, tie_word_embeddings=True,
                                                                attention_bias=True), dict()),
    "gemma": ("GemmaConfig", "GemmaForCausalLM", dict(head_dim=24, hidden_activation="gelu_pytorch_tanh"), dict()),
    "gemma_untied": ("GemmaConfig", "GemmaForCausalLM", dict(head_dim=16, tie_word_embeddings=False), dict()),
    # Soft-capped scores and logits (caps small enough that tanh bends them), a query scale apart
    # from head_dim, alternating sliding (5 < T) and full layers, four norms a block.
    "gemma2": ("Gemma2Config", "Gemma2ForCausalLM", dict(head_dim=16, query_pre_attn_scalar=24, sliding_window=5,
                                                          attn_logit_softcapping=2.0, final_logit_softcapping=3.0),
               dict()),
    "gemma2_untied_nocap": ("Gemma2Config", "Gemma2ForCausalLM", dict(
        head_dim=24, tie_word_embeddings=False, layer_types=["full_attention", "sliding_attention"], sliding_window=4,
        attn_logit_softcapping=None, final_logit_softcapping=None), dict()),
    # Per-head (1 + w) q/k norms, a sliding layer with its own rotary base and a full layer with
    # linear rope scaling; then capped logits (the attention cap is read but not applied by transformers)
    # and an untied head.
    "gemma3_text": ("Gemma3TextConfig", "Gemma3ForCausalLM", dict(
        head_dim=16, query_pre_attn_scalar=24, sliding_window=5, layer_types=["sliding_attention", "full_attention"],
        rope_parameters={"full_attention": {"rope_type": "linear", "factor": 4.0, "rope_theta": 1000000.0},
                         "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}), dict()),
    "gemma3_text_capped_untied": ("Gemma3TextConfig", "Gemma3ForCausalLM", dict(
        head_dim=24, tie_word_embeddings=False, attn_logit_softcapping=3.0, final_logit_softcapping=5.0,
        sliding_window=4), dict()),
    # Norms on the attention and MLP outputs, q/k norms over the whole projection.
    "olmo2": ("Olmo2Config", "Olmo2ForCausalLM", dict(), dict()),
    "olmo2_mqa_tied_bias": ("Olmo2Config", "Olmo2ForCausalLM", dict(num_key_value_heads=1, tie_word_embeddings=True,
                                                                    attention_bias=True), dict()),
    # Layer 1 of 2 without rotary embedding (no_rope_layer_interval 2); then the reverse, untied.
    "smollm3": ("SmolLM3Config", "SmolLM3ForCausalLM", dict(no_rope_layer_interval=2), dict()),
    "smollm3_untied_bias": ("SmolLM3Config", "SmolLM3ForCausalLM", dict(no_rope_layers=[0, 1], tie_word_embeddings=False,
                                                                        attention_bias=True, mlp_bias=True), dict()),
    # Per-layer windows switched on: Qwen's layers from max_window_layers on, SmolLM3's no-rope layers.
    "qwen3_sliding": ("Qwen3Config", "Qwen3ForCausalLM", dict(head_dim=16, use_sliding_window=True, sliding_window=5,
                                                             max_window_layers=1), dict()),
    "smollm3_sliding": ("SmolLM3Config", "SmolLM3ForCausalLM", dict(no_rope_layer_interval=2, use_sliding_window=True,
                                                                    sliding_window=4), dict()),
    # Fused qkv_proj and gate_up_proj; a window on every layer.
    "phi3_sliding": ("Phi3Config", "Phi3ForCausalLM", dict(sliding_window=5), dict()),
    # Phi-4-mini's shape of rope: 12 of 16 dims rotate, longrope whose long factors take over past
    # 8 positions (the plain rows of 12; packed examples stay short) and cos/sin scaled by
    # sqrt(1 + ln 8 / ln 8); one key/value head; a tied head.
    "phi3_longrope_partial_mqa_tied": ("Phi3Config", "Phi3ForCausalLM", dict(
        num_key_value_heads=1, tie_word_embeddings=True, original_max_position_embeddings=8,
        rope_parameters={"rope_type": "longrope", "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
                         "short_factor": [1.0, 1.1, 1.3, 1.6, 2.0, 2.5],
                         "long_factor": [1.0, 1.5, 2.5, 4.0, 6.0, 9.0]}), dict()),
    # The text tower of a multimodal Gemma 3 (the 4B and larger releases): its weights under
    # model.language_model., a vision tower and projector beside them, left unread.
    "gemma3_multimodal": ("Gemma3Config", "Gemma3ForConditionalGeneration", dict(
        head_dim=16, query_pre_attn_scalar=24, sliding_window=5, layer_types=["sliding_attention", "full_attention"]),
        dict()),
}

# Multimodal cases: their extra keys are the text_config's, with a vision tower this small.
TINY_VISION = dict(hidden_size=16, intermediate_size=16, num_hidden_layers=1, num_attention_heads=2, image_size=28,
                   patch_size=14)

# longrope picks its factors by the longest position of each forward, so a continuation decoded
# with a cache (short factors for the prompt's keys, long ones past 8 positions) differs from full
# forwards over the growing text: for it the reference is transformers' own cached decoding.
GREEDY_WITH_CACHE = {"phi3_longrope_partial_mqa_tied"}

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


def reference_gradients(model, tokens):
    """Every parameter's gradient of HF's mean next-token loss on the plain rows, by HF name."""
    model.zero_grad(set_to_none=True)
    model(tokens, labels=tokens).loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        if name.startswith("model.language_model."):  # a multimodal text tower: by the causal LM's names
            name = "model." + name[len("model.language_model."):]
        elif name.startswith(("model.vision_tower.", "model.multi_modal_projector.")):
            continue
        grads[name] = p.grad.detach().clone().contiguous()
    model.zero_grad(set_to_none=True)
    return grads


def greedy_ids(model, prompt, steps=32):
    """Greedy continuation by full forwards (no cache): the argmax of the last position."""
    ids = prompt.clone()
    with torch.no_grad():
        for _ in range(steps):
            next_id = model(ids).logits[0, -1].argmax()
            ids = torch.cat([ids, next_id.view(1, 1)], dim=1)
    return ids[0, prompt.shape[1]:].tolist()


def greedy_ids_cached(model, prompt, steps=32):
    """Greedy continuation as transformers decodes it with its key/value cache."""
    ids = []
    with torch.no_grad():
        out = model(prompt, use_cache=True)
        for _ in range(steps):
            next_id = out.logits[0, -1].argmax()
            ids.append(int(next_id))
            out = model(next_id.view(1, 1), cache=out.past_key_values, use_cache=True)
    return ids


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    for name, (config_cls, model_cls, extra, save_kwargs) in CASES.items():
        torch.manual_seed(1234)
        if model_cls.endswith("ForConditionalGeneration"):
            config = getattr(transformers, config_cls)(text_config={**BASE, **extra}, vision_config=TINY_VISION,
                                                       mm_tokens_per_image=4)
        else:
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
        save_file(reference_gradients(model, tokens), os.path.join(case_dir, "reference_grads.safetensors"))
        greedy = (greedy_ids_cached if name in GREEDY_WITH_CACHE else greedy_ids)(model, tokens[:1, :5])
        if torch.cuda.is_available():
            plain16, packed16 = reference_logits(model, tokens, "cuda", torch.bfloat16)
            save_file({"plain_logits": plain16, "packed_logits": packed16},
                      os.path.join(case_dir, "reference_bf16_cuda.safetensors"))
        positions, segments = packed_layout()
        with open(os.path.join(case_dir, "reference.json"), "w") as f:
            json.dump({"tokens": tokens.tolist(), "position_ids": positions, "segment_ids": segments,
                       "greedy_prompt": tokens[0, :5].tolist(), "greedy_ids": greedy,
                       "transformers_version": transformers.__version__}, f)
        print(f"{name}: {sum(p.numel() for p in model.parameters())} parameters -> {case_dir}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
