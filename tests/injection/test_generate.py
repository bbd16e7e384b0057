"""The training generator (train/injection/generate.py): deterministic, every family, no
wording taken from the shared labelled data."""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "train" / "injection"))

import generate  # noqa: E402

SHARED = REPO.parent / "shared" / "data" / "injection" / "train.jsonl"


def test_same_seed_same_texts_and_every_family() -> None:
    first, again = generate.attacks(), generate.attacks()
    assert first == again and generate.benign() == generate.benign()
    assert {family for family, _ in first} == set(generate.FAMILIES)
    assert generate.soup(["alpha", "Beta"], count=5) == generate.soup(["alpha", "Beta"], count=5)


def test_flooding_labels_only_its_instruction() -> None:
    text = generate.flooding(random.Random(1))
    start, end = generate.attack_span("flooding", text)
    assert end == len(text) and "\n\n" not in text[start:] and text[:start].strip()
    assert generate.attack_span("override", "ignore it") is None


def _grams(text: str, n: int = 8) -> set[str]:
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


@pytest.mark.skipif(not SHARED.is_file(), reason="shared labelled data not present")
def test_no_eight_words_in_a_row_come_from_the_shared_data() -> None:
    shared: set[str] = set()
    with SHARED.open(encoding="utf-8") as handle:
        for line in handle:
            shared |= _grams(json.loads(line)["text"])
    texts = [text for _, text in generate.attacks()] + generate.benign()
    texts += generate.soup(["alpha", "Beta", "gamma"], count=50)
    copied = {gram for text in texts for gram in _grams(text) if gram in shared}
    assert not copied


def _word_grams(text: str, n: int = 8) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_multilingual_training_texts_share_nothing_with_the_evaluation_sets() -> None:
    import train

    texts = [row["text"] for row in train.multilingual_rows()]
    assert len(texts) == 1199  # 1,248 written; 49 that shared 8 words in a row with a set, dropped
    evaluation: set[str] = set()
    whole: set[str] = set()
    for path in sorted((REPO / "bench" / "data").glob("multilingual_injection*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            text = json.loads(line)["text"]
            whole.add(text.strip())
            evaluation |= _word_grams(text)
    assert not {t.strip() for t in texts} & whole
    copied = {gram for text in texts for gram in _word_grams(text) if gram in evaluation}
    assert not copied, sorted(copied)[:5]
