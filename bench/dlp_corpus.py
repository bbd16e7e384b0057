#!/usr/bin/env python3
"""A labelled, deterministic corpus for tutela's data-protection detectors.

Generates records in many formats (chat prompts, CRM notes, clinical notes, config files,
logs, CSV/JSON rows) and countries, each a text plus gold spans ``{"class", "start",
"end"}``. Identifiers are real formats with valid checksums (cards, IBANs, NPIs, SSNs,
national IDs, GitHub tokens...), and the corpus mixes in hard negatives: order numbers,
UUIDs, hashes, version strings, dates without birth context, phone-like ticket ids,
capitalised prose.

Names: given names come from Faker locales (which overlap tutela's gazetteer); most
surnames are drawn from the US Census 1990 surnames ranked 20,000-88,000, which tutela's
gazetteer does *not* ship, so person recall is measured partly on unknown surnames.

Needs the development packages ``faker`` and ``names``. Nothing is committed as data:

    .venv/bin/python bench/dlp_corpus.py --records 2000 --seed 7 --out /tmp/dlp.jsonl
    from dlp_corpus import generate; records = generate(2000, seed=7)
"""

from __future__ import annotations

import argparse
import base64
import json
import random
import string
import sys
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import phonenumbers
from faker import Faker

INTERNAL_DOMAINS = ("corp.example.com", "internal")


@dataclass
class Record:
    id: str
    text: str = ""
    spans: list[dict[str, object]] = field(default_factory=list)

    def add(self, piece: str, cls: str | None = None) -> None:
        if cls is not None and piece:
            self.spans.append(
                {"class": cls, "start": len(self.text), "end": len(self.text) + len(piece)}
            )
        self.text += piece

    def as_dict(self) -> dict[str, object]:
        return {"id": self.id, "text": self.text, "spans": self.spans}


# -- Valid identifiers ------------------------------------------------------------------


def luhn_complete(partial: str) -> str:
    """Append the Luhn check digit to ``partial``."""
    for check in "0123456789":
        digits = partial + check
        total = 0
        for i, ch in enumerate(reversed(digits)):
            d = int(ch)
            if i % 2:
                d = d * 2 - 9 if d > 4 else d * 2
            total += d
        if total % 10 == 0:
            return digits
    raise AssertionError


def card(rng: random.Random) -> str:
    scheme = rng.choice(["visa", "mc", "mc2", "amex", "discover", "jcb"])
    if scheme == "amex":
        num = luhn_complete(rng.choice(["34", "37"]) + "".join(rng.choices(string.digits, k=12)))
        return rng.choice(
            [f"{num[:4]} {num[4:10]} {num[10:]}", num, f"{num[:4]}-{num[4:10]}-{num[10:]}"]
        )
    prefix = {
        "visa": "4",
        "mc": str(rng.randint(51, 55)),
        "mc2": str(rng.randint(2221, 2720)),
        "discover": "6011",
        "jcb": str(rng.randint(3528, 3589)),
    }[scheme]
    num = luhn_complete(prefix + "".join(rng.choices(string.digits, k=15 - len(prefix))))
    sep = rng.choice([" ", "-", ""])
    return sep.join(num[i : i + 4] for i in range(0, 16, 4))


_IBAN_BBAN: dict[str, Callable[[random.Random], str]] = {
    "DE": lambda r: "".join(r.choices(string.digits, k=18)),
    "GB": lambda r: (
        "".join(r.choices(string.ascii_uppercase, k=4)) + "".join(r.choices(string.digits, k=14))
    ),
    "FR": lambda r: "".join(r.choices(string.digits, k=23)),
    "ES": lambda r: "".join(r.choices(string.digits, k=20)),
    "NL": lambda r: (
        "".join(r.choices(string.ascii_uppercase, k=4)) + "".join(r.choices(string.digits, k=10))
    ),
    "IT": lambda r: r.choice(string.ascii_uppercase) + "".join(r.choices(string.digits, k=22)),
    "BE": lambda r: "".join(r.choices(string.digits, k=12)),
}


def _mod97(s: str) -> int:
    return int("".join(str(int(c, 36)) for c in s)) % 97


