"""The shipped injection classifier: a sparse logistic model over word n-grams.

The weights live in ``data/model.json.gz`` (written by ``train/injection/train.py``),
loaded once per process. Scoring is one lookup per feature, one prefix sum, one sigmoid;
the text's score is its most suspicious window's. The loop runs in C (``_speedups.c``, built
at install) on a table of the weights keyed by code points; where no compiler was at hand
it runs in Python, to the same bits. Nothing is downloaded at run time.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import json
import math
import operator
import secrets
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from tutela.injection.features import MAX_TOKEN, STRIDE, WINDOW, norm, tokens

try:
    from tutela.injection import _speedups
except ImportError:  # installed without a C compiler: the Python path, same results
    _speedups = None  # type: ignore[assignment]

__all__ = ["Model", "shipped_gloss_model", "shipped_model"]

MODEL_FILE = "model.json.gz"
GLOSS_MODEL_FILE = "gloss_model.json.gz"  # trained with glosses too: reads glosses only
_FULL_NORM = norm(WINDOW)


@dataclass(frozen=True, slots=True, kw_only=True)
class Model:
    """Weights per feature, a bias, and where the weights came from."""

    weights: dict[str, float]
    bias: float
    meta: dict[str, Any]
    unknown_unigram: float = 0.0  # weight of a token outside the vocabulary
    unknown_bigram: float = 0.0  # weight of a token pair outside the vocabulary
    # Words of the benign training text: what ``suffix.SuffixCheck`` calls known words.
    lexicon: frozenset[str] = frozenset()
    # The weights as the C scorer reads them; built once, so ``weights`` is read-only.
    table: _speedups.Table | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if _speedups is not None:
            object.__setattr__(self, "table", _speedups.Table(self.weights, secrets.randbits(64)))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Model:
        return cls(
            weights={k: float(v) for k, v in data["weights"].items()},
            bias=float(data["bias"]),
            meta=dict(data.get("meta", {})),
            unknown_unigram=float(data.get("unknown_unigram", 0.0)),
            unknown_bigram=float(data.get("unknown_bigram", 0.0)),
            lexicon=frozenset(data.get("lexicon", ())),
        )

    @classmethod
    def load(cls, path: str | Path) -> Model:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            return cls.from_dict(json.load(handle))

    def to_dict(self) -> dict[str, Any]:
        return {
            "bias": self.bias,
            "weights": self.weights,
            "meta": self.meta,
            "unknown_unigram": self.unknown_unigram,
            "unknown_bigram": self.unknown_bigram,
            "lexicon": sorted(self.lexicon),
        }

    def logit(self, text: str) -> float:
        """The highest window logit of ``text`` (the bias alone for an empty text)."""
        if self.table is None:
            return self.python_logit(text)
        count, best = self.table.best_sum(
            text.lower(), self.unknown_unigram, self.unknown_bigram, WINDOW, STRIDE, MAX_TOKEN
        )
        if not count:
            return self.bias
        return self.bias + best / (norm(count) if count <= WINDOW else _FULL_NORM)

    def python_logit(self, text: str) -> float:
        """``logit`` in Python: the reference the C loop is held to, bit for bit."""
        toks = tokens(text)
        if not toks:
            return self.bias
        # Per-token weight (its unigram plus the bigram ending at it), summed in C-level
        # maps; equals summing ``token_features`` one by one, which training uses.
        get = self.weights.get
        unigrams = map(get, toks, itertools.repeat(self.unknown_unigram))
        pairs = map(" ".join, zip(itertools.chain(("<s>",), toks), toks, strict=False))
        bigrams = map(get, pairs, itertools.repeat(self.unknown_bigram))
        prefix: list[float] = list(
            itertools.accumulate(map(operator.add, unigrams, bigrams), initial=0.0)
        )
        count = len(toks)
        if count <= WINDOW:  # one window: ``windows(count)``
            return self.bias + prefix[count] / norm(count)
        # The full windows of ``windows(count)`` share one divisor, so the best is found
        # on their sums, in C: windows start every STRIDE tokens, and one more ends the text.
        last = (count - WINDOW) // STRIDE * STRIDE
        best: float = max(
            map(
                operator.sub,
                prefix[WINDOW : last + WINDOW + 1 : STRIDE],
                prefix[0 : last + 1 : STRIDE],
            )
        )
        if last + WINDOW < count:
            best = max(best, prefix[count] - prefix[count - WINDOW])
        return self.bias + best / _FULL_NORM

    def score(self, text: str) -> float:
        """Probability-like score in [0, 1] that ``text`` carries an injection."""
        return _sigmoid(self.logit(text))


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


@functools.cache
def shipped_model() -> Model:
    """The model that ships in the package, loaded once per process."""
    data = resources.files("tutela.injection").joinpath("data").joinpath(MODEL_FILE)
    with resources.as_file(data) as path:
        return Model.load(path)


@functools.cache
def shipped_gloss_model() -> Model | None:
    """The model for English glosses of other languages, if one ships (else None)."""
    data = resources.files("tutela.injection").joinpath("data").joinpath(GLOSS_MODEL_FILE)
    if not data.is_file():
        return None
    with resources.as_file(data) as path:
        return Model.load(path)
