"""Checks that run only on candidates a pattern already found.

Each validator takes the candidate string and answers ``True`` (keep) or ``False``
(drop). They are pure, bounded in work by the candidate's length, and never log or keep
their input. ``VALIDATORS`` names the ones a policy file may use for custom detectors.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
import json
import math
import re
import zlib
from collections.abc import Callable

import phonenumbers
from stdnum import iban as _iban
from stdnum import verhoeff as _verhoeff
from stdnum.br import cpf as _br_cpf
from stdnum.ca import sin as _ca_sin
from stdnum.de import idnr as _de_idnr
from stdnum.es import dni as _es_dni
from stdnum.es import nie as _es_nie
from stdnum.fr import nir as _fr_nir
from stdnum.gb import nhs as _gb_nhs
from stdnum.in_ import aadhaar as _in_aadhaar
from stdnum.it import codicefiscale as _it_cf
from stdnum.nl import bsn as _nl_bsn
from stdnum.pl import pesel as _pl_pesel
from stdnum.se import personnummer as _se_pnr
from stdnum.us import ssn as _us_ssn

Validator = Callable[[str], bool]

_NON_DIGITS = re.compile(r"[^0-9]")
_NON_ALNUM = re.compile(r"[^0-9A-Za-z]")


def digits(value: str) -> str:
    return _NON_DIGITS.sub("", value)


def luhn(value: str) -> bool:
    """The Luhn (mod 10) check over the digits of ``value``."""
    ds = digits(value)
    if not ds:
        return False
    total = 0
    for i, ch in enumerate(reversed(ds)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Issuer ranges (IIN/BIN) and allowed lengths of the major card schemes.
_CARD_RANGES: tuple[tuple[int, int, int, frozenset[int]], ...] = (
    # (prefix length, low, high, lengths)
    (1, 4, 4, frozenset({13, 16, 19})),  # Visa
    (2, 51, 55, frozenset({16})),  # Mastercard
    (4, 2221, 2720, frozenset({16})),  # Mastercard 2-series
    (2, 34, 34, frozenset({15})),  # Amex
    (2, 37, 37, frozenset({15})),  # Amex
    (4, 6011, 6011, frozenset({16, 19})),  # Discover
    (3, 644, 649, frozenset({16, 19})),  # Discover
    (2, 65, 65, frozenset({16, 19})),  # Discover
    (4, 3528, 3589, frozenset({16, 17, 18, 19})),  # JCB
    (3, 300, 305, frozenset({14, 16, 19})),  # Diners Club
    (2, 36, 36, frozenset({14, 16, 19})),  # Diners Club
    (2, 38, 39, frozenset({16, 19})),  # Diners Club
    (2, 62, 62, frozenset({16, 17, 18, 19})),  # UnionPay
    # Maestro (12-digit Maestro cards exist but are rare; 12 digits is too often an account)
    (2, 50, 50, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (4, 6304, 6304, frozenset({16, 17, 18, 19})),  # Maestro (UK/IE)
    (2, 56, 58, frozenset({13, 14, 15, 16, 17, 18, 19})),
    (2, 67, 67, frozenset({13, 14, 15, 16, 17, 18, 19})),
)


def credit_card(value: str) -> bool:
    """A card number: consistent grouping, a known issuer range and length, and Luhn."""
    seps = {c for c in value if not c.isdigit()}
    if len(seps) > 1:
        return False
    ds = digits(value)
    if seps:
        groups = re.split(r"[ -]", value)
        if len(groups) < 3 or any(not g for g in groups):
            return False
    for plen, low, high, lengths in _CARD_RANGES:
        if len(ds) in lengths and low <= int(ds[:plen]) <= high:
            return luhn(ds) and len(set(ds)) > 1
    return False


def iban(value: str) -> bool:
    """ISO 13616: a known country's length and the ISO 7064 mod-97 check."""
    compact = _NON_ALNUM.sub("", value).upper()
    try:
        # Structure per country and mod 97; national bank-code registries are not consulted
        # (they go stale, and a real account at a new bank is still personal data).
        _iban.validate(compact, check_country=False)
    except Exception:
        return False
    return True


