"""Sharded data parallelism (train.sharding) with real Gloo process groups, checked from outside.

For a tiny Llama (untied head) and a tiny Qwen3 (tied head, q/k norms):
  * 20 steps with `full` on 2, 3 (under activation checkpointing) and 4 ranks and `hybrid` on 4
    ranks as 2 groups of 2 (accumulating micro-batches of one row) give the losses of one
    unsharded process within 1e-5 relative, and its final weights within fp32 rounding (1e-5
    relative);
  * at 4 ranks, the bytes of weights + gradients + optimizer state each rank holds (as the trainer
    counts them from its tensors) are at most 1/4 of the unsharded run's plus the largest unit
    gathered whole.
stories260K (shared data, converted from llama2.c), read by ranges on 2 sharded ranks, trains as
one process does. For the Llama:
  * stopped at step 10 on 4 ranks, the run continues on 2 and on 3 ranks (and unsharded on 1):
    the same batches (target tokens and examples per step) and losses as the uninterrupted run,
    and its final weights within fp32 rounding;
  * `symtune export --checkpoint` of the sharded checkpoint loads in transformers with logits
    identical to those of the same checkpoint resumed unsharded and saved again;
  * a SIGKILL of rank 0 while it publishes a sharded checkpoint leaves the previous checkpoint
    complete: the other rank exits with an error, and a restart resumes from the previous one;
  * a rank that dies mid-step makes the two others exit non-zero within the collective timeout;
  * a SIGTERM to one rank alone makes both checkpoint together and exit 0;
  * a shard group size that does not divide the ranks, and a model too large for this machine,
    are refused before training, the latter with the sharding that would fit.

Usage: test_sharding.py SYMTUNE_BINARY
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules('torch', 'safetensors', 'transformers')

import torch
from safetensors.torch import load_file

from harness import check, finish, need, shared_data_dir, tiny_llama_init_config

BIN = None
STEPS = 20


def tiny_qwen3_init_config():
    return {"architectures": ["Qwen3ForCausalLM"], "vocab_size": 259, "hidden_size": 32, "intermediate_size": 48,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
            "tie_word_embeddings": True, "bos_token_id": 1, "eos_token_id": 2, "pad_token_id": 0}


def config(out_dir, init, **train):
    return {
        "model": {"init_config": init, "dtype": "float32", "device": "cpu"},
        "data": {"classification_dir": "builtin:synthetic", "max_examples_per_dataset": 200,
                 "exemplars_per_class": [2, 3], "symbols": {"word_list": ""}, "tokenizer": "bytes",
                 "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 12},
        "optimizer": {"beta1": 0.9, "weight_decay": 0.01},
        "train": {"output_dir": out_dir, "max_steps": STEPS, "threads": 1, "collective_timeout_s": 30, **train},
    }


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_ranks(cfg_path, world, *extra, env_extra=None):
    port = free_port()
    procs = []
    for rank in range(world):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank),
                   LOCAL_WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), **(env_extra or {}))
        procs.append(subprocess.Popen([BIN, "train", "--config", cfg_path, *extra], env=env,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def run(tmp, name, world, init, *extra, **train):
    out = os.path.join(tmp, name)
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(config(out, init, **train), f)
    procs = start_ranks(path, world, *extra)
    outs = [p.communicate(timeout=600) for p in procs]
    return out, [p.returncode for p in procs], outs


def steps(run_dir):
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        return {r["step"]: r for r in map(json.loads, f) if "loss" in r}


def last_checkpoint(run_dir):
    names = sorted(d for d in os.listdir(os.path.join(run_dir, "checkpoints")) if d.startswith("step_") and "." not in d)
    return os.path.join(run_dir, "checkpoints", names[-1])


def exported(run_dir, tmp, name):
    out = os.path.join(tmp, name)
    r = subprocess.run([BIN, "export", "--checkpoint", last_checkpoint(run_dir), "--out", out],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(r.stderr[-500:])
    return out


def max_rel_error(a, b):
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max()).item() for k in b)


def loss_error(ours, reference):
    return max(abs(ours[s]["loss"] - reference[s]["loss"]) / abs(reference[s]["loss"]) for s in reference)


def held_bytes(log_text):
    held = re.search(r"this rank holds (\d+) bytes", log_text)
    unit = re.search(r"largest unit gathered whole (\d+) bytes", log_text)
    return (int(held.group(1)), int(unit.group(1))) if held and unit else (None, None)


def unsharded_bytes(run_dir):
    """Weights + gradients (fp32, as many as the weights) + Adafactor state of an unsharded checkpoint."""
    ckpt = last_checkpoint(run_dir)
    weights = sum(t.numel() * 4 for t in load_file(os.path.join(ckpt, "model", "model.safetensors")).values())
    state = sum(t.numel() * 4 for t in load_file(os.path.join(ckpt, "optimizer.safetensors")).values())
    return 2 * weights + state


def check_family(tmp, family, init):
    ref_dir, codes, outs = run(tmp, family + "_none", 1, init)
    check(codes == [0], f"{family}: one unsharded process trains {STEPS} steps", outs[0][1][-300:])
    reference, ref_weights = steps(ref_dir), load_file(os.path.join(exported(ref_dir, tmp, family + "_none_hf"),
                                                                    "model.safetensors"))
    # 3 ranks recompute under activation checkpointing; hybrid accumulates micro-batches of 1 row.
    settings = {3: ("--set", "model.activation_checkpointing=true"), 4: ()}
    for world, mode, group in ((2, "full", 0), (3, "full", 0), (4, "full", 0), (4, "hybrid", 2)):
        name = f"{family}_{mode}{world}"
        extra = settings.get(world, ()) if mode == "full" else ("--set", "train.micro_batch_rows=1")
        run_dir, codes, outs = run(tmp, name, world, init, *extra, sharding=mode, shard_group_size=group,
                                   log_all_ranks=True)
        ok = codes == [0] * world
        lerr = loss_error(steps(run_dir), reference) if ok else float("inf")
        werr = max_rel_error(load_file(os.path.join(exported(run_dir, tmp, name + "_hf"), "model.safetensors")),
                             ref_weights) if ok else float("inf")
        check(ok and lerr <= 1e-5 and werr <= 1e-5,
              f"{family}: {mode} on {world} ranks{' (2 x 2, micro-batches of 1 row)' if mode == 'hybrid' else ''}"
              f"{' (activation checkpointing)' if world == 3 else ''}: losses within {lerr:.1e} "
              f"and final weights within {werr:.1e} of one unsharded process (bounds 1e-5)",
              f"{codes} {outs[0][1][-400:]}")
        if ok and world == 4 and mode == "full":
            total = unsharded_bytes(ref_dir)
            logs = ["train.log"] + [f"train.rank{r}.log" for r in range(1, world)]
            measured = [held_bytes(open(os.path.join(run_dir, name)).read()) for name in logs]
            fits = all(h is not None and h <= total / 4 + u for h, u in measured)
            check(fits, f"{family}: each of 4 ranks holds {[h for h, _ in measured]} bytes of weights, gradients "
                  f"and optimizer state, at most 1/4 of the unsharded {total} plus the largest gathered unit "
                  f"({measured[0][1]})", str(measured))


def check_pretrained(tmp):
    """A real pretrained model read by ranges: stories260K (converted from llama2.c) on 2 sharded ranks."""
    stories = os.path.join(shared_data_dir(), "models", "stories260K")
    if not need(os.path.exists(os.path.join(stories, "stories260K.bin")), f"shared data ({stories})"):
        return
    model = os.path.join(tmp, "stories_hf")
    r = subprocess.run([BIN, "convert", "--from", "llama2c", os.path.join(stories, "stories260K.bin"), "--tokenizer",
                        os.path.join(stories, "tok512.model"), "--out", model], capture_output=True, text=True)
    check(r.returncode == 0, "stories260K converts to an HF directory", r.stderr[-300:])
    runs = {}
    for name, world, mode in (("stories_none", 1, "none"), ("stories_full", 2, "full")):
        out = os.path.join(tmp, name)
        cfg = config(out, None, sharding=mode, max_steps=5)
        cfg["model"] = {"path": model, "dtype": "float32", "device": "cpu"}
        del cfg["data"]["tokenizer"]
        with open(os.path.join(tmp, name + ".json"), "w") as f:
            json.dump(cfg, f)
        procs = start_ranks(os.path.join(tmp, name + ".json"), world)
        outs = [p.communicate(timeout=600) for p in procs]
        runs[name] = steps(out) if all(p.returncode == 0 for p in procs) else None
        if runs[name] is None:
            check(False, f"stories260K trains ({mode}, {world} rank(s))", outs[0][1][-300:])
            return
    err = loss_error(runs["stories_full"], runs["stories_none"])
    check(err <= 1e-5, f"stories260K loaded by ranges on 2 sharded ranks trains as one process does (losses within "
          f"{err:.1e})")


def check_resume_and_export(tmp):
    init = tiny_llama_init_config(tied=False)
    whole_dir, codes, outs = run(tmp, "resume_whole", 4, init, sharding="full")
    check(codes == [0] * 4, "4 ranks train 20 steps sharded without stopping", outs[0][1][-300:])
    whole = steps(whole_dir)
    whole_weights = load_file(os.path.join(exported(whole_dir, tmp, "resume_whole_hf"), "model.safetensors"))
    stop_dir, codes, outs = run(tmp, "resume_stop", 4, init, "--set", "train.max_steps=10", sharding="full")
    check(codes == [0] * 4 and last_checkpoint(stop_dir).endswith("step_00000010"),
          "4 ranks stop at step 10 with a sharded checkpoint", outs[0][1][-300:])
    with open(os.path.join(last_checkpoint(stop_dir), "manifest.json")) as f:
        manifest = json.load(f)
    check(manifest["world_size"] == 4 and len(os.listdir(os.path.join(last_checkpoint(stop_dir), "shards"))) == 4,
          "the checkpoint holds a manifest of 4 ranks and one file per rank", json.dumps(manifest)[:200])
    for world, mode in ((2, "full"), (3, "full"), (1, "none")):
        name = f"resume_on_{world}"
        shutil.copytree(stop_dir, os.path.join(tmp, name))
        run_dir, codes, outs = run(tmp, name, world, init, "--resume", "auto", sharding=mode)
        ok = codes == [0] * world and "resumed from" in outs[0][0] and "at step 10" in outs[0][0]
        got = steps(run_dir) if ok else {}
        same_batches = ok and all(got[s]["target_tokens"] == whole[s]["target_tokens"] and
                                  got[s]["examples"] == whole[s]["examples"] for s in range(11, STEPS + 1))
        lerr = loss_error(got, whole) if ok else float("inf")
        werr = max_rel_error(load_file(os.path.join(exported(run_dir, tmp, name + "_hf"), "model.safetensors")),
                             whole_weights) if ok else float("inf")
        check(same_batches and lerr <= 1e-5 and werr <= 1e-5,
              f"the 4-rank checkpoint continues on {world} rank(s) ({mode}): the same batches at steps 11-20, losses "
              f"within {lerr:.1e}, final weights within {werr:.1e}", f"{codes} {outs[0][1][-400:]}")
    # The sharded checkpoint exported, against the same checkpoint resumed unsharded and saved again.
    again = os.path.join(tmp, "resaved")
    shutil.copytree(stop_dir, again)
    _, codes, outs = run(tmp, "resaved", 1, init, "--resume", "auto", "--set", "train.max_steps=10")
    check(codes == [0] and not os.path.exists(os.path.join(last_checkpoint(again), "manifest.json")),
          "the sharded checkpoint resumed by one unsharded process is saved unsharded", outs[0][1][-300:])
    check_logits_identical(exported(stop_dir, tmp, "stop_hf"), os.path.join(last_checkpoint(again), "model"))
    check_damaged_checkpoints(tmp, last_checkpoint(stop_dir))


def check_damaged_checkpoints(tmp, good):
    """Damaged sharded checkpoints are refused naming the file, whichever command reads them."""
    def damaged(name, damage):
        bad = os.path.join(tmp, "damaged_" + name)
        shutil.copytree(good, bad)
        damage(bad)
        return bad

    def edit_manifest(change):
        def damage(d):
            with open(os.path.join(d, "manifest.json")) as f:
                m = json.load(f)
            change(m)
            with open(os.path.join(d, "manifest.json"), "w") as f:
                json.dump(m, f)
        return damage

    first = "model.embed_tokens.weight"
    cases = [
        ("piece past the end", edit_manifest(lambda m: m["weights"][first]["pieces"][-1].__setitem__(2, 10 ** 9)),
         "manifest.json"),
        ("negative dimension", edit_manifest(lambda m: m["weights"][first].__setitem__("shape", [-1, 32])),
         "manifest.json"),
        ("pieces with a gap", edit_manifest(lambda m: m["weights"][first]["pieces"].pop(1)), "do not cover"),
        ("other format", edit_manifest(lambda m: m.__setitem__("format_version", 99)), "manifest.json"),
        ("a rank file missing", lambda d: os.remove(os.path.join(d, "shards", "rank_00002.safetensors")),
         "rank_00002.safetensors"),
    ]
    for what, damage, named in cases:
        bad = damaged(what.replace(" ", "_"), damage)
        r = subprocess.run([BIN, "export", "--checkpoint", bad, "--out", bad + "_hf"], capture_output=True, text=True)
        check(r.returncode == 1 and named in r.stderr and not os.path.exists(bad + "_hf"),
              f"a sharded checkpoint with {what} is refused by export, naming {named}", r.stderr[-300:])


def check_logits_identical(exported_dir, reference_dir):
    from transformers import AutoModelForCausalLM
    ids = torch.tensor([[1, 72, 101, 108, 108, 111, 32, 119, 111, 114, 108, 100]])
    with torch.no_grad():
        a = AutoModelForCausalLM.from_pretrained(exported_dir, dtype=torch.float32)(ids).logits
        b = AutoModelForCausalLM.from_pretrained(reference_dir, dtype=torch.float32)(ids).logits
    diff = (a - b).abs().max().item()
    check(diff == 0.0, f"transformers loads `symtune export --checkpoint` of the sharded checkpoint with logits "
          f"identical to the unsharded save (max difference {diff})")


def check_kill_during_write(tmp):
    init = tiny_llama_init_config(tied=False)
    run_dir = os.path.join(tmp, "killed")
    path = os.path.join(tmp, "killed.json")
    with open(path, "w") as f:
        json.dump(config(run_dir, init, sharding="full", checkpoint_every=2, max_steps=1000, collective_timeout_s=10), f)
    procs = start_ranks(path, 2, env_extra={"SYMTUNE_DEBUG_CHECKPOINT_PAUSE_MS": "4000"})
    ckpts = os.path.join(run_dir, "checkpoints")
    deadline, killed = time.monotonic() + 120, False
    while time.monotonic() < deadline and not killed:
        names = os.listdir(ckpts) if os.path.isdir(ckpts) else []
        if "step_00000002" in names and any(n.startswith("step_00000004.partial") for n in names):
            time.sleep(1.0)  # inside rank 0's pause: every rank file written, no marker yet
            procs[0].send_signal(signal.SIGKILL)
            killed = True
        time.sleep(0.1)
    t0 = time.monotonic()
    _, err = procs[1].communicate(timeout=120)
    elapsed = time.monotonic() - t0
    procs[0].communicate()
    check(killed and procs[1].returncode not in (0, None) and elapsed < 60,
          f"rank 0 killed while publishing the step-4 checkpoint: rank 1 exits {procs[1].returncode} after "
          f"{elapsed:.1f} s (timeout 10 s)", err[-300:])
    check(os.path.exists(os.path.join(ckpts, "step_00000002", "COMPLETE")) and
          not os.path.exists(os.path.join(ckpts, "step_00000004")),
          "the step-2 checkpoint stays complete and no step-4 checkpoint appears", str(os.listdir(ckpts)))
    with open(path, "w") as f:
        json.dump(config(run_dir, init, sharding="full", max_steps=4), f)
    procs = start_ranks(path, 2, "--resume", "auto")
    outs = [p.communicate(timeout=300) for p in procs]
    check([p.returncode for p in procs] == [0, 0] and "at step 2" in outs[0][0] and
          not any(".partial" in n for n in os.listdir(ckpts)),
          "a restart resumes from step 2 and removes the dead writer's folder", outs[0][1][-300:] + str(os.listdir(ckpts)))


def check_rank_death(tmp):
    init = tiny_llama_init_config(tied=False)
    path = os.path.join(tmp, "dead.json")
    with open(path, "w") as f:
        json.dump(config(os.path.join(tmp, "dead"), init, sharding="full", max_steps=100000, collective_timeout_s=8), f)
    procs = start_ranks(path, 3)
    time.sleep(6)
    procs[1].send_signal(signal.SIGKILL)
    t0 = time.monotonic()
    for rank in (0, 2):
        try:
            _, err = procs[rank].communicate(timeout=60)
            elapsed = time.monotonic() - t0
            check(procs[rank].returncode not in (0, None) and elapsed < 30 and f"rank {rank}" in err,
                  f"rank 1 of 3 dies mid-run: rank {rank} exits {procs[rank].returncode} after {elapsed:.1f} s "
                  "(timeout 8 s), naming its rank", err[-300:])
        except subprocess.TimeoutExpired:
            procs[rank].kill()
            check(False, f"rank 1 dies mid-run: rank {rank} exits within the timeout", "still running after 60 s")
    procs[1].wait()


def check_stop_on_one_rank(tmp):
    """SIGTERM to one rank only: the ranks agree between steps, checkpoint together and exit 0."""
    init = tiny_llama_init_config(tied=False)
    run_dir = os.path.join(tmp, "stopped")
    path = os.path.join(tmp, "stopped.json")
    with open(path, "w") as f:
        json.dump(config(run_dir, init, sharding="full", max_steps=100000, collective_timeout_s=20), f)
    procs = start_ranks(path, 2)
    time.sleep(6)
    procs[1].send_signal(signal.SIGTERM)
    try:
        outs = [p.communicate(timeout=60) for p in procs]
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        check(False, "SIGTERM to rank 1 alone: both ranks exit", "still running after 60 s")
        return
    ckpt = last_checkpoint(run_dir) if os.path.isdir(os.path.join(run_dir, "checkpoints")) else ""
    check([p.returncode for p in procs] == [0, 0] and "stop requested" in outs[0][0] and
          os.path.exists(os.path.join(ckpt, "COMPLETE")),
          f"SIGTERM to rank 1 alone: both ranks checkpoint together ({os.path.basename(ckpt)}) and exit 0",
          outs[0][1][-300:] + outs[1][1][-300:])


def check_refusals(tmp):
    init = tiny_llama_init_config(tied=False)
    _, codes, outs = run(tmp, "bad_group", 4, init, sharding="hybrid", shard_group_size=3)
    check(all(c == 1 for c in codes) and "does not divide the 4 ranks" in outs[0][1],
          "hybrid sharding with groups of 3 on 4 ranks is refused", outs[0][1][-300:])
    huge = dict(init, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                num_key_value_heads=8, vocab_size=128256)  # Llama-3-8B's shapes
    _, codes, outs = run(tmp, "huge", 1, huge, "--set", "model.activation_checkpointing=true", "--set",
                         "data.rows_per_batch=1", "--set", "model.dtype=bfloat16")
    check(codes == [1] and "needs about" in outs[0][1] and 'train.sharding "full" over' in outs[0][1],
          "an 8B-sized model on this machine is refused before allocating, naming the sharding that would fit",
          outs[0][1][-400:])


def main():
    global BIN
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BIN = sys.argv[1]
    with tempfile.TemporaryDirectory() as tmp:
        check_family(tmp, "llama", tiny_llama_init_config(tied=False))
        check_family(tmp, "qwen3", tiny_qwen3_init_config())
        check_pretrained(tmp)
        check_resume_and_export(tmp)
        check_kill_during_write(tmp)
        check_rank_death(tmp)
        check_stop_on_one_rank(tmp)
        check_refusals(tmp)
    finish()


if __name__ == "__main__":
    main()
