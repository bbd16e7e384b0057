"""The result type of every detector: a class and where it is, never the text."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class Span:
    """One finding in a string: ``text[start:end]`` is of class ``cls`` with ``score``.

    Offsets are Python ``str`` indices (code points), never UTF-8 byte offsets. A span
    never carries the matched text.
    """

    cls: str
    start: int
    end: int
    score: float

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.end:
            raise ValueError(f"bad span offsets {self.start}..{self.end}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"score must be in [0, 1], got {self.score}")

    @property
    def length(self) -> int:
        return self.end - self.start

    def as_dict(self) -> dict[str, object]:
        """The ``tutela scan`` JSON shape: ``{"class", "start", "end", "score"}``."""
        return {"class": self.cls, "start": self.start, "end": self.end, "score": self.score}
