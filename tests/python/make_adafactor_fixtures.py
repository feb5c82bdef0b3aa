"""Reference trajectories of HF transformers' Adafactor for the optimizer parity test.

Every case runs 100 steps of HF's `Adafactor` on the same starting tensors (shapes: 1D, 2D
below T5X's factoring threshold, large 2D, 3D, 4D) minimising a quadratic: the gradient at step
t is (p - target) * s_t, which symtune reproduces exactly in fp32. Writes:
  init.safetensors          p0.<shape>, target.<shape>
  cases.json                {case: {"options": symtune option JSON, "scales": [s_1..s_100]}}
  <case>.safetensors        step1.<shape> and final.<shape> (after 100 steps)

Usage: make_adafactor_fixtures.py OUT_DIR
"""
import json
import os
import sys

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'safetensors', 'transformers')

import torch
from safetensors.torch import save_file
from transformers.optimization import Adafactor

# Two tensors of some shapes, so that implementations batching same-shape tensors are exercised.
SHAPES = {"vector": (300,), "vector_b": (300,), "small_2d": (10, 12), "large_2d": (256, 200), "large_2d_b": (256, 200),
          "tensor_3d": (4, 130, 150), "tensor_4d": (2, 3, 64, 70)}
STEPS = 100

MODES = {
    # name: (HF kwargs, symtune options)
    "relative_step": (dict(lr=None, relative_step=True, scale_parameter=True, warmup_init=False),
                      dict(relative_step=True, scale_parameter=True)),
    "relative_step_warmup_init": (dict(lr=None, relative_step=True, scale_parameter=True, warmup_init=True),
                                  dict(relative_step=True, scale_parameter=True, warmup_init=True)),
    "external_lr": (dict(lr=3e-3, relative_step=False, scale_parameter=False, warmup_init=False),
                    dict(lr=3e-3, relative_step=False, scale_parameter=False)),
    "external_lr_param_scale": (dict(lr=3e-2, relative_step=False, scale_parameter=True, warmup_init=False),
                                dict(lr=3e-2, relative_step=False, scale_parameter=True)),
}


def main(out):
    os.makedirs(out, exist_ok=True)
    gen = torch.Generator().manual_seed(0)
    init = {}
    for name, shape in SHAPES.items():
        init[f"p0.{name}"] = torch.randn(shape, generator=gen)
        init[f"target.{name}"] = torch.randn(shape, generator=gen) * 0.5
    save_file(init, os.path.join(out, "init.safetensors"))
    scales = (1.0 + 0.5 * torch.sin(torch.arange(1, STEPS + 1, dtype=torch.float64))).float()
    cases = {}
    for mode, (hf_kwargs, ours) in MODES.items():
        for beta1 in (None, 0.9):
            for wd in (0.0, 0.01):
                case = f"{mode}-beta1_{beta1}-wd_{wd}"
                params = {n: init[f"p0.{n}"].clone().requires_grad_(True) for n in SHAPES}
                opt = Adafactor(list(params.values()), beta1=beta1, weight_decay=wd, **hf_kwargs)
                result = {}
                for t in range(STEPS):
                    for n, p in params.items():
                        p.grad = (p.detach() - init[f"target.{n}"]) * scales[t].item()
                    opt.step()
                    if t == 0:
                        result.update({f"step1.{n}": p.detach().clone() for n, p in params.items()})
                result.update({f"final.{n}": p.detach().clone() for n, p in params.items()})
                save_file(result, os.path.join(out, case + ".safetensors"))
                cases[case] = {"options": {**ours, "beta1": beta1, "weight_decay": wd},
                               "scales": [float(s) for s in scales.tolist()]}
                print(case)
    with open(os.path.join(out, "cases.json"), "w") as f:
        json.dump(cases, f, indent=1)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])
