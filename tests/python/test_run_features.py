"""Features of a training run that users rely on, each checked from outside on a tiny model:

  * evaluation during training (eval.every): metric rows at the right steps, with a held-out
    loss and ICL accuracies whose mean is the mean of the tasks;
  * pruning to train.keep_checkpoints: exactly the newest N complete checkpoints remain;
  * every resume error names its cause: an incomplete checkpoint, an unknown format version, a
    checkpoint of another model, an optimizer configured differently;
  * SIGTERM while a batch is built stops the run within seconds with a checkpoint; during an
    evaluation it ends the command with 128 + 15 and no report;
  * stale .partial checkpoint folders go at the next start, live ones stay;
  * bf16 training through the trainer on the CPU follows the fp32 run within a stated tolerance
    and writes bf16 weights;
  * `symtune ablate` on two ratios: a run per ratio, the table and the plot.

Usage: test_run_features.py SYMTUNE_BINARY
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules("torch", "safetensors")

from safetensors import safe_open  # noqa: E402

from harness import check, finish, tiny_llama_init_config  # noqa: E402

BIN = None


def tiny_config(out_dir, **train):
    return {
        "model": {"init_config": tiny_llama_init_config(), "dtype": "float32", "device": "cpu"},
        "data": {"classification_dir": "builtin:synthetic", "held_out_datasets": ["sign", "caps"],
                 "max_examples_per_dataset": 200, "exemplars_per_class": [2, 3], "symbols": {"word_list": ""},
                 "tokenizer": "bytes", "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 4},
        "optimizer": {"beta1": 0.9},
        "train": {"output_dir": out_dir, "max_steps": 6, "threads": 1, **train},
    }


def write_config(path, config):
    with open(path, "w") as f:
        json.dump(config, f)
    return path


def run(*args, timeout=300):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def checkpoints(run_dir):
    return sorted(os.listdir(os.path.join(run_dir, "checkpoints")))


def test_eval_during_training(tmp):
    run_dir = os.path.join(tmp, "eval")
    cfg = tiny_config(run_dir)
    cfg["eval"] = {"every": 2, "loss_batches": 1, "icl_examples": 3}
    r = run("train", "--config", write_config(os.path.join(tmp, "eval.json"), cfg))
    if not check(r.returncode == 0, "a run with eval.every = 2 trains", r.stderr[-400:]):
        return
    evals = [m for m in metrics(run_dir) if m.get("kind") == "eval"]
    check([e["step"] for e in evals] == [0, 2, 4, 6], "held-out evaluations at steps 0, 2, 4 and 6",
          f"{[e['step'] for e in evals]}")
    for e in evals:
        acc = e.get("icl_accuracy", {})
        ok = (isinstance(e.get("heldout_loss"), float) and e["heldout_loss"] > 0 and set(acc) == {"sign", "caps"}
              and all(0 <= a <= 1 and abs(a * 3 - round(a * 3)) < 1e-9 for a in acc.values())
              and abs(e["icl_accuracy_mean"] - sum(acc.values()) / 2) < 1e-12)
        check(ok, f"eval at step {e['step']}: a held-out loss, an accuracy in thirds per held-out task (3 prompts "
                  "each), and their mean", json.dumps(e))
    train_steps = [m["step"] for m in metrics(run_dir) if "loss" in m]
    check(train_steps == [1, 2, 3, 4, 5, 6], "the training rows are unchanged by the evaluations", f"{train_steps}")


def test_pruning(tmp):
    for keep in (1, 2):
        run_dir = os.path.join(tmp, f"keep{keep}")
        cfg = write_config(os.path.join(tmp, f"keep{keep}.json"),
                           tiny_config(run_dir, max_steps=8, checkpoint_every=2, keep_checkpoints=keep))
        r = run("train", "--config", cfg)
        want = ["step_00000008"] if keep == 1 else ["step_00000006", "step_00000008"]
        names = checkpoints(run_dir) if r.returncode == 0 else []
        complete = all(os.path.exists(os.path.join(run_dir, "checkpoints", n, "COMPLETE")) for n in names)
        check(names == want and complete, f"keep_checkpoints = {keep}: exactly {want} remain, complete",
              f"{names} {r.stderr[-300:]}")


def test_stale_partials(tmp):
    """Folders left by killed checkpoint writes are removed at the next start once their writer
    is gone; one that a live process is writing is left alone."""
    import socket
    run_dir = os.path.join(tmp, "stale")
    ckpts = os.path.join(run_dir, "checkpoints")
    finished = subprocess.Popen(["true"])
    finished.wait()
    host = socket.gethostname()
    names = {"dead": f"step_00000004.partial-{host}-{finished.pid}", "live": f"step_00000006.partial-{host}-{os.getpid()}",
             "other_host": f"step_00000008.partial-elsewhere-{finished.pid}", "old_format": f"step_00000002.partial-{finished.pid}"}
    for name in names.values():
        os.makedirs(os.path.join(ckpts, name))
        open(os.path.join(ckpts, name, "model.safetensors"), "w").write("half written")
    r = run("train", "--config", write_config(os.path.join(tmp, "stale.json"), tiny_config(run_dir, max_steps=2)))
    left = sorted(os.listdir(ckpts)) if r.returncode == 0 else []
    check(names["dead"] not in left and names["old_format"] not in left and f"removed {ckpts}/{names['dead']}" in r.stdout,
          "a .partial folder whose writer is gone is removed at the next start, and logged", f"{left} {r.stdout[-300:]}")
    check(names["live"] in left and names["other_host"] in left,
          "a .partial folder of a live writer, or of another host, is left alone", f"{left}")


def test_stops(tmp):
    """SIGTERM while a batch is being built: the run stops within seconds, checkpoints the last
    finished step (here none: step 0) with the stream before the dropped batch, and exits 0.
    SIGTERM during an evaluation: exit 128 + 15, and no report."""
    run_dir = os.path.join(tmp, "stop")
    cfg = tiny_config(run_dir, max_steps=5, data_workers=0, micro_batch_rows=4)
    cfg["data"]["rows_per_batch"] = 100000  # minutes to build
    proc = subprocess.Popen([BIN, "train", "--config", write_config(os.path.join(tmp, "stop.json"), cfg)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(4)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    state_path = os.path.join(run_dir, "checkpoints", "step_00000000", "trainer_state.json")
    state = json.load(open(state_path)) if os.path.exists(state_path) else {}
    check(proc.returncode == 0 and took < 10 and state.get("data_next_batch") == 0 and state.get("step") == 0,
          f"SIGTERM while a batch is built: stopped in {took:.1f} s, checkpoint of step 0, stream before the batch",
          f"rc {proc.returncode} {state} {err[-300:]}")

    model = os.path.join(tmp, "base", "checkpoints", "step_00000002", "model")
    if not os.path.isdir(model):
        return
    report = os.path.join(tmp, "stopped_report.json")
    proc = subprocess.Popen([BIN, "eval", "--model", model, "--suite", "icl", "--data", "builtin:synthetic", "--tasks",
                             "sign", "-n", "100000", "--out", report], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    time.sleep(3)
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    took = time.monotonic() - sent
    left = [f for f in os.listdir(tmp) if f.startswith("stopped_report")]
    check(proc.returncode == 128 + 15 and took < 10 and not left and "interrupted by SIGTERM" in err,
          f"SIGTERM during eval: exit 143 in {took:.1f} s, no report left", f"rc {proc.returncode} {left} {err[-300:]}")


def expect_error(what, result, needle):
    check(result.returncode == 1 and needle in result.stderr, what, f"rc {result.returncode}: {result.stderr[-400:]}")


def test_resume_errors(tmp):
    run_dir = os.path.join(tmp, "base")
    cfg_path = write_config(os.path.join(tmp, "base.json"), tiny_config(run_dir, max_steps=2))
    if not check(run("train", "--config", cfg_path).returncode == 0, "a run to resume from"):
        return
    good = os.path.join(run_dir, "checkpoints", "step_00000002")

    incomplete = os.path.join(tmp, "incomplete")
    shutil.copytree(good, incomplete)
    os.remove(os.path.join(incomplete, "COMPLETE"))
    expect_error("resume from a checkpoint without its COMPLETE marker", run("train", "--config", cfg_path,
                                                                            "--resume", incomplete),
                 "not a complete checkpoint (no COMPLETE marker)")

    future = os.path.join(tmp, "future")
    shutil.copytree(good, future)
    state_path = os.path.join(future, "trainer_state.json")
    state = json.load(open(state_path))
    state["format_version"] = 99
    json.dump(state, open(state_path, "w"))
    expect_error("resume from an unknown checkpoint format version",
                 run("train", "--config", cfg_path, "--resume", future), "format_version 99, this symtune reads 1")

    deeper = tiny_config(os.path.join(tmp, "deeper"), max_steps=4)
    deeper["model"]["init_config"]["num_hidden_layers"] = 3
    expect_error("resume into a model with another layer count",
                 run("train", "--config", write_config(os.path.join(tmp, "deeper.json"), deeper), "--resume", good),
                 "has no parameter 'model.layers.2.input_layernorm.weight', which the configured model has")
    wider = tiny_config(os.path.join(tmp, "wider"), max_steps=4)
    wider["model"]["init_config"]["intermediate_size"] = 48
    expect_error("resume into a model with another MLP width",
                 run("train", "--config", write_config(os.path.join(tmp, "wider.json"), wider), "--resume", good),
                 "parameter 'model.layers.0.mlp.gate_proj.weight' has shape [64, 32], the configured model's is "
                 "[48, 32]")
    expect_error("resume with the optimizer's first moment switched off",
                 run("train", "--config", cfg_path, "--set", "train.max_steps=4", "--set", "optimizer.beta1=null",
                     "--resume", good),
                 "optimizer.safetensors: adafactor state: entries do not match this optimizer's configuration")


def test_bf16_against_fp32(tmp):
    losses = {}
    for dtype in ("float32", "bfloat16"):
        run_dir = os.path.join(tmp, dtype)
        cfg = tiny_config(run_dir, max_steps=8)
        cfg["model"]["dtype"] = dtype
        r = run("train", "--config", write_config(os.path.join(tmp, dtype + ".json"), cfg))
        if not check(r.returncode == 0, f"{dtype} run trains on the CPU", r.stderr[-300:]):
            return
        losses[dtype] = [m["loss"] for m in metrics(run_dir) if "loss" in m]
    # bf16 keeps 8 bits of mantissa: one step's loss moves by well under 1% from rounding, and 8
    # steps of updates rounded to bf16 let the curves drift apart by a few percent at most.
    first = abs(losses["bfloat16"][0] - losses["float32"][0]) / losses["float32"][0]
    worst = max(abs(b - f) / f for b, f in zip(losses["bfloat16"], losses["float32"]))
    check(first < 0.01, f"bf16 and fp32 step-1 losses agree within 1% ({first:.2e})")
    check(worst < 0.05, f"bf16 follows fp32 within 5% over 8 steps (worst {worst:.2e})",
          f"{losses}")
    weights = {}
    for dtype in ("float32", "bfloat16"):
        path = os.path.join(tmp, dtype, "checkpoints", "step_00000008", "model", "model.safetensors")
        with safe_open(path, "pt") as f:
            weights[dtype] = {k: f.get_tensor(k) for k in f.keys()}
    dtypes = {str(t.dtype) for t in weights["bfloat16"].values()}
    check(dtypes == {"torch.bfloat16"}, "the bf16 run's checkpoint holds bf16 weights", f"{dtypes}")
    # Each weight within a few bf16 ulps (2^-8 relative) of the fp32 run's, measured against the
    # tensor's largest entry: the updates were applied, in fp32, and rounded once per step.
    drift = max((weights["bfloat16"][k].float() - w).abs().max().item() / w.abs().max().item()
                for k, w in weights["float32"].items())
    check(drift < 2 ** -5, f"bf16 weights after 8 steps within 2^-5 of the fp32 run's, relative (worst {drift:.2e})")


def test_ablate(tmp):
    cfg = tiny_config(os.path.join(tmp, "unused"), max_steps=2)
    cfg_path = write_config(os.path.join(tmp, "ablate.json"), cfg)
    out = os.path.join(tmp, "ablation")
    r = run("ablate", "--config", cfg_path, "--ratios", "0,1", "--out", out, "--suite", "icl", "--data",
            "builtin:synthetic", "--tasks", "sign", "-n", "3", "--max-input-tokens", "120")
    if not check(r.returncode == 0, "symtune ablate on two ratios runs", r.stderr[-500:]):
        return
    summary = json.load(open(os.path.join(out, "ablation.json")))
    ratios = [run_["symbol_fraction"] for run_ in summary["runs"]]
    check(ratios == [0.0, 1.0], "ablation.json holds one run per ratio", f"{ratios}")
    for run_ in summary["runs"]:
        name = os.path.basename(run_["run_dir"])
        trained = os.path.exists(os.path.join(run_["run_dir"], "checkpoints", "step_00000002", "COMPLETE"))
        settings = run_["report"]["suites"]["icl"]["settings"]
        check(trained and len(settings) == 4 and os.path.exists(os.path.join(run_["run_dir"], "report.json")),
              f"{name}: trained 2 steps, evaluated in the four ICL settings, report.json written")
    table = open(os.path.join(out, "ablation.md")).read().splitlines()
    rows = [line for line in table if line.startswith("| 0%") or line.startswith("| 100%")]
    means = [summary["runs"][i]["report"]["suites"]["icl"]["settings"]["symbols"]["mean"] for i in (0, 1)]
    cells = [row.split("|")[1:-1] for row in rows]
    header = table[0].split("|")[1:-1]
    col = [h.strip() for h in header].index("icl: symbols") if "icl: symbols" in table[0] else -1
    intervals = [summary["runs"][i]["report"]["suites"]["icl"]["settings"]["symbols"]["mean_interval"] for i in (0, 1)]
    want = [f"{m:.3f} [{lo:.2f}, {hi:.2f}]" for m, (lo, hi) in zip(means, intervals)]
    check(len(rows) == 2 and col > 0 and [c[col].strip() for c in cells] == want,
          "ablation.md: a row per ratio, its cells the reports' means with their intervals", "\n".join(table))
    png = os.path.join(out, "ablation.png")
    check(os.path.exists(png) and open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n", "ablation.png is drawn")


def main():
    global BIN
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BIN = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        test_eval_during_training(tmp)
        test_pruning(tmp)
        test_stale_partials(tmp)
        test_resume_errors(tmp)
        test_stops(tmp)
        test_bf16_against_fp32(tmp)
        test_ablate(tmp)
    finish()


if __name__ == "__main__":
    main()
