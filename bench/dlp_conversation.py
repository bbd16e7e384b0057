#!/usr/bin/env python3
"""What the DLP guard costs per turn of a long agent conversation, with and without its cache.

A coding agent such as Claude Code resends the whole conversation with every turn: a long
system prompt, then every earlier message and tool result. This script builds such a
conversation from real files on this machine (Python standard-library sources as tool
results, their docstrings as the assistant's prose, a few planted emails and cards), then
sends turn 1, turn 1-2, turn 1-3, ... through ``DlpGuard.check_body`` twice in the same
run, interleaved: once with the scan cache off (``cache_entries: 0``, every request
rescanned in full) and once with the default cache. It prints the per-request time by
conversation length and the ratio, and checks that both give the same verdicts.

    .venv/bin/python bench/dlp_conversation.py            # 40 turns, about 20 s
    .venv/bin/python bench/dlp_conversation.py --turns 80 --rounds 5
"""

from __future__ import annotations

import argparse
import statistics
import sys
import sysconfig
import time
from pathlib import Path
from typing import Any

from tutela.guards.dlp import DlpGuard
from tutela.policy import parse_policy
from tutela.types import Exchange, Principal

SYSTEM_CHARS = 12_000
TOOL_RESULT_CHARS = 3_000


def stdlib_texts(count: int) -> list[str]:
    """Slices of standard-library modules: real code and prose, the same on every machine
    with this Python."""
    root = Path(sysconfig.get_paths()["stdlib"])
    files = sorted(p for p in root.glob("*.py") if p.stat().st_size > TOOL_RESULT_CHARS * 2)
    if not files:
        raise SystemExit(f"no standard-library sources under {root}")
    texts = []
    for i in range(count):
        source = files[i % len(files)].read_text(encoding="utf-8", errors="replace")
        start = (i * 997) % max(1, len(source) - TOOL_RESULT_CHARS)
        texts.append(source[start : start + TOOL_RESULT_CHARS])
    return texts


def conversation(turns: int) -> tuple[str, list[dict[str, Any]]]:
    texts = stdlib_texts(turns * 2 + 4)
    system = "\n".join(texts[-4:])[:SYSTEM_CHARS]
    messages: list[dict[str, Any]] = []
    for t in range(turns):
        ask = f"Step {t}: look at the next file and tell me what it does."
        if t % 5 == 0:
            ask += f" Send the summary to dev{t}@example.com; billing card 4111 1111 1111 1111."
        tool_id = f"toolu_{t:04d}"
        messages.append({"role": "user", "content": ask})
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": texts[2 * t + 1][:600]},
                    {"type": "tool_use", "id": tool_id, "name": "read", "input": {"n": t}},
                ],
            }
        )
        messages.append(
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": tool_id, "content": texts[2 * t]}
                ],
            }
        )
    return system, messages


def exchange(body: dict[str, Any]) -> Exchange:
    return Exchange(
        request_id="req_bench",
        endpoint="messages",
        method="POST",
        headers={},
        raw_body=b"",
        body=body,
        principal=Principal(key_id="k", workspace_id="w", workspace="default", role="analyst"),
    )


def main() -> int:
    parser = argparse.ArgumentParser(description="DLP guard cost per turn, cache off vs on")
    parser.add_argument("--turns", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3, help="fresh guards per variant")
    args = parser.parse_args()
    if not 1 <= args.turns <= 500 or not 1 <= args.rounds <= 50:
        parser.error("--turns must be within [1, 500] and --rounds within [1, 50]")
    system, messages = conversation(args.turns)
    bodies = [
        {
            "model": "claude-sonnet-4-6",
            "max_tokens": 1024,
            "system": system,
            "messages": messages[: 3 * t + 1],  # up to this turn's question
        }
        for t in range(args.turns)
    ]
    sizes = [sum(len(str(m["content"])) for m in b["messages"]) + len(system) for b in bodies]
    settings = {
        "off": parse_policy("guards:\n  dlp:\n    cache_entries: 0\n").guards.dlp,
        "on": parse_policy("").guards.dlp,
    }
    times: dict[str, list[list[float]]] = {name: [[] for _ in bodies] for name in settings}
    for round_ in range(args.rounds):
        guards = {name: DlpGuard(s) for name, s in settings.items()}
        for t, body in enumerate(bodies):  # a conversation turn by turn, variants interleaved
            verdicts = {}
            for name, guard in guards.items():
                start = time.perf_counter()
                verdicts[name] = guard.check_body(exchange(body), body)
                times[name][t].append(time.perf_counter() - start)
            off, on = verdicts["off"], verdicts["on"]
            if (off.action, off.findings, off.body) != (on.action, on.findings, on.body):
                print(f"MISMATCH at turn {t + 1} (round {round_ + 1})", file=sys.stderr)
                return 1
    print(f"DLP guard per request, {args.turns}-turn conversation, {args.rounds} rounds")
    print(f"{'turn':>5} {'request KB':>10} {'cache off ms':>12} {'cache on ms':>11} {'ratio':>7}")
    shown = sorted({0, 4, 9, 19, 39, 79, 159, args.turns - 1} & set(range(args.turns)))
    for t in shown:
        off = statistics.median(times["off"][t]) * 1e3
        on = statistics.median(times["on"][t]) * 1e3
        print(f"{t + 1:5d} {sizes[t] / 1000:10.1f} {off:12.3f} {on:11.3f} {off / on:6.1f}x")
    total_off = sum(statistics.median(x) for x in times["off"]) * 1e3
    total_on = sum(statistics.median(x) for x in times["on"]) * 1e3
    print(
        f"whole conversation: cache off {total_off:.1f} ms, cache on {total_on:.1f} ms "
        f"({total_off / total_on:.1f}x); same verdicts, findings and bodies on every turn"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
