"""symtune train against HF transformers: same initial weights, same batches, same optimizer.

One run does, on one device:
  1. writes the initial weights with transformers (the config's model.init_config, seeded);
  2. `symtune train` from them for --steps steps (data pipeline, model, loss, clipping,
     Adafactor: a real run, read back from its metrics.jsonl);
  3. `symtune data batches` writes the very batches those steps trained on;
  4. replays them in HF transformers (SDPA, packed rows through position_ids, loss on the
     targets) with HF's Adafactor and the same settings and clipping, timing each step;
  5. optionally runs shared/bench/anchor_hf.py (HF on random unpacked rows, eager and
     torch.compile), the issue's reference;
and prints a JSON summary (once more, completed, after the anchors when they run): tokens/s (rows x seq per second, padding included, as HF
counts), ratios, achieved TFLOP/s (PaLM accounting: 6 * matmul params + 12 * layers * seq *
hidden, for every implementation alike), the fraction of the GPU's bf16 peak, peak memory, and
the per-step losses. Exits 1 when a loss differs from HF's by more than --loss-tolerance.

  python3 bench/train_throughput.py --symtune build/symtune --config configs/bench_124m_gpu.json \
      --work /tmp/tt124 [--anchor ../shared/bench/anchor_hf.py --anchor-shape 124m] [--set k=v ...]
"""
import argparse
import gc
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

import torch

# Dense bf16 tensor-core peak (TFLOP/s) by device name, for the fraction of peak.
GPU_PEAK_BF16_TFLOPS = [("H200", 989.4), ("H100 PCIe", 756.0), ("H100", 989.4), ("A100", 312.0), ("L40S", 362.0)]


def gpu_peak_tflops(name):
    for key, peak in GPU_PEAK_BF16_TFLOPS:
        if key in name:
            return peak
    return None


