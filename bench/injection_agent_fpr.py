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

from tutela.injection.detector import shared_detector
from tutela.policy import InjectionSettings

SESSION_READS = 40


SWEEP = (0.75, 0.85, 0.9, 0.95, 0.97, 0.99)


def refused(rate: float) -> float:
    """The chance that a session of ``SESSION_READS`` reads is refused at least once."""
    return 1 - (1 - rate) ** SESSION_READS


def main() -> int:
    parser = argparse.ArgumentParser(description="injection false alarms on agent tool results")
    parser.add_argument("--per-kind", type=int, default=400, help="pieces per kind of file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--show", type=int, default=0, help="print this many flagged paths")
    args = parser.parse_args()
    if not 10 <= args.per_kind <= 5000:
        parser.error("--per-kind must be within [10, 5000]")
    detector = shared_detector()
    rule = InjectionSettings().tool_result  # the shipped defaults
    flag_at = rule.threshold
    if rule.block_threshold is not None:
        block_at = rule.block_threshold
    else:
        block_at = flag_at if rule.action == "block" else float("inf")  # never blocked
    rng = random.Random(args.seed)
    print(
        f"tool_result defaults: flagged at {flag_at}, {rule.action}; blocked at {block_at}. "
        f"{AGENT_PIECE}-character pieces of files never trained on."
    )
    print(
        f"{'kind':30} {'pieces':>6} {'flagged':>8} {'blocked':>8}  "
        f"{SESSION_READS}-read sessions blocked"
    )
    everything: list[float] = []
    shown: list[str] = []
    for kind, patterns in AGENT_KINDS.items():
        scores = []
        for path, text in agent_pieces(agent_files(patterns, "evaluation"), args.per_kind, rng):
            score = detector.scan(text, "tool_result", {"tool_result": flag_at}).score
            scores.append(score)
            if score >= flag_at and len(shown) < args.show:
                shown.append(f"  {score:.3f} {path}")
        if not scores:
            print(f"{kind:30} {'-':>6}  no files of this kind on this machine")
            continue
        everything += scores
        flagged = sum(s >= flag_at for s in scores) / len(scores)
        blocked = sum(s >= block_at for s in scores) / len(scores)
        print(f"{kind:30} {len(scores):6d} {flagged:8.1%} {blocked:8.1%}  {refused(blocked):6.1%}")
    if not everything:
        return 1
    flagged = sum(s >= flag_at for s in everything) / len(everything)
    blocked = sum(s >= block_at for s in everything) / len(everything)
    print(f"{'all':30} {len(everything):6d} {flagged:8.1%} {blocked:8.1%}  {refused(blocked):6.1%}")
    print("\nthreshold sweep over all pieces (share at or above; sessions with one or more):")
    for t in SWEEP:
        rate = sum(s >= t for s in everything) / len(everything)
        print(f"  {t:4.2f}  {rate:6.2%}  sessions {refused(rate):6.1%}")
    if shown:
        print("flagged (score, file):")
        print("\n".join(shown))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
