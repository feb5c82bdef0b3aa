"""symtune's exported directories load in HF transformers as they are.

For every fixture written by make_hf_fixtures.py:
  * `symtune export --dtype float32` loads in transformers with logits identical (bit for bit)
    to the original model's;
  * `symtune export --dtype bfloat16 --max-shard-mb ...` (sharded, with an index) loads with
    logits identical to the original model with its weights rounded to bfloat16.
And when the shared data is present, stories260K converted by `symtune convert` generates in
transformers the same greedy tokens that `symtune generate` prints.

Usage: check_export.py SYMTUNE_BINARY FIXTURES_DIR
"""
import os
import subprocess
import sys
import tempfile

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'transformers')

import torch
from transformers import AutoModelForCausalLM

from harness import check, finish, need, shared_data_dir  # noqa: E402
from make_hf_fixtures import CASES  # noqa: E402


def load(path, **kw):
    return AutoModelForCausalLM.from_pretrained(path, attn_implementation="eager", dtype=torch.float32, **kw).eval()


def run(*args):
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def main(binary, fixtures):
    gen = torch.Generator().manual_seed(3)
    found = sorted(os.listdir(fixtures)) if os.path.isdir(fixtures) else []
    check(found == sorted(CASES), f"fixtures for every case make_hf_fixtures.py knows ({len(CASES)})", f"{found}")
    with tempfile.TemporaryDirectory() as tmp:
        for case in found:
            src = os.path.join(fixtures, case)
            original = load(src)
            tokens = torch.randint(3, original.config.get_text_config().vocab_size, (2, 10), generator=gen)
            with torch.no_grad():
                want = original(tokens).logits

            fp32_dir = os.path.join(tmp, case + "-fp32")
            run(binary, "export", "--model", src, "--out", fp32_dir, "--dtype", "float32")
            with torch.no_grad():
                got = load(fp32_dir)(tokens).logits
            check(torch.equal(got, want), f"{case}: fp32 export gives identical logits in transformers "
                                          f"(max diff {(got - want).abs().max().item():.3g})")

            bf16_dir = os.path.join(tmp, case + "-bf16")
            run(binary, "export", "--model", src, "--out", bf16_dir, "--dtype", "bfloat16", "--max-shard-mb", "0.05")
            sharded = os.path.exists(os.path.join(bf16_dir, "model.safetensors.index.json"))
            with torch.no_grad():
                for p in original.parameters():
                    p.copy_(p.to(torch.bfloat16).float())
                want16 = original(tokens).logits
                got16 = load(bf16_dir)(tokens).logits
            check(sharded and torch.equal(got16, want16),
                  f"{case}: sharded bf16 export (index: {sharded}) gives the bf16-rounded model's logits "
                  f"(max diff {(got16 - want16).abs().max().item():.3g})")

        stories = os.path.join(shared_data_dir(), "models", "stories260K")
        if need(os.path.exists(os.path.join(stories, "stories260K.bin")), f"shared data ({stories})"):
            out = os.path.join(tmp, "stories260K")
            run(binary, "convert", "--from", "llama2c", os.path.join(stories, "stories260K.bin"), "--tokenizer",
                os.path.join(stories, "tok512.model"), "--out", out)
            printed = run(binary, "generate", "--model", out, "--prompt", "Once upon a time", "--max-new-tokens", "56",
                          "--ids")
            ours = [int(x) for x in printed.split("generated ids:")[1].split()]
            hf = load(out)
            prompt = torch.tensor([[1, 403, 407, 261, 378]])
            with torch.no_grad():
                theirs = hf.generate(prompt, max_new_tokens=56, do_sample=False, eos_token_id=None,
                                     pad_token_id=0)[0, 5:].tolist()
            check(ours == theirs and len(ours) == 56,
                  f"stories260K: transformers' greedy tokens equal symtune's ({len(ours)} tokens)")
    finish()


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