def iban(rng: random.Random) -> str:
    country = rng.choice(sorted(_IBAN_BBAN))
    bban = _IBAN_BBAN[country](rng)
    if country == "BE":  # Belgian BBAN carries its own mod-97 check
        base = bban[:10]
        check = int(base) % 97 or 97
        bban = base + f"{check:02d}"
    if country == "FR":  # French RIB key
        b = bban[:21]
        key = 97 - (int(b) * 100) % 97
        bban = b + f"{key:02d}"
    if country == "ES":  # Spanish CCC control digits

        def dc(digits: str) -> str:
            weights = [1, 2, 4, 8, 5, 10, 9, 7, 3, 6]
            v = (
                11
                - sum(int(d) * w for d, w in zip(digits.rjust(10, "0"), weights, strict=True)) % 11
            )
            return "0" if v == 11 else "1" if v == 10 else str(v)

        bank = bban[:8]
        acct = bban[10:]
        bban = bank + dc("00" + bank) + dc(acct) + acct
    if country == "IT":  # Italian CIN letter
        body = bban[1:]
        odd = [
            1,
            0,
            5,
            7,
            9,
            13,
            15,
            17,
            19,
            21,
            2,
            4,
            18,
            20,
            11,
            3,
            6,
            8,
            12,
            14,
            16,
            10,
            22,
            25,
            24,
            23,
        ]
        total = 0
        for i, ch in enumerate(body):
            v = int(ch, 36) if ch.isdigit() else ord(ch) - 65
            total += odd[v] if i % 2 == 0 else v
        bban = chr(65 + total % 26) + body
    check = 98 - _mod97(bban + country + "00")
    value = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        value = " ".join(value[i : i + 4] for i in range(0, len(value), 4))
    return value


def npi(rng: random.Random) -> str:
    base = rng.choice("12") + "".join(rng.choices(string.digits, k=8))
    return luhn_complete("80840" + base)[5:]


def aba(rng: random.Random) -> str:
    while True:
        first = f"{rng.choice([*range(1, 13), *range(21, 33)]):02d}"
        body = first + "".join(rng.choices(string.digits, k=6))
        for c in string.digits:
            ds = body + c
            if sum(int(d) * w for d, w in zip(ds, (3, 7, 1) * 3, strict=True)) % 10 == 0:
                return ds


def ssn(rng: random.Random) -> str:
    area = rng.choice([n for n in range(1, 900) if n != 666])
    sep = rng.choice(["-", "-", " "])
    return f"{area:03d}{sep}{rng.randint(1, 99):02d}{sep}{rng.randint(1, 9999):04d}"


def nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    while first + second in {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"}:
        second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    d = "".join(rng.choices(string.digits, k=6))
    suffix = rng.choice("ABCD")
    return rng.choice(
        [f"{first}{second}{d}{suffix}", f"{first}{second} {d[:2]} {d[2:4]} {d[4:]} {suffix}"]
    )


def dni(rng: random.Random) -> str:
    n = rng.randint(10_000_000, 99_999_999)
    return f"{n}{'TRWAGMYFPDXBNJZSQVHLCKE'[n % 23]}"


def cpf(rng: random.Random) -> str:
    d = [rng.randint(0, 9) for _ in range(9)]
    for k in (10, 11):
        s = sum(v * w for v, w in zip(d, range(k, 1, -1), strict=False)) % 11
        d.append(0 if s < 2 else 11 - s)
    s = "".join(map(str, d))
    return f"{s[:3]}.{s[3:6]}.{s[6:9]}-{s[9:]}"


def github_token(rng: random.Random) -> str:
    alphabet = string.digits + string.ascii_uppercase + string.ascii_lowercase
    entropy = "".join(rng.choices(alphabet, k=30))
    n, out = zlib.crc32(entropy.encode()), ""
    while n:
        n, r = divmod(n, 62)
        out = alphabet[r] + out
    return f"{rng.choice(['ghp', 'gho', 'ghs', 'ghu'])}_{entropy}{out.rjust(6, '0')}"


def _rand(rng: random.Random, k: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(rng.choices(alphabet, k=k))


def jwt(rng: random.Random) -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    header = part({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    payload = part({"sub": str(rng.randint(1, 10**9)), "iat": rng.randint(1.6e9, 1.8e9)})
    return f"{header}.{payload}.{_rand(rng, 43, string.ascii_letters + string.digits + '-_')}"


def pem(rng: random.Random) -> str:
    kind = rng.choice(["RSA ", "EC ", "OPENSSH ", ""])
    body = "\n".join(
        _rand(rng, 64, string.ascii_letters + string.digits + "+/")
        for _ in range(rng.randint(3, 8))
    )
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n-----END {kind}PRIVATE KEY-----"


SECRETS: dict[str, Callable[[random.Random], str]] = {
    "secret.aws_access_key": lambda r: "AKIA" + _rand(r, 16, string.ascii_uppercase + "234567"),
    "secret.github_token": github_token,
    "secret.anthropic_key": lambda r: (
        "sk-ant-api03-" + _rand(r, 93, string.ascii_letters + string.digits + "_-") + "AA"
    ),
    "secret.openai_key": lambda r: "sk-proj-" + _rand(r, 40) + "T3BlbkFJ" + _rand(r, 40),
    "secret.slack_token": lambda r: (
        f"xoxb-{r.randint(10**11, 10**12)}-{r.randint(10**12, 10**13)}-{_rand(r, 24)}"
    ),
    "secret.stripe_key": lambda r: "sk_" + r.choice(["live", "test"]) + "_" + _rand(r, 24),
    "secret.sendgrid_key": lambda r: "SG." + _rand(r, 22) + "." + _rand(r, 43),
    "secret.gitlab_token": lambda r: "glpat-" + _rand(r, 20),
    "secret.gcp_api_key": lambda r: (
        "AIza" + _rand(r, 35, string.ascii_letters + string.digits + "_-")
    ),
    "secret.tutela_key": lambda r: (
        "tutela_sk_" + _rand(r, 16, "0123456789abcdef") + "_" + _rand(r, 43)
    ),
    "secret.private_key": pem,
    "secret.jwt": jwt,
}


# -- Generators of records ----------------------------------------------------------------


class Corpus:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.fakers = {
            loc: Faker(loc)
            for loc in ("en_US", "en_GB", "de_DE", "fr_FR", "es_ES", "it_IT", "nl_NL")
        }
        for i, f in enumerate(self.fakers.values()):
            f.seed_instance(seed * 100 + i)
        import names as census

        lines = (Path(census.__file__).parent / "dist.all.last").read_text().splitlines()
        self.rare_surnames = [ln.split()[0].title() for ln in lines[20_000:] if ln.strip()]

    def faker(self, locale: str | None = None) -> Faker:
        return self.fakers[locale or self.rng.choice(sorted(self.fakers))]

    def person(self) -> str:
        f = self.faker()
        first = f.first_name()
        last = self.rng.choice(self.rare_surnames) if self.rng.random() < 0.5 else f.last_name()
        return f"{first} {last}"

    def phone(self) -> str:
        r = self.rng
        region = r.choice(["US", "GB", "DE", "FR", "AU", "NL", "IN", "ES", "IT", "BR"])
        for _ in range(200):
            example = phonenumbers.example_number_for_type(
                region,
                r.choice(
                    [phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE]
                ),
            )
            if example is None:
                continue
            national = str(example.national_number)
            keep = max(2, len(national) // 2)
            candidate = national[:keep] + "".join(r.choices(string.digits, k=len(national) - keep))
            num = phonenumbers.parse(candidate, region)
            if phonenumbers.is_valid_number(num):
                fmt = (
                    r.choice(["intl", "intl", "e164", "national"])
                    if region in ("US", "GB", "DE", "FR", "AU", "NL")
                    else "intl"
                )
                if fmt == "intl":
                    return phonenumbers.format_number(
                        num, phonenumbers.PhoneNumberFormat.INTERNATIONAL
                    )
                if fmt == "e164":
                    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
                return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL)
        return "+44 20 7946 0958"

    def email(self, person: str | None = None) -> str:
        f = self.faker("en_US")
        if person and self.rng.random() < 0.6:
            local = person.lower().replace(" ", self.rng.choice([".", "_", ""]))
            local = "".join(c for c in local if c.isascii() and (c.isalnum() or c in "._"))
            return f"{local}@{f.free_email_domain()}"
        return f.ascii_email()

    def address(self) -> str:
        r = self.rng
        kind = r.choice(["us", "us", "gb", "de", "fr"])
        if kind == "us":
            f = self.faker("en_US")
            return f"{f.building_number()} {f.street_name()}, {f.city()}, {f.state_abbr()} {f.postcode()}"
        if kind == "gb":
            f = self.faker("en_GB")
            return f"{f.building_number()} {f.street_name()}, {f.city()} {f.postcode()}"
        if kind == "de":
            f = self.faker("de_DE")
            return f"{f.street_name()} {f.building_number()}, {f.postcode()} {f.city()}"
        f = self.faker("fr_FR")
        return f"{f.building_number()} {f.street_name()}, {f.postcode()} {f.city()}"

    def dob(self) -> str:
        r = self.rng
        y, m, d = r.randint(1935, 2005), r.randint(1, 12), r.randint(1, 28)
        months = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ]
        return r.choice(
            [
                f"{m:02d}/{d:02d}/{y}",
                f"{y}-{m:02d}-{d:02d}",
                f"{d}.{m}.{y}",
                f"{months[m - 1]} {d}, {y}",
                f"{d} {months[m - 1][:3]} {y}",
            ]
        )

    def internal_ip(self) -> str:
        r = self.rng
        return r.choice(
            [
                f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"100.{r.randint(64, 127)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"fd{r.randint(0, 255):02x}:{r.randint(0, 65535):x}:{r.randint(0, 65535):x}::{r.randint(1, 999)}",
            ]
        )

    def public_ip(self) -> str:
        r = self.rng
        return f"{r.choice([8, 23, 34, 52, 81, 104, 151, 185, 203])}.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}"

    def negative(self) -> str:
        r = self.rng
        f = self.faker("en_US")
        return r.choice(
            [
                lambda: (
                    f"Order #{r.randint(100000, 999999)}-{r.randint(10, 99)} shipped on {f.date()}."
                ),
                lambda: f"Request id {f.uuid4()} completed in {r.randint(2, 900)} ms.",
                lambda: f"commit {f.sha1()} merged; sha256 {f.sha256()}.",
                lambda: (
                    f"Upgrade from version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)} to {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 30)}.{r.randint(0, 9)} tonight."
                ),
                lambda: (
                    f"Ticket {r.randint(2019, 2026)}-{r.randint(1000, 9999)}-{r.randint(100, 999)} was escalated to tier {r.randint(1, 3)}."
                ),
                lambda: (
                    f"The invoice total is ${r.randint(10, 99999)}.{r.randint(0, 99):02d} due {f.date()}."
                ),
                lambda: (
                    f"SKU {r.randint(10**9, 10**10 - 1)} is out of stock in warehouse {r.randint(1, 40)}."
                ),
                lambda: (
                    f"Quarterly Business Review for the New York Office is moved to {f.day_of_week()}."
                ),
                lambda: (
                    f"Build {r.randint(1000, 99999)} failed at step {r.randint(1, 20)} (exit code {r.randint(1, 255)})."
                ),
                lambda: (
                    f"Tracking number 1Z{_rand(r, 16, string.ascii_uppercase + string.digits)} is in transit."
                ),
                lambda: (
                    f"Meeting at {r.randint(1, 12)}:{r.randint(0, 59):02d} in room {r.choice('ABCD')}{r.randint(100, 999)} with the Product Team."
                ),
                lambda: (
                    f"password reset link expires in {r.randint(5, 60)} minutes; token=${{RESET_TOKEN}}"
                ),
                lambda: (
                    f"Use api_key = os.environ['API_KEY'] and set DEBUG={r.choice(['true', 'false'])}."
                ),
                lambda: (
                    f"Checksum md5 {f.md5()} verified for release {r.randint(1, 5)}.{r.randint(0, 9)}."
                ),
                lambda: (
                    f"Listen on 0.0.0.0:{r.randint(1024, 65535)} and see the re module docs for details."
                ),
            ]
        )()


def _record(c: Corpus, i: int) -> Record:
    r = c.rng
    rec = Record(id=f"r{i:06d}")
    kind = r.choice(
        [
            "crm",
            "chat",
            "clinical",
            "config",
            "finance",
            "log",
            "csv",
            "ids",
            "negative",
            "negative",
        ]
    )
    add = rec.add
    if kind == "crm":
        p = c.person()
        add("Customer: ")
        add(p, "pii.person")
        add("\nEmail: ")
        add(c.email(p), "pii.email")
        add("\nPhone: ")
        add(c.phone(), "pii.phone")
        add("\nAddress: ")
        add(c.address(), "pii.location")
        add("\nDate of birth: ")
        add(c.dob(), "pii.date_of_birth")
        add("\nNotes: " + c.negative())
    elif kind == "chat":
        p = c.person()
        add(
            r.choice(
                [
                    "Can you draft a reply to ",
                    "Please summarise the complaint from ",
                    "Write a follow-up for ",
                ]
            )
        )
        add(p, "pii.person")
        add(r.choice([" who wrote from ", " (contact: ", ", reachable at "]))
        add(c.email(p), "pii.email")
        add(r.choice([" and asked us to call ", " or by phone at ", ", phone "]))
        add(c.phone(), "pii.phone")
        add(". Their card ")
        add(card(r), "fin.credit_card")
        add(" was charged twice. " + c.negative())
    elif kind == "clinical":
        p = c.person()
        add("Patient: ")
        add(p, "pii.person")
        add(", DOB ")
        add(c.dob(), "pii.date_of_birth")
        add(f", MRN {r.choice(['', 'MR'])}")
        mrn = str(r.randint(10**6, 10**8))
        add(mrn, "phi.mrn")
        add(". Attending NPI ")
        add(npi(r), "phi.npi")
        add(". Diagnosis: ")
        add(
            r.choice(["E11.9", "I10", "J45.909", "F32.A", "M54.5", "K21.9", "N39.0", "Z79.4"]),
            "phi.icd10",
        )
        add(". Member ID ")
        add(r.choice(["XJH", "MBR", "W"]) + str(r.randint(10**8, 10**9)), "phi.health_plan_id")
        add(". " + c.negative())
    elif kind == "config":
        host = f"{r.choice(['db', 'cache', 'build', 'vault', 'api'])}{r.randint(1, 9)}.{r.choice(INTERNAL_DOMAINS)}"
        add("[service]\nhost = ")
        add(host, "net.internal_host")
        add("\nbind = ")
        add(c.internal_ip(), "net.internal_ip")
        add("\npassword = ")
        add(_rand(r, 14, string.ascii_letters + string.digits + "!#%"), "secret.password")
        add("\ndatabase_url = ")
        add(f"postgres://app:{_rand(r, 16)}@{c.public_ip()}:5432/app", "secret.db_connection")
        cls = r.choice(sorted(SECRETS))
        add("\n# credentials\n" + r.choice(["key = ", "export TOKEN=", "value: "]))
        add(SECRETS[cls](r), cls)
        add("\n")
    elif kind == "finance":
        add("Please wire the refund to IBAN ")
        add(iban(r), "fin.iban")
        add(". Routing number ")
        add(aba(r), "fin.routing_number")
        add(", account number ")
        add(str(r.randint(10**7, 10**12)), "fin.bank_account")
        add(". Card on file ")
        add(card(r), "fin.credit_card")
        add(". " + c.negative())
    elif kind == "log":
        add(f"{c.faker().iso8601()} INFO login from ")
        add(c.public_ip(), "net.ip_address")
        add(" to ")
        add(c.internal_ip(), "net.internal_ip")
        add(" user=")
        add(c.email(), "pii.email")
        add(" referer=")
        add(f"https://{c.faker('en_US').domain_name()}/{_rand(r, 8).lower()}", "net.url")
        add("\n" + c.negative())
    elif kind == "csv":
        add("name,email,phone,ssn\n")
        for _ in range(r.randint(1, 4)):
            p = c.person()
            add(p, "pii.person")
            add(",")
            add(c.email(p), "pii.email")
            add(",")
            add(c.phone(), "pii.phone")
            add(",")
            add(ssn(r), "pii.ssn")
            add("\n")
    elif kind == "ids":
        which = r.choice(["nino", "dni", "cpf", "passport", "dl", "ssn"])
        if which == "nino":
            add("National Insurance number: ")
            add(nino(r), "pii.national_id")
        elif which == "dni":
            add("DNI del titular: ")
            add(dni(r), "pii.national_id")
        elif which == "cpf":
            add("CPF do cliente: ")
            add(cpf(r), "pii.national_id")
        elif which == "passport":
            add("Passport number: ")
            add(r.choice(["", "X", "GB"]) + str(r.randint(10**7, 10**9 - 1)), "pii.passport")
        elif which == "dl":
            add("Driver's license: ")
            add(r.choice("ABCDEFGHJ") + str(r.randint(10**6, 10**8)), "pii.driver_license")
        else:
            add("SSN: ")
            add(ssn(r), "pii.ssn")
        add(". " + c.negative())
    else:
        add(" ".join(c.negative() for _ in range(r.randint(1, 4))))
    return rec


def generate(count: int, seed: int = 7) -> list[dict[str, object]]:
    corpus = Corpus(seed)
    return [_record(corpus, i).as_dict() for i in range(count)]


def iter_records(count: int, seed: int = 7) -> Iterator[dict[str, object]]:
    corpus = Corpus(seed)
    for i in range(count):
        yield _record(corpus, i).as_dict()


def write_records_cli(
    records: Callable[[int, int], Iterator[dict[str, object]]],
    description: str,
    default_records: int,
    default_seed: int,
) -> int:
    """The command line of a corpus script: ``--records N --seed S --out FILE|-``."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--records", type=int, default=default_records)
    parser.add_argument("--seed", type=int, default=default_seed)
    parser.add_argument("--out", default="-", help="JSON Lines file, or - for stdout")
    args = parser.parse_args()
    out = sys.stdout if args.out == "-" else open(args.out, "w", encoding="utf-8")  # noqa: SIM115
    try:
        for rec in records(args.records, args.seed):
            out.write(json.dumps(rec, ensure_ascii=False) + "\n")
    finally:
        if out is not sys.stdout:
            out.close()
    return 0


def main() -> int:
    return write_records_cli(iter_records, __doc__.split("\n\n")[0], 2000, 7)


if __name__ == "__main__":
    raise SystemExit(main())
