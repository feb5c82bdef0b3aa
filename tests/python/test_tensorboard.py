"""TensorBoard event files as TensorBoard itself reads them (the `tensorboard` package's
EventAccumulator, with its own CRC checks):

  * every scalar of metrics.jsonl (training loss, learning rate, gradient norm, tokens/s, skipped
    steps; held-out loss and ICL accuracy per task and mean) at its step with its value, and the
    resolved config as a text summary;
  * across a resume from an earlier checkpoint: a second event file, and one continuous curve
    whose steps after the checkpoint are the resumed run's, as metrics.jsonl has them;
  * a torn last record (a run killed mid-write) and a corrupted one are skipped without hiding
    the records before them;
  * train.tensorboard = false writes no event file.

Usage: test_tensorboard.py SYMTUNE_BINARY
"""
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules("tensorboard")

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402

from harness import check, finish, tiny_llama_init_config  # noqa: E402


def config(out_dir, max_steps, tensorboard=True):
    return {
        "model": {"init_config": tiny_llama_init_config(), "dtype": "float32", "device": "cpu"},
        "data": {"classification_dir": "builtin:synthetic", "held_out_datasets": ["sign", "caps"],
                 "max_examples_per_dataset": 200, "exemplars_per_class": [2, 3], "symbols": {"word_list": ""},
                 "tokenizer": "bytes", "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 4},
        "eval": {"every": 4, "loss_batches": 1, "icl_examples": 2},
        "train": {"output_dir": out_dir, "max_steps": max_steps, "threads": 1, "checkpoint_every": 4,
                  "keep_checkpoints": 5, "tensorboard": tensorboard},
    }


def train(binary, tmp, name, cfg, *extra):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(cfg, f)
    return subprocess.run([binary, "train", "--config", path, *extra], capture_output=True, text=True, timeout=300)


def scalars(tb_dir):
    acc = EventAccumulator(tb_dir, size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc, {tag: {e.step: e.value for e in acc.Scalars(tag)} for tag in acc.Tags()["scalars"]}


def expected(run_dir):
    """metrics.jsonl as TensorBoard tags: {tag: {step: value}}."""
    want = {}
    for line in open(os.path.join(run_dir, "metrics.jsonl")):
        m = json.loads(line)
        prefix = "eval/" if m.get("kind") == "eval" else "train/"

        def add(pre, obj):
            for k, v in obj.items():
                if k in ("step", "kind") or v is None:
                    continue
                if isinstance(v, dict):
                    add(pre + k + "/", v)
                elif isinstance(v, (bool, int, float)):
                    want.setdefault(pre + k, {})[m["step"]] = float(v)
        add(prefix, m)
    return want


def same(got, want):
    """Every tag and step of `want` in `got`, values equal in float32."""
    bad = []
    for tag, steps in want.items():
        for step, v in steps.items():
            g = got.get(tag, {}).get(step)
            if g is None or abs(g - v) > 1e-6 * max(1.0, abs(v)):
                bad.append(f"{tag}@{step}: {g} vs {v}")
    extra = [t for t in got if t not in want]
    return bad + [f"unexpected tag {t}" for t in extra]


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    binary = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = os.path.join(tmp, "run")
        r = train(binary, tmp, "first", config(run_dir, 8))
        if not check(r.returncode == 0, "a run of 8 steps with evaluations every 4", r.stderr[-400:]):
            finish()
        tb = os.path.join(run_dir, "tb")
        acc, got = scalars(tb)
        bad = same(got, expected(run_dir))
        for tag in ("train/loss", "train/lr", "train/grad_norm", "train/tokens_per_s", "train/skipped",
                    "eval/heldout_loss", "eval/icl_accuracy/sign", "eval/icl_accuracy/caps", "eval/icl_accuracy_mean"):
            if tag not in got:
                bad.append(f"no {tag}")
        check(not bad and sorted(got["train/loss"]) == list(range(1, 9)) and sorted(got["eval/heldout_loss"]) == [0, 4, 8],
              "every scalar of metrics.jsonl at its step with its value (loss at steps 1-8, evaluations at 0, 4, 8)",
              "; ".join(bad[:5]))
        texts = acc.Tags().get("tensors", [])
        config_text = acc.Tensors("config")[0].tensor_proto.string_val[0].decode() if "config" in texts else ""
        check('"max_steps": 8' in config_text, "the resolved config as a text summary", f"{texts}")

        # Resume from step 4 (the step-8 checkpoint gone, as if the run had died after step 6).
        # Resume is exact, so to tell the segments apart step 6 of the resumed one is made
        # non-finite (the trainer's test hook): skipped, with no loss.
        shutil.rmtree(os.path.join(run_dir, "checkpoints", "step_00000008"))
        first_loss = dict(got["train/loss"])
        time.sleep(1.1)  # event files are ordered by their creation second
        cfg = config(run_dir, 8)
        cfg["train"]["debug_nonfinite_steps"] = [6]
        r = train(binary, tmp, "resumed", cfg, "--resume", "auto")
        if not check(r.returncode == 0, "the run resumes from step 4", r.stderr[-400:]):
            finish()
        files = sorted(glob.glob(os.path.join(tb, "events.out.tfevents.*")))
        acc, got = scalars(tb)
        bad = same(got, expected(run_dir))
        loss, skipped = got.get("train/loss", {}), got.get("train/skipped", {})
        continuous = sorted(loss) == [1, 2, 3, 4, 5, 7, 8] and all(loss[s] == first_loss[s] for s in range(1, 6))
        check(len(files) == 2 and not bad and continuous and skipped.get(6) == 1.0,
              "after a resume: two event files, one curve whose steps after 4 are the resumed run's (step 6 "
              "skipped, no loss there), each value metrics.jsonl's", f"{len(files)} files; {bad[:3]}; steps {sorted(loss)}")

        # A torn last record, then a corrupted one: the reader skips it and keeps the rest.
        for damage in ("torn", "corrupted"):
            copy = os.path.join(tmp, damage)
            shutil.copytree(tb, copy)
            last = sorted(glob.glob(os.path.join(copy, "events.out.tfevents.*")))[-1]
            data = bytearray(open(last, "rb").read())
            if damage == "torn":
                data = data[:-7]
            else:
                data[-10] ^= 0xFF  # inside the last record's payload: its CRC no longer matches
            open(last, "wb").write(bytes(data))
            _, damaged = scalars(copy)
            kept, evals = damaged.get("train/loss", {}), sorted(damaged.get("eval/heldout_loss", {}))
            # The last record is the step-8 evaluation: gone; everything before it read.
            check(sorted(kept) == sorted(loss) and all(kept[s] == loss[s] for s in kept) and evals == [0, 4],
                  f"a {damage} last record is skipped and hides nothing before it",
                  f"loss steps {sorted(kept)}, evaluations {evals}")

        off_dir = os.path.join(tmp, "off")
        r = train(binary, tmp, "off", config(off_dir, 2, tensorboard=False))
        check(r.returncode == 0 and not os.path.exists(os.path.join(off_dir, "tb")),
              "train.tensorboard = false writes no event file", r.stderr[-300:])
    finish()


if __name__ == "__main__":
    main()
