"""Fixes found by the held-out corpus (bench/dlp_holdout.py): one test per general rule.

Each case runs on both engines: a value that must be found with its class, or text where
a class must not be reported.
"""

from __future__ import annotations

import pytest

from tutela.detectors import Scanner, ScannerConfig
from tutela.detectors import validators as v


@pytest.fixture(scope="module", params=["hyperscan", "python"])
def scanner(request: pytest.FixtureRequest) -> Scanner:
    if request.param == "hyperscan":
        pytest.importorskip("hyperscan")
    return Scanner(ScannerConfig(engine=request.param))


def _found(scanner: Scanner, text: str) -> list[tuple[str, str]]:
    return [(s.cls, text[s.start : s.end]) for s in scanner.scan(text)]


# (class, text, value that must be found with exactly that class)
FOUND: list[tuple[str, str, str]] = [
    # secret.password after a prefixed key (the "_" used to block the keyword)
    ("secret.password", "POSTGRES_PASSWORD: 3dDUCKnAN^c0FqDb\n", "3dDUCKnAN^c0FqDb"),
    ("secret.password", "ADMIN_PASSWORD=Tr0ub4dor&3x\n", "Tr0ub4dor&3x"),
    ("secret.password", "MYSQL_ROOT_PASSWORD='xK9#mQ2!vL'", "xK9#mQ2!vL"),
    # passwords on the command line
    ("secret.password", "curl -u admin:xKepcX%zH&3U_ https://h.example.com/", "xKepcX%zH&3U_"),
    ("secret.password", "mysql -h db.internal -u root -p_FclJTs5U8o", "_FclJTs5U8o"),
    # a vendor token in a URL's userinfo keeps its vendor class
    (
        "secret.gitlab_token",
        "git clone https://oauth2:glpat-1Hx74KWYG5WeWpdPqb-V@gitlab.com/acme/infra.git",
        "glpat-1Hx74KWYG5WeWpdPqb-V",
    ),
    # dates of birth: field names, other languages, dd-Mon-yyyy
    ("pii.date_of_birth", '{"dateOfBirth":"8/20/1944"}', "8/20/1944"),
    ("pii.date_of_birth", "date_of_birth: 1960-11-17", "1960-11-17"),
    ("pii.date_of_birth", "ich bin Milos Butte, geboren am 1947-07-18.", "1947-07-18"),
    ("pii.date_of_birth", "mijn geboortedatum 02.08.1996", "02.08.1996"),
    ("pii.date_of_birth", "sono Vittorio, nato il 26.03.1988", "26.03.1988"),
    ("pii.date_of_birth", "Pt is a 35yo, DOB 26-Mar-1950, presenting", "26-Mar-1950"),
    # ICD-10: "rule out" is clinical context
    ("phi.icd10", "Working dx E11.9; rule out J45.40.", "J45.40"),
    # "no." does not end the sentence that carries the context word
    ("pii.driver_license", "Scanned driver's licence, no. D7912228, expires soon", "D7912228"),
    ("fin.bank_account", "Account no. 12345678 at the branch", "12345678"),
    # Brazilian CPF without punctuation, with context; Indian PAN with context
    ("pii.national_id", "Segue meu CPF: 59501108465 obrigado", "59501108465"),
    ("pii.national_id", "my mobile is on file and PAN is ABCPE1234F.", "ABCPE1234F"),
    # Maestro cards in the 6304 range
    ("fin.credit_card", "paid with 6304 0000 0000 0000 paid", "6304 0000 0000 0000"),
    # Indian mobiles in their national form (6-digit first group)
    ("pii.phone", "my mobile is 081234 52221 and", "081234 52221"),
    # dates of birth with German, French, Spanish, Portuguese month names; "5th of March"
    ("pii.date_of_birth", "geboren am 3. Oktober 1977, wohnhaft", "3. Oktober 1977"),
    ("pii.date_of_birth", "je suis née le 2 avril 1963.", "2 avril 1963"),
    ("pii.date_of_birth", "fecha de nacimiento 5 de enero de 1994", "5 de enero de 1994"),
    ("pii.date_of_birth", "data de nascimento 28 de março de 1971", "28 de março de 1971"),
    ("pii.date_of_birth", "born on the 5th of March 1980", "5th of March 1980"),
    ("pii.date_of_birth", "geboren am 6. August 1943, wohnhaft", "6. August 1943"),
    # a known given name right after a greeting
    ("pii.person", "Hi Kate,\n\nThanks for the update", "Kate"),
    ("pii.person", "Hola Inès, gracias", "Inès"),
    # Dutch particles stay inside the name
    ("pii.person", "Patient: Ali van Dijk, DOB 18.8.1943", "Ali van Dijk"),
    # Portuguese street types
    ("pii.location", "entregar na Av. da Cunha, 226 - apto 32", "Av. da Cunha, 226"),
    ("pii.location", "I'm at Travessa Castro, 224 - apto 32", "Travessa Castro, 224"),
    # North American long-distance prefix
    ("pii.phone", "call 1-201-555-4094 tomorrow", "1-201-555-4094"),
    # countries without a trunk 0, in their national format, next to a phone word
    ("pii.phone", "mi móvil es el 612 34 34 07.", "612 34 34 07"),
    ("pii.phone", "Tel: (11) 2345-0074", "(11) 2345-0074"),
    ("pii.phone", "ring me on 21 23 00 59", "21 23 00 59"),
    ("pii.phone", 'landline: "512 347 031"', "512 347 031"),
    # a context word after "_" (an environment variable name) counts on both engines
    ("pii.phone", "SUPPORT_PHONE=612 34 43 80\n", "612 34 43 80"),
    ("phi.mrn", "PATIENT_MRN=00123456\n", "00123456"),
    # the Hyperscan anchor of a name takes the "d'" particle, as the pattern does
    ("pii.person", "Patient: Tara d' Heripon, DOB 2 Nov 1950", "Tara d' Heripon"),
    # real keys are still found
    ("secret.aws_access_key", "aws_access_key_id = AKIAQ3EGR7MBX2LT5NPW", "AKIAQ3EGR7MBX2LT5NPW"),
]


