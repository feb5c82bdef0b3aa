"""HF transformers' Adafactor (and, on CUDA, torch's fused AdamW) on the parameters of a Llama
shape, for bench/adafactor_bench.sh. Prints one JSON line per optimizer.

Usage: adafactor_hf.py [--shape 1.1b|124m] [--device cpu|cuda] [--steps N] [--warmup N] [--adamw]
"""
import argparse
import json
import time

import torch
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.optimization import Adafactor

SHAPES = {
    "124m": dict(hidden_size=768, intermediate_size=2048, num_hidden_layers=12, num_attention_heads=12,
                 num_key_value_heads=12),
    "1.1b": dict(hidden_size=2048, intermediate_size=5632, num_hidden_layers=22, num_attention_heads=32,
                 num_key_value_heads=4),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--shape", default="1.1b", choices=SHAPES)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--adamw", action="store_true", help="also time torch.optim.AdamW(fused=True)")
    args = ap.parse_args()
    cfg = LlamaConfig(vocab_size=32000, **SHAPES[args.shape])
    with torch.device("meta"):
        shapes = [p.shape for p in LlamaForCausalLM(cfg).parameters()]
    torch.manual_seed(0)
    params = [(torch.randn(s, device=args.device) * 0.02).requires_grad_(True) for s in shapes]
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    optimizers = {"hf_adafactor": lambda: Adafactor(params, lr=None, relative_step=True, scale_parameter=True)}
    if args.adamw:
        optimizers["torch_adamw_fused"] = lambda: torch.optim.AdamW(params, lr=1e-4, fused=True)
    for name, make in optimizers.items():
        opt = make()
        sync = torch.cuda.synchronize if args.device.startswith("cuda") else (lambda: None)
        for _ in range(args.warmup):
            opt.step()
        sync()
        t0 = time.perf_counter()
        for _ in range(args.steps):
            opt.step()
        sync()
        ms = (time.perf_counter() - t0) / args.steps * 1e3
        state = sum(t.numel() * t.element_size() for s in opt.state.values() for t in s.values()
                    if torch.is_tensor(t) and t.dim() > 0)
        print(json.dumps(dict(bench="adafactor_step", impl=name, shape=args.shape, device=args.device,
                              params=sum(p.numel() for p in params), step_ms=round(ms, 1), state_bytes=state)),
              flush=True)
        del opt


if __name__ == "__main__":
    main()
