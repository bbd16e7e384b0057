#!/usr/bin/env python3
"""Scanning speed: tutela vs Presidio's AnalyzerEngine on the same texts, in one run.

Two corpora, both generated (seeded) in memory:

- **dense**: the labelled records of ``dlp_corpus`` (CRM notes, chats, clinical notes,
  configs, logs, CSV), about one finding per 50 characters;
- **clean**: English prose with no personal data (Faker's English word list).

Each engine scans every text of a corpus separately (one call per prompt, as a gateway
does) and the script prints MB/s and the tutela/Presidio ratio per corpus, then the
median time tutela takes to scan one 4 KB clean prompt in-process.

Presidio runs with its predefined pattern recognizers and a *blank* spaCy ``en``
pipeline (no model download, so its NER recognizer finds nothing: this is Presidio at
its fastest). ``tldextract`` is pointed at its bundled suffix list so nothing touches the
network. If Presidio is not installed, tutela's own pure-Python fallback engine is
measured in its place, and the output says so.

    .venv/bin/python bench/dlp_speed.py                      # ~1 minute
    .venv/bin/python bench/dlp_speed.py --records 300 --presidio-records 100 --quick

Targets (informational; exit code 0 unless something broke): tutela >= 200x Presidio on
the dense corpus; 4 KB clean prompt <= 100 us median.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from dlp_corpus import INTERNAL_DOMAINS, generate

from tutela.detectors import Scanner, ScannerConfig


def clean_corpus(count: int, seed: int) -> list[str]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    texts = []
    for _ in range(count):
        text = " ".join(fake.paragraph(nb_sentences=8) for _ in range(3))
        texts.append(text.lower().capitalize())  # no capitalised words that look like names
    return texts


def presidio_analyzer() -> Callable[[str], object] | None:
    try:
        import spacy
        import tldextract
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import SpacyNlpEngine
    except ImportError:
        return None

    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # presidio's email recognizer calls tldextract.extract

    class BlankSpacy(SpacyNlpEngine):
        def __init__(self) -> None:
            super().__init__(models=[{"lang_code": "en", "model_name": "blank"}])

        def load(self) -> None:
            self.nlp = {"en": spacy.blank("en")}

    engine = BlankSpacy()
    engine.load()
    analyzer = AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])
    return lambda text: analyzer.analyze(text, language="en")


def throughput(fn: Callable[[str], object], texts: list[str], min_seconds: float) -> float:
    """MB/s (1 MB = 10^6 characters) scanning every text once per round."""
    size = sum(len(t) for t in texts)
    for t in texts[:5]:
        fn(t)
    gc.collect()
    rounds, elapsed = 0, 0.0
    while elapsed < min_seconds or rounds == 0:
        start = time.perf_counter()
        for t in texts:
            fn(t)
        elapsed += time.perf_counter() - start
        rounds += 1
    return size * rounds / elapsed / 1e6


def median_us(fn: Callable[[str], object], text: str, repeat: int) -> float:
    for _ in range(100):
        fn(text)
    samples = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        fn(text)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000


def main() -> int:
    parser = argparse.ArgumentParser(description="tutela vs Presidio scanning speed")
    parser.add_argument("--records", type=int, default=3000, help="dense texts for tutela")
    parser.add_argument(
        "--presidio-records",
        type=int,
        default=300,
        help="dense/clean texts for Presidio (a subset of the same texts)",
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    min_s = 1.0 if args.quick else 3.0

    dense = [str(r["text"]) for r in generate(args.records, seed=args.seed)]
    clean = clean_corpus(max(50, args.records // 10), args.seed)
    tutela = Scanner(ScannerConfig(internal_domains=INTERNAL_DOMAINS))
    print(f"tutela engine: {tutela.engine_note}")

    other = presidio_analyzer()
    if other is not None:
        other_name = "Presidio AnalyzerEngine (pattern recognizers, blank spaCy en)"
    else:
        fallback = Scanner(ScannerConfig(engine="python", internal_domains=INTERNAL_DOMAINS))
        other = fallback.scan
        other_name = "PRESIDIO NOT INSTALLED - tutela pure-Python fallback instead"
    print(f"compared with: {other_name}")

    n_other = args.presidio_records
    rows = []
    for name, texts in (("dense", dense), ("clean", clean)):
        subset = texts[:n_other]
        mine_all = throughput(tutela.scan, texts, min_s)
        mine_subset = throughput(tutela.scan, subset, min_s)
        theirs = throughput(other, subset, min_s)
        density = sum(len(tutela.scan(t)) for t in texts) / (sum(len(t) for t in texts) / 1000)
        rows.append((name, len(texts), mine_all, mine_subset, theirs, density))
    print()
    print(
        f"{'corpus':6} {'texts':>6} {'findings/KB':>11} {'tutela MB/s':>12} "
        f"{'(same subset)':>13} {'other MB/s':>11} {'ratio':>8}"
    )
    for name, count, mine_all, mine_subset, theirs, density in rows:
        print(
            f"{name:6} {count:6d} {density:11.1f} {mine_all:12.2f} {mine_subset:13.2f} "
            f"{theirs:11.4f} {mine_subset / theirs:7.0f}x"
        )

    prompt = (" ".join(clean))[:4096]
    assert len(prompt) == 4096
    us = median_us(tutela.scan, prompt, 3000 if not args.quick else 500)
    print()
    print(f"4 KB clean prompt, median in-process scan: {us:.1f} us (target <= 100 us)")
    dense_ratio = rows[0][3] / rows[0][4]
    print(
        f"dense ratio {dense_ratio:.0f}x (target >= 200x vs Presidio): "
        f"{'met' if dense_ratio >= 200 else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
