#!/usr/bin/env python3
"""Per-class precision, recall and F1 of tutela's detectors on a generated corpus.

Generates a labelled corpus in memory, seeded: ``--corpus generated`` (default) is
``dlp_corpus.generate``, written alongside the detectors; ``--corpus holdout`` is
``dlp_holdout.generate``, written afterwards with other templates and styles (see its
docstring). Scans every
record, and matches predictions to gold spans by class and overlap: a prediction is a
true positive when it overlaps a gold span of the same class. Then checks the targets:

- checksum classes (cards, IBANs, NPIs, routing numbers, GitHub tokens, national IDs):
  precision and recall >= 0.95;
- other pattern classes: >= 0.90 / 0.90;
- names and addresses (``pii.person``, ``pii.location``): reported, no target.

    .venv/bin/python bench/dlp_accuracy.py                 # 3000 records, seed 7
    .venv/bin/python bench/dlp_accuracy.py --records 10000 --seed 1 --engine python
    .venv/bin/python bench/dlp_accuracy.py --json /tmp/acc.json
    .venv/bin/python bench/dlp_accuracy.py --corpus holdout         # 3000 records, seed 11
    .venv/bin/python bench/dlp_accuracy.py --corpus holdout --show-errors 5

Exit code 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import dlp_corpus
import dlp_holdout

from tutela.detectors import Scanner, ScannerConfig

CHECKSUM = {
    "fin.credit_card",
    "fin.iban",
    "phi.npi",
    "fin.routing_number",
    "secret.github_token",
    "pii.national_id",
}
HEURISTIC = {"pii.person", "pii.location"}
CORPORA = {"generated": dlp_corpus, "holdout": dlp_holdout}


def evaluate(records: list[dict], scanner: Scanner) -> tuple[Counter, Counter, Counter]:  # type: ignore[type-arg]
    tp: Counter[str] = Counter()
    fp: Counter[str] = Counter()
    fn: Counter[str] = Counter()
    for rec in records:
        text = rec["text"]
        gold = [(g["class"], g["start"], g["end"]) for g in rec["spans"]]
        pred = [(s.cls, s.start, s.end) for s in scanner.scan(text)]
        matched_gold: set[int] = set()
        for cls, start, end in pred:
            hit = next(
                (i for i, (gc, gs, ge) in enumerate(gold) if gc == cls and gs < end and start < ge),
                None,
            )
            if hit is None:
                fp[cls] += 1
            else:
                tp[cls] += 1
                matched_gold.add(hit)
        for i, (gc, _, _) in enumerate(gold):
            if i not in matched_gold:
                fn[gc] += 1
    return tp, fp, fn


def main() -> int:
    parser = argparse.ArgumentParser(description="tutela DLP accuracy on the generated corpus")
    parser.add_argument("--records", type=int, default=3000)
    parser.add_argument(
        "--corpus",
        default="generated",
        choices=list(CORPORA),
        help="generated: dlp_corpus.py (tuned alongside the detectors); "
        "holdout: dlp_holdout.py (independent)",
    )
    parser.add_argument("--seed", type=int, help="default 7 (generated) or 11 (holdout)")
    parser.add_argument("--engine", default="auto", choices=["auto", "hyperscan", "python"])
    parser.add_argument("--json", help="write the table as JSON here")
    parser.add_argument(
        "--show-errors",
        type=int,
        default=0,
        metavar="N",
        help="print up to N false positives/negatives per class (debugging)",
    )
    args = parser.parse_args()

    module = CORPORA[args.corpus]
    if args.seed is None:
        args.seed = 7 if args.corpus == "generated" else 11
    records = module.generate(args.records, seed=args.seed)
    scanner = Scanner(ScannerConfig(engine=args.engine, internal_domains=module.INTERNAL_DOMAINS))
    started = time.perf_counter()
    tp, fp, fn = evaluate(records, scanner)
    elapsed = time.perf_counter() - started
    chars = sum(len(r["text"]) for r in records)

    classes = sorted(set(tp) | set(fp) | set(fn))
    rows = []
    failed = []
    print(
        f"tutela DLP accuracy: {args.corpus} corpus, {len(records)} records, seed {args.seed}, "
        f"engine {scanner.engine}, "
        f"{chars / 1e6:.2f} MB scanned in {elapsed:.2f} s"
    )
    print(
        f"{'class':24} {'gold':>5} {'TP':>5} {'FP':>5} {'FN':>5} {'prec':>6} {'recall':>6} {'F1':>6}  target"
    )
    for cls in classes:
        t, f, n = tp[cls], fp[cls], fn[cls]
        p = t / (t + f) if t + f else 1.0
        r = t / (t + n) if t + n else 1.0
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        if cls in HEURISTIC:
            target, ok = "reported", True
        else:
            goal = 0.95 if cls in CHECKSUM else 0.90
            target = f">={goal:.2f}"
            ok = p >= goal and r >= goal
            if not ok:
                failed.append(cls)
        rows.append(
            {
                "class": cls,
                "gold": t + n,
                "tp": t,
                "fp": f,
                "fn": n,
                "precision": round(p, 4),
                "recall": round(r, 4),
                "f1": round(f1, 4),
                "target": target,
                "ok": ok,
            }
        )
        print(
            f"{cls:24} {t + n:5d} {t:5d} {f:5d} {n:5d} {p:6.3f} {r:6.3f} {f1:6.3f}  {target}{'' if ok else '  MISSED'}"
        )
    if args.show_errors:
        _show_errors(records, scanner, args.show_errors)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "corpus": args.corpus,
                    "records": len(records),
                    "seed": args.seed,
                    "engine": scanner.engine,
                    "rows": rows,
                },
                indent=2,
            )
        )
    print("all targets met" if not failed else f"targets missed: {', '.join(failed)}")
    return 1 if failed else 0


def _show_errors(records: list[dict], scanner: Scanner, limit: int) -> None:  # type: ignore[type-arg]
    shown: Counter[str] = Counter()
    for rec in records:
        text = rec["text"]
        gold = {(g["class"], g["start"], g["end"]) for g in rec["spans"]}
        pred = {(s.cls, s.start, s.end) for s in scanner.scan(text)}
        for cls, s, e in pred:
            if (
                not any(gc == cls and gs < e and s < ge for gc, gs, ge in gold)
                and shown["FP" + cls] < limit
            ):
                shown["FP" + cls] += 1
                print(f"  FP {cls:22} {text[s:e]!r}   in …{text[max(0, s - 40) : e + 20]!r}")
        for cls, s, e in gold:
            if (
                not any(pc == cls and ps < e and s < pe for pc, ps, pe in pred)
                and shown["FN" + cls] < limit
            ):
                shown["FN" + cls] += 1
                print(f"  FN {cls:22} {text[s:e]!r}   in …{text[max(0, s - 40) : e + 20]!r}")


if __name__ == "__main__":
    raise SystemExit(main())