def flops_per_token(cfg, seq):
    h, layers = cfg["hidden_size"], cfg["num_hidden_layers"]
    heads = cfg["num_attention_heads"]
    kv = cfg.get("num_key_value_heads", heads) * cfg.get("head_dim", h // heads)
    matmul = layers * (2 * h * h + 2 * h * kv + 3 * h * cfg["intermediate_size"]) + h * cfg["vocab_size"]
    return 6 * matmul + 12 * layers * seq * h


def run(cmd, **kw):
    print("+ " + " ".join(cmd), file=sys.stderr, flush=True)
    res = subprocess.run(cmd, **kw)
    if res.returncode != 0:
        sys.exit(f"train_throughput: command failed ({res.returncode}): {' '.join(cmd)}")
    return res


def hf_optimizer_and_clip(config, params):
    """HF Adafactor with the run's settings; refuses what this replay does not reproduce."""
    from transformers.optimization import Adafactor
    opt = dict(config.get("optimizer", {}))
    opt.pop("implementation", None)  # how symtune runs the update, not what it computes
    sched = config.get("schedule")
    if opt.pop("relative_step", True) or not sched:
        sys.exit("train_throughput: the replay needs relative_step false and a constant schedule")
    if sched.get("kind", "constant") != "constant" or sched.get("warmup_steps", 0):
        sys.exit("train_throughput: the replay supports a constant schedule without warmup only")
    kwargs = dict(lr=sched.get("peak_lr", 1e-3), relative_step=False, warmup_init=False,
                  scale_parameter=opt.pop("scale_parameter", True), clip_threshold=opt.pop("clip_threshold", 1.0),
                  decay_rate=opt.pop("decay_rate", -0.8), beta1=opt.pop("beta1", None),
                  weight_decay=opt.pop("weight_decay", 0.0),
                  eps=(opt.pop("eps1", 1e-30), opt.pop("eps2", 1e-3)))
    if opt:
        sys.exit(f"train_throughput: optimizer options the replay does not reproduce: {sorted(opt)}")
    clip = config.get("train", {}).get("clip_grad_norm", 1.0)
    return Adafactor(params, **kwargs), clip


def hf_replay(config, init_dir, batches_path, device, dtype, warmup):
    from transformers import AutoModelForCausalLM
    try:
        model = AutoModelForCausalLM.from_pretrained(init_dir, dtype=dtype, attn_implementation="sdpa").to(device)
    except ValueError:  # families without SDPA (Gemma 2's soft-capped scores) run eager
        model = AutoModelForCausalLM.from_pretrained(init_dir, dtype=dtype, attn_implementation="eager").to(device)
    model.train()
    params = [p for p in model.parameters()]
    opt, clip = hf_optimizer_and_clip(config, params)
    losses, times = [], []
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    for line in open(batches_path):
        b = json.loads(line)
        shape = (b["rows"], b["seq"])
        ids = torch.tensor(b["tokens"]).view(shape).to(device)
        pos = torch.tensor(b["position_ids"]).view(shape).to(device)
        ours = torch.tensor(b["labels"]).view(shape)
        # symtune's labels[t] is the token predicted at t; HF shifts inside: labels[t + 1] is
        # predicted at t. Positions restarting at 0 make HF mask across packed examples.
        labels = torch.full_like(ours, -100)
        labels[:, 1:] = ours[:, :-1]
        labels = labels.to(device)
        sync()
        t0 = time.perf_counter()
        loss = model(input_ids=ids, position_ids=pos, labels=labels, use_cache=False).loss
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        losses.append(loss.item())
        sync()
        times.append(time.perf_counter() - t0)
    rows_seq = shape[0] * shape[1]
    peak = torch.cuda.max_memory_allocated() / 2**30 if device.type == "cuda" else 0.0
    # Hand the memory back: the anchors run next, in other processes, on the same GPU.
    del model, opt, params
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()
    return losses, rows_seq / statistics.median(times[warmup:]), peak


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--symtune", required=True)
    ap.add_argument("--config", required=True, help="a symtune run config with model.init_config")
    ap.add_argument("--set", action="append", default=[], help="extra symtune --set overrides")
    ap.add_argument("--work", required=True, help="scratch folder")
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=4, help="steps left out of the timing")
    ap.add_argument("--loss-tolerance", type=float, default=0.01, help="max relative loss difference per step")
    ap.add_argument("--skip-hf-replay", action="store_true", help="time symtune only")
    ap.add_argument("--anchor", help="shared/bench/anchor_hf.py")
    ap.add_argument("--anchor-shape", help="anchor_hf.py --shape (124m or 1.1b)")
    ap.add_argument("--label", default="", help="name of this configuration in the summary")
    ap.add_argument("--init", default="{}", help="JSON merged into model.init_config (e.g. another architecture)")
    args = ap.parse_args()

    config = json.load(open(args.config))
    if "extends" in config:
        sys.exit("train_throughput: give a config without 'extends'")
    init = {**config["model"]["init_config"], **json.loads(args.init)}
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    init_dir, run_dir, batches = f"{work}/init", f"{work}/symtune", f"{work}/batches.jsonl"

    from transformers import AutoConfig, AutoModelForCausalLM
    hf_cfg = AutoConfig.for_model(**{k: v for k, v in init.items() if k != "architectures"})
    hf_cfg.architectures = init.get("architectures")
    torch.manual_seed(config["model"].get("init_seed", 0))
    # Initialised on the GPU when there is one (a 1.1B model takes seconds there, a minute on CPUs).
    with torch.device("cuda" if torch.cuda.is_available() else "cpu"):
        model = AutoModelForCausalLM.from_config(hf_cfg)
    if config["model"].get("dtype") == "bfloat16":
        model = model.to(torch.bfloat16)  # both trainers then start from the same bf16 values
    model.save_pretrained(init_dir)
    del model
    if torch.cuda.is_available():
        torch.cuda.empty_cache()

    sets = [f"model.path={init_dir}", "model.init_config=null", f"train.output_dir={run_dir}",
            f"train.max_steps={args.steps}", "train.log_every=1", "train.checkpoint_every=0", "eval.every=0"]
    cmd = [args.symtune, "train", "--config", os.path.abspath(args.config)]
    for s in sets + args.set:
        cmd += ["--set", s]
    shutil.rmtree(run_dir, ignore_errors=True)
    run(cmd, stdout=subprocess.DEVNULL)
    rows = [json.loads(l) for l in open(f"{run_dir}/metrics.jsonl") if '"loss"' in l and '"kind"' not in l]
    resolved = json.load(open(f"{run_dir}/config.json"))
    ours_losses = [r.get("loss") for r in rows]
    ours_tps = statistics.median(r["row_tokens"] / (r["step_ms"] / 1e3) for r in rows[args.warmup:])
    ours_peak = max((r.get("peak_memory_gib", 0.0) for r in rows), default=0.0)

    model_dtype = resolved["model"].get("dtype", "auto")
    device = torch.device("cuda" if torch.cuda.is_available() and resolved["model"].get("device", "auto") != "cpu"
                          else "cpu")
    dtype = torch.float32 if model_dtype == "float32" or (model_dtype == "auto" and device.type == "cpu") \
        else torch.bfloat16
    gpu = torch.cuda.get_device_name() if device.type == "cuda" else "cpu"
    seq = rows[0]["row_tokens"] // resolved["data"].get("rows_per_batch", 1) if rows else 0
    fpt = flops_per_token(init, seq)
    peak_tflops = gpu_peak_tflops(gpu) if device.type == "cuda" else None

    def describe(tps, peak_gib):
        d = dict(tokens_per_s=round(tps), tflops=round(tps * fpt / 1e12, 2), peak_gib=round(peak_gib, 1))
        if peak_tflops:
            d["fraction_of_peak"] = round(tps * fpt / 1e12 / peak_tflops, 3)
        return d

    summary = dict(bench="train_throughput", label=args.label, gpu=gpu, torch=torch.__version__,
                   config=args.config, steps=args.steps, rows=resolved["data"].get("rows_per_batch"), seq=seq,
                   symtune=describe(ours_tps, ours_peak))
    ok = True
    if not args.skip_hf_replay:
        run([args.symtune, "data", "batches", "--config", f"{run_dir}/config.json", "-n", str(args.steps),
             "--out", batches], stdout=subprocess.DEVNULL)
        hf_losses, hf_tps, hf_peak = hf_replay(resolved, init_dir, batches, device, dtype, args.warmup)
        # A step symtune skipped (non-finite) has no loss: that is a failed comparison, not a crash.
        rel = [abs(a - b) / abs(b) if a is not None else float("inf") for a, b in zip(ours_losses, hf_losses)]
        ok = len(rel) == args.steps and max(rel) <= args.loss_tolerance
        summary["hf_same_batches"] = describe(hf_tps, hf_peak)
        summary["ratio_vs_hf_same_batches"] = round(ours_tps / hf_tps, 3)
        summary["losses"] = dict(symtune=[None if x is None else round(x, 5) for x in ours_losses],
                                 hf=[round(x, 5) for x in hf_losses], max_relative_difference=max(rel, default=None),
                                 tolerance=args.loss_tolerance, ok=ok)
    print(json.dumps(summary), flush=True)  # before the anchors: a failing anchor must not lose these numbers
    if args.anchor and device.type == "cuda":
        for compiled in (False, True):
            key = "hf_anchor_compile" if compiled else "hf_anchor_eager"
            cmd = [sys.executable, args.anchor, "--shape", args.anchor_shape, "--batch", str(summary["rows"])]
            res = subprocess.run(cmd + (["--compile"] if compiled else []), capture_output=True, text=True)
            lines = [l for l in res.stdout.splitlines() if l.startswith("{")]
            if res.returncode != 0 or not lines:
                summary[key] = dict(error=f"exit {res.returncode}: {res.stderr[-400:]}")
                continue
            line = json.loads(lines[-1])
            summary[key] = dict(tokens_per_s=line["tokens_per_s"], tflops=line["tflops"], peak_gib=line["peak_gib"])
            summary["ratio_vs_" + key] = round(ours_tps / line["tokens_per_s"], 3)
        print(json.dumps(summary), flush=True)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
