"""Train the shipped injection classifier: ``python train/injection/train.py``.

Reads the labelled data in place (``--data``, default ``../shared/data/injection/train.jsonl``;
it is never copied into the repository), adds clean documents collected from this machine
and examples this project generates (``corpus.py``, ``generate.py``, and the English
glosses of the multilingual texts in ``data/``), and writes
``src/tutela/injection/data/model.json.gz``. Needs numpy and scikit-learn at training time
only; the gateway scores with the exported weights in pure Python.

How examples are built (``examples``): every text is normalised like at run time and cut
into the same token windows the model scores (``tutela.injection.features.windows``). A
benign text's windows are all negative. A direct or jailbreak attack's windows are all
positive. An attacked document (indirect) has only the windows that cover the inserted
attack marked positive; its other windows are clean document text and are negatives. Each
text carries a total weight of one, spread over its windows, so long texts do not drown
short ones.

Leave-one-source-out: ``lineage`` says which source groups a row derives from (a
synthetic attacked document derives from the document's source and the attack's), so an
evaluation can hold a source out completely.
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import random
import re
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(HERE))

import corpus  # noqa: E402
import generate  # noqa: E402

from tutela.injection.features import norm, token_features, tokens, windows  # noqa: E402
from tutela.injection.model import GLOSS_MODEL_FILE, MODEL_FILE, Model  # noqa: E402
from tutela.injection.normalise import normalise  # noqa: E402
from tutela.injection.suffix import MIN_LEXICON_WORD  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data" / "injection" / "train.jsonl"
OUTPUT = REPO / "src" / "tutela" / "injection" / "data" / MODEL_FILE
GLOSS_OUTPUT = OUTPUT.with_name(GLOSS_MODEL_FILE)


@dataclass
class Row:
    id: str
    text: str
    label: int
    group: str
    kind: str
    context: str
    lineage: frozenset[str]
    attack: tuple[int, int] | None = None  # char span of an inserted attack (indirect)
    meta: dict[str, Any] = field(default_factory=dict)
    source: str = ""  # the full ``owner/repo:subset``; ``group`` is its part before the colon


def group_of(source: str) -> str:
    return source.split(":", 1)[0]


def load_rows(path: Path, licensed_only: bool = False) -> list[Row]:
    raw = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    by_id = {r["id"]: r for r in raw}
    rows: list[Row] = []
    for r in raw:
        meta = r.get("meta") or {}
        lineage = {group_of(r["source"])}
        span: tuple[int, int] | None = None
        injection = by_id.get(meta.get("injection_id", ""))
        doc = by_id.get(meta.get("doc_id", ""))
        for parent in (injection, doc):
            if parent is not None:
                lineage.add(group_of(parent["source"]))
        if r["kind"] == "indirect":
            span = _inserted(r["text"], doc["text"] if doc else None, injection)
        if licensed_only and (
            "HumanCompatibleAI/tensor-trust-data" in lineage
            or str(meta.get("injection_id", "")).startswith("tensortrust-")
        ):
            continue
        rows.append(
            Row(
                id=r["id"],
                text=r["text"],
                label=int(r["label"]),
                group=group_of(r["source"]),
                kind=r["kind"],
                context=r["context"],
                lineage=frozenset(lineage),
                attack=span,
                meta=meta,
                source=r["source"],
            )
        )
    return rows


def _inserted(text: str, clean: str | None, injection: dict[str, Any] | None) -> tuple[int, int]:
    """Where the attack was inserted into an attacked document (char span)."""
    if injection is not None:
        attack = injection["text"]
        variants = (attack, attack.replace("\n", " "), " ".join(attack.split()), attack.strip())
        for candidate in variants:
            at = text.find(candidate)
            if at >= 0:
                return at, at + len(candidate)
        # Newlines flattened some other way: anchor on the first and last 30 characters.
        flat = " ".join(attack.split())
        head, tail = flat[:30], flat[-30:]
        squashed = " ".join(text.split())
        start, end = squashed.find(head), squashed.rfind(tail)
        if 0 <= start <= end and len(squashed) == len(text):
            return start, end + len(tail)
    if clean is not None:
        start = 0
        while start < min(len(text), len(clean)) and text[start] == clean[start]:
            start += 1
        end = 0
        while end < min(len(text), len(clean)) - start and text[-1 - end] == clean[-1 - end]:
            end += 1
        return start, len(text) - end
    return 0, len(text)


@dataclass
class Example:
    features: Counter[str]
    length: int
    label: int
    weight: float
    lexical: bool = True  # its words count for the lexicon (a gloss's do not)


@functools.cache
def _window_examples(
    text: str, label: int, weight: float, attack: tuple[int, int] | None = None
) -> list[Example]:
    """The windows of one text (memoised: the evaluation refits on overlapping sets)."""
    if attack is None:
        toks = tokens(normalise(text).text)
        marks = [label] * len(toks)
    else:
        before = tokens(normalise(text[: attack[0]]).text)
        inside = tokens(normalise(text[attack[0] : attack[1]]).text)
        after = tokens(normalise(text[attack[1] :]).text)
        toks = before + inside + after
        marks = [0] * len(before) + [1] * len(inside) + [0] * len(after)
    if not toks:
        return []
    feats = list(token_features(toks))
    chosen: list[tuple[int, int, int]] = []
    for start, end in windows(len(toks)):
        hit = sum(marks[start:end])
        if attack is None:
            chosen.append((start, end, label))
        elif hit == 0:
            chosen.append((start, end, 0))
        elif hit >= min(0.5 * (end - start), 0.6 * sum(marks)):
            chosen.append((start, end, 1))
    out: list[Example] = []
    for start, end, y in chosen:
        counts: Counter[str] = Counter()
        for position in range(start, end):
            counts.update(feats[position])
        out.append(Example(counts, end - start, y, weight / len(chosen)))
    return out


def examples(
    rows: Iterable[Row],
    clean: Iterable[corpus.Doc],
    *,
    seed: int = 13,
    system_weight: float = 0.5,
    generated: bool = True,
    multilingual: bool = False,
) -> list[Example]:
    """Windows of the shared rows, the clean documents, and the generated texts.

    With ``generated`` (the default), the attack families and hard negatives of
    ``generate.py`` are added as well, and its short attacks are also planted in clean
    documents. They are training data only: an evaluation tests on shared rows alone.
    """
    rows = list(rows)
    out: list[Example] = []
    for row in rows:
        weight = system_weight if row.context == "system" else 1.0
        out += _window_examples(row.text, row.label, weight, row.attack)
    clean = [d for d in clean if d.split == "train"]
    for doc in clean:
        out += _window_examples(doc.text, 0, 1.0)
    for text in corpus.trigger_benign():
        out += _window_examples(text, 0, 2.0)
    for text in corpus.roleplay_benign():
        out += _window_examples(text, 0, 1.0)
    # Short chat turns are frequent in real traffic and rare in the data: weigh them more,
    # so that a greeting does not inherit the bias of the many short attacks.
    for text in corpus.short_benign():
        out += _window_examples(text, 0, 3.0 if generated else 1.0)
    for text in corpus.generated_tool_results():
        out += _window_examples(text, 0, 1.0)
    # Attacked copies of clean documents: generated attacks, and short attacks of the rows
    # trained on, so a model learns the attack and not "documents are attacks".
    rng = random.Random(seed)
    short = [r.text for r in rows if r.label == 1 and r.kind == "direct" and len(r.text) < 400]
    attacks = corpus.generated_attacks() + rng.sample(short, min(len(short), 300))
    for attack in attacks:
        doc = rng.choice(clean).text
        text = corpus.insert(doc, attack, rng)
        at = text.find(attack)
        out += _window_examples(text, 1, 1.0, (at, at + len(attack)))
    for attack in corpus.generated_attacks():
        out += _window_examples(attack, 1, 1.0)
    if generated:
        families = generate.attacks()
        for family, attack in families:
            out += _window_examples(attack, 1, 1.0, generate.attack_span(family, attack))
        for text in generate.benign():
            out += _window_examples(text, 0, 1.0)
        for attack in generate.soup(_words(tuple(d.text for d in clean))):
            out += _window_examples(attack, 1, 1.0)
        plantable = [t for f, t in families if f in generate.INSERTABLE]
        for attack in rng.sample(plantable, min(len(plantable), 300)):
            text = corpus.insert(rng.choice(clean).text, attack, rng)
            at = text.find(attack)
            out += _window_examples(text, 1, 1.0, (at, at + len(attack)))
    if multilingual:  # an experiment, off by default: see data/README.md
        for row in multilingual_rows():
            glossed = _gloss_examples(row["text"], int(row["label"]), row.get("planted"))
            # Look-alikes count more: a gloss loses the context that makes English
            # look-alikes read as harmless, so the model needs more of them.
            scale = GLOSS_ATTACK_WEIGHT if int(row["label"]) else GLOSS_BENIGN_WEIGHT
            glossed = [replace(e, weight=e.weight * scale) for e in glossed]
            out += glossed
    return out


MULTILINGUAL = HERE / "data"  # multilingual_*.jsonl: texts in twelve languages, for glosses
# Chosen on multilingual sets 1-6: at 3, benign documents were flagged (6 of 720); at 8,
# recall fell by a sixth; at 5, 2 of 720 and most of the recall.
GLOSS_BENIGN_WEIGHT = 5.0
GLOSS_ATTACK_WEIGHT = 1.0


def multilingual_rows() -> list[dict[str, Any]]:
    """Attacks and benign look-alikes in the twelve glossed languages, written for this
    project (never taken from an evaluation set); ``planted`` marks the attack inside an
    attacked document."""
    rows: list[dict[str, Any]] = []
    for path in sorted(MULTILINGUAL.glob("multilingual_*.jsonl")):
        rows += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return rows


@functools.cache
def _gloss_examples(text: str, label: int, planted: str | None = None) -> list[Example]:
    """The windows of ``text``'s English gloss, as the detector reads it, so the model
    learns how glossed attacks and glossed look-alikes read. A gloss's words never join the
    lexicon: it is the list of *English* words, and a gloss keeps unknown foreign ones."""
    from tutela.injection.gloss import shipped_glossary

    glossary = shipped_glossary()
    whole = glossary.gloss(normalise(text).text)
    if planted and planted in text:
        alone = glossary.gloss(normalise(planted).text)
        if alone is None:
            return []
        inside = alone.text.strip()
        # The planted sentences, glossed alone, read the same inside the document's gloss
        # when they are whole sentences; else the document is glossed around them.
        if whole is not None and inside in whole.text:
            glossed = whole.text
            start = glossed.index(inside)
        else:
            start_at = text.index(planted)
            pieces = (text[:start_at], text[start_at + len(planted) :])
            before, after = (
                g.text if (g := glossary.gloss(normalise(p).text)) else "" for p in pieces
            )
            glossed = before + " " + inside + " " + after
            start = len(before) + 1
        out = _window_examples(glossed, 1, 1.0, (start, start + len(inside)))
        out += _window_examples(inside, 1, 1.0)
    else:
        if whole is None:
            return []
        out = _window_examples(whole.text, label, 1.0)
    # The filler that stands for an unknown word counts towards a window's length but must
    # never carry a weight (at run time it has none): its features are dropped.
    return [
        Example(_without_filler(e.features), e.length, e.label, e.weight, lexical=False)
        for e in out
    ]


def _without_filler(features: Counter[str]) -> Counter[str]:
    from tutela.injection.gloss import FILLER

    return Counter({f: n for f, n in features.items() if FILLER not in f.split(" ")})


@functools.cache
def _words(texts: tuple[str, ...]) -> list[str]:
    """Distinct words of the clean documents, case kept: material for ``generate.soup``."""
    found: set[str] = set()
    for text in texts:
        found.update(re.findall(r"[A-Za-z][A-Za-z0-9]{1,14}", text))
    return sorted(found)


def fit(
    train: list[Example],
    *,
    c: float = 0.5,
    min_df: int = 2,
    balance: float = 1.0,
    prune: float = 0.02,
    unknown: bool = False,
) -> Model:
    """Logistic regression over window features.

    With ``unknown``, every feature seen in fewer than ``min_df`` windows is replaced by one
    of two features, "unknown token" and "unknown pair" (how much of a window is unlike
    anything in training: optimiser gibberish, odd encodings). A vocabulary feature is then
    pruned only when its weight is within ``prune`` of the unknown weight, so a run-time
    miss scores it (almost) as training did.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from sklearn.linear_model import LogisticRegression

    df: Counter[str] = Counter()
    for ex in train:
        df.update(ex.features.keys())
    vocab = {f: i for i, (f, n) in enumerate(sorted(df.items())) if n >= min_df}
    vocab = {f: i for i, f in enumerate(vocab)}
    unk1 = unk2 = -1
    if unknown:
        unk1, unk2 = len(vocab), len(vocab) + 1
        vocab = {**vocab, "#unknown": unk1, "#unknown pair": unk2}
    data: list[float] = []
    indices: list[int] = []
    indptr = [0]
    for ex in train:
        scale = 1.0 / norm(ex.length)
        missing = [0, 0]
        for f, n in ex.features.items():
            j = vocab.get(f)
            if j is not None:
                indices.append(j)
                data.append(n * scale)
            elif unknown:
                missing[" " in f] += n
        for j, n in ((unk1, missing[0]), (unk2, missing[1])):
            if n:
                indices.append(j)
                data.append(n * scale)
        indptr.append(len(indices))
    x = csr_matrix((data, indices, indptr), shape=(len(train), len(vocab)), dtype=np.float64)
    y = np.array([ex.label for ex in train])
    w = np.array([ex.weight for ex in train])
    positive, negative = w[y == 1].sum(), w[y == 0].sum()
    w = np.where(y == 1, w * balance * negative / positive, w)
    w = w * len(w) / w.sum()
    clf = LogisticRegression(C=c, max_iter=3000, solver="liblinear", random_state=0)
    clf.fit(x, y, sample_weight=w)
    names = list(vocab)
    coef = [round(float(v), 4) for v in clf.coef_[0]]
    unknowns = (coef[unk1], coef[unk2]) if unknown else (0.0, 0.0)
    # Drop weights within ``prune`` of what a miss would give (0, or the unknown weight):
    # a dropped feature then scores almost exactly as it did in training.
    weights = {
        name: value
        for name, value in zip(names, coef, strict=True)
        if not name.startswith("#unknown") and abs(value - unknowns[" " in name]) >= prune
    }
    return Model(
        weights=weights,
        bias=round(float(clf.intercept_[0]), 4),
        meta={},
        unknown_unigram=unknowns[0],
        unknown_bigram=unknowns[1],
        lexicon=lexicon(train),
    )


