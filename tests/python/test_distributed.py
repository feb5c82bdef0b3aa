"""Data-parallel training with real Gloo process groups, checked from outside.

  * 1 (a process group of one: the same code path), 2 and 3 ranks (spawned with torchrun's
    environment variables) and torchrun --no-python
    itself give the parameters of one process on the same global batch (relative error <= 1e-6);
  * a checkpoint written by 2 ranks resumes on 1 and on 3 ranks and continues the loss curve
    and the parameters of the uninterrupted run;
  * a rank killed mid-run makes the others exit non-zero within the collective timeout, with
    an error naming their rank;
  * a global batch that does not split evenly over the ranks is refused.

Usage: test_distributed.py SYMTUNE_BINARY
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'safetensors')

import torch
from safetensors.torch import load_file

from harness import check, finish, need, tiny_llama_init_config

BIN = None
STEPS = 4


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def config(out_dir, **train):
    return {
        "model": {"init_config": tiny_llama_init_config(tied=False), "dtype": "float32", "device": "cpu"},
        "data": {"classification_dir": "builtin:synthetic", "max_examples_per_dataset": 200,
                 "exemplars_per_class": [2, 3], "symbols": {"word_list": ""}, "tokenizer": "bytes",
                 "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 6},
        "optimizer": {"beta1": 0.9},
        "train": {"output_dir": out_dir, "max_steps": STEPS, "threads": 1, "collective_timeout_s": 15,
                  "bucket_mib": 0.05, **train},
    }


def write(path, cfg):
    with open(path, "w") as f:
        json.dump(cfg, f)
    return path


def run_ranks(cfg_path, world, *extra, timeout=240):
    port = free_port()
    procs = []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                   LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
        procs.append(subprocess.Popen([BIN, "train", "--config", cfg_path, *extra], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outs = [p.communicate(timeout=timeout) for p in procs]
    return [p.returncode for p in procs], outs


def last_checkpoint(run_dir):
    names = sorted(d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step_") and "." not in d)
    return os.path.join(run_dir, "checkpoints", names[-1])


def weights(run_dir):
    return load_file(os.path.join(last_checkpoint(run_dir), "model", "model.safetensors"))


def max_rel_error(a, b):
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max()).item() for k in b)


def losses(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return {r["step"]: r["loss"] for r in map(json.loads, f) if "loss" in r}


def main():
    global BIN
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BIN = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        single = os.path.join(tmp, "single")
        r = subprocess.run([BIN, "train", "--config", write(os.path.join(tmp, "single.json"), config(single))],
                           capture_output=True, text=True)
        check(r.returncode == 0, "one process, global batch of 6 rows", r.stderr[-300:])
        reference, ref_losses = weights(single), losses(single)
        check(sorted(ref_losses) == list(range(1, STEPS + 1)), f"the reference run logs a loss at each of {STEPS} steps",
              f"{sorted(ref_losses)}")

        for world in (1, 2, 3):
            out = os.path.join(tmp, f"w{world}")
            codes, outs = run_ranks(write(os.path.join(tmp, f"w{world}.json"), config(out)), world)
            ok = codes == [0] * world
            err = max_rel_error(weights(out), reference) if ok else float("inf")
            # One rank runs the very ops of one process (no collective changes a sum of one term).
            bound = 0.0 if world == 1 else 1e-6
            check(ok and err <= bound, f"{world} Gloo rank(s) give one process's parameters (max relative error {err:.2e}, "
                  f"bound {bound:g})", f"{codes} {outs[0][1][-300:]}")
            if ok:
                l = losses(out)
                check(all(abs(l[s] - ref_losses[s]) <= 1e-6 * abs(ref_losses[s]) for s in ref_losses),
                      f"{world} ranks log the same losses", f"{l} vs {ref_losses}")

        torchrun = shutil.which("torchrun") or os.path.join(os.path.dirname(sys.executable), "torchrun")
        if need(os.path.exists(torchrun), "torchrun (comes with torch from pip)"):
            out = os.path.join(tmp, "torchrun")
            r = subprocess.run([torchrun, "--no-python", "--nproc-per-node", "2", "--master-port", str(free_port()), BIN,
                                "train", "--config", write(os.path.join(tmp, "tr.json"), config(out))],
                               capture_output=True, text=True, timeout=240)
            err = max_rel_error(weights(out), reference) if r.returncode == 0 else float("inf")
            check(r.returncode == 0 and err <= 1e-6,
                  f"torchrun --no-python --nproc-per-node 2 gives one process's parameters (max relative error {err:.2e})",
                  r.stderr[-300:])

        # Two ranks write the checkpoint at step 2; 1 and 3 ranks continue it.
        two = os.path.join(tmp, "two")
        cfg2 = write(os.path.join(tmp, "two.json"), config(two))
        codes, outs = run_ranks(cfg2, 2, "--set", "train.max_steps=2")
        check(codes == [0, 0] and os.path.basename(last_checkpoint(two)) == "step_00000002",
              "2 ranks write one checkpoint at step 2", outs[0][1][-300:])
        for world in (1, 3):
            cont = os.path.join(tmp, f"cont{world}")
            shutil.copytree(two, cont)
            cfg = write(os.path.join(tmp, f"cont{world}.json"), config(cont))
            if world == 1:
                r = subprocess.run([BIN, "train", "--config", cfg, "--resume", "auto"], capture_output=True, text=True)
                codes, err_text, log = [r.returncode], r.stderr, r.stdout
            else:
                codes, outs = run_ranks(cfg, world, "--resume", "auto")
                err_text, log = outs[0][1], outs[0][0]
            # A resume that silently started afresh would reach the same weights: the log must say it resumed.
            check("resumed from" in log and "at step 2" in log, f"{world} rank(s) say they resumed at step 2",
                  log[-300:])
            ok = codes == [0] * world
            l = losses(cont) if ok else {}
            same_curve = ok and all(abs(l[s] - ref_losses[s]) <= 1e-5 * abs(ref_losses[s]) for s in ref_losses)
            err = max_rel_error(weights(cont), reference) if ok else float("inf")
            check(same_curve and err <= 1e-6,
                  f"the 2-rank checkpoint resumes on {world} rank(s): same losses at steps 1-{STEPS}, parameters within "
                  f"{err:.2e}", f"{codes} {l} {ref_losses} {err_text[-300:]}")

        # A rank that dies (SIGKILL) or hangs (SIGSTOP): the other fails within the collective
        # timeout, naming its rank.
        for how, sig in (("dies", signal.SIGKILL), ("hangs", signal.SIGSTOP)):
            run_dir = os.path.join(tmp, "dead_" + how)
            cfg = write(os.path.join(tmp, f"dead_{how}.json"), config(run_dir, max_steps=100000, collective_timeout_s=8))
            port = free_port()
            procs = []
            for rank in range(2):
                env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
                procs.append(subprocess.Popen([BIN, "train", "--config", cfg], env=env, stdout=subprocess.DEVNULL,
                                              stderr=subprocess.PIPE, text=True))
            time.sleep(4)
            procs[1].send_signal(sig)
            t0 = time.monotonic()
            try:
                _, err = procs[0].communicate(timeout=60)
                elapsed = time.monotonic() - t0
                check(procs[0].returncode not in (0, None) and elapsed < 30 and "rank 0" in err,
                      f"rank 1 {how}: rank 0 exits {procs[0].returncode} after {elapsed:.1f} s (timeout 8 s) with an "
                      "error naming its rank", err[-300:])
            except subprocess.TimeoutExpired:
                procs[0].kill()
                check(False, f"rank 1 {how}: rank 0 exits within the timeout", "rank 0 still running after 60 s")
            procs[1].kill()
            procs[1].wait()

        codes, outs = run_ranks(write(os.path.join(tmp, "four.json"), config(os.path.join(tmp, "four"))), 4, timeout=120)
        check(all(c == 1 for c in codes) and "not divisible by the 4 ranks" in outs[0][1],
              "a global batch of 6 rows on 4 ranks is refused", f"{codes} {outs[0][1][-300:]}")
    finish()


if __name__ == "__main__":
    main()
