"""The trainer as users run it: `symtune train` processes, checked from outside.

  * exact resume: 20 steps straight == 10 steps, stop, resume, 10 more (bitwise weights and
    optimizer state, identical logged losses);
  * SIGKILL at random moments (also inside checkpoint writes), 10 trials: the run resumes
    from the last complete checkpoint and ends with the uninterrupted run's weights;
  * SIGTERM: the current step finishes, a checkpoint is written, exit 0;
  * non-finite losses: skipped and counted; too many in a row stop the run, checkpoints intact;
  * bad input: config typo, missing model directory, tokenizer/model vocab mismatch,
    unwritable output directory, disk full while checkpointing.

Usage: test_trainer.py SYMTUNE_BINARY [--quick]
"""
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'safetensors')

from safetensors.torch import load_file
import torch

from harness import check, finish, tiny_llama_init_config

BIN = None


def tiny_config(out_dir, **train):
    return {
        "model": {"init_config": tiny_llama_init_config(), "dtype": "float32", "device": "cpu"},
        "data": {"classification_dir": "builtin:synthetic", "held_out_datasets": ["sign"],
                 "max_examples_per_dataset": 200, "exemplars_per_class": [2, 3], "symbols": {"word_list": ""},
                 "tokenizer": "bytes", "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 4},
        "optimizer": {"beta1": 0.9},
        "train": {"output_dir": out_dir, "max_steps": 20, "threads": 1, **train},
    }


def write_config(path, config):
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def train(config_path, *extra, timeout=300):
    return subprocess.run([BIN, "train", "--config", config_path, *extra], capture_output=True, text=True,
                          timeout=timeout)


def final_weights(run_dir):
    ckpts = sorted(d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step_") and "." not in d)
    last = os.path.join(run_dir, "checkpoints", ckpts[-1])
    return ckpts[-1], load_file(os.path.join(last, "model", "model.safetensors")), load_file(
        os.path.join(last, "optimizer.safetensors"))


def losses(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return {r["step"]: r["loss"] for r in map(json.loads, f) if "loss" in r}


def same_tensors(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_exact_resume(tmp):
    straight = os.path.join(tmp, "straight")
    t0 = time.monotonic()
    r = train(write_config(os.path.join(tmp, "straight.json"), tiny_config(straight, checkpoint_every=2)))
    global RUN_SECONDS
    RUN_SECONDS = time.monotonic() - t0
    check(r.returncode == 0, "20 straight steps run", r.stderr[-500:])
    split = os.path.join(tmp, "split")
    cfg = write_config(os.path.join(tmp, "split.json"), tiny_config(split))
    r1 = train(cfg, "--set", "train.max_steps=10")
    r2 = train(cfg, "--resume", "auto")
    check(r1.returncode == 0 and r2.returncode == 0, "10 steps, then a resumed 10", r2.stderr[-500:])
    # A resume that silently started afresh would reach the same weights: it must say where it resumed.
    check("resumed from" in r2.stdout and "step_00000010 at step 10" in r2.stdout,
          "the second run says it resumed from step_00000010 at step 10", r2.stdout[-300:])
    steps = [r["step"] for r in map(json.loads, open(os.path.join(split, "metrics.jsonl"))) if "loss" in r]
    check(steps == list(range(1, 21)), "each step 1-20 is logged exactly once across the two runs", f"{steps}")
    s_name, s_w, s_opt = final_weights(straight)
    p_name, p_w, p_opt = final_weights(split)
    check(s_name == p_name == "step_00000020", "both end at step 20", f"{s_name} {p_name}")
    check(same_tensors(s_w, p_w), "resumed weights are bitwise identical to the straight run's")
    check(same_tensors(s_opt, p_opt), "resumed optimizer state is bitwise identical")
    ls, lp = losses(straight), losses(split)
    check(len(ls) == 20 and ls == lp, "logged losses identical at every step",
          f"{[(k, ls.get(k), lp.get(k)) for k in range(1, 21) if ls.get(k) != lp.get(k)][:3]}")
    return s_w


RUN_SECONDS = 2.0


def partial_checkpoints(run_dir):
    ckpt_dir = os.path.join(run_dir, "checkpoints")
    return [d for d in (os.listdir(ckpt_dir) if os.path.isdir(ckpt_dir) else []) if ".partial" in d]


def kill_run(cfg, run_dir, delay_s, targeted):
    """One attempt: starts the run and SIGKILLs it after delay_s, or (targeted) at the first
    checkpoint write under way after delay_s (a .partial folder exists; each write is stretched
    by 150 ms), so targeted kills hit writes at different steps.
    Returns whether the kill hit a running process, and inside a write when targeted."""
    if os.path.exists(run_dir):
        subprocess.run(["rm", "-rf", run_dir])
    env = dict(os.environ, SYMTUNE_DEBUG_CHECKPOINT_PAUSE_MS="150") if targeted else None
    proc = subprocess.Popen([BIN, "train", "--config", cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=env)
    if targeted:
        time.sleep(delay_s)
        deadline = time.monotonic() + RUN_SECONDS + 10
        while proc.poll() is None and not partial_checkpoints(run_dir) and time.monotonic() < deadline:
            time.sleep(0.005)
    else:
        time.sleep(delay_s)
    landed = proc.poll() is None and (not targeted or bool(partial_checkpoints(run_dir)))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    return landed


def test_sigkill(tmp, reference_weights, trials):
    """Even trials kill at a random moment of a run that checkpoints every 2 steps; odd trials
    kill inside a checkpoint write. A kill that finds the run already ended (or, for odd trials,
    not writing) does not count and is drawn again; a trial with no kill that counts fails."""
    rng = random.Random(1234)
    inside_writes = 0
    for trial in range(trials):
        run_dir = os.path.join(tmp, f"kill{trial}")
        cfg = write_config(os.path.join(tmp, f"kill{trial}.json"), tiny_config(run_dir, checkpoint_every=2,
                                                                              keep_checkpoints=2))
        targeted = trial % 2 == 1
        landed = any(kill_run(cfg, run_dir, rng.uniform(0.1, 0.95) * RUN_SECONDS, targeted) for _ in range(20))
        if not check(landed, f"SIGKILL trial {trial + 1}: the kill hit a running process"
                     + (" inside a checkpoint write" if targeted else "")):
            continue
        ckpt_dir = os.path.join(run_dir, "checkpoints")
        left = sorted(os.listdir(ckpt_dir)) if os.path.isdir(ckpt_dir) else []
        inside_writes += any(".partial" in d for d in left)
        complete = [d for d in left if "." not in d and os.path.exists(os.path.join(ckpt_dir, d, "COMPLETE"))]
        r = train(cfg, "--resume", "auto")
        ok = r.returncode == 0
        # Resumed from the newest complete checkpoint the kill left, or afresh when there was none.
        said = (f"{complete[-1]} at step {int(complete[-1][5:])}" in r.stdout) if complete else \
            "starting fresh" in r.stdout
        check(said, f"SIGKILL trial {trial + 1}: resumed from {complete[-1] if complete else 'nothing (fresh start)'}",
              r.stdout[-300:])
        name, weights, _ = final_weights(run_dir) if ok else ("", {}, {})
        check(ok and name == "step_00000020" and same_tensors(weights, reference_weights),
              f"SIGKILL trial {trial + 1} (killed with {left}): resumed to step 20 with the uninterrupted "
              "run's weights", r.stderr[-400:])
    check(inside_writes >= trials // 2,
          f"{inside_writes} of {trials} kills landed inside a checkpoint write (a .partial folder was left; "
          f"at least {trials // 2} required)")


def test_sigterm(tmp):
    run_dir = os.path.join(tmp, "term")
    cfg = write_config(os.path.join(tmp, "term.json"), tiny_config(run_dir, max_steps=100000))
    proc = subprocess.Popen([BIN, "train", "--config", cfg], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    ckpts = [d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step_") and "." not in d]
    last_logged = max(r["step"] for r in map(json.loads, open(os.path.join(run_dir, "metrics.jsonl"))) if "loss" in r)
    complete = len(ckpts) == 1 and os.path.exists(os.path.join(run_dir, "checkpoints", ckpts[0], "COMPLETE"))
    check(proc.returncode == 0 and complete and ckpts[0] == f"step_{last_logged:08d}" and "stop requested" in out,
          "SIGTERM: the step finishes, a complete checkpoint of the last logged step is written, exit 0",
          f"rc {proc.returncode} {ckpts} last logged {last_logged} {err[-300:]}")


def test_nonfinite(tmp):
    run_dir = os.path.join(tmp, "nan1")
    r = train(write_config(os.path.join(tmp, "nan1.json"), tiny_config(run_dir, debug_nonfinite_steps=[3, 7])))
    recs = [json.loads(l) for l in open(os.path.join(run_dir, "metrics.jsonl"))]
    skipped = [x["step"] for x in recs if x.get("skipped")]
    check(r.returncode == 0 and skipped == [3, 7] and recs[-1]["skipped_total"] == 2,
          "non-finite steps are skipped and counted", f"{skipped} {r.stderr[-300:]}")
    run_dir = os.path.join(tmp, "nan2")
    cfg = tiny_config(run_dir, debug_nonfinite_steps=[5, 6, 7], max_consecutive_nonfinite=3, checkpoint_every=2)
    r = train(write_config(os.path.join(tmp, "nan2.json"), cfg))
    intact = os.path.exists(os.path.join(run_dir, "checkpoints", "step_00000004", "COMPLETE"))
    check(r.returncode == 1 and "3 consecutive steps had a non-finite loss" in r.stderr and "step_00000004" in r.stderr
          and intact, "too many non-finite steps in a row stop the run; the last good checkpoint is intact",
          r.stderr[-300:])


def expect_error(what, result, needle):
    check(result.returncode == 1 and needle in result.stderr, what, f"rc {result.returncode}: {result.stderr[-300:]}")


def test_bad_input(tmp):
    out = os.path.join(tmp, "bad")
    cfg = tiny_config(out)
    cfg["train"]["max_step"] = 3
    expect_error("config typo names the key and the nearest valid one",
                 train(write_config(os.path.join(tmp, "typo.json"), cfg)), "unknown key 'max_step' (did you mean 'max_steps'?)")
    expect_error("unknown --set key", train(write_config(os.path.join(tmp, "ok.json"), tiny_config(out)), "--set",
                                            "train.max_stepz=3"), "did you mean 'max_steps'")
    ok_cfg = write_config(os.path.join(tmp, "ok.json"), tiny_config(out))
    expect_error("bad activation_checkpointing value", train(ok_cfg, "--set", "model.activation_checkpointing=sometimes"),
                 "model: 'activation_checkpointing' must be true, false or \"auto\", found \"sometimes\"")
    expect_error("unknown kernel choice", train(ok_cfg, "--set", "model.kernels.attention=flash"),
                 "model.kernels: 'attention' must be \"auto\", \"sdpa_mask\" or \"flash_varlen\", found \"flash\"")
    expect_error("unknown optimizer implementation", train(ok_cfg, "--set", "optimizer.implementation=triton"),
                 "'implementation' must be")
    cfg = tiny_config(out)
    del cfg["model"]["init_config"]
    cfg["model"]["path"] = os.path.join(tmp, "no_such_model")
    expect_error("missing model directory", train(write_config(os.path.join(tmp, "nomodel.json"), cfg)),
                 "no_such_model: model directory not found")
    cfg = tiny_config(out)
    cfg["model"]["init_config"]["vocab_size"] = 100
    expect_error("tokenizer/model vocab mismatch", train(write_config(os.path.join(tmp, "vocab.json"), cfg)),
                 "259 pieces but the model's vocab_size is 100")
    blocker = os.path.join(tmp, "a_file")
    open(blocker, "w").close()
    expect_error("unwritable output directory",
                 train(write_config(os.path.join(tmp, "unwritable.json"), tiny_config(os.path.join(blocker, "run")))),
                 "cannot create the output directory")
    # Disk full while checkpointing: a file-size limit makes writes fail past 64 KiB (the model
    # safetensors is ~100 KiB), as a full disk would; the run fails clearly, and the checkpoint
    # written before the limit stays complete.
    run_dir = os.path.join(tmp, "full")
    cfg_path = write_config(os.path.join(tmp, "full.json"), tiny_config(run_dir, max_steps=4))
    first = train(cfg_path, "--set", "train.max_steps=2")
    r = subprocess.run(["bash", "-c", f"trap '' XFSZ; ulimit -f 64; exec {BIN} train --config {cfg_path} --resume auto"],
                       capture_output=True, text=True, timeout=300)
    names = sorted(os.listdir(os.path.join(run_dir, "checkpoints")))
    check(first.returncode == 0 and r.returncode == 1 and "checkpoint not written" in r.stderr
          and names == ["step_00000002"] and os.path.exists(os.path.join(run_dir, "checkpoints", names[0], "COMPLETE")),
          "disk full while checkpointing: clear error, previous checkpoint intact, no partial left",
          f"rc {r.returncode} {names} {r.stderr[-300:]}")


def main():
    global BIN
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    BIN = sys.argv[1]
    quick = "--quick" in sys.argv
    with tempfile.TemporaryDirectory() as tmp:
        reference = test_exact_resume(tmp)
        test_nonfinite(tmp)
        test_bad_input(tmp)
        test_sigterm(tmp)
        test_sigkill(tmp, reference, 3 if quick else 10)
    finish()


if __name__ == "__main__":
    main()
