#!/usr/bin/env python3
"""A held-out, labelled corpus for tutela's DLP detectors, independent of ``dlp_corpus``.

``dlp_corpus.py`` was written alongside the detectors: values sit after field labels
("Phone:", "Date of birth:") in templates the detectors were tuned on, and its figures are
upper bounds. This generator was written afterwards, from scratch, with other templates
and styles, to measure what the detectors do on text they were *not* tuned on:

- free prose and chat where identifiers appear mid-sentence, unlabelled or with varied
  phrasing ("you can reach me on …", "the card I used is actually …"), sometimes in
  lower case, in parentheses, quotes or angle brackets, after colons without a space,
  before trailing punctuation;
- e-mail threads (headers, quoted replies, signatures, hard-wrapped lines), markdown
  tables, JSON and YAML blobs, log lines, CSV with unusual headers and separators;
- credentials in ``.env`` files, shell history, Python/JS code, docker-compose, k8s YAML
  and curl commands;
- non-US locales (Faker de_DE, fr_FR, es_ES, it_IT, nl_NL, en_GB, pt_BR, en_IN, ja_JP),
  phone numbers from ``phonenumbers``' example numbers for 26 regions in national,
  international, E.164 and ``tel:`` forms, IBANs of 30 countries (formats read from
  ``python-stdnum``'s registry), cards of nine brands in their usual groupings;
- many hard negatives in the same styles: order/invoice/ticket numbers, UUIDs, git SHAs,
  sha256 digests, semantic versions, four-part versions and section numbers that look
  like IPv4 addresses, user-agent strings, timestamps and dates with no birth context,
  tracking numbers, ISBNs, part numbers, IMEIs and ICCIDs (Luhn-valid, not cards),
  phone-shaped case numbers, placeholder keys, capitalised product and place names.

Every identifier is generated here and checked with an independent implementation
(``python-stdnum``, ``phonenumbers``) rather than with tutela's validators.

Labelling decisions (the gold a perfect detector would produce):

- Classes are the ones the scanner emits; spans never overlap. Where two classes could
  claim the same text the more sensitive one is gold: a URL to an internal host is
  ``net.internal_host``, a URL carrying ``user:password@`` is ``secret.url_password`` (the
  password), ``postgres://user:pw@…`` is ``secret.db_connection``, a JWT after ``Bearer`` is
  ``secret.jwt``, a key of a known vendor assigned to ``API_KEY=`` is that vendor's class.
- Documented example and placeholder credentials are **negatives**: AWS's published
  ``AKIAIOSFODNN7EXAMPLE`` / ``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``, ``sk-xxxx…``,
  ``ghp_XXXX…``, ``<your-token>``, ``${VAR}``. They are in every tutorial and README;
  blocking a prompt that quotes the AWS documentation is a false positive, and no account
  is at risk.
- A card's last four digits alone ("card ending 4242") are not a card number: negative.
- A date is ``pii.date_of_birth`` only when the text says it is a birth date.
- Names in non-Latin scripts and in lower case are gold ``pii.person`` (they are personal
  data; the detector is known not to find them, and the figures should say so).
- Addresses are gold ``pii.location`` as the whole street address (street, number, and
  the postcode/city when written on the same line).
- Wrapping (e-mails, prose) breaks lines only between tokens outside gold spans.

    .venv/bin/python bench/dlp_holdout.py --records 3000 --seed 11 --out /tmp/holdout.jsonl
    .venv/bin/python bench/dlp_accuracy.py --corpus holdout            # the measurement
    from dlp_holdout import generate; records = generate(3000, seed=11)
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
import uuid
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import phonenumbers
from faker import Faker
from stdnum import iban as std_iban
from stdnum import luhn as std_luhn
from stdnum import numdb
from stdnum import verhoeff as std_verhoeff
from stdnum.br import cpf as std_cpf
from stdnum.ca import sin as std_sin
from stdnum.es import dni as std_dni
from stdnum.es import nie as std_nie
from stdnum.fr import nir as std_nir
from stdnum.in_ import aadhaar as std_aadhaar
from stdnum.it import codicefiscale as std_cf
from stdnum.nl import bsn as std_bsn
from stdnum.pl import pesel as std_pesel
from stdnum.se import personnummer as std_pnr
from stdnum.us import ssn as std_ssn

INTERNAL_DOMAINS = ("intra.northwind.net", "nw-corp")
"""Internal DNS zones the scanner is configured with for this corpus."""

# The documented example credentials are negatives (see the module docstring).
AWS_EXAMPLE_KEY_ID = "AKIAIOSFODNN7EXAMPLE"
AWS_EXAMPLE_SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR", "en_IN")

ALNUM = string.ascii_letters + string.digits
UPPER_ALNUM = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class V:
    """A value and its gold class (``None``: a hard negative)."""

    text: str
    cls: str | None = None


_FIELD = re.compile(r"\{([0-9])\}")


class Doc:
    """Text under construction and its gold spans."""

    def __init__(self) -> None:
        self.text = ""
        self.spans: list[dict[str, object]] = []

    def add(self, piece: str | V) -> Doc:
        if isinstance(piece, V):
            if piece.cls and piece.text:
                self.spans.append(
                    {
                        "class": piece.cls,
                        "start": len(self.text),
                        "end": len(self.text) + len(piece.text),
                    }
                )
            self.text += piece.text
        else:
            self.text += piece
        return self

    def fmt(self, template: str, *values: str | V) -> Doc:
        """``template`` with ``{0}``, ``{1}``… replaced by ``values`` (spans recorded);
        ``{{`` and ``}}`` stand for literal braces."""
        for k, piece in enumerate(_FIELD.split(template)):
            if k % 2:
                self.add(values[int(piece)])
            else:
                self.add(piece.replace("{{", "{").replace("}}", "}"))
        return self

    def wrap(self, rng: random.Random, width: int) -> None:
        """Hard-wrap at ``width`` by turning spaces outside gold spans into newlines."""
        protected = bytearray(len(self.text))
        for s in self.spans:
            for k in range(int(s["start"]), int(s["end"])):  # type: ignore[call-overload]
                protected[k] = 1
        chars = list(self.text)
        col, last_space = 0, -1
        for k, ch in enumerate(chars):
            if ch == "\n":
                col, last_space = 0, -1
                continue
            if ch == " " and not protected[k]:
                last_space = k
            col += 1
            if col > width and last_space >= 0:
                chars[last_space] = "\n"
                col = k - last_space
                last_space = -1
        self.text = "".join(chars)


# -- Identifiers, generated and checked with python-stdnum / phonenumbers ----------------


def _digits(rng: random.Random, k: int) -> str:
    return "".join(rng.choices(string.digits, k=k))


def _with_check(
    rng: random.Random,
    body: Callable[[], str],
    valid: Callable[[str], bool],
    alphabet: str | list[str] = string.digits,
) -> str:
    for _ in range(10_000):
        b = body()
        for c in alphabet:
            if valid(b + c):
                return b + c
    raise RuntimeError("no valid identifier generated")


def _group(s: str, sizes: list[int], sep: str) -> str:
    out, i = [], 0
    for n in sizes:
        out.append(s[i : i + n])
        i += n
    if i < len(s):
        out.append(s[i:])
    return sep.join(p for p in out if p)


CARD_BRANDS: dict[str, tuple[Callable[[random.Random], str], list[int]]] = {
    # brand: (prefix, lengths)
    "visa": (lambda r: "4", [16, 16, 16, 13, 19]),
    "mastercard": (lambda r: str(r.randint(51, 55)), [16]),
    "mastercard2": (lambda r: str(r.randint(2221, 2720)), [16]),
    "amex": (lambda r: r.choice(["34", "37"]), [15]),
    "discover": (lambda r: r.choice(["6011", str(r.randint(644, 649)), "65"]), [16]),
    "jcb": (lambda r: str(r.randint(3528, 3589)), [16]),
    "diners": (lambda r: r.choice(["36", str(r.randint(300, 305))]), [14]),
    "unionpay": (lambda r: "62" + str(r.randint(2126, 2925)), [16, 19]),
    "maestro": (lambda r: r.choice(["5018", "5020", "5038", "6304", "6759", "6761"]), [16, 19]),
}


def card_number(rng: random.Random, brand: str | None = None) -> str:
    brand = brand or rng.choice(sorted(CARD_BRANDS))
    prefix_of, lengths = CARD_BRANDS[brand]
    prefix = prefix_of(rng)
    length = rng.choice(lengths)
    num = _with_check(
        rng, lambda: prefix + _digits(rng, length - len(prefix) - 1), std_luhn.is_valid
    )
    if len(num) == 15:
        sizes = [4, 6, 5]
    elif len(num) == 14:
        sizes = [4, 6, 4]
    elif len(num) == 13:
        return num
    else:
        sizes = [4, 4, 4, 4, 3]
    style = rng.random()
    if style < 0.45:
        return _group(num, sizes, " ")
    if style < 0.7:
        return _group(num, sizes, "-")
    return num


IBAN_COUNTRIES = (
    "DE", "GB", "FR", "ES", "IT", "NL", "BE", "AT", "CH", "PL", "PT", "SE", "DK", "NO", "FI",
    "IE", "LU", "CZ", "HU", "RO", "GR", "SA", "AE", "TR", "BR", "IL", "MT", "HR", "SK", "LT",
)  # fmt: skip


def iban_number(rng: random.Random, country: str | None = None) -> str:
    country = country or rng.choice(IBAN_COUNTRIES)
    spec = dict(numdb.get("iban").info(country + "00")[0][1])["bban"]
    bban = ""
    for count, kind in re.findall(r"([0-9]+)!([nac])", spec):
        alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": UPPER_ALNUM}[kind]
        bban += "".join(rng.choices(alphabet, k=int(count)))
    check = 98 - int("".join(str(int(c, 36)) for c in bban + country + "00")) % 97
    value = f"{country}{check:02d}{bban}"
    std_iban.validate(value, check_country=False)
    if rng.random() < 0.55:
        return std_iban.format(value)  # groups of four, the printed form
    return value


PHONE_REGIONS = (
    "US", "CA", "GB", "DE", "FR", "ES", "IT", "NL", "BE", "CH", "AT", "SE", "NO", "DK",
    "PL", "IE", "PT", "BR", "MX", "AR", "IN", "JP", "AU", "NZ", "SG", "ZA",
)  # fmt: skip


def phone_number(rng: random.Random, region: str | None = None) -> str:
    region = region or rng.choice(PHONE_REGIONS)
    kind = rng.choice(
        [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
    )
    example = phonenumbers.example_number_for_type(region, kind)
    num = example
    national = str(example.national_number)
    for _ in range(50):
        keep = max(3, len(national) - 4)
        candidate = national[:keep] + _digits(rng, len(national) - keep)
        parsed = phonenumbers.parse("+" + str(example.country_code) + candidate, None)
        if phonenumbers.is_valid_number(parsed):
            num = parsed
            break
    style = rng.random()
    if style < 0.35:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    if style < 0.5:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    if style < 0.85:
        return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
    if style < 0.93 and region in ("GB", "DE", "CH", "AT", "NL", "BE", "IE"):
        # "+44 (0)20 7946 0958": the trunk prefix in brackets, common in European signatures
        intl = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
        cc, rest = intl.split(" ", 1)
        return f"{cc} (0){rest}"
    if region in ("US", "CA"):
        n = str(num.national_number)
        return rng.choice(
            [
                f"{n[:3]}.{n[3:6]}.{n[6:]}",
                f"1-{n[:3]}-{n[3:6]}-{n[6:]}",
                f"({n[:3]}){n[3:6]}-{n[6:]}",
            ]
        )
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.RFC3966).removeprefix(
        "tel:"
    )


def ssn_number(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if std_ssn.is_valid(value) and area != 666:
            return value if rng.random() < 0.85 else value.replace("-", " ")


def national_id(rng: random.Random, kind: str) -> str:
    if kind == "gb_nino":
        first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        while first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
            second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
        d = _digits(rng, 6)
        s = rng.choice("ABCD")
        return rng.choice(
            [f"{first}{second}{d}{s}", f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {s}"]
        )
    if kind == "es_dni":
        if rng.random() < 0.7:
            return _with_check(
                rng, lambda: _digits(rng, 8), std_dni.is_valid, string.ascii_uppercase
            )
        return _with_check(
            rng,
            lambda: rng.choice("XYZ") + _digits(rng, 7),
            std_nie.is_valid,
            string.ascii_uppercase,
        )
    if kind == "br_cpf":
        v = _with_check(
            rng, lambda: _digits(rng, 9), std_cpf.is_valid, [f"{k:02d}" for k in range(100)]
        )
        return std_cpf.format(v) if rng.random() < 0.8 else v
    if kind == "it_cf":

        def body() -> str:
            letters = "".join(rng.choices(string.ascii_uppercase, k=6))
            day = rng.randint(1, 28) + rng.choice([0, 40])
            return f"{letters}{rng.randint(40, 99)}{rng.choice('ABCDEHLMPRST')}{day:02d}{rng.choice('ABCDEFGHILM')}{rng.randint(100, 999)}"

        return _with_check(rng, body, std_cf.is_valid, string.ascii_uppercase)
    if kind == "fr_nir":

        def nir_body() -> str:
            return f"{rng.choice('12')}{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 95):02d}{_digits(rng, 3)}{_digits(rng, 3)}"

        b = nir_body()
        key = 97 - int(b) % 97
        v = f"{b}{key:02d}"
        assert std_nir.is_valid(v)
        return (
            f"{v[0]} {v[1:3]} {v[3:5]} {v[5:7]} {v[7:10]} {v[10:13]} {v[13:]}"
            if rng.random() < 0.5
            else v
        )
    if kind == "nl_bsn":
        return _with_check(rng, lambda: _digits(rng, 8), std_bsn.is_valid)
    if kind == "in_aadhaar":
        v = _with_check(
            rng, lambda: str(rng.randint(2, 9)) + _digits(rng, 10), std_aadhaar.is_valid
        )
        assert std_verhoeff.is_valid(v)
        return f"{v[:4]} {v[4:8]} {v[8:]}" if rng.random() < 0.7 else v
    if kind == "pl_pesel":
        return _with_check(
            rng,
            lambda: (
                f"{rng.randint(50, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{_digits(rng, 4)}"
            ),
            std_pesel.is_valid,
        )
    if kind == "se_pnr":
        v = _with_check(
            rng,
            lambda: (
                f"{rng.randint(40, 99)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}-{_digits(rng, 3)}"
            ),
            std_pnr.is_valid,
        )
        return v
    if kind == "ca_sin":
        v = _with_check(
            rng,
            lambda: str(rng.choice([1, 2, 3, 4, 5, 6, 7, 9])) + _digits(rng, 7),
            std_sin.is_valid,
        )
        return f"{v[:3]} {v[3:6]} {v[6:]}" if rng.random() < 0.6 else v
    raise ValueError(kind)


def aba_number(rng: random.Random) -> str:
    prefix = rng.choice([*range(1, 13), *range(21, 33)])
    return _with_check(
        rng,
        lambda: f"{prefix:02d}" + _digits(rng, 6),
        lambda s: sum(int(d) * w for d, w in zip(s, (3, 7, 1) * 3, strict=True)) % 10 == 0,
    )


def npi_number(rng: random.Random) -> str:
    return _with_check(
        rng, lambda: rng.choice("12") + _digits(rng, 8), lambda s: std_luhn.is_valid("80840" + s)
    )


def mbi_number(rng: random.Random) -> str:
    letters = "ACDEFGHJKMNPQRTUVWXY"
    an = letters + string.digits
    v = (
        str(rng.randint(1, 9)) + rng.choice(letters) + rng.choice(an) + rng.choice(string.digits)
        + rng.choice(letters) + rng.choice(an) + rng.choice(string.digits)
        + rng.choice(letters) + rng.choice(letters) + _digits(rng, 2)
    )  # fmt: skip
    return f"{v[:4]}-{v[4:7]}-{v[7:]}" if rng.random() < 0.5 else v


ICD10 = (
    "E11.9", "E11.65", "I10", "I25.10", "J44.1", "J45.40", "F41.1", "F33.1", "M17.11",
    "K58.0", "N18.3", "G43.909", "C50.911", "E78.5", "R51.9", "Z86.73", "O24.419", "L40.0",
)  # fmt: skip


def _b62(n: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = (string.digits + string.ascii_uppercase + string.ascii_lowercase)[r] + out
    return out.rjust(6, "0")


def github_classic(rng: random.Random) -> str:
    body = "".join(rng.choices(ALNUM, k=30))
    return (
        f"{rng.choice(['ghp', 'gho', 'ghu', 'ghs', 'ghr'])}_{body}{_b62(zlib.crc32(body.encode()))}"
    )


def _b64url(obj: dict[str, object]) -> str:
    return (
        base64.urlsafe_b64encode(json.dumps(obj, separators=(",", ":")).encode())
        .rstrip(b"=")
        .decode()
    )


def jwt_token(rng: random.Random, f: Faker) -> str:
    head = _b64url(
        {"alg": rng.choice(["RS256", "ES256", "HS512"]), "kid": f.uuid4()[:8], "typ": "JWT"}
    )
    body = _b64url(
        {"sub": f.user_name(), "email": f.email(), "exp": rng.randint(1_700_000_000, 1_900_000_000)}
    )
    sig = "".join(rng.choices(ALNUM + "-_", k=rng.choice([43, 86, 342])))
    return f"{head}.{body}.{sig}"


def pem_block(rng: random.Random) -> str:
    label = rng.choice(
        [
            "RSA PRIVATE KEY",
            "PRIVATE KEY",
            "EC PRIVATE KEY",
            "OPENSSH PRIVATE KEY",
            "ENCRYPTED PRIVATE KEY",
        ]
    )
    lines = ["".join(rng.choices(ALNUM + "+/", k=64)) for _ in range(rng.randint(4, 12))]
    lines.append("".join(rng.choices(ALNUM + "+/", k=rng.randint(8, 60))) + "==")
    return f"-----BEGIN {label}-----\n" + "\n".join(lines) + f"\n-----END {label}-----"


def secret(rng: random.Random, kind: str, f: Faker) -> str:
    r = rng
    if kind == "aws_access_key":
        return r.choice(["AKIA", "ASIA"]) + "".join(
            r.choices(string.ascii_uppercase + "234567", k=16)
        )
    if kind == "aws_secret_key":
        return "".join(r.choices(ALNUM + "/+", k=40))
    if kind == "github_token":
        if r.random() < 0.75:
            return github_classic(r)
        return (
            "github_pat_" + "".join(r.choices(ALNUM, k=22)) + "_" + "".join(r.choices(ALNUM, k=59))
        )
    if kind == "gitlab_token":
        return "glpat-" + "".join(r.choices(ALNUM + "_-", k=20))
    if kind == "slack_token":
        return (
            f"xox{r.choice('bpa')}-{r.randint(10**10, 10**12)}-{r.randint(10**12, 10**13)}-"
            + "".join(r.choices(ALNUM, k=24))
        )
    if kind == "slack_webhook":
        return (
            "https://hooks.slack.com/services/T"
            + "".join(r.choices(UPPER_ALNUM, k=8))
            + "/B"
            + "".join(r.choices(UPPER_ALNUM, k=10))
            + "/"
            + "".join(r.choices(ALNUM, k=24))
        )
    if kind == "stripe_key":
        return r.choice(["sk_live_", "rk_live_", "sk_test_"]) + "".join(
            r.choices(ALNUM, k=r.choice([24, 99]))
        )
    if kind == "sendgrid_key":
        return (
            "SG."
            + "".join(r.choices(ALNUM + "_-", k=22))
            + "."
            + "".join(r.choices(ALNUM + "_-", k=43))
        )
    if kind == "twilio_key":
        return "SK" + "".join(r.choices("0123456789abcdef", k=32))
    if kind == "anthropic_key":
        return "sk-ant-api03-" + "".join(r.choices(ALNUM + "_-", k=93)) + "AA"
    if kind == "openai_key":
        return (
            "sk-proj-"
            + "".join(r.choices(ALNUM + "_-", k=74))
            + "T3BlbkFJ"
            + "".join(r.choices(ALNUM + "_-", k=74))
        )
    if kind == "gcp_api_key":
        return "AIza" + "".join(r.choices(ALNUM + "_-", k=35))
    if kind == "azure_client_secret":
        return (
            "".join(r.choices(ALNUM, k=3))
            + str(r.randint(0, 9))
            + "Q~"
            + "".join(r.choices(ALNUM + "_.~-", k=34))
        )
    if kind == "azure_storage_key":
        return "".join(r.choices(ALNUM + "+/", k=86)) + "=="
    if kind == "tutela_key":
        return (
            "tutela_sk_"
            + "".join(r.choices("0123456789abcdef", k=16))
            + "_"
            + "".join(r.choices(ALNUM + "_-", k=43))
        )
    if kind == "jwt":
        return jwt_token(r, f)
    if kind == "private_key":
        return pem_block(r)
    if kind == "generic":
        return "".join(r.choices(ALNUM, k=r.choice([24, 32, 40, 48])))
    if kind == "password":
        pw = f.password(length=r.randint(10, 18), special_chars=True)
        return "".join(c for c in pw if c not in "\"'`$\\,;<> ") or "Tr0ub4dor&3x"
    raise ValueError(kind)


# -- The generator ------------------------------------------------------------------------


MONTHS = {
    "en": "January February March April May June July August September October November December",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
}

PRODUCTS_AND_PLACES = (
    "Visual Studio Code", "Google Sheets", "Microsoft Teams", "Power BI", "Apple Pay",
    "Amazon Redshift", "Adobe Acrobat", "Grafana Cloud", "Jenkins Pipeline", "Kafka Connect",
    "San Francisco", "Santa Clara", "Buenos Aires", "Frankfurt Airport", "Victoria Station",
    "Madison Square Garden", "Lincoln Center", "Virginia Beach", "Georgia Tech",
    "Austin Convention Center", "Jordan Valley", "Chelsea Market", "Jackson Hole",
    "Florence Cathedral", "Sydney Opera House", "Mercedes Benz", "Ford Transit",
    "Harvey Nichols", "Morgan Stanley", "Goldman Sachs", "Ernst Young",
    "Quarterly Planning", "Release Train", "Security Review", "Open House",
)  # fmt: skip


class Holdout:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed * 7919 + 3)
        self.f = {loc: Faker(loc) for loc in (*LOCALES, "ja_JP")}
        for i, fk in enumerate(self.f.values()):
            fk.seed_instance(seed * 1000 + 17 * i)

    # -- values ------------------------------------------------------------------------

    def fk(self, locale: str | None = None) -> Faker:
        return self.f[locale or self.rng.choice(LOCALES)]

    def person(self, locale: str | None = None, lower_ok: bool = False) -> V:
        r = self.rng
        loc = locale or r.choice(LOCALES)
        if loc == "ja_JP":
            fk = self.f["ja_JP"]
            name = (
                f"{fk.last_name()} {fk.first_name()}"
                if r.random() < 0.5
                else f"{fk.first_romanized_name()} {fk.last_romanized_name()}"
            )
        else:
            fk = self.f[loc]
            name = f"{fk.first_name()} {fk.last_name()}"
            if r.random() < 0.1:
                name = f"{fk.first_name()} {fk.first_name()[0]}. {fk.last_name()}"
        if lower_ok and r.random() < 0.15:
            name = name.lower()
        return V(name, "pii.person")

    def first_name(self, name: V) -> str:
        return name.text.split()[0]

    def email(self, name: V | None = None) -> V:
        r = self.rng
        fk = self.fk("en_US")
        if name is not None and r.random() < 0.7:
            parts = [
                p for p in name.text.lower().replace("'", "").split() if p.isascii() and p.isalpha()
            ]
            if len(parts) >= 2:
                local = r.choice(
                    [
                        f"{parts[0]}.{parts[-1]}",
                        f"{parts[0][0]}{parts[-1]}",
                        f"{parts[0]}_{parts[-1]}",
                        f"{parts[-1]}.{parts[0]}+billing",
                    ]
                )
                domain = r.choice(
                    [
                        fk.free_email_domain(),
                        fk.domain_name(),
                        "mail." + fk.domain_name(),
                        self.fk().free_email_domain(),
                    ]
                )
                return V(local + "@" + domain, "pii.email")
        value = r.choice([fk.ascii_free_email, fk.ascii_company_email, fk.ascii_safe_email])()
        if r.random() < 0.1:
            value = value.upper() if r.random() < 0.3 else value[0].upper() + value[1:]
        return V(value, "pii.email")

    def phone(self, region: str | None = None) -> V:
        return V(phone_number(self.rng, region), "pii.phone")

    def address(self, locale: str | None = None) -> V:
        r = self.rng
        loc = locale or r.choice(
            ["en_US", "en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL", "pt_BR"]
        )
        fk = self.f[loc]
        n = r.randint(1, 240)
        if loc == "en_US":
            suffix = r.choice(
                ["St", "Street", "Ave", "Avenue", "Rd", "Blvd", "Dr", "Lane", "Way", "Court", "Pl"]
            )
            unit = r.choice(
                [
                    "",
                    "",
                    f", Apt {r.randint(1, 40)}{r.choice('ABC')}",
                    f" Suite {r.randint(100, 900)}",
                    f" #{r.randint(2, 30)}",
                ]
            )
            v = f"{r.randint(10, 9999)} {r.choice(['', 'N ', 'W ', 'S. '])}{fk.last_name()} {suffix}{unit}, {fk.city()}, {fk.state_abbr()} {fk.postcode()}"
        elif loc == "en_GB":
            v = f"{r.choice(['', f'Flat {r.randint(1, 20)}, '])}{n} {fk.last_name()} {r.choice(['Road', 'Street', 'Lane', 'Close', 'Gardens', 'Crescent', 'Mews', 'Terrace'])}, {fk.city()} {fk.postcode()}"
        elif loc == "de_DE":
            street = fk.street_name()
            v = f"{street} {n}{r.choice(['', 'a', 'b'])}, {fk.postcode()} {fk.city()}"
        elif loc == "fr_FR":
            v = f"{n}{r.choice(['', ' bis'])}, {r.choice(['rue', 'avenue', 'boulevard', 'place', 'allée'])} {r.choice(['de la ', 'du ', 'des ', ''])}{fk.last_name()}, {fk.postcode()} {fk.city()}"
        elif loc == "es_ES":
            v = f"{r.choice(['Calle', 'Avenida', 'Paseo', 'Plaza', 'C/'])} {r.choice(['de ', 'del ', ''])}{fk.last_name()}, {n}{r.choice(['', ', 3º B', ', 2º izq.'])}, {fk.postcode()} {fk.city()}"
        elif loc == "it_IT":
            v = f"{r.choice(['Via', 'Viale', 'Piazza', 'Corso'])} {fk.last_name()} {n}, {fk.postcode()} {fk.city()}"
        elif loc == "nl_NL":
            v = f"{fk.last_name().split()[-1]}{r.choice(['straat', 'laan', 'weg', 'gracht', 'plein'])} {n}{r.choice(['', '-2', 'A'])}, {fk.postcode()} {fk.city()}"
        else:  # pt_BR
            v = f"{r.choice(['Rua', 'Avenida', 'Av.', 'Travessa'])} {fk.last_name()}, {n}{r.choice(['', ' - apto 32', ' - casa 2'])}, {fk.city()} - {fk.state_abbr()}, {fk.postcode()}"
        return V(v, "pii.location")

    def birth_date(self, lang: str = "en") -> V:
        r = self.rng
        y, m, d = r.randint(1938, 2006), r.randint(1, 12), r.randint(1, 28)
        months = MONTHS.get(lang, MONTHS["en"]).split()
        if lang == "en":
            forms = [
                f"{m}/{d}/{y}",
                f"{m:02d}/{d:02d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{months[m - 1]} {d}, {y}",
                f"{d} {months[m - 1]} {y}",
                f"{months[m - 1][:3]} {d} {y}",
                f"{d}-{months[m - 1][:3]}-{y}",
            ]
        else:
            forms = [
                f"{d:02d}.{m:02d}.{y}",
                f"{d:02d}/{m:02d}/{y}",
                f"{d}. {months[m - 1]} {y}" if lang == "de" else f"{d} {months[m - 1]} {y}",
                f"{y}-{m:02d}-{d:02d}",
            ]
        return V(r.choice(forms), "pii.date_of_birth")

    def plain_date(self) -> str:
        r = self.rng
        y, m, d = r.randint(1985, 2025), r.randint(1, 12), r.randint(1, 28)
        return r.choice(
            [
                f"{m}/{d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{d:02d}.{m:02d}.{y}",
                f"{MONTHS['en'].split()[m - 1]} {d}, {y}",
                f"{d} {MONTHS['en'].split()[m - 1][:3]} {y}",
            ]
        )

    def internal_ip(self) -> V:
        r = self.rng
        return V(r.choice([
            f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
            f"fd{r.randint(0, 255):02x}:{r.randint(1, 65535):x}:{r.randint(1, 65535):x}:{r.randint(0, 65535):x}::{r.randint(1, 4095):x}",
        ]), "net.internal_ip")  # fmt: skip

    def public_ip(self) -> V:
        r = self.rng
        if r.random() < 0.15:
            return V(
                f"2a0{r.randint(0, 9)}:{r.randint(0x1000, 0xFFFF):x}:{r.randint(0, 0xFFFF):x}:{r.randint(1, 0xFFFF):x}::{r.randint(1, 0xFFF):x}",
                "net.ip_address",
            )
        return V(
            f"{r.choice([3, 13, 18, 35, 45, 51, 62, 77, 89, 91, 145, 157, 178, 195, 212])}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
            "net.ip_address",
        )

    def internal_host(self) -> V:
        r = self.rng
        svc = r.choice(
            [
                "pg-primary",
                "redis-01",
                "ldap",
                "jira",
                "grafana",
                "build-agent-7",
                "vault",
                "kafka-2",
                "api-gw",
            ]
        )
        zone = r.choice([*INTERNAL_DOMAINS, "internal", "corp", "lan", "svc.cluster.local"])
        return V(f"{svc}.{r.choice(['', 'eu-west.', 'prod.'])}{zone}", "net.internal_host")

    def url(self) -> V:
        r = self.rng
        fk = self.fk("en_US")
        path = "/".join(fk.word() for _ in range(r.randint(1, 3)))
        q = r.choice(
            [
                "",
                f"?id={r.randint(1, 99999)}",
                f"?utm_source=newsletter&ref={fk.word()}",
                "#section-2",
            ]
        )
        return V(
            f"https://{r.choice(['www.', 'docs.', 'app.', ''])}{fk.domain_name()}/{path}{q}",
            "net.url",
        )

    def url_pw(self) -> str:
        """A password as written inside a URL (unreserved characters only)."""
        return "".join(self.rng.choices(ALNUM + "-_.~", k=self.rng.randint(12, 28)))

    def sec(self, kind: str) -> V:
        return V(secret(self.rng, kind, self.fk("en_US")), "secret." + kind)

    # -- hard negatives ------------------------------------------------------------------

    def negative(self) -> str:
        r = self.rng
        fk = self.fk("en_US")
        v1 = f"{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 40)}"
        choices: list[Callable[[], str]] = [
            lambda: (
                f"order {r.choice(['#', 'no. ', ''])}{r.randint(10**7, 10**10)} was refunded on {self.plain_date()}"
            ),
            lambda: f"invoice INV-{r.randint(2019, 2026)}-{r.randint(1, 99999):05d} is overdue",
            lambda: f"ticket {r.choice(['SUP', 'OPS', 'SEC'])}-{r.randint(100, 99999)} reopened",
            lambda: (
                f"case number {r.randint(100, 999)}-{r.randint(100, 999)}-{r.randint(1000, 9999)}"
            ),
            lambda: f"request_id={uuid.UUID(int=r.getrandbits(128), version=4)}",
            lambda: (
                f"fixed in commit {''.join(r.choices('0123456789abcdef', k=r.choice([7, 12, 40])))}"
            ),
            lambda: f"sha256:{''.join(r.choices('0123456789abcdef', k=64))}",
            lambda: f"bumped to v{v1} (was {v1}-rc.{r.randint(1, 5)})",
            lambda: (
                f"{r.choice(['upgraded the agent to', 'firmware', 'driver version', 'agent release'])} {r.randint(1, 12)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 250)} is rolling out"
            ),
            lambda: (
                f"see section {r.randint(1, 9)}.{r.randint(1, 9)}.{r.randint(1, 9)}.{r.randint(1, 9)} of the contract"
            ),
            lambda: (
                f"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{r.randint(100, 131)}.0.0.0 Safari/537.36"
            ),
            lambda: (
                f"deployed at {r.randint(2020, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}Z"
            ),
            lambda: f"the lease started on {self.plain_date()} and ends on {self.plain_date()}",
            lambda: f"UPS 1Z{''.join(r.choices(UPPER_ALNUM, k=16))}",
            lambda: (
                f"USPS tracking {r.choice(['9400', '9205', '9361'])} {_digits(r, 4)} {_digits(r, 4)} {_digits(r, 4)} {_digits(r, 4)} {_digits(r, 2)}"
            ),
            lambda: f"FedEx {_digits(r, 12)}",
            lambda: (
                f"ISBN 978-{r.randint(0, 1)}-{r.randint(100, 999)}-{r.randint(10000, 99999)}-{r.randint(0, 9)}"
            ),
            lambda: (
                f"part no. {r.choice(['PN', 'X', 'ASSY-'])}{r.randint(1000, 99999)}-{r.randint(10, 999)}"
            ),
            lambda: (
                f"IMEI {_with_check(r, lambda: r.choice(['35', '86', '49']) + _digits(r, 12), std_luhn.is_valid)}"
            ),
            lambda: (
                f"SIM ICCID {_with_check(r, lambda: '8944' + _digits(r, 14), std_luhn.is_valid)}"
            ),
            lambda: f"card ending in {_digits(r, 4)}",
            lambda: (
                f"the total was {r.choice(['$', '€', '£'])}{r.randint(1, 99999):,}.{r.randint(0, 99):02d}"
            ),
            lambda: (
                f"{r.choice(PRODUCTS_AND_PLACES)} {r.choice(['is down again', 'looks great', 'was mentioned twice', 'needs a licence'])}"
            ),
            lambda: f"meeting moved to {r.choice(PRODUCTS_AND_PLACES)}",
            lambda: f"build #{r.randint(1000, 99999)} took {r.randint(1, 59)}m{r.randint(0, 59)}s",
            lambda: f"PID {r.randint(1000, 4_000_000)} exited with code {r.randint(1, 255)}",
            lambda: f"listening on 0.0.0.0:{r.randint(1024, 65535)}",
            lambda: f"localhost:{r.randint(3000, 9999)}/health returned 200",
            lambda: f'api_key = os.getenv("{fk.word().upper()}_API_KEY")',
            lambda: f"export OPENAI_API_KEY=sk-{'x' * r.choice([4, 20, 48])}",
            lambda: (
                f'token: "<{r.choice(["your-token-here", "YOUR_GITHUB_TOKEN", "paste token"])}>"'
            ),
            lambda: f"aws_access_key_id = {AWS_EXAMPLE_KEY_ID}",
            lambda: f"aws_secret_access_key = {AWS_EXAMPLE_SECRET}",
            lambda: f"GITHUB_TOKEN=ghp_{'X' * 36}",
            lambda: f"ANTHROPIC_API_KEY=sk-ant-api03-{'x' * 24}",
            lambda: (
                f"password: {r.choice(['changeme', '********', '${DB_PASSWORD}', '<password>', 'your_password'])}"
            ),
            lambda: f"pk_live_{''.join(r.choices(ALNUM, k=24))} is the publishable key",
            lambda: (
                f"color #{''.join(r.choices('0123456789abcdef', k=6))} and size {r.randint(8, 72)}px"
            ),
            lambda: f"lat {r.uniform(-80, 80):.6f}, lon {r.uniform(-170, 170):.6f}",
            lambda: (
                f"room {r.choice('ABC')}{r.randint(100, 499)}, extension {r.randint(1000, 9999)}"
            ),
            lambda: f"batch {r.randint(10**9, 10**10 - 1)} processed {r.randint(1, 10**6)} rows",
        ]
        return r.choice(choices)()

    # -- records ---------------------------------------------------------------------------

    def record(self, i: int) -> dict[str, object]:
        r = self.rng
        kinds = [
            (self.chat, 14), (self.email_thread, 10), (self.markdown_table, 5), (self.json_blob, 6),
            (self.yaml_profile, 4), (self.log_lines, 6), (self.csv_odd, 5), (self.env_file, 5),
            (self.shell_history, 4), (self.code_snippet, 5), (self.compose_k8s, 4), (self.curl, 4),
            (self.clinical_prose, 5), (self.id_prose, 6), (self.payment_prose, 6), (self.locale_prose, 7),
            (self.negatives_only, 14),
        ]  # fmt: skip
        fn = r.choices([k for k, _ in kinds], weights=[w for _, w in kinds])[0]
        doc = fn()
        return {"id": f"h{i:06d}", "kind": fn.__name__, "text": doc.text, "spans": doc.spans}

    def chat(self) -> Doc:
        r = self.rng
        d = Doc()
        name = self.person(lower_ok=True)
        lines = [
            lambda: d.fmt(
                "hey, it's {0} here. you can reach me on {1} after 6pm", name, self.phone()
            ),
            lambda: d.fmt("my number changed, new one is {0}!", self.phone()),
            lambda: d.fmt("pls send the contract to {0} (cc {1})", self.email(name), self.email()),
            lambda: d.fmt(
                "my card ending {0} is actually {1}, the other one expired",
                V(_digits(r, 4)),
                V(card_number(r), "fin.credit_card"),
            ),
            lambda: d.fmt(
                "just tried paying with {0} and it got declined??",
                V(card_number(r), "fin.credit_card"),
            ),
            lambda: d.fmt("I'm at {0} if you want to drop it off", self.address()),
            lambda: d.fmt("talked to {0} yesterday, they'll call back", self.person(lower_ok=True)),
            lambda: d.fmt("can you ask {0} whether {1} still works?", self.person(), self.email()),
            lambda: d.fmt("btw my birthday is {0} so the form should say that", self.birth_date()),
            lambda: d.fmt("the VPN box is {0}, ssh in as admin", self.internal_ip()),
            lambda: d.fmt("fyi the server at {0} keeps timing out", self.public_ip()),
            lambda: d.fmt(
                "here's my key so you can test: {0}",
                self.sec(r.choice(["anthropic_key", "openai_key", "stripe_key", "github_token"])),
            ),
            lambda: d.fmt("docs are at {0}.", self.url()),
            lambda: d.fmt("{0}", V(self.negative())),
            lambda: d.fmt("oh and {0} lol", V(self.negative())),
        ]
        for fn in r.sample(lines, r.randint(2, 5)):
            d.add(r.choice(["", "> ", "- ", "[10:4" + str(r.randint(0, 9)) + "] "]))
            fn()
            d.add(r.choice(["\n", " ", "\n\n"]))
        if r.random() < 0.3:
            d.wrap(r, 60)
        return d

    def email_thread(self) -> Doc:
        r = self.rng
        loc = r.choice(LOCALES)
        sender, rcpt = self.person(loc), self.person()
        d = Doc()
        d.fmt(
            "From: {0} <{1}>\nTo: {2}\nSubject: Re: {3}\n\n",
            sender,
            self.email(sender),
            self.email(rcpt),
            V(r.choice(["invoice", "onboarding", "your account", "Q3 numbers", "travel"])),
        )
        d.fmt("Hi {0},\n\n", V(self.first_name(rcpt), "pii.person"))  # a lone given name is a name
        body = [
            lambda: d.fmt(
                "Thanks for getting back to me. As discussed, please use the account below for the refund: {0} (the bank is in {1}). ",
                V(iban_number(r), "fin.iban"),
                V(r.choice(PRODUCTS_AND_PLACES)),
            ),
            lambda: d.fmt(
                "If anything is unclear just give me a ring on {0} or on my mobile {1}. ",
                self.phone(),
                self.phone(),
            ),
            lambda: d.fmt("The courier should deliver to {0} on Thursday. ", self.address()),
            lambda: d.fmt(
                "I've attached the scan; my date of birth there reads {0}. ", self.birth_date()
            ),
            lambda: d.fmt("Our reference for this is {0}. ", V(self.negative())),
            lambda: d.fmt("I also cc'd {0} from finance, who will confirm. ", self.person()),
            lambda: d.fmt(
                "The dashboard link is {0} but it only works on the VPN. ", self.internal_host()
            ),
        ]
        for fn in r.sample(body, r.randint(2, 4)):
            fn()
        d.add("\n\n")
        if r.random() < 0.6:
            d.fmt(
                "> On {0}, {1} wrote:\n> Could you send me the details again?\n> {2}\n",
                V(self.plain_date()),
                rcpt,
                V(self.negative()),
            )
        d.fmt(
            "\n{0},\n{1}\n",
            V(
                r.choice(
                    [
                        "Best regards",
                        "Kind regards",
                        "Cheers",
                        "Mit freundlichen Grüßen",
                        "Cordialement",
                        "Saludos",
                    ]
                )
            ),
            sender,
        )
        d.fmt("{0} | {1}\n", V(self.fk(loc).job()[:40]), V(self.fk(loc).company()))
        d.fmt(
            "{0}: {1}\n",
            V(r.choice(["T", "Tel", "Mob", "M", "Phone", "Tél.", "Tlf"])),
            self.phone(),
        )
        if r.random() < 0.5:
            d.wrap(r, 72)
        return d

    def markdown_table(self) -> Doc:
        r = self.rng
        d = Doc()
        cols = r.choice([
            ("Who", "Reach", "Card"), ("Attendee", "Contact", "Dietary"), ("Name", "Mail", "IBAN"),
            ("Owner", "Host", "Last seen"),
        ])  # fmt: skip
        d.add("| " + " | ".join(cols) + " |\n|" + "---|" * len(cols) + "\n")
        for _ in range(r.randint(2, 5)):
            p = self.person()
            if cols[2] == "Card":
                row: list[str | V] = [p, self.phone(), V(card_number(r), "fin.credit_card")]
            elif cols[2] == "Dietary":
                row = [
                    p,
                    r.choice([self.email(p), self.phone()]),
                    V(r.choice(["vegan", "none", "gluten-free", "halal"])),
                ]
            elif cols[2] == "IBAN":
                row = [p, self.email(p), V(iban_number(r), "fin.iban")]
            else:
                row = [
                    p,
                    r.choice([self.internal_host(), self.internal_ip()]),
                    V(f"{r.randint(1, 59)} min ago"),
                ]
            d.add("| ")
            for k, cell in enumerate(row):
                d.add(cell)
                d.add(" | " if k < len(row) - 1 else " |\n")
        return d

    def json_blob(self) -> Doc:
        r = self.rng
        d = Doc()
        p = self.person()
        sep = r.choice([":", ": "])
        fields: list[tuple[str, str | V]] = [
            ("customerName", p), ("contactEmail", self.email(p)), ("msisdn", self.phone()),
            ("orderId", V(str(uuid.UUID(int=r.getrandbits(128), version=4)))),
            ("createdAt", V(f"{r.randint(2021, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}T10:{r.randint(10, 59)}:00Z")),
        ]  # fmt: skip
        extra = [
            ("dateOfBirth", self.birth_date()), ("pan", V(card_number(r), "fin.credit_card")),
            ("iban", V(iban_number(r), "fin.iban")), ("ssn", V(ssn_number(r), "pii.ssn")),
            ("shipTo", self.address()), ("clientIp", self.public_ip()), ("sku", V(str(r.randint(10**9, 10**12)))),
            ("version", V(f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}.{r.randint(0, 99)}")),
        ]  # fmt: skip
        fields += r.sample(extra, r.randint(2, 5))
        r.shuffle(fields)
        indent = r.choice(["", "  "])
        d.add("{" + ("\n" if indent else ""))
        for k, (key, val) in enumerate(fields):
            d.add(f'{indent}"{key}"{sep}"')
            d.add(val)
            d.add('"' + ("," if k < len(fields) - 1 else "") + ("\n" if indent else " "))
        d.add("}")
        return d

    def yaml_profile(self) -> Doc:
        r = self.rng
        d = Doc()
        p = self.person()
        d.fmt("- user:\n    full_name: {0}\n    mail: '{1}'\n", p, self.email(p))
        d.fmt("    born: {0}\n", self.birth_date())
        d.fmt('    landline: "{0}"\n', self.phone())
        if r.random() < 0.5:
            d.fmt("    passport: {0}\n", V(r.choice(["", "X"]) + _digits(r, 8), "pii.passport"))
        d.fmt("    notes: {0}\n", V(self.negative()))
        return d

    def log_lines(self) -> Doc:
        r = self.rng
        d = Doc()
        for _ in range(r.randint(2, 5)):
            ts = f"{r.randint(2023, 2025)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d} {r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d},{r.randint(100, 999)}"
            kind = r.randint(0, 5)
            if kind == 0:
                d.fmt(
                    "{0} INFO  auth: login ok user={1} src={2}\n",
                    V(ts),
                    self.email(),
                    self.public_ip(),
                )
            elif kind == 1:
                d.fmt(
                    '{0} - - [{1}] "GET /api/v2/orders/{2} HTTP/1.1" 200 {3} "-" "{4}"\n',
                    self.public_ip(),
                    V(ts),
                    V(str(r.randint(10**5, 10**8))),
                    V(str(r.randint(100, 99999))),
                    V(self.negative() if r.random() < 0.3 else "curl/8.4.0"),
                )
            elif kind == 2:
                d.fmt(
                    "{0} WARN  upstream {1}:{2} slow ({3} ms)\n",
                    V(ts),
                    r.choice([self.internal_ip(), self.internal_host()]),
                    V(str(r.randint(80, 9999))),
                    V(str(r.randint(200, 5000))),
                )
            elif kind == 3:
                d.fmt(
                    "{0} DEBUG outgoing headers: {{'Authorization': 'Bearer {1}'}}\n",
                    V(ts),
                    r.choice(
                        [self.sec("jwt"), V(secret(r, "generic", self.fk()), "secret.generic")]
                    ),
                )
            elif kind == 4:
                d.fmt("{0} ERROR {1}\n", V(ts), V(self.negative()))
            else:
                d.fmt("{0} INFO  sms sent to={1} template=otp\n", V(ts), self.phone())
        return d

    def csv_odd(self) -> Doc:
        r = self.rng
        d = Doc()
        style = r.randint(0, 2)
        if style == 0:
            loc = r.choice(["fr_FR", "de_DE", "es_ES", "it_IT", "nl_NL"])
            headers = {
                "fr_FR": "Nom complet;Courriel;Téléphone;RIB/IBAN",
                "de_DE": "Vollständiger Name;E-Mail;Rufnummer;Bankverbindung",
                "es_ES": "Nombre;Correo;Móvil;Cuenta",
                "it_IT": "Nominativo;Posta;Cellulare;Conto",
                "nl_NL": "Naam;E-mail;Telefoon;Rekening",
            }[loc]
            region = loc[-2:]
            d.add(headers + "\n")
            for _ in range(r.randint(1, 4)):
                p = self.person(loc)
                d.fmt(
                    "{0};{1};{2};{3}\n",
                    p,
                    self.email(p),
                    self.phone(region),
                    V(iban_number(r, region), "fin.iban"),
                )
        elif style == 1:
            d.add("cust_ref,Primary Contact,tel no.,member_since,SSN (last filing)\n")
            for _ in range(r.randint(1, 4)):
                p = self.person("en_US")
                d.fmt(
                    'C-{0},"{1}",{2},{3},{4}\n',
                    V(str(r.randint(10000, 99999))),
                    p,
                    self.phone("US"),
                    V(self.plain_date()),
                    V(ssn_number(r), "pii.ssn"),
                )
        else:
            d.add("id\twho\twhere\tip\n")
            for k in range(r.randint(1, 4)):
                d.fmt(
                    "{0}\t{1}\t{2}\t{3}\n",
                    V(str(k + 1)),
                    self.person(),
                    self.address(),
                    r.choice([self.public_ip(), self.internal_ip()]),
                )
        return d

    def env_file(self) -> Doc:
        r = self.rng
        d = Doc()
        d.add("# .env.production\n")
        lines = [
            lambda: d.fmt(
                "DATABASE_URL={0}\n",
                V(
                    f"postgresql://app_rw:{self.url_pw()}@{self.internal_host().text}:5432/orders",
                    "secret.db_connection",
                ),
            ),
            lambda: d.fmt(
                "REDIS_URL={0}\n",
                V(
                    f"redis://default:{self.url_pw()}@{self.internal_ip().text}:6379/0",
                    "secret.db_connection",
                ),
            ),
            lambda: d.fmt("STRIPE_SECRET_KEY={0}\n", self.sec("stripe_key")),
            lambda: d.fmt("SENDGRID_API_KEY={0}\n", self.sec("sendgrid_key")),
            lambda: d.fmt("SLACK_BOT_TOKEN={0}\n", self.sec("slack_token")),
            lambda: d.fmt(
                "AWS_ACCESS_KEY_ID={0}\nAWS_SECRET_ACCESS_KEY={1}\n",
                self.sec("aws_access_key"),
                self.sec("aws_secret_key"),
            ),
            lambda: d.fmt("ADMIN_PASSWORD={0}\n", self.sec("password")),
            lambda: d.fmt("SESSION_SECRET={0}\n", self.sec("generic")),
            lambda: d.fmt("MAPS_API_KEY={0}\n", self.sec("gcp_api_key")),
            lambda: d.fmt("TWILIO_API_KEY={0}\n", self.sec("twilio_key")),
            lambda: d.fmt("AZURE_CLIENT_SECRET={0}\n", self.sec("azure_client_secret")),
            lambda: d.fmt("SUPPORT_PHONE={0}\n", self.phone()),
            lambda: d.fmt(
                "APP_VERSION={0}\n", V(f"{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}")
            ),
            lambda: d.fmt("LOG_LEVEL=info\nPORT={0}\n", V(str(r.randint(3000, 9000)))),
            lambda: d.fmt(
                "{0}\n",
                V(
                    r.choice(["OPENAI_API_KEY=", "API_TOKEN=", "GITHUB_TOKEN="])
                    + r.choice(["", "${VAULT_TOKEN}", "<set-me>", "xxxxxxxxxxxxxxxxxxxxxxxx"])
                ),
            ),
        ]
        for fn in r.sample(lines, r.randint(3, 6)):
            fn()
        return d

    def shell_history(self) -> Doc:
        r = self.rng
        d = Doc()
        for n in r.sample(range(6), r.randint(2, 4)):
            d.add(f"  {r.randint(100, 999)}  ")
            if n == 0:
                d.fmt("export GITHUB_TOKEN={0}\n", self.sec("github_token"))
            elif n == 1:
                d.fmt(
                    "psql '{0}'\n",
                    V(
                        f"postgres://analyst:{self.url_pw()}@{self.internal_ip().text}/warehouse",
                        "secret.db_connection",
                    ),
                )
            elif n == 2:
                d.fmt(
                    "ssh -i ~/.ssh/id_ed25519 -p 2222 {0}\n",
                    r.choice([self.internal_ip(), self.public_ip(), self.internal_host()]),
                )
            elif n == 3:
                d.fmt(
                    "git clone https://oauth2:{0}@gitlab.com/acme/infra.git\n",
                    self.sec("gitlab_token"),
                )
            elif n == 4:
                d.fmt("mysql -h {0} -u root -p{1}\n", self.internal_host(), self.sec("password"))
            else:
                d.fmt(
                    "git checkout {0} && make release VERSION={1}\n",
                    V("".join(r.choices("0123456789abcdef", k=40))),
                    V(f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(0, 9)}"),
                )
        return d

    def code_snippet(self) -> Doc:
        r = self.rng
        d = Doc()
        style = r.randint(0, 3)
        if style == 0:
            d.fmt(
                'import anthropic\n\nclient = anthropic.Anthropic(api_key="{0}")\n',
                self.sec("anthropic_key"),
            )
            d.fmt(
                'resp = client.messages.create(model="claude-sonnet-4-5", max_tokens=512, messages=[{{"role": "user", "content": "hi"}}])\n'
            )
        elif style == 1:
            d.fmt(
                "const openai = new OpenAI({{ apiKey: '{0}' }});\nconst uid = '{1}';\n",
                self.sec("openai_key"),
                V(str(uuid.UUID(int=r.getrandbits(128), version=4))),
            )
        elif style == 2:
            d.fmt(
                'def test_signup():\n    user = make_user(email="{0}", phone="{1}")\n    assert user.id == {2}\n',
                self.email(),
                self.phone(),
                V(str(r.randint(1, 10**6))),
            )
        else:
            d.fmt(
                'PRIVATE_KEY = """{0}"""\nHOST = "{1}"\n',
                self.sec("private_key"),
                self.internal_host(),
            )
        return d

    def compose_k8s(self) -> Doc:
        r = self.rng
        d = Doc()
        if r.random() < 0.5:
            d.add("services:\n  db:\n    image: postgres:16.2\n    environment:\n")
            d.fmt("      POSTGRES_PASSWORD: {0}\n", self.sec("password"))
            d.fmt(
                "      POSTGRES_USER: app\n  api:\n    image: registry.gitlab.com/acme/api:{0}\n    environment:\n",
                V(f"{r.randint(1, 5)}.{r.randint(0, 30)}.{r.randint(0, 9)}"),
            )
            d.fmt(
                "      - MONGO_URI={0}\n",
                V(
                    f"mongodb+srv://svc:{self.url_pw()}@cluster0.{r.randint(1000, 9999)}.mongodb.net/prod",
                    "secret.db_connection",
                ),
            )
            d.fmt("      - JWT_PUBLIC_URL={0}\n", self.url())
        else:
            d.add("apiVersion: v1\nkind: Secret\nmetadata:\n  name: app-creds\nstringData:\n")
            d.fmt(
                "  api-token: {0}\n", self.sec(r.choice(["generic", "slack_token", "github_token"]))
            )
            d.fmt(
                "  storage: DefaultEndpointsProtocol=https;AccountName=acmeprod;AccountKey={0};EndpointSuffix=core.windows.net\n",
                self.sec("azure_storage_key"),
            )
            d.fmt(
                "---\napiVersion: v1\nkind: Service\nspec:\n  clusterIP: {0}\n  externalName: {1}\n",
                self.internal_ip(),
                self.internal_host(),
            )
        return d

    def curl(self) -> Doc:
        r = self.rng
        d = Doc()
        style = r.randint(0, 3)
        if style == 0:
            d.fmt(
                "curl {0} \\\n  -H \"x-api-key: {1}\" \\\n  -H 'anthropic-version: 2023-06-01' -d @body.json\n",
                V("https://api.anthropic.com/v1/messages", "net.url"),
                self.sec("anthropic_key"),
            )
        elif style == 1:
            d.fmt(
                'curl -s -H "Authorization: Bearer {0}" {1}\n',
                r.choice([self.sec("jwt"), V(secret(r, "generic", self.fk()), "secret.generic")]),
                self.url(),
            )
        elif style == 2:
            d.fmt(
                'curl -X POST -d \'payload={{"text":"deploy done"}}\' {0}\n',
                self.sec("slack_webhook"),
            )
        else:
            pw = secret(r, "password", self.fk())
            d.add("curl -u admin:")
            d.add(V(pw, "secret.password"))
            d.fmt(" https://{0}/api/health\n", self.internal_host())
        return d

    def clinical_prose(self) -> Doc:
        r = self.rng
        d = Doc()
        p = self.person()
        d.fmt("Saw {0} in clinic today ({1}). ", p, V(self.plain_date()))
        parts = [
            lambda: d.fmt(
                "Pt is a {0}yo, DOB {1}, presenting with chest pain. ",
                V(str(r.randint(20, 90))),
                self.birth_date(),
            ),
            lambda: d.fmt(
                "Chart/MRN:{0}. ",
                V(r.choice(["", "A", "MR"]) + str(r.randint(10**5, 10**8)), "phi.mrn"),
            ),
            lambda: d.fmt(
                "Working dx {0}; rule out {1}. ",
                V(r.choice(ICD10), "phi.icd10"),
                V(r.choice(ICD10), "phi.icd10"),
            ),
            lambda: d.fmt(
                "Referred by Dr. {0} (NPI {1}). ",
                V(self.fk("en_US").last_name(), "pii.person"),
                V(npi_number(r), "phi.npi"),
            ),
            lambda: d.fmt("Medicare MBI {0} on file. ", V(mbi_number(r), "phi.health_plan_id")),
            lambda: d.fmt(
                "Insurance member ID {0}. ",
                V(
                    r.choice(["W", "ZGP", "H"]) + str(r.randint(10**7, 10**10)),
                    "phi.health_plan_id",
                ),
            ),
            lambda: d.fmt("Follow-up call to {0}. ", self.phone("US")),
            lambda: d.fmt("BP 128/82, HR 71, {0}. ", V(self.negative())),
        ]
        for fn in r.sample(parts, r.randint(3, 6)):
            fn()
        return d

    def id_prose(self) -> Doc:
        r = self.rng
        d = Doc()
        which = r.randint(0, 10)
        if which == 0:
            d.fmt(
                "For payroll my NI number is {0}, and I started on {1}.",
                V(national_id(r, "gb_nino"), "pii.national_id"),
                V(self.plain_date()),
            )
        elif which == 1:
            d.fmt(
                "Adjunto copia del DNI ({0}) del titular.",
                V(national_id(r, "es_dni"), "pii.national_id"),
            )
        elif which == 2:
            d.fmt(
                "Segue meu CPF: {0} — qualquer dúvida é só chamar.",
                V(national_id(r, "br_cpf"), "pii.national_id"),
            )
        elif which == 3:
            d.fmt(
                "Il codice fiscale del paziente è {0}.",
                V(national_id(r, "it_cf"), "pii.national_id"),
            )
        elif which == 4:
            d.fmt(
                "Numéro de sécurité sociale : {0}", V(national_id(r, "fr_nir"), "pii.national_id")
            )
        elif which == 5:
            d.fmt(
                "Mijn BSN is {0}, graag verwerken.", V(national_id(r, "nl_bsn"), "pii.national_id")
            )
        elif which == 6:
            d.fmt(
                "KYC: Aadhaar {0}, PAN on request.",
                V(national_id(r, "in_aadhaar"), "pii.national_id"),
            )
        elif which == 7:
            d.fmt("Personnummer: {0}", V(national_id(r, "se_pnr"), "pii.national_id"))
        elif which == 8:
            d.fmt("my social is {0} if the form needs it", V(ssn_number(r), "pii.ssn"))
        elif which == 9:
            d.fmt(
                "Renewing my passport before the {0} trip, the number is {1}.",
                V(r.choice(["Lisbon", "Osaka", "Denver", "Nairobi"])),
                V(r.choice(["", "C", "X", "GB"]) + _digits(r, r.choice([8, 9])), "pii.passport"),
            )
        else:
            d.fmt(
                "Scanned driver's licence, no. {0}, expires {1}.",
                V(r.choice("ABDFGS") + _digits(r, 7), "pii.driver_license"),
                V(self.plain_date()),
            )
        d.add(" " + self.negative() + ".")
        return d

    def payment_prose(self) -> Doc:
        r = self.rng
        d = Doc()
        p = self.person(lower_ok=True)
        which = r.randint(0, 5)
        if which == 0:
            d.fmt(
                "Wire it to {0}'s account (IBAN:{1}) by Friday.", p, V(iban_number(r), "fin.iban")
            )
        elif which == 1:
            d.fmt(
                "ACH details — routing {0}, acct #{1}.",
                V(aba_number(r), "fin.routing_number"),
                V(_digits(r, r.randint(8, 12)), "fin.bank_account"),
            )
        elif which == 2:
            d.fmt(
                "Sort code {0}, account number {1} ({2}).",
                V(
                    f"{r.randint(10, 99)}-{r.randint(10, 99)}-{r.randint(10, 99)}",
                    "fin.bank_account",
                ),
                V(_digits(r, 8), "fin.bank_account"),
                p,
            )
        elif which == 3:
            d.fmt(
                'Customer said "{0}" was the card, exp {1}/{2}.',
                V(card_number(r), "fin.credit_card"),
                V(f"{r.randint(1, 12):02d}"),
                V(str(r.randint(26, 31))),
            )
        elif which == 4:
            d.fmt(
                "Refund {0} to <{1}>; {2}.",
                V(f"€{r.randint(5, 900)}"),
                V(card_number(r), "fin.credit_card"),
                V(self.negative()),
            )
        else:
            d.fmt(
                "Can you check why {0} shows twice on the statement? {1}",
                V(card_number(r), "fin.credit_card"),
                V(self.negative()),
            )
        return d

    def locale_prose(self) -> Doc:
        r = self.rng
        d = Doc()
        which = r.randint(0, 6)
        if which == 0:
            p = self.person("de_DE")
            d.fmt(
                "Sehr geehrte Damen und Herren, ich bin {0}, geboren am {1}, wohnhaft in der {2}. Sie erreichen mich unter {3}.",
                p,
                self.birth_date("de"),
                self.address("de_DE"),
                self.phone("DE"),
            )
        elif which == 1:
            p = self.person("fr_FR")
            d.fmt(
                "Bonjour, je m'appelle {0}, née le {1}. Mon adresse : {2}. Tél : {3}",
                p,
                self.birth_date("fr"),
                self.address("fr_FR"),
                self.phone("FR"),
            )
        elif which == 2:
            p = self.person("es_ES")
            d.fmt(
                "Hola, soy {0} (fecha de nacimiento {1}); vivo en {2} y mi móvil es el {3}.",
                p,
                self.birth_date("es"),
                self.address("es_ES"),
                self.phone("ES"),
            )
        elif which == 3:
            p = self.person("it_IT")
            d.fmt(
                "Buongiorno, sono {0}, nato il {1}, residente in {2}, cell. {3}",
                p,
                self.birth_date("es"),
                self.address("it_IT"),
                self.phone("IT"),
            )
        elif which == 4:
            p = self.person("nl_NL")
            d.fmt(
                "Beste, mijn naam is {0}, geboortedatum {1}. Bel me op {2} of mail {3}.",
                p,
                self.birth_date("nl"),
                self.phone("NL"),
                self.email(p),
            )
        elif which == 5:
            p = self.person("ja_JP")
            d.fmt(
                "{0}様、お問い合わせありがとうございます。お電話番号 {1} にご連絡します。",
                p,
                self.phone("JP"),
            )
        else:
            p = self.person("en_IN")
            pan = (
                "".join(r.choices(string.ascii_uppercase, k=3))
                + "P"
                + p.text.split()[-1][0].upper()
                + _digits(r, 4)
                + r.choice(string.ascii_uppercase)
            )
            d.fmt(
                "Namaste, I am {0} from {1}; my mobile is {2} and PAN is {3}.",
                p,
                V(self.fk("en_IN").city()),
                self.phone("IN"),
                V(pan, "pii.national_id"),
            )
        return d

    def negatives_only(self) -> Doc:
        r = self.rng
        d = Doc()
        style = r.randint(0, 3)
        items = [self.negative() for _ in range(r.randint(2, 5))]
        if style == 0:
            d.add(". ".join(s[0].upper() + s[1:] for s in items) + ".")
        elif style == 1:
            d.add(
                "\n".join(
                    f"{r.randint(2023, 2025)}-0{r.randint(1, 9)}-1{r.randint(0, 9)} INFO {s}"
                    for s in items
                )
                + "\n"
            )
        elif style == 2:
            d.add("{" + ", ".join(f'"note{k}": "{s}"' for k, s in enumerate(items)) + "}")
        else:
            d.add(
                "| item | status |\n|---|---|\n"
                + "".join(f"| {s} | {r.choice(['done', 'open'])} |\n" for s in items)
            )
        return d


def generate(count: int, seed: int = 11) -> list[dict[str, object]]:
    h = Holdout(seed)
    return [h.record(i) for i in range(count)]


def iter_records(count: int, seed: int = 11) -> Iterator[dict[str, object]]:
    h = Holdout(seed)
    for i in range(count):
        yield h.record(i)


def main() -> int:
    from dlp_corpus import write_records_cli  # the command line only; no templates

    return write_records_cli(iter_records, __doc__.split("\n\n")[0], 3000, 11)


if __name__ == "__main__":
    raise SystemExit(main())
