"""Converts a labelled classification dataset into symtune's layout:
    OUT/dataset.json   {name, task, labels, fields, field_names, splits}
    OUT/train.jsonl    {"text", ["text2",] "label"} per line, label = a label name
    OUT/test.jsonl

Inputs, one file per split:
  * CSV or TSV with a header row (--format csv|tsv, or by extension);
  * JSON Lines or a JSON array of objects, as HF `datasets` writes with `Dataset.to_json()`
    (--format jsonl|json).
Choose the columns with --text, optionally --text2 (sentence pairs), and --label. Integer labels
are mapped through --labels (names in id order, as HF's ClassLabel `names`); string labels are
kept, and --labels then fixes their order (default: sorted). Rows with an empty text or a label
outside --labels are errors naming the file and row unless --skip-bad, which skips them and
prints how many.

Example:
  convert_dataset.py --name rt --task sentiment --train train.csv --test test.csv \\
      --text review --label sentiment --labels negative,positive --out data/rt
"""
import argparse
import csv
import json
import os
import sys


def read_rows(path, fmt):
    fmt = fmt or {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".json": "json"}.get(os.path.splitext(path)[1])
    if fmt in ("csv", "tsv"):
        with open(path, newline="", encoding="utf-8") as f:
            return list(csv.DictReader(f, delimiter="," if fmt == "csv" else "\t"))
    if fmt == "jsonl":
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError as e:
                        sys.exit(f"{path}:{n}: not valid JSON: {e}")
        return rows
    if fmt == "json":
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        if not isinstance(data, list):
            sys.exit(f"{path}: expected a JSON array of objects")
        return data
    sys.exit(f"{path}: unknown format; pass --format csv|tsv|jsonl|json")


def convert(path, args, labels, out_path):
    rows = read_rows(path, args.format)
    if not rows:
        sys.exit(f"{path}: no rows")
    for col in [args.text, args.label] + ([args.text2] if args.text2 else []):
        if col not in rows[0]:
            sys.exit(f"{path}: no column '{col}' (columns: {', '.join(rows[0])})")
    written = skipped = 0
    with open(out_path, "w", encoding="utf-8") as out:
        for n, row in enumerate(rows, 1):
            label = row[args.label]
            if isinstance(label, int) or (isinstance(label, str) and label.strip().lstrip("-").isdigit() and args.labels
                                          and label.strip() not in labels):
                idx = int(label)
                label = labels[idx] if 0 <= idx < len(labels) else None
            text = (row[args.text] or "").strip()
            text2 = (row[args.text2] or "").strip() if args.text2 else None
            problem = None
            if label not in labels:
                problem = f"label {row[args.label]!r} is not one of {labels}"
            elif not text or (args.text2 and not text2):
                problem = "empty text"
            if problem:
                if not args.skip_bad:
                    sys.exit(f"{path}: row {n}: {problem} (use --skip-bad to skip such rows)")
                skipped += 1
                continue
            record = {"text": text, "label": label}
            if args.text2:
                record["text2"] = text2
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            written += 1
    print(f"{path}: {written} rows written to {out_path}" + (f", {skipped} skipped" if skipped else ""))
    return written


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", required=True)
    ap.add_argument("--task", default="classification")
    ap.add_argument("--train", required=True)
    ap.add_argument("--test")
    ap.add_argument("--format", choices=["csv", "tsv", "jsonl", "json"])
    ap.add_argument("--text", required=True, help="column holding the (first) text")
    ap.add_argument("--text2", help="column holding the second text of a pair")
    ap.add_argument("--label", required=True, help="column holding the label (name or integer id)")
    ap.add_argument("--labels", help="comma-separated label names in id order")
    ap.add_argument("--skip-bad", action="store_true")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if args.labels:
        labels = [l.strip() for l in args.labels.split(",")]
    else:
        found = {r[args.label] for r in read_rows(args.train, args.format)}
        if any(isinstance(v, int) or str(v).strip().isdigit() for v in found):
            sys.exit(f"{args.train}: integer labels need --labels (names in id order)")
        labels = sorted(found)
    if len(labels) < 2:
        sys.exit(f"{args.train}: {len(labels)} label(s) {labels}; classification needs at least two")
    os.makedirs(args.out, exist_ok=True)
    splits = {"train": convert(args.train, args, labels, os.path.join(args.out, "train.jsonl"))}
    if args.test:
        splits["test"] = convert(args.test, args, labels, os.path.join(args.out, "test.jsonl"))
    fields = ["text", "text2"] if args.text2 else ["text"]
    meta = {"name": args.name, "task": args.task, "labels": labels, "fields": fields,
            "field_names": {"text": args.text, **({"text2": args.text2} if args.text2 else {})}, "splits": splits,
            "source": f"converted by scripts/convert_dataset.py from {args.train}" + (f" and {args.test}" if args.test else "")}
    with open(os.path.join(args.out, "dataset.json"), "w", encoding="utf-8") as f:
        json.dump(meta, f, indent=2)
    print(f"wrote {args.out}/dataset.json: labels {labels}")


if __name__ == "__main__":
    main()