def lexicon(train: list[Example], min_df: int = 2) -> frozenset[str]:
    """Words of the benign windows (seen in ``min_df`` of them or more): the words that
    ``suffix.SuffixCheck`` knows. Attack windows never contribute, so optimiser soup stays
    unknown; in an evaluation fold the held-out source's benign words are unknown too."""
    df: Counter[str] = Counter()
    for ex in train:
        if ex.label == 0 and ex.lexical:
            df.update(f for f in ex.features if f.isalpha() and len(f) >= MIN_LEXICON_WORD)
    return frozenset(f for f, n in df.items() if n >= min_df)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--licensed-only", action="store_true",
                        help="leave out Tensor Trust rows and attacks derived from them")  # fmt: skip
    parser.add_argument("-C", type=float, default=0.2)
    parser.add_argument("--min-df", type=int, default=2)
    parser.add_argument("--unknown", action="store_true", help="unknown-token features")
    parser.add_argument("--generated", action=argparse.BooleanOptionalAction, default=True,
                        help="add generate.py's attack families and hard negatives")  # fmt: skip
    parser.add_argument("--multilingual", action="store_true",
                        help="add the English glosses of data/multilingual_*.jsonl (experiment)")  # fmt: skip
    parser.add_argument("--gloss-model", action="store_true",
                        help=f"train the model for glosses: --multilingual, into {GLOSS_MODEL_FILE}")  # fmt: skip
    args = parser.parse_args()
    if args.gloss_model:
        args.multilingual = True
        if args.output == OUTPUT:
            args.output = GLOSS_OUTPUT
    rows = load_rows(args.data, args.licensed_only)
    clean = corpus.clean_documents()
    train = examples(rows, clean, generated=args.generated, multilingual=args.multilingual)
    model = fit(train, c=args.C, min_df=args.min_df, unknown=args.unknown)
    digest = hashlib.sha256(args.data.read_bytes()).hexdigest()
    meta = {
        "data_sha256": digest,
        "rows": len(rows),
        "clean_documents": sum(d.split == "train" for d in clean),
        "windows": len(train),
        "features": len(model.weights),
        "lexicon": len(model.lexicon),
        "C": args.C,
        "min_df": args.min_df,
        "unknown": args.unknown,
        "generated": args.generated,
        "multilingual": args.multilingual,
        "licensed_only": args.licensed_only,
        "reads": "glosses" if args.gloss_model else "text",
    }
    model = Model(
        weights=model.weights,
        bias=model.bias,
        meta=meta,
        unknown_unigram=model.unknown_unigram,
        unknown_bigram=model.unknown_bigram,
        # The lexicon tells English words and unknown tokens apart in the text itself; the
        # detector takes it from the text model, so the gloss model ships without one.
        lexicon=frozenset() if args.gloss_model else model.lexicon,
    )
    import gzip

    args.output.parent.mkdir(parents=True, exist_ok=True)
    payload = json.dumps(model.to_dict(), sort_keys=True, separators=(",", ":")).encode()
    # No file name and no time in the gzip header: the same data gives the same bytes.
    with (
        open(args.output, "wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as handle,
    ):
        handle.write(payload)
    print(json.dumps(meta), file=sys.stderr)


if __name__ == "__main__":
    main()
