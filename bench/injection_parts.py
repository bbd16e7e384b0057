"""Where the injection detector's time goes, per step, on 4 KB of each glossed language.

    .venv/bin/python bench/injection_parts.py [--languages en,de,zh] [--repeat 9]

The text of each language is the benign rows of ``data/multilingual_injection.jsonl``,
repeated and cut at 4 KB of UTF-8 (the texts of ``injection_eval.py``'s latency rows). Each
step is timed on its own, as the best of ``--repeat`` runs of 100 calls (the best, not the
median: on a shared machine the best is the figure that moves least between runs), next
to the whole uncached analysis, and after the p50 and p99 of 2,000 single whole analyses
(CPU time of the thread, as ``injection_eval.py`` reports them: the budget is a p99). The
steps:

- ``normalise``: invisible characters, NFKC, lookalikes, payloads;
- ``model``: the text model over the normalised text;
- ``rules``: the English and other-language rules (Hyperscan, then Python confirms);
- ``letters``: the stuttered- and scrambled-word checks (a Hyperscan pass each);
- ``language``: which dictionary, if any;
- ``gloss``: the English gloss, language check included;
- ``gloss model`` and ``gloss rules``: the gloss model and the rules over the gloss.

The reference loop's time is printed too: figures from two machines compare after dividing
by it. Compare two versions of the code by running this from each checkout in turn.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import timeit
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

from tutela.injection.detector import Detector  # noqa: E402
from tutela.injection.gloss import LANGUAGES  # noqa: E402
from tutela.injection.normalise import normalise  # noqa: E402
from tutela.injection.rules import match_gloss, match_rules  # noqa: E402

STEPS = (
    "p50",
    "p99",
    "all",
    "normalise",
    "model",
    "rules",
    "letters",
    "language",
    "gloss",
    "gloss model",
    "gloss rules",
)


def prose(lang: str) -> str:
    """The benign rows of one language, repeated past 4 KB and cut at 4 KB of UTF-8; for
    ``en``, the first 4 KB of docs/ARCHITECTURE.md (English prose, never glossed)."""
    if lang == "en":
        return (HERE.parent / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")[:4096]
    path = HERE / "data" / "multilingual_injection.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    text = " ".join(r["text"] for r in rows if r["lang"] == lang and not r["label"])
    if not text:
        raise SystemExit(f"no benign rows for language {lang!r} in {path.name}")
    text = (text + " ") * (4096 // len(text) + 1)
    return text.encode()[:4096].decode("utf-8", "ignore")


def best_ms(call: Callable[[], object], repeat: int) -> float:
    return min(timeit.repeat(call, number=100, repeat=repeat)) / 100 * 1000


def measure(detector: Detector, lang: str, repeat: int) -> dict[str, float]:
    raw = prose(lang)
    text = normalise(raw).text
    glossary = detector.glossary
    glossed = glossary.gloss(text)
    english = glossed.text if glossed else ""
    steps: dict[str, Callable[[], object]] = {
        "all": lambda: detector.analyse_uncached(raw),
        "normalise": lambda: normalise(raw),
        "model": lambda: detector.model.score(text),
        "rules": lambda: match_rules(text),
        "letters": lambda: detector.letter_repairs(text),
        "language": lambda: glossary.language(text),
        "gloss": lambda: glossary.gloss(text),
        "gloss model": lambda: detector.gloss_model.score(english),
        "gloss rules": lambda: match_gloss(english),
    }
    figures = {name: best_ms(call, repeat) for name, call in steps.items()}
    figures["p50"], figures["p99"] = percentiles(lambda: detector.analyse_uncached(raw))
    return figures


def percentiles(call: Callable[[], object], calls: int = 2000) -> tuple[float, float]:
    """p50 and p99 of single calls, in CPU time of this thread (ms): what the budget is."""
    times = []
    for _ in range(calls):
        started = time.thread_time_ns()
        call()
        times.append((time.thread_time_ns() - started) / 1e6)
    times.sort()
    return times[calls // 2], times[int(0.99 * calls)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--languages", default=",".join(LANGUAGES))
    parser.add_argument("--repeat", type=int, default=9, help="runs of 100 calls; best counts")
    args = parser.parse_args()
    languages = [lang for lang in args.languages.split(",") if lang]
    unknown = sorted(set(languages) - {"en", *LANGUAGES})
    if unknown:
        raise SystemExit(f"unknown language(s) {unknown}; known: en,{','.join(LANGUAGES)}")
    if args.repeat < 1:
        raise SystemExit("--repeat must be 1 or more")
    detector = Detector(cache_size=1)
    reference = best_ms(lambda: sum(range(100_000)), 5)
    print(
        f"ms per call: p50 and p99 of 2,000 single calls of the whole analysis (CPU time),"
        f" then each step's best of {args.repeat} x 100; sum(range(100_000)) in {reference:.2f} ms"
    )
    print("lang " + "".join(f"{step:>12}" for step in STEPS))
    for number, lang in enumerate(languages, 1):
        figures = measure(detector, lang, args.repeat)
        print(f"{lang:<5}" + "".join(f"{figures[step]:12.3f}" for step in STEPS), flush=True)
        print(f"  [{number}/{len(languages)}]", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
