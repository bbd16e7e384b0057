#!/usr/bin/env python3
"""How often does the injection guard refuse a coding agent's ordinary tool results?

A coding agent (Claude Code and the like) reads files and pastes their contents back as
``tool_result`` blocks, dozens of times per session. This script cuts real files found on
this machine (source code in several languages, configuration, documentation) into the
3 KB pieces an agent would read, scores each as a ``tool_result`` at the default
thresholds, and reports the share flagged per kind of file and the chance that a session
of 40 such reads is refused at least once.

Only files in the evaluation half of a fixed split are used (``corpus.agent_half``: by a
hash of the path); training reads pieces of the other half only, so this measures files
the model has never seen.

    .venv/bin/python bench/injection_agent_fpr.py                 # ~1 minute
    .venv/bin/python bench/injection_agent_fpr.py --per-kind 200 --show 5
"""

from __future__ import annotations

import argparse
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "train" / "injection"))

from corpus import AGENT_KINDS, AGENT_PIECE, agent_files, agent_pieces

from tutela.injection.detector import DEFAULT_THRESHOLDS, shared_detector

SESSION_READS = 40


def main() -> int:
    parser = argparse.ArgumentParser(description="injection false alarms on agent tool results")
    parser.add_argument("--per-kind", type=int, default=400, help="pieces per kind of file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="print this many flagged paths")
    args = parser.parse_args()
    if not 10 <= args.per_kind <= 5000:
        parser.error("--per-kind must be within [10, 5000]")
    detector = shared_detector()
    threshold = DEFAULT_THRESHOLDS["tool_result"]
    rng = random.Random(args.seed)
    total = flagged_total = 0
    print(
        f"tool_result threshold {threshold}; {AGENT_PIECE}-character pieces of files never trained on"
    )
    print(
        f"{'kind':30} {'pieces':>6} {'flagged':>7} {'rate':>6}  session of {SESSION_READS} reads refused"
    )
    shown: list[str] = []
    for kind, patterns in AGENT_KINDS.items():
        n = flagged = 0
        for path, text in agent_pieces(agent_files(patterns, "evaluation"), args.per_kind, rng):
            detection = detector.scan(text, "tool_result", {"tool_result": threshold})
            n += 1
            if detection.flagged:
                flagged += 1
                if len(shown) < args.show:
                    rules = ",".join(detection.rule_ids) or "classifier"
                    shown.append(f"  {detection.score:.3f} {rules:24} {path}")
        if n == 0:
            print(f"{kind:30} {'-':>6}  no files of this kind on this machine")
            continue
        rate = flagged / n
        session = 1 - (1 - rate) ** SESSION_READS
        print(f"{kind:30} {n:6d} {flagged:7d} {rate:6.1%}  {session:6.1%}")
        total += n
        flagged_total += flagged
    if total:
        rate = flagged_total / total
        session = 1 - (1 - rate) ** SESSION_READS
        print(f"{'all':30} {total:6d} {flagged_total:7d} {rate:6.1%}  {session:6.1%}")
    if shown:
        print("flagged (score, rules, file):")
        print("\n".join(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
