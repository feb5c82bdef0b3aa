"""The subcommands users run on a real model, end to end, with their outputs checked:

  * `symtune inspect` on stories260K converted by `symtune convert`: the summary it prints
    matches the model (parameters counted by safetensors, layers, vocabulary, tokenizer);
  * `symtune generate`: greedy is deterministic; sampling is reproducible by seed and differs
    across seeds;
  * `symtune eval` on two shared held-out tasks in the icl, flipped and turing_concepts suites:
    the report's shape, accuracy = correct / n for every task and setting, each mean the mean
    of its tasks, the markdown beside it; `symtune compare` of two reports, and its errors;
  * `symtune reproduce`: four arms (base, instruction only, mixed, symbol only) trained two
    steps each and evaluated on the same draws; the report's Table 1, flipped curves and
    paired differences against a difference computed here; a rerun reuses finished arms;
  * `symtune data stats` on a generated mixture: the rows, the shares of the two kinds of rows
    and the token count it prints agree with the config.

All but the last need ../shared/data (stories260K and the classification datasets).

Usage: test_cli_commands.py SYMTUNE_BINARY
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile

from harness import require_modules  # noqa: E402  (first: it checks the imports below)
require_modules("safetensors")

from safetensors import safe_open  # noqa: E402

from harness import check, finish, need, shared_data_dir  # noqa: E402

BIN = None


def run(*args, timeout=600):
    return subprocess.run([BIN, *args], capture_output=True, text=True, timeout=timeout)


def generated_ids(result):
    return [int(x) for x in result.stdout.split("generated ids:")[1].split()]


def test_inspect_and_generate(model):
    r = run("inspect", "--model", model)
    with safe_open(os.path.join(model, "model.safetensors"), "pt") as f:
        counted = sum(math.prod(f.get_slice(k).get_shape()) for k in f.keys())
    check(r.returncode == 0 and f"parameters: {counted}\n" in r.stdout and "layers: 5, hidden: 64" in r.stdout
          and "vocab: 512, tied head: yes" in r.stdout and "tokenizer: 512 pieces, bos 1, eos 2" in r.stdout,
          f"inspect: a valid model is summarised ({counted} parameters by safetensors' count)", r.stdout + r.stderr)

    def gen(*extra):
        return run("generate", "--model", model, "--prompt", "Once upon a time", "--max-new-tokens", "24", "--ids",
                   "--no-stop", *extra)
    greedy = [gen(), gen()]
    check(all(g.returncode == 0 for g in greedy) and generated_ids(greedy[0]) == generated_ids(greedy[1]),
          "generate: greedy output is deterministic")
    a, b, c = gen("--temperature", "1.0", "--seed", "1"), gen("--temperature", "1.0", "--seed", "1"), \
        gen("--temperature", "1.0", "--seed", "2")
    ok = all(x.returncode == 0 for x in (a, b, c))
    ids_a, ids_b, ids_c = (generated_ids(x) if ok else [] for x in (a, b, c))
    check(ok and len(ids_a) == 24 and ids_a == ids_b, "sampling with the same seed gives the same 24 tokens")
    check(ok and ids_a != ids_c, "sampling with another seed gives other tokens", f"{ids_a} {ids_c}")
    check(ok and ids_a != generated_ids(greedy[0]), "sampling at temperature 1 is not the greedy path")
    top1 = gen("--temperature", "1.0", "--top-k", "1", "--seed", "5")
    check(top1.returncode == 0 and generated_ids(top1) == generated_ids(greedy[0]),
          "sampling among the top 1 token is the greedy path")


def check_report(report, path_md, tasks):
    suites = report["suites"]
    check(sorted(suites) == ["flipped", "icl", "turing_concepts"], "eval: the report holds the three suites",
          f"{sorted(suites)}")
    check(sorted(suites["icl"]["settings"]) == ["natural_labels", "natural_labels+instruction", "symbols",
                                                 "symbols+instruction"],
          "eval: the icl suite has the paper's four settings")
    bad = []
    for suite, body in suites.items():
        for setting, s in body["settings"].items():
            accs = []
            for task, t in s["tasks"].items():
                outcomes = t.get("outcomes", "")
                if (t["n"] == 0 or abs(t["accuracy"] - t["correct"] / t["n"]) > 1e-12 or t["n"] > 4
                        or outcomes.count("1") != t["correct"] or len(outcomes) != t["n"] + t["skipped"]
                        or not t["interval"][0] <= t["accuracy"] <= t["interval"][1]):
                    bad.append(f"{suite}/{setting}/{task}: {t}")
                accs.append(t["accuracy"])
            if abs(s["mean"] - sum(accs) / len(accs)) > 1e-12:
                bad.append(f"{suite}/{setting}: mean {s['mean']} of {accs}")
            if suite != "turing_concepts" and sorted(s["tasks"]) != sorted(tasks):
                bad.append(f"{suite}/{setting}: tasks {sorted(s['tasks'])}")
    check(not bad, "eval: every accuracy is correct / n (1 <= n <= 4 queries) inside its interval, its outcomes "
          "consistent, and every mean the mean of its tasks",
          "; ".join(bad[:4]))
    md = open(path_md).read()
    cell = report["suites"]["icl"]["settings"]["symbols"]
    shown = f"| icl | symbols | **mean** | {cell['mean']:.3f} [{cell['mean_interval'][0]:.2f}, {cell['mean_interval'][1]:.2f}] |"
    check(shown in md, "eval: the markdown table beside the report shows the mean with its interval", md[:400])


def test_eval_and_compare(model, shared, tmp):
    tasks = ["subj", "sms_spam"]
    out = os.path.join(tmp, "before.json")
    r = run("eval", "--model", model, "--suite", "icl,flipped,turing_concepts", "--data",
            os.path.join(shared, "classification"), "--tasks", ",".join(tasks), "-n", "4", "-k", "1",
            "--max-input-tokens", "448", "--out", out)
    if not check(r.returncode == 0, "eval runs on stories260K", r.stderr[-400:]):
        return
    # Not a terminal: plain progress lines, the last of each suite with its totals (2 tasks x 4
    # prompts x 4 settings; x 3 flip shares; 16 concepts x 4 queries).
    done = [l for l in r.stderr.splitlines() if "(100%)" in l and "in all" in l]
    check(any(l.startswith("eval icl: 32/32 prompts") for l in done) and
          any(l.startswith("eval flipped: 24/24 prompts") for l in done) and
          any(l.startswith("eval turing_concepts: 64/64 queries") for l in done) and "\r" not in r.stderr,
          "eval: progress as plain lines when stderr is not a terminal, done / total per suite", "\n".join(done))
    report = json.load(open(out))
    check_report(report, os.path.join(tmp, "before.md"), tasks)
    again = os.path.join(tmp, "again.json")
    run("eval", "--model", model, "--suite", "icl,flipped,turing_concepts", "--data",
        os.path.join(shared, "classification"), "--tasks", ",".join(tasks), "-n", "4", "-k", "1",
        "--max-input-tokens", "448", "--out", again)
    check(json.load(open(again))["suites"] == report["suites"], "eval: the same model gives the same report")

    # A second model that answers every query of sms_spam (symbols) right: the paired difference
    # is the share of queries the first got wrong, and McNemar's p is that of those discordant pairs.
    altered = json.loads(json.dumps(report))
    base_task = report["suites"]["icl"]["settings"]["symbols"]["tasks"]["sms_spam"]
    task = altered["suites"]["icl"]["settings"]["symbols"]["tasks"]["sms_spam"]
    task["outcomes"] = "".join("1" if c != "-" else "-" for c in base_task["outcomes"])
    task["correct"], task["accuracy"] = task["n"], 1.0
    other = os.path.join(tmp, "other.json")
    json.dump(altered, open(other, "w"))
    table = os.path.join(tmp, "cmp.md")
    r = run("compare", out, other, "--names", "before,after", "--out", table)
    wrong = base_task["n"] - base_task["correct"]
    p = min(1.0, 2 * 0.5 ** wrong) if wrong else 1.0
    row = next((l for l in r.stdout.splitlines() if l.startswith("| icl | symbols | sms_spam |")), "")
    cells = [c.strip() for c in row.split("|")[1:-1]]
    pairs = base_task["n"]
    check(r.returncode == 0 and "| suite | setting | task | before | after | after - before [95% CI] | McNemar p | "
          "same outcome |" in r.stdout and len(cells) == 8 and cells[5].startswith(f"{wrong / base_task['n']:+.3f}")
          and abs(float(cells[6]) - p) < 1e-3 and cells[7].startswith(f"{pairs - wrong}/{pairs} ")
          and open(table).read() == r.stdout,
          f"compare: one column per report, the paired difference ({wrong} discordant pairs), McNemar's p and "
          "the draws with the same outcome",
          r.stdout[-800:] + r.stderr)
    r = run("compare", out, other, "--names", "only_one")
    check(r.returncode == 1 and "--names: 1 names for 2 reports" in r.stderr, "compare: a name per report is required",
          r.stderr)
    not_report = os.path.join(tmp, "not_report.json")
    json.dump({"hello": 1}, open(not_report, "w"))
    r = run("compare", out, not_report)
    check(r.returncode == 1 and "not_report.json: not a symtune eval report" in r.stderr,
          "compare: a JSON file that is not a report is named", r.stderr)


def paired_mean_difference(a_setting, b_setting):
    """b minus a: the mean over tasks of the accuracy difference on the draws both scored."""
    diffs = []
    for task, a in a_setting["tasks"].items():
        pairs = [(x, y) for x, y in zip(a["outcomes"], b_setting["tasks"][task]["outcomes"]) if "-" not in (x, y)]
        if pairs:
            diffs.append(sum((y == "1") - (x == "1") for x, y in pairs) / len(pairs))
    return sum(diffs) / len(diffs)


def test_reproduce(model, shared, tmp):
    data = os.path.join(shared, "classification")
    cfg = {"model": {"path": model, "dtype": "float32", "device": "cpu"},
           "data": {"classification_dir": data, "tuning_datasets": ["sst2", "cr", "cola"],
                    "held_out_datasets": ["subj", "sms_spam"], "symbol_fraction": 1.0,
                    "instruction_files": [os.path.join(shared, "instruction", "alpaca_5000.jsonl")],
                    "exemplars_per_class": [1, 2], "max_input_tokens": 256, "max_target_tokens": 16,
                    "rows_per_batch": 2, "seed": 0},
           "optimizer": {"relative_step": False, "scale_parameter": False},
           "schedule": {"kind": "constant", "peak_lr": 0.003},
           "train": {"output_dir": os.path.join(tmp, "unused"), "max_steps": 2, "log_every": 1}}
    path = os.path.join(tmp, "reproduce.json")
    json.dump(cfg, open(path, "w"))
    out = os.path.join(tmp, "repro")
    args = ("reproduce", "--config", path, "--out", out, "--data", data, "--tasks", "subj,sms_spam", "-n", "3",
            "-k", "1", "--max-input-tokens", "448", "--suite", "icl,flipped,turing_concepts",
            "--open-task-queries", "2", "--flip-percents", "0,100", "--mixed-fraction", "0.5", "--scale", "test")
    r = run(*args)
    if not check(r.returncode == 0, "reproduce runs four arms on stories260K", r.stderr[-600:]):
        return
    summary = json.load(open(os.path.join(out, "reproduction.json")))
    arms = summary["arms"]
    check([(a["key"], a["name"], a["symbol_fraction"]) for a in arms]
          == [("a", "base", None), ("b", "instruction", 0.0), ("c", "mixed", 0.5), ("d", "symbol", 1.0)],
          "reproduce: arms (a) base, (b) instruction only, (c) mixed at the given share, (d) symbol only",
          json.dumps([(a["key"], a["symbol_fraction"]) for a in arms]))
    trained = [json.load(open(os.path.join(out, f"{a['key']}_{a['name']}", "config.json")))["data"]["symbol_fraction"]
               for a in arms[1:]]
    check(trained == [0.0, 0.5, 1.0] and arms[0]["model"] == model,
          "reproduce: each arm trained with its symbol fraction from the same config; the base is the model itself",
          f"{trained}")
    lengths = {json.dumps({s: {t: len(v["outcomes"]) for t, v in body["tasks"].items()}
                           for s, body in a["report"]["suites"]["icl"]["settings"].items()}) for a in arms}
    check(len(lengths) == 1 and sorted(arms[0]["report"]["suites"]["flipped"]["settings"]) == ["flipped_0",
                                                                                               "flipped_100"],
          "reproduce: every arm scored the same draws; the flipped suite has one setting per share", str(lengths))
    md = open(os.path.join(out, "reproduction.md")).read()
    a, c = (arms[i]["report"]["suites"]["icl"]["settings"]["symbols"] for i in (0, 2))
    diff = paired_mean_difference(a, c)
    row = next((l for l in md.splitlines() if l.startswith("| icl | symbols |")), "")
    cells = [x.strip() for x in row.split("|")[1:-1]]
    check("the paper's Table 1 layout" in md and "| (a) base |" in md and "(c) - (b)" in md
          and "## Flipped labels" in md and "What the intervals allow" in md and summary["command"] in md
          and len(cells) == 6 and cells[3].startswith(f"{diff:+.3f}"),
          f"reproduce: the report has Table 1, flipped curves, the paired differences ((c) - (a) = {diff:+.3f} on "
          "icl / symbols, as computed here from the outcomes) and the command", row + "\n" + md[:600])
    stamp = os.path.getmtime(os.path.join(out, "c_mixed", "report.json"))
    r = run(*args)
    check(r.returncode == 0 and os.path.getmtime(os.path.join(out, "c_mixed", "report.json")) == stamp
          and json.load(open(os.path.join(out, "reproduction.json")))["arms"][2]["report"] == arms[2]["report"],
          "reproduce: a rerun keeps finished arms (their reports are reused, not recomputed)", r.stderr[-300:])
    r = run("reproduce", "--config", path, "--out", out, "--arms", "base,tuned")
    check(r.returncode == 1 and "unknown arm 'tuned'" in r.stderr, "reproduce: an unknown arm is named", r.stderr)


def test_data_stats(tmp):
    cfg = {"data": {"classification_dir": "builtin:synthetic", "symbol_fraction": 0.5, "tokenizer": "bytes",
                    "max_input_tokens": 120, "max_target_tokens": 16, "rows_per_batch": 4,
                    "symbols": {"word_list": ""}, "exemplars_per_class": [2, 3], "max_examples_per_dataset": 200}}
    path = os.path.join(tmp, "data.json")
    json.dump(cfg, open(path, "w"))
    r = run("data", "stats", "--config", path, "-n", "400")
    if not check(r.returncode == 0, "data stats runs", r.stderr[-300:]):
        return
    out = r.stdout
    rows = {m.group(1): int(m.group(2)) for m in re.finditer(r"^  (symbol|natural|flipped|instruction)\s+(\d+)", out,
                                                             re.M)}
    symbol = rows.get("symbol", 0)
    # 400 rows, each symbol tuning with probability 0.5: 200 +- 3 standard deviations (10 rows).
    check("symbol-tuning share: 50.0%" in out and "over 400 rows (packed, 136 tokens each)" in out
          and sum(rows.values()) == 400 and 170 <= symbol <= 230,
          f"data stats: 400 packed rows of 136 tokens, {symbol} of them symbol tuning (200 +- 30 expected)", out)
    m = re.search(r"tokens: (\d+) in rows", out)
    check(m is not None and int(m.group(1)) == 400 * 136, "data stats: the token count is rows x row length")


def main():
    global BIN
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    BIN = sys.argv[1]
    shared = shared_data_dir()
    stories = os.path.join(shared, "models", "stories260K")
    with tempfile.TemporaryDirectory() as tmp:
        test_data_stats(tmp)
        if need(os.path.exists(os.path.join(stories, "stories260K.bin")), f"shared data ({stories})"):
            model = os.path.join(tmp, "stories260K")
            r = run("convert", "--from", "llama2c", os.path.join(stories, "stories260K.bin"), "--tokenizer",
                    os.path.join(stories, "tok512.model"), "--out", model)
            if check(r.returncode == 0, "convert stories260K", r.stderr[-300:]):
                check(any(l.startswith("export stories260K: ") and "tensors (100%)" in l for l in r.stderr.splitlines()),
                      "convert: progress of the tensors written", r.stderr[-300:])
                test_inspect_and_generate(model)
                test_eval_and_compare(model, shared, tmp)
                test_reproduce(model, shared, tmp)
    finish()


if __name__ == "__main__":
    main()
