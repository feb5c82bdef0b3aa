"""HF transformers scoring the prompts bench_eval_scoring wrote, as the common recipe does it:
one forward of prompt + candidate per candidate, summing the candidate tokens' log-probabilities.
Prints prompts/s and the largest difference from symtune's scores (fp32).

Usage: eval_hf.py MODEL_DIR PROMPTS_JSONL [--threads N]
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    if "--threads" in sys.argv:
        torch.set_num_threads(int(sys.argv[sys.argv.index("--threads") + 1]))
    model = AutoModelForCausalLM.from_pretrained(sys.argv[1], dtype=torch.float32).eval()
    prompts = [json.loads(line) for line in open(sys.argv[2])]

    def score(p):
        out = []
        for cand in p["candidates"]:
            ids = torch.tensor([p["prompt"] + cand])
            logp = torch.log_softmax(model(ids).logits[0].double(), -1)
            start = len(p["prompt"]) - 1
            out.append(sum(logp[start + j, tok].item() for j, tok in enumerate(cand)))
        return out

    with torch.no_grad():
        score(prompts[0])  # warm-up
        t0 = time.perf_counter()
        scores = [score(p) for p in prompts]
        seconds = time.perf_counter() - t0
    worst = max(abs(a - b) for p, s in zip(prompts, scores) for a, b in zip(p["scores"], s))
    print(json.dumps({"bench": "eval_scoring_hf", "prompts": len(prompts), "prompts_per_s": len(prompts) / seconds,
                      "max_abs_logp_difference_vs_symtune": worst}))


if __name__ == "__main__":
    main()
