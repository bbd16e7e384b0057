"""Table-driven checks of every built-in class: real-format positives, hard negatives."""

from __future__ import annotations

import base64
import itertools
import json
import zlib
from collections.abc import Callable

import pytest

from tutela.detectors import CustomDetector, KeywordList, Scanner, ScannerConfig, Span

_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _github(prefix: str = "ghp", entropy: str = "zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ") -> str:
    n, out = zlib.crc32(entropy.encode()), ""
    while n:
        n, r = divmod(n, 62)
        out = _B62[r] + out
    return f"{prefix}_{entropy}{out.rjust(6, '0')}"


def _jwt() -> str:
    def part(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part({'sub': '1234567890', 'name': 'x'})}.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"


ANTHROPIC = "sk-" + "ant-api03-" + "A1b2C3d4E5" * 9 + "xyz" + "AA"
OPENAI = "sk-" + "proj-" + "Ab12Cd34Ef56Gh78Ij90" + "T3BlbkFJ" + "Kl12Mn34Op56Qr78St90"
STRIPE = "sk_" + "live_" + "4eC39HqLyjWDarjtT1zdp7dc"
SLACK = "xox" + "b-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx"
SENDGRID = "SG." + "ngeVfQFYQlKU0ufo8x5d1A" + "." + "TwL2iGABf9DHoTf-09kqeF8tAmbihYzrnopKc-1s5cr"
TUTELA = "tutela_sk_" + "0123456789abcdef" + "_" + "A" * 20 + "b" * 23
PEM = "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----"