def npi(value: str) -> bool:
    """US National Provider Identifier: Luhn over the 80840 prefix plus the 10 digits."""
    ds = digits(value)
    return len(ds) == 10 and ds[0] in "12" and luhn("80840" + ds)


def aba_routing(value: str) -> bool:
    """US ABA routing number: weights 3-7-1 sum to a multiple of 10, known first two digits."""
    ds = digits(value)
    if len(ds) != 9:
        return False
    prefix = int(ds[:2])
    if not (0 <= prefix <= 12 or 21 <= prefix <= 32 or 61 <= prefix <= 72 or prefix == 80):
        return False
    weights = (3, 7, 1) * 3
    return sum(int(d) * w for d, w in zip(ds, weights, strict=True)) % 10 == 0


_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return out.rjust(width, "0")


def github_token(value: str) -> bool:
    """GitHub ``gh?_`` tokens: the last 6 characters are base62 CRC32 of the 30 before."""
    body = value[4:]
    if len(body) != 36:
        return False
    return _base62(zlib.crc32(body[:30].encode("ascii")), 6) == body[30:]


def us_ssn(value: str) -> bool:
    ds = digits(value)
    return bool(_us_ssn.is_valid(ds)) and ds not in {"078051120", "219099999", "123456789"}


def _stdnum(mod: object) -> Validator:
    is_valid: Callable[[str], bool] = mod.is_valid  # type: ignore[attr-defined]

    def check(value: str) -> bool:
        try:
            return bool(is_valid(value))
        except Exception:  # stdnum raises on odd input in a few modules
            return False

    return check


ca_sin = _stdnum(_ca_sin)
de_idnr = _stdnum(_de_idnr)
fr_nir = _stdnum(_fr_nir)
gb_nhs = _stdnum(_gb_nhs)
in_aadhaar = _stdnum(_in_aadhaar)
it_codicefiscale = _stdnum(_it_cf)
nl_bsn = _stdnum(_nl_bsn)
pl_pesel = _stdnum(_pl_pesel)
se_personnummer = _stdnum(_se_pnr)
br_cpf = _stdnum(_br_cpf)
verhoeff = _stdnum(_verhoeff)


def es_dni_nie(value: str) -> bool:
    return _stdnum(_es_dni)(value) or _stdnum(_es_nie)(value)


_NINO = re.compile(r"[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]\d{6}[A-D]")
_NINO_BAD_PREFIX = frozenset({"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"})


def gb_nino(value: str) -> bool:
    """UK National Insurance number: allowed letters and prefixes (HMRC rules)."""
    compact = _NON_ALNUM.sub("", value).upper()
    return bool(_NINO.fullmatch(compact)) and compact[:2] not in _NINO_BAD_PREFIX


def luhn_digits(value: str) -> bool:
    return luhn(value)


# Phones ---------------------------------------------------------------------------

PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "DE", "FR", "IN", "AU", "ES", "IT", "NL", "BR")


def _phone_valid(compact: str, regions: tuple[str, ...]) -> bool:
    try:
        if compact.startswith("+"):
            return bool(phonenumbers.is_valid_number(phonenumbers.parse(compact, None)))
        if compact.startswith("00"):
            return bool(phonenumbers.is_valid_number(phonenumbers.parse("+" + compact[2:], None)))
        for region in regions:
            if phonenumbers.is_valid_number(phonenumbers.parse(compact, region)):
                return True
    except phonenumbers.NumberParseException:
        return False
    return False


NANP_REGIONS: tuple[str, ...] = ("US", "CA")


