"""Name lists shipped inside the package, used to tell a person's name from other
capitalised words.

``data/names.txt.gz`` holds lower-cased given names (``F``) and surnames (``L``), one per
line. It is derived at development time (``python -m tutela.detectors.gazetteer OUT``,
which needs the ``faker`` and ``names`` packages) from:

- the US Census Bureau 1990 given-name lists and the 15,000 most common 1990 surnames
  (public domain; as packaged by PyPI ``names``), and
- the given names and surnames of Faker's Latin-script locales (MIT licence).

Nothing is downloaded at run time. Given names that are far more often ordinary English
words are removed (``COMMON_WORDS``); surnames are kept, since they only count after a
given name or in context.
"""

from __future__ import annotations

import gzip
import sys
from functools import lru_cache
from importlib import resources
from pathlib import Path

COMMON_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "april",
        "are",
        "art",
        "as",
        "at",
        "august",
        "autumn",
        "be",
        "bill",
        "bird",
        "black",
        "blue",
        "bond",
        "born",
        "brown",
        "bush",
        "but",
        "by",
        "can",
        "case",
        "cash",
        "chase",
        "christmas",
        "close",
        "cook",
        "crystal",
        "dale",
        "dawn",
        "day",
        "december",
        "do",
        "does",
        "down",
        "drew",
        "early",
        "east",
        "easter",
        "edge",
        "else",
        "english",
        "even",
        "faith",
        "fall",
        "february",
        "for",
        "ford",
        "fox",
        "free",
        "friday",
        "from",
        "frost",
        "gay",
        "general",
        "gold",
        "grace",
        "grant",
        "gray",
        "green",
        "guy",
        "hall",
        "hand",
        "happy",
        "hill",
        "holiday",
        "honey",
        "hope",
        "hunter",
        "if",
        "in",
        "is",
        "it",
        "ivy",
        "january",
        "joy",
        "july",
        "june",
        "just",
        "key",
        "king",
        "lake",
        "lane",
        "law",
        "lee",
        "little",
        "long",
        "love",
        "lucky",
        "major",
        "march",
        "mark",
        "may",
        "miles",
        "miller",
        "mint",
        "monday",
        "moon",
        "more",
        "new",
        "north",
        "not",
        "november",
        "october",
        "of",
        "on",
        "or",
        "page",
        "park",
        "pat",
        "patch",
        "penny",
        "pepper",
        "price",
        "prince",
        "queen",
        "rain",
        "ray",
        "read",
        "reed",
        "rich",
        "river",
        "rock",
        "rose",
        "royal",
        "ruby",
        "saturday",
        "say",
        "september",
        "sky",
        "snow",
        "so",
        "some",
        "spring",
        "star",
        "stone",
        "storm",
        "strong",
        "summer",
        "sunday",
        "sunny",
        "the",
        "this",
        "thursday",
        "to",
        "tuesday",
        "van",
        "victory",
        "wade",
        "walker",
        "ward",
        "way",
        "wednesday",
        "well",
        "west",
        "white",
        "will",
        "win",
        "winter",
        "with",
        "wood",
        "young",
        "apple",
        "amber",
        "angel",
        "april",
        "august",
        "autumn",
        "baker",
        "banks",
        "bell",
        "berry",
        "bishop",
        "blessing",
        "brook",
        "carter",
        "chance",
        "cherry",
        "clay",
        "cole",
        "crane",
        "cross",
        "dean",
        "diamond",
        "doctor",
        "dove",
        "duke",
        "eve",
        "fair",
        "field",
        "fields",
        "fish",
        "fisher",
        "flower",
        "forest",
        "fortune",
        "gates",
        "glass",
        "golden",
        "hale",
        "harbor",
        "heart",
        "heath",
        "holly",
        "house",
        "hughes",
        "jade",
        "jewel",
        "judge",
        "justice",
        "knight",
        "lamb",
        "lord",
        "lucky",
        "mason",
        "meadow",
        "mercy",
        "miracle",
        "mountain",
        "nash",
        "noble",
        "ocean",
        "oliver",
        "paris",
        "parker",
        "pearl",
        "pierce",
        "porter",
        "power",
        "ranger",
        "reign",
        "rivers",
        "robin",
        "sage",
        "sharp",
        "shepherd",
        "silver",
        "skip",
        "smith",
        "spark",
        "sterling",
        "stone",
        "story",
        "sweet",
        "taylor",
        "temple",
        "tiger",
        "trinity",
        "true",
        "tucker",
        "valentine",
        "vale",
        "wells",
        "winter",
        "wise",
        "wolf",
        "worth",
        "york",
        "yes",
        "no",
        "ok",
        "hello",
        "thanks",
        "please",
        "dear",
        "hi",
        "team",
        "support",
        "service",
        "customer",
        "user",
        "admin",
        "test",
        "data",
        "report",
        "order",
        "invoice",
        "account",
        "project",
        "meeting",
    ]
)


@lru_cache(maxsize=1)
def load() -> tuple[frozenset[str], frozenset[str]]:
    """(given names, surnames), lower-cased."""
    first: set[str] = set()
    last: set[str] = set()
    raw = resources.files("tutela.detectors").joinpath("data/names.txt.gz").read_bytes()
    for line in gzip.decompress(raw).decode("utf-8").splitlines():
        kind, _, name = line.partition(" ")
        (first if kind == "F" else last).add(name)
    return frozenset(first), frozenset(last)


def build(out: Path) -> tuple[int, int]:  # pragma: no cover - development tool
    """Write the shipped name list from the development-only source packages."""
    import importlib

    import names as census  # type: ignore[import-untyped,import-not-found,unused-ignore]

    census_dir = Path(census.__file__).parent

    def census_names(file: str, limit: int) -> list[str]:
        lines = (census_dir / file).read_text().splitlines()
        return [ln.split()[0].lower() for ln in lines[:limit] if ln.strip()]

    first = set(census_names("dist.male.first", 10_000) + census_names("dist.female.first", 10_000))
    last = set(census_names("dist.all.last", 15_000))
    faker_dir = Path(importlib.import_module("faker.providers.person").__file__).parent  # type: ignore[arg-type]
    for locale in sorted(
        p.name for p in faker_dir.iterdir() if p.is_dir() and not p.name.startswith("_")
    ):
        try:
            mod = importlib.import_module(f"faker.providers.person.{locale}")
        except ImportError:
            continue
        provider = mod.Provider
        for attr, target in (
            ("first_names", first),
            ("first_names_male", first),
            ("first_names_female", first),
            ("last_names", last),
        ):
            values = getattr(provider, attr, ())
            if not isinstance(values, (list, tuple, dict, set)):
                continue
            for name in values:
                if (
                    isinstance(name, str)
                    and name.replace("-", "").replace("'", "").isalpha()
                    and all(ord(c) < 0x250 for c in name)
                    and len(name) > 1
                ):
                    target.add(name.lower())
    first -= COMMON_WORDS  # surnames stay: after a given name, "Smith" is a name
    lines = [f"F {n}" for n in sorted(first)] + [f"L {n}" for n in sorted(last)]
    out.write_bytes(gzip.compress(("\n".join(lines) + "\n").encode("utf-8"), mtime=0))
    return len(first), len(last)


if __name__ == "__main__":  # pragma: no cover
    counts = build(Path(sys.argv[1]))
    sys.stdout.write(f"{counts[0]} given names, {counts[1]} surnames\n")