# (class, text, the exact value expected to be found)
POSITIVES: list[tuple[str, str, str]] = [
    (
        "pii.email",
        "write to jane.doe+tag@mail.example.co.uk today",
        "jane.doe+tag@mail.example.co.uk",
    ),
    ("pii.phone", "call +44 20 7946 0958 now", "+44 20 7946 0958"),
    ("pii.phone", "US office (415) 555-2671.", "(415) 555-2671"),
    ("pii.phone", "Berlin: +49 30 901820", "+49 30 901820"),
    ("pii.phone", "mobile: 4155552671", "4155552671"),
    ("pii.ssn", "SSN 536-22-1234 on file", "536-22-1234"),
    ("pii.ssn", "social security number 536221234", "536221234"),
    ("pii.national_id", "NINO AB 12 34 56 C", "AB 12 34 56 C"),
    ("pii.national_id", "DNI 12345678Z", "12345678Z"),
    ("pii.national_id", "CPF 390.533.447-05", "390.533.447-05"),
    ("pii.national_id", "codice fiscale RSSMRA85T10A562S", "RSSMRA85T10A562S"),
    ("pii.passport", "passport number X1234567", "X1234567"),
    ("pii.driver_license", "driver's license D1234567", "D1234567"),
    ("pii.date_of_birth", "DOB: 04/12/1985", "04/12/1985"),
    ("pii.date_of_birth", "born on March 5, 1980 in Ohio", "March 5, 1980"),
    ("pii.person", "Please ask Maria Gonzalez about it", "Maria Gonzalez"),
    ("pii.person", "Dear Mr. Okafor,", "Okafor"),
    ("pii.person", "Reviewed by José García.", "José García"),
    (
        "pii.location",
        "Ship to 742 Evergreen Terrace, Springfield, IL 62704.",
        "742 Evergreen Terrace, Springfield, IL 62704",
    ),
    ("pii.location", "Adresse: Müllerstraße 12, 10115 Berlin", "Müllerstraße 12, 10115 Berlin"),
    ("fin.credit_card", "card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
    ("fin.credit_card", "amex 378282246310005", "378282246310005"),
    ("fin.credit_card", "mc 5555-5555-5555-4444", "5555-5555-5555-4444"),
    ("fin.iban", "IBAN GB82 WEST 1234 5698 7654 32", "GB82 WEST 1234 5698 7654 32"),
    ("fin.iban", "IBAN DE89370400440532013000.", "DE89370400440532013000"),
    ("fin.bank_account", "account number 12345678901", "12345678901"),
    ("fin.routing_number", "routing number 011000015", "011000015"),
    ("phi.npi", "NPI: 1234567893", "1234567893"),
    ("phi.mrn", "MRN 00123456", "00123456"),
    ("phi.health_plan_id", "member ID XJH123456789", "XJH123456789"),
    ("phi.health_plan_id", "MBI 1EG4-TE5-MK73", "1EG4-TE5-MK73"),
    ("phi.icd10", "diagnosis: E11.9 type 2 diabetes", "E11.9"),
    ("secret.aws_access_key", "key AKIAQ3EGR7MBX2LT5NPW", "AKIAQ3EGR7MBX2LT5NPW"),
    (
        "secret.aws_secret_key",
        "aws_secret_access_key = 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",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzq8Tk2NdLr",
    ),
    (
        "secret.gcp_api_key",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
        "AIzaSyD-9tSrke72PouQMnMX-a7eZSW0jkFMBWY",
    ),
    ("secret.anthropic_key", f"ANTHROPIC_API_KEY={ANTHROPIC}", ANTHROPIC),
    ("secret.openai_key", f"key: {OPENAI}", OPENAI),
    ("secret.github_token", f"token {_github()}", _github()),
    ("secret.gitlab_token", "glpat-xYz12AbCdEfGhIjKlMnO", "glpat-xYz12AbCdEfGhIjKlMnO"),
    ("secret.slack_token", SLACK, SLACK),
    ("secret.stripe_key", STRIPE, STRIPE),
    ("secret.sendgrid_key", SENDGRID, SENDGRID),
    ("secret.tutela_key", TUTELA, TUTELA),
    ("secret.private_key", f"x\n{PEM}\ny", PEM),
    ("secret.jwt", f"Authorization: {_jwt()}", _jwt()),
    (
        "secret.db_connection",
        "postgres://admin:s3cr3tP4ss@db.example.com:5432/prod",
        "postgres://admin:s3cr3tP4ss@db.example.com:5432/prod",
    ),
    ("secret.url_password", "https://bob:Tr0ub4dor3@git.example.com/repo", "Tr0ub4dor3"),
    ("secret.password", "DB_PASSWORD=Hunter2!xyz", "Hunter2!xyz"),
    ("secret.generic", 'api_key = "9f8A7b6C5d4E3f2G1h0IjKlMn"', "9f8A7b6C5d4E3f2G1h0IjKlMn"),
    ("net.internal_ip", "host 10.0.0.12 down", "10.0.0.12"),
    ("net.internal_ip", "cgnat 100.64.1.1 and", "100.64.1.1"),
    ("net.internal_ip", "ula fd12:3456:789a:1::1 up", "fd12:3456:789a:1::1"),
    ("net.ip_address", "resolver 8.8.8.8.", "8.8.8.8"),
    ("net.internal_host", "ssh build01.corp.internal now", "build01.corp.internal"),
    ("net.url", "see https://example.com/a?b=1.", "https://example.com/a?b=1"),
]

NEGATIVES: list[tuple[str, str]] = [
    ("order number", "Order #4111-2222-3333 shipped"),
    ("uuid", "id 123e4567-e89b-12d3-a456-426614174000"),
    ("sha256", "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"),
    ("git sha", "commit 2fd4e1c67a2d28fced849ee1bb76e7391b93eb12"),
    ("version", "upgrade to version 1.2.3.4 today"),
    ("semver", "requires v2.14.0 or 10.15.7"),
    ("invalid card", "number 4111 1111 1111 1112"),
    ("invalid iban", "GB82 WEST 1234 5698 7654 33"),
    ("bad github checksum", "ghp_zQWBuTSOoRi4A9spHcVY5ncnsDkxkJ0mLq18"),
    ("ssn invalid area", "code 000-12-3456 or 666-12-3456"),
    ("date without context", "meeting on 04/12/1985"),
    ("digits without context", "ref 12345678901 and 1234567893"),
    ("icd shape without context", "room E11 is free"),
    ("capitalised prose", "The Quick Brown Fox Jumps Over The Lazy Dog"),
    ("placeholder password", "password=changeme and password: ${DB_PASSWORD}"),
    ("low entropy token", "token = aaaaaaaaaaaaaaaaaaaaaaaa"),
    ("python identifier", "api_key = get_api_key_from_environment"),
    ("cpp scope", "std::vector<int> a::b"),
    ("time", "at 12:30:45 UTC"),
    ("mac address", "mac 00:1a:2b:3c:4d:5e"),
    ("phone-like id", "ticket 2024-0001-778 closed"),
]


@pytest.fixture(scope="module", params=["hyperscan", "python"])
def scanner(request: pytest.FixtureRequest) -> Scanner:
    return Scanner(ScannerConfig(engine=request.param, internal_domains=("corp.internal",)))


@pytest.mark.parametrize(
    ("cls", "text", "value"), POSITIVES, ids=[f"{c}:{v[:12]}" for c, _, v in POSITIVES]
)
def test_positive(scanner: Scanner, cls: str, text: str, value: str) -> None:
    found = {(s.cls, text[s.start : s.end]) for s in scanner.scan(text)}
    assert (cls, value) in found, found


@pytest.mark.parametrize(("why", "text"), NEGATIVES, ids=[w for w, _ in NEGATIVES])
def test_hard_negative(scanner: Scanner, why: str, text: str) -> None:
    found = [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)]
    assert found == [], why


def test_spans_sorted_and_disjoint(scanner: Scanner) -> None:
    text = " ".join(t for _, t, _ in POSITIVES)
    spans = scanner.scan(text)
    assert spans == sorted(spans, key=lambda s: s.start)
    assert all(a.end <= b.start for a, b in itertools.pairwise(spans))


def test_overlap_prefers_specific_class(scanner: Scanner) -> None:
    text = "dsn postgres://admin:s3cr3tP4ss@10.1.2.3:5432/prod"
    assert [s.cls for s in scanner.scan(text)] == ["secret.db_connection"]