def phone(value: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    """A number ``phonenumbers`` says is valid.

    With ``+`` or ``00`` it must be valid in its own country. Written nationally, it
    must start with a trunk ``0`` and be valid in one of ``regions``, or else be a
    North American number (valid in the US or Canada).
    """
    ds = digits(value)
    if not 7 <= len(ds) <= 15 or len(set(ds)) < 3:
        return False
    if value.lstrip().startswith("+"):
        return _phone_valid("+" + ds, regions)
    if ds.startswith("00"):
        return _phone_valid(ds, regions)
    if ds.startswith("0"):
        return _phone_valid(ds, regions)
    return _phone_valid(ds, NANP_REGIONS)


# Countries whose national numbers have no trunk 0 (Spain "612 34 34 07", Poland
# "512 347 031", Denmark "21 23 00 59", Brazil "(11) 2345-0074", Mexico "200 123 3744").
NO_TRUNK_REGIONS: tuple[str, ...] = ("ES", "IT", "PT", "PL", "DK", "NO", "BR", "MX")


_DIGIT = re.compile(r"[0-9]")


def _shape(value: str) -> str:
    return _DIGIT.sub("d", value)


def _example_shapes() -> dict[str, tuple[str, ...]]:
    """Shape ("ddd dd dd dd") -> regions whose mobile or landline numbers are written so."""
    shapes: dict[str, list[str]] = {}
    for region in NO_TRUNK_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                national = phonenumbers.format_number(
                    example, phonenumbers.PhoneNumberFormat.NATIONAL
                )
                shapes.setdefault(_shape(national), []).append(region)
    return {k: tuple(dict.fromkeys(v)) for k, v in shapes.items()}


_NATIONAL_SHAPES = _example_shapes()


def _national_format(value: str) -> bool:
    """``value`` is a valid number written exactly in the national format of a country
    without a trunk prefix (the grouping is the evidence, the digits alone are not)."""
    regions = _NATIONAL_SHAPES.get(_shape(value), ())
    ds = digits(value)
    for region in regions:
        try:
            num = phonenumbers.parse(ds, region)
        except phonenumbers.NumberParseException:
            continue
        if (
            phonenumbers.is_valid_number_for_region(num, region)
            and phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL) == value
        ):
            return True
    return False


def national_format_phone(value: str) -> bool:
    """A number written exactly in the national format of a country without a trunk 0.

    Most grouped 8-digit numbers are valid Danish or Norwegian numbers, so the format is
    weak evidence on its own: the detector that uses this also needs a phone word nearby.
    """
    if _NOT_PHONE_SHAPES.fullmatch(value) or _ISO_DATE_PREFIX.match(value):
        return False
    return not value.startswith(("0", "+")) and _national_format(value)


def formatted_phone(value: str) -> bool:
    """A phone written the way people write phones (``+``, brackets or separators)."""
    if _NOT_PHONE_SHAPES.fullmatch(value) or _ISO_DATE_PREFIX.match(value):
        return False
    return ("+" in value or "(" in value or any(c in value for c in " .-")) and phone(value)


# "2024-09-11 12" cut from a log timestamp "2024-09-11 12:15:22": a date, then the hour
_ISO_DATE_PREFIX = re.compile(r"(?:19|20)[0-9]{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])[ T]")

_NOT_PHONE_SHAPES = re.compile(
    r"[0-9]{3}-[0-9]{2}-[0-9]{4}"  # SSN
    r"|[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}"  # dates
    r"|[0-9]{1,3}(?:\.[0-9]{1,3}){3}"  # IPv4 / versions
)


# Network ----------------------------------------------------------------------------

_INTERNAL_NETS = tuple(
    ipaddress.ip_network(n)
    for n in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "100.64.0.0/10",
        "::1/128",
        "fe80::/10",
        "fc00::/7",
    )
)