@pytest.mark.parametrize(
    ("cls", "text", "value"), FOUND, ids=[f"{c}:{x[:24]}" for c, x, _ in FOUND]
)
def test_found(scanner: Scanner, cls: str, text: str, value: str) -> None:
    assert (cls, value) in _found(scanner, text)


# (class that must not be reported, text)
NOT_FOUND: list[tuple[str, str]] = [
    # AWS's documented example credentials
    ("secret.aws_access_key", "aws_access_key_id = AKIAIOSFODNN7EXAMPLE"),
    ("secret.aws_secret_key", "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
    # placeholder keys: one character fills the key
    ("secret.anthropic_key", "ANTHROPIC_API_KEY=sk-ant-api03-xxxxxxxxxxxxxxxxxxxxxxxx"),
    ("secret.openai_key", "export OPENAI_API_KEY=sk-" + "x" * 48),
    ("secret.aws_access_key", "AKIAXXXXXXXXXXXXXXXX"),
    # placeholder passwords followed by sentence punctuation
    ("secret.password", "password: changeme."),
    ("secret.password", "Password: ${DB_PASSWORD}."),
    ("secret.password", "password: your_password!"),
    # the GitLab token in a URL is not an e-mail address
    ("pii.email", "git clone https://oauth2:glpat-1Hx74KWYG5WeWpdPqb-V@gitlab.com/acme/x.git"),
    # log timestamps are not phone numbers
    ("pii.phone", "2024-09-11 12:15:22,543 INFO login ok"),
    ("pii.phone", '18.83.152.157 - - [2025-05-20 14:10:08,201] "GET / HTTP/1.1"'),
    # IPv4-shaped versions: User-Agent product tokens, section numbers, upgrades
    (
        "net.ip_address",
        "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko) Chrome/117.0.0.0 Safari",
    ),
    ("net.internal_ip", "Chrome/127.0.0.0 Safari/537.36"),
    ("net.ip_address", "see section 4.7.6.3 of the contract"),
    ("net.internal_ip", "upgraded the agent to 10.2.3.4 last night"),
    # the national format of a no-trunk country is not enough without a phone word
    ("pii.phone", "reference 21 23 00 59 attached"),
    ("pii.phone", "batch 612 34 34 07 shipped"),
    # greetings of words that are not given names
    ("pii.person", "Hi Team,\nDear Customer,\nHello World!"),
    # places and companies that start with a given name
    ("pii.person", "the bank is in Austin Convention Center."),
    ("pii.person", "meeting moved to Victoria Station"),
    ("pii.person", "invoiced by Davis Ltd last week"),
    # a lower-case particle is not a given name ("del" is not "Del")
    ("pii.person", "Locutor de televisión | Construcción del Norte S.Coop."),
]


@pytest.mark.parametrize(("cls", "text"), NOT_FOUND, ids=[f"{c}:{x[:24]}" for c, x in NOT_FOUND])
def test_not_found(scanner: Scanner, cls: str, text: str) -> None:
    assert [x for x in _found(scanner, text) if x[0] == cls] == []


def test_a_year_near_a_licence_context_is_not_a_licence_number(scanner: Scanner) -> None:
    found = _found(scanner, "Scanned driver's licence, no. D7912228, expires 11/2/1985.")
    assert [x for c, x in found if c == "pii.driver_license"] == ["D7912228"]


def test_url_with_userinfo_is_one_url(scanner: Scanner) -> None:
    text = "see https://reader:s3cr3tPa55@example.org/feed for details"
    found = _found(scanner, text)
    assert ("secret.url_password", "s3cr3tPa55") in found
    assert not any(
        c == "net.url" and x.startswith("https://reader") and "@" not in x for c, x in found
    )
    assert v.not_filler("AKIAQ3EGR7MBX2LT5NPW") and not v.not_filler("AKIA" + "X" * 16)
    assert v.not_example_key("AKIAQ3EGR7MBX2LT5NPW") and not v.not_example_key(
        "AKIAIOSFODNN7EXAMPLE"
    )