def test_non_ascii_offsets_are_str_indices(scanner: Scanner) -> None:
    text = "Grüße 🙂 — écrivez à élodie@example.fr ou 🙂🙂 +33 1 42 68 53 00 ✓"
    got = {(s.cls, text[s.start : s.end]) for s in scanner.scan(text)}
    assert ("pii.phone", "+33 1 42 68 53 00") in got
    assert any(c == "pii.email" and v.endswith("@example.fr") for c, v in got)


def test_lone_surrogates_do_not_crash(scanner: Scanner) -> None:
    text = "\ud800 mail a@b.co \udfff"
    assert [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)] == [("pii.email", "a@b.co")]


def test_engine_reported() -> None:
    assert Scanner(ScannerConfig(engine="python")).engine == "python"
    assert Scanner().engine in ("hyperscan", "python")


def test_enabled_classes_with_wildcards() -> None:
    only_secrets = Scanner(ScannerConfig(enabled=("secret.*",)))
    text = "AKIAQ3EGR7MBX2LT5NPW and a@b.co"
    assert [s.cls for s in only_secrets.scan(text)] == ["secret.aws_access_key"]
    no_email = Scanner(ScannerConfig(disabled=("pii.email",)))
    assert [s.cls for s in no_email.scan(text)] == ["secret.aws_access_key"]


def test_custom_detector_keywords_and_validator() -> None:
    config = ScannerConfig(
        enabled=("custom.*",),
        custom=(
            CustomDetector(cls="custom.employee_id", pattern=r"\bEMP-[0-9]{6}\b"),
            CustomDetector(
                cls="custom.card_ref",
                pattern=r"\b[0-9]{16}\b",
                validator="luhn",
                context=("card ref",),
            ),
        ),
        keywords=(KeywordList(cls="custom.codename", words=("Project Nightingale", "bluebird")),),
    )
    scanner = Scanner(config)
    text = (
        "EMP-004211 on project nightingale; card ref 4111111111111111;"
        + " " * 60
        + "4111111111111111"
    )
    got = [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)]
    assert got == [
        ("custom.employee_id", "EMP-004211"),
        ("custom.codename", "project nightingale"),
        ("custom.card_ref", "4111111111111111"),
    ]


def test_custom_detector_rejects_unknown_validator() -> None:
    with pytest.raises(ValueError, match="unknown validator"):
        Scanner(ScannerConfig(custom=(CustomDetector(cls="x.y", pattern="a", validator="nope"),)))


def test_span_as_dict_and_validation() -> None:
    span = Span(cls="pii.email", start=1, end=5, score=0.99)
    assert span.as_dict() == {"class": "pii.email", "start": 1, "end": 5, "score": 0.99}
    with pytest.raises(ValueError):
        Span(cls="x", start=3, end=3, score=0.5)


def test_one_scanner_is_safe_across_threads() -> None:
    from concurrent.futures import ThreadPoolExecutor

    shared = Scanner()
    texts = [t for _, t, _ in POSITIVES] * 5
    expected = [shared.scan(t) for t in texts]
    with ThreadPoolExecutor(max_workers=4) as pool:
        assert list(pool.map(shared.scan, texts)) == expected


@pytest.mark.parametrize("space", ["\u00a0", "\u202f", "\u2002", "\u3000", "\x1c", "\u1680"])
def test_numbers_spaced_with_other_spaces_are_found_where_they_stand(space: str) -> None:
    """No-break and other Unicode spaces (French formatting, text pasted from a word
    processor) used to hide a card number, a phone number and an IBAN from every pattern."""
    scanner = Scanner()
    for cls, value in (
        ("fin.credit_card", "4111 1111 1111 1111"),
        ("pii.phone", "+1 415 555 2671"),
        ("fin.iban", "DE89 3704 0044 0532 0130 00"),
    ):
        spaced = value.replace(" ", space)
        text = f"please keep {spaced} on file"
        found = [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)]
        assert (cls, spaced) in found


def _full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


def _arabic_indic(text: str) -> str:
    return "".join(chr(ord(c) - ord("0") + 0x0660) if c.isdigit() else c for c in text)


@pytest.mark.parametrize("written", [_full_width, _arabic_indic])
def test_numbers_in_full_width_or_other_digits_are_found_where_they_stand(
    written: Callable[[str], str],
) -> None:
    """Japanese and Chinese input methods type full-width digits (U+FF10 to U+FF19); Arabic
    text may use its own digits. Both used to pass every pattern."""
    scanner = Scanner()
    for cls, value in (
        ("fin.credit_card", "4111 1111 1111 1111"),
        ("pii.phone", "+1 415 555 2671"),
        ("fin.iban", "DE89 3704 0044 0532 0130 00"),
        ("pii.email", "jane.doe@example.com"),
    ):
        shown = written(value)
        text = f"please keep {shown} on file"
        found = [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)]
        assert (cls, shown) in found, (cls, found)