def classify_ip(value: str) -> str | None:
    """``net.internal_ip`` for private/loopback/link-local/ULA/CGNAT, ``net.ip_address`` else."""
    try:
        addr = ipaddress.ip_address(value)
    except ValueError:
        return None
    if addr.version == 6 and value.count(":") < 3 and value != "::1":
        return None  # "d::", "a::b": too short to be an address someone wrote on purpose
    if addr.is_unspecified:
        return None
    for net in _INTERNAL_NETS:
        if addr.version == net.version and addr in net:
            return "net.internal_ip"
    return "net.ip_address"


# Secrets ----------------------------------------------------------------------------


def shannon_entropy(value: str) -> float:
    if not value:
        return 0.0
    counts: dict[str, int] = {}
    for ch in value:
        counts[ch] = counts.get(ch, 0) + 1
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_PLACEHOLDER = re.compile(
    r"(?i)^(?:x+|\*+|\.+|-+|<[^>]*>|\{\{?[^}]*\}\}?|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|%\([^)]*\)[sd]|%[sd]|"
    r"(?:my|your|the|some|example|sample|dummy|fake|test|changeme|change_me|password|passwd|"
    r"secret|pass|pwd|redacted|none|null|true|false|undefined|string|value|env|os\.environ.*|"
    r"process\.env.*|getenv.*|input|config\..*|settings\..*)[_-]?(?:password|secret|key|token|here|1|123)?)$"
)


def not_placeholder(value: str) -> bool:
    """A value that is not an obvious placeholder, variable reference or dummy.

    Sentence punctuation after the value is ignored ("password: changeme.").
    """
    stripped = value.rstrip(".,:;!?)").strip("\"'`")
    return len(stripped) >= 4 and not _PLACEHOLDER.match(stripped) and len(set(stripped)) > 2


def not_filler(value: str) -> bool:
    """Not a placeholder key: no single character makes up more than 40% of the value
    (``sk-ant-api03-xxxxxxxx…``, ``AKIAXXXXXXXXXXXXXXXX``); a generated key never does."""
    if not value:
        return False
    return max(value.count(c) for c in set(value)) <= 0.4 * len(value)


def not_example_key(value: str) -> bool:
    """Not a documented example credential. AWS's documentation marks its sample keys by
    ending them in ``EXAMPLE`` (``AKIAIOSFODNN7EXAMPLE``) or ``EXAMPLEKEY``
    (``wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY``); a random key ends so once in 32**7."""
    return not value.endswith(("EXAMPLE", "EXAMPLEKEY")) and not_filler(value)


def high_entropy(value: str) -> bool:
    """A token that looks machine-generated: long, mixed classes, entropy of 3.5 bits+."""
    if not not_placeholder(value):
        return False
    classes = sum(
        (
            any(c.islower() for c in value),
            any(c.isupper() for c in value),
            any(c.isdigit() for c in value),
        )
    )
    if classes < 2:
        return False
    if re.fullmatch(r"[a-z]+(?:[_-][a-z]+)*", value):  # snake_case identifier
        return False
    return shannon_entropy(value) >= 3.5


def password_value(value: str) -> bool:
    """A password in a config line: not a placeholder, not a bare word, some variety."""
    if not not_placeholder(value):
        return False
    if re.fullmatch(r"[a-z]+", value) and len(value) < 12:
        return False
    return shannon_entropy(value) >= 2.5


def _b64url_json(part: str) -> dict[str, object] | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        obj = json.loads(raw)
    except (binascii.Error, ValueError):
        return None
    return obj if isinstance(obj, dict) else None


def jwt(value: str) -> bool:
    """Three base64url parts whose header decodes to JSON naming an ``alg``."""
    parts = value.split(".")
    if len(parts) != 3:
        return False
    header = _b64url_json(parts[0])
    return header is not None and "alg" in header


# Dates --------------------------------------------------------------------------------

_MONTHS = {
    m: i + 1
    for i, names in enumerate(
        (
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        )
    )
    for m in names
}


_MONTHS.update(
    {
        name: i + 1
        for i, names in enumerate(
            (
                ("januar", "janvier", "enero", "gennaio", "januari", "janeiro"),
                ("februar", "février", "fevrier", "febrero", "febbraio", "februari", "fevereiro"),
                ("märz", "maerz", "mars", "marzo", "maart", "março"),
                ("avril", "abril", "aprile"),
                ("mai", "mayo", "maggio", "mei", "maio"),
                ("juni", "juin", "junio", "giugno", "junho"),
                ("juli", "juillet", "julio", "luglio", "julho"),
                ("août", "aout", "agosto", "augustus"),
                ("septembre", "septiembre", "setiembre", "settembre", "setembro"),
                ("oktober", "octobre", "octubre", "ottobre", "outubro"),
                ("novembre", "noviembre"),
                ("dezember", "décembre", "decembre", "diciembre", "dicembre", "dezembro"),
            )
        )
        for name in names
    }
)
_DATE_FILLER = frozenset({"of", "de"})


def plausible_birth_date(value: str) -> bool:
    """A calendar date between 1900 and today, in any of the written forms we match."""
    parts = [p for p in re.split(r"[\s/.,-]+", value.strip().lower()) if p]
    today = dt.date.today()
    nums: list[int] = []
    month: int | None = None
    for p in parts:
        if p.isdigit():
            nums.append(int(p))
        elif p.rstrip("stndrh") and p.rstrip("stndrh").isdigit():  # 1st, 2nd, 3rd, 4th
            nums.append(int(p.rstrip("stndrh")))
        elif p in _DATE_FILLER:  # "5th of March 1980", "5 de enero de 1994"
            continue
        elif p in _MONTHS or p[:3] in _MONTHS:
            month = _MONTHS.get(p, _MONTHS.get(p[:3]))
        else:
            return False
    candidates: list[tuple[int, int, int]] = []
    if month is not None and len(nums) == 2:
        a, b = nums
        candidates = [(b, month, a), (a, month, b)]
    elif month is None and len(nums) == 3:
        a, b, c = nums
        if a > 31:
            candidates = [(a, b, c)]
        else:
            if c < 100:
                c += 1900 if c > today.year % 100 else 2000
            candidates = [(c, a, b), (c, b, a)]
    for y, m, d in candidates:
        try:
            date = dt.date(y, m, d)
        except ValueError:
            continue
        if dt.date(1900, 1, 1) <= date <= today:
            return True
    return False


def has_digit(value: str) -> bool:
    return any(c.isdigit() for c in value)


def has_digit_and_not_date(value: str) -> bool:
    """Has a digit, and is not a date nor a bare year ("expires 11/2/1985" gives "1985")."""
    return has_digit(value) and not re.fullmatch(
        r"\d{4}-\d{2}-\d{2}|\d{1,2}/\d{1,2}/\d{2,4}|(?:19|20)\d{2}", value
    )


VALIDATORS: dict[str, Validator] = {
    "luhn": luhn_digits,
    "credit_card": credit_card,
    "iban": iban,
    "npi": npi,
    "aba_routing": aba_routing,
    "github_token": github_token,
    "us_ssn": us_ssn,
    "gb_nino": gb_nino,
    "gb_nhs": gb_nhs,
    "ca_sin": ca_sin,
    "de_idnr": de_idnr,
    "fr_nir": fr_nir,
    "in_aadhaar": in_aadhaar,
    "it_codicefiscale": it_codicefiscale,
    "nl_bsn": nl_bsn,
    "pl_pesel": pl_pesel,
    "se_personnummer": se_personnummer,
    "br_cpf": br_cpf,
    "es_dni": es_dni_nie,
    "verhoeff": verhoeff,
    "phone": phone,
    "jwt": jwt,
    "high_entropy": high_entropy,
    "not_placeholder": not_placeholder,
    "not_filler": not_filler,
    "date_of_birth": plausible_birth_date,
    "has_digit": has_digit,
}
