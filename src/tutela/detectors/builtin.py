"""The built-in detectors: every ``pii.*``, ``fin.*``, ``phi.*``, ``secret.*`` and ``net.*``
class tutela knows. One entry per pattern; ``docs/dlp.md`` describes each class.
"""

from __future__ import annotations

import re
from typing import Any

from tutela.detectors import gazetteer
from tutela.detectors import validators as v
from tutela.detectors.registry import Detector

# Boundaries. ``_B`` / ``_E``: not inside a longer alphanumeric token.
_B = r"(?<![A-Za-z0-9_])"
_E = r"(?![A-Za-z0-9_])"
_BD = r"(?<![A-Za-z0-9_.+-])"  # before digit runs: no sign, dot or dash glued on
_ED = r"(?![A-Za-z0-9_-]|\.[0-9])"

# Latin letters beyond ASCII (Latin-1 Supplement, Extended-A and -B): Python classes and
# the UTF-8 byte sequences Hyperscan sees for them (a superset: both cases).
_UP = "[A-ZÀ-ÖØ-Þ\u0100-\u024f]"
_LO = "[a-zß-öø-ÿ\u0100-\u024f]"
_HS_UP = r"(?:[A-Z]|\xc3[\x80-\x9e]|[\xc4-\xc9][\x80-\xbf])"
_HS_LO = r"(?:[a-z]|\xc3[\x9f-\xbf]|[\xc4-\xc9][\x80-\xbf])"
_LETTER_B = "(?<![A-Za-zÀ-ÖØ-öø-ÿ\u0100-\u024f0-9_])"
_LETTER_E = "(?![A-Za-zÀ-ÖØ-öø-ÿ\u0100-\u024f0-9_])"


def _latin(pattern: str) -> str:
    """The Hyperscan form of a pattern written with the ``{UP}``/``{LO}`` letter classes."""
    return pattern.replace("{UP}", _HS_UP).replace("{LO}", _HS_LO)


def _py(pattern: str) -> str:
    return _LETTER_B + pattern.replace("{UP}", _UP).replace("{LO}", _LO) + _LETTER_E


# ---------------------------------------------------------------------------------------
# Context words

CTX_DOB = (
    "date of birth",
    "dob",
    "d.o.b",
    "birth date",
    "birthdate",
    "born",
    "birthday",
    "geburtsdatum",
    "geb.",
    "né le",
    "née le",
    "fecha de nacimiento",
    "data di nascita",
    # field names in JSON, YAML, CSV and code (dateOfBirth, date_of_birth, birth_date)
    "dateofbirth",
    "date_of_birth",
    "date-of-birth",
    "birth_date",
    "birth-date",
    # German, Dutch, French, Italian, Spanish, Portuguese, Nordic phrasings
    "geboren",
    "geboortedatum",
    "date de naissance",
    "nato il",
    "nata il",
    "nacido el",
    "nacida el",
    "data de nascimento",
    "nascido em",
    "nascida em",
    "fødselsdato",
    "födelsedatum",
)
CTX_PASSPORT = ("passport", "reisepass", "passeport", "pasaporte", "passaporto")
CTX_DL = (
    "driver's license",
    "drivers license",
    "driver license",
    "driver's licence",
    "driving licence",
    "driving license",
    "dl#",
    "dl no",
    "dl number",
    "licence no",
    "license no",
    "license number",
    "licence number",
    "führerschein",
)
CTX_ACCOUNT = (
    "account number",
    "account no",
    "account #",
    "acct",
    "a/c",
    "bank account",
    "kontonummer",
    "account:",
    "checking account",
    "savings account",
)
CTX_SORT = ("sort code",)
CTX_ROUTING = ("routing", "aba", "rtn", "transit number")
CTX_NPI = ("npi", "national provider", "provider id", "prescriber")
CTX_MRN = (
    "mrn",
    "medical record",
    "med rec",
    "patient id",
    "patient number",
    "patient no",
    "chart number",
    "chart #",
    "hospital number",
    "record number",
)
CTX_PLAN = (
    "member id",
    "member #",
    "member no",
    "health plan",
    "insurance id",
    "policy number",
    "policy no",
    "subscriber id",
    "group number",
    "beneficiary",
    "medicaid",
    "medicare",
    "plan id",
    "insurance number",
    "nhs number",
    "nhs no",
)
CTX_ICD = (
    "icd",
    "icd-10",
    "icd10",
    "diagnosis",
    "diagnosed",
    "diagnoses",
    "dx",
    "condition",
    "clinical",
    "assessment",
    "comorbid",
    "history of",
    "impression",
    "rule out",
    "r/o",
    "differential",
    "ddx",
)
CTX_PHONE = (
    # other languages: German, French, Spanish, Italian, Portuguese, Dutch, Nordic, Polish
    "telefon",
    "telefono",
    "teléfono",
    "telefone",
    "téléphone",
    "tél",
    "tlf",
    "móvil",
    "movil",
    "celular",
    "cellulare",
    "cell.",
    "mobil",
    "handy",
    "rufnummer",
    "portable",
    "bel me",
    "msisdn",
    "mob",
    "ring",
    "landline",
    "my number",
    "phone",
    "tel",
    "telephone",
    "mobile",
    "cell",
    "call",
    "fax",
    "contact",
    "whatsapp",
    "sms",
    "text me",
    "reach me",
    "ph:",
    "ph.",
)
CTX_SSN = ("ssn", "social security", "soc sec")
CTX_PERSON = (
    "mr",
    "mrs",
    "ms",
    "miss",
    "dr",
    "prof",
    "dear",
    "name",
    "patient",
    "customer",
    "contact",
    "employee",
    "signed",
    "regards",
    "from:",
    "to:",
    "cc:",
    "client",
    "applicant",
    "hi",
    "hello",
    "attn",
    "author",
    "user",
    "member",
    "insured",
    "manager",
    "owner",
    "assigned to",
    "spoke with",
    "called",
    "emailed",
    "met with",
)

# ---------------------------------------------------------------------------------------
# Names and addresses (gazetteer + shape + context)

_PARTICLES = frozenset(
    {
        "van",
        "von",
        "de",
        "der",
        "den",
        "da",
        "di",
        "del",
        "della",
        "du",
        "le",
        "la",
        "dos",
        "das",
        "ter",
        "ten",
        "bin",
        "al",
        "y",
        "e",
    }
)
_TOKEN = re.compile(r"[^ ]+")


# Facility and organisation nouns: a capitalised run holding one is a place or a company
# ("Austin Convention Center", "Victoria Station", "Davis Ltd"), not a person.
_NOT_NAME_WORDS = frozenset(
    [
        "center",
        "centre",
        "station",
        "airport",
        "cathedral",
        "hospital",
        "clinic",
        "university",
        "college",
        "school",
        "academy",
        "institute",
        "museum",
        "stadium",
        "arena",
        "market",
        "mall",
        "hotel",
        "theatre",
        "theater",
        "opera",
        "square",
        "valley",
        "beach",
        "tech",
        "group",
        "holdings",
        "inc",
        "ltd",
        "ltda",
        "llc",
        "gmbh",
        "plc",
        "corp",
        "corporation",
        "company",
        "partners",
        "associates",
        "foundation",
        "ministry",
        "agency",
        "airlines",
        "airways",
        "bank",
        "motors",
        "labs",
        "systems",
        "solutions",
        "services",
        "consulting",
        "studios",
        "street",
        "road",
        "avenue",
        "boulevard",
    ]
)


def _refine_person(value: str, context: bool) -> tuple[int, int, float] | None:
    first_names, surnames = gazetteer.load()
    toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(value)]
    # Leading capitalised words that are not given names ("Yesterday John Smith").
    i = 0  # the given name is capitalised: "del" in "Construcción del Norte" is not "Del"
    while i < len(toks) and (not toks[i][2][:1].isupper() or toks[i][2].lower() not in first_names):
        i += 1
    if any(t[2].lower() in _NOT_NAME_WORDS for t in toks[i + 1 :]):
        return None
    if i < len(toks) - 1:
        rest = toks[i:]
        last = rest[-1][2].lower()
        while (
            len(rest) > 2
            and last not in surnames
            and rest[-2][2][:1].isupper()  # "van" in "Ali van Dijk" is a particle
            and rest[-2][2].lower() in surnames
        ):
            rest = rest[:-1]
            last = rest[-1][2].lower()
        while len(rest) > 1 and not rest[-1][2][:1].isupper():  # never end on "de", "van"
            rest = rest[:-1]
            last = rest[-1][2].lower()
        if len(rest) < 2:
            return None
        if last in surnames:
            score = 0.9 if context else 0.85
        elif context:
            score = 0.75
        else:
            score = 0.6
        return rest[0][0], rest[-1][1], score
    # No known given name: a known surname after capitalised words, in context.
    if context and len(toks) >= 2 and toks[-1][2].lower() in surnames:
        return toks[0][0], toks[-1][1], 0.6
    return None


def _refine_titled(value: str, context: bool) -> tuple[int, int, float] | None:
    return 0, len(value), 0.85


def _refine_greeted(value: str, context: bool) -> tuple[int, int, float] | None:
    """A lone word after a greeting ("Hi Kate,") is a name when it is a known given name."""
    return (0, len(value), 0.85) if value.lower() in gazetteer.load()[0] else None


_GREETINGS = "Hi|Hello|Hey|Dear|Hallo|Liebe|Lieber|Bonjour|Hola|Ciao|Olá|Beste|Hej"


# Street suffixes: the USPS Publication 28 (appendix C1) names and common abbreviations,
# plus British ones (Close, Mews, Gardens...).
_STREET_SUFFIX = "|".join(
    sorted(
        set(
            [
                "Alley",
                "Aly",
                "Annex",
                "Anx",
                "Arcade",
                "Arc",
                "Avenue",
                "Ave",
                "Av",
                "Bayou",
                "Beach",
                "Bch",
                "Bend",
                "Bluff",
                "Bluffs",
                "Bottom",
                "Boulevard",
                "Blvd",
                "Branch",
                "Br",
                "Bridge",
                "Brg",
                "Brook",
                "Brooks",
                "Burg",
                "Burgs",
                "Bypass",
                "Byp",
                "Camp",
                "Canyon",
                "Cape",
                "Causeway",
                "Cswy",
                "Center",
                "Ctr",
                "Centers",
                "Circle",
                "Cir",
                "Circles",
                "Cliff",
                "Cliffs",
                "Club",
                "Common",
                "Commons",
                "Corner",
                "Corners",
                "Course",
                "Court",
                "Ct",
                "Courts",
                "Cove",
                "Coves",
                "Creek",
                "Crk",
                "Crescent",
                "Cres",
                "Crest",
                "Crossing",
                "Xing",
                "Crossroad",
                "Curve",
                "Dale",
                "Dam",
                "Divide",
                "Drive",
                "Dr",
                "Drives",
                "Estate",
                "Estates",
                "Expressway",
                "Expy",
                "Extension",
                "Ext",
                "Extensions",
                "Fall",
                "Falls",
                "Ferry",
                "Field",
                "Fields",
                "Flat",
                "Flats",
                "Ford",
                "Fords",
                "Forest",
                "Forge",
                "Forges",
                "Fork",
                "Forks",
                "Fort",
                "Freeway",
                "Fwy",
                "Garden",
                "Gardens",
                "Gdns",
                "Gateway",
                "Glen",
                "Glens",
                "Green",
                "Greens",
                "Grove",
                "Grv",
                "Groves",
                "Harbor",
                "Harbors",
                "Haven",
                "Heights",
                "Hts",
                "Highway",
                "Hwy",
                "Hill",
                "Hills",
                "Hollow",
                "Inlet",
                "Island",
                "Islands",
                "Isle",
                "Junction",
                "Jct",
                "Junctions",
                "Key",
                "Keys",
                "Knoll",
                "Knolls",
                "Lake",
                "Lakes",
                "Land",
                "Landing",
                "Lane",
                "Ln",
                "Light",
                "Lights",
                "Loaf",
                "Lock",
                "Locks",
                "Lodge",
                "Loop",
                "Mall",
                "Manor",
                "Manors",
                "Meadow",
                "Meadows",
                "Mews",
                "Mill",
                "Mills",
                "Mission",
                "Motorway",
                "Mount",
                "Mountain",
                "Mountains",
                "Neck",
                "Orchard",
                "Oval",
                "Overpass",
                "Park",
                "Parks",
                "Parkway",
                "Pkwy",
                "Parkways",
                "Pass",
                "Passage",
                "Path",
                "Pike",
                "Pine",
                "Pines",
                "Place",
                "Pl",
                "Plain",
                "Plains",
                "Plaza",
                "Plz",
                "Point",
                "Pt",
                "Points",
                "Port",
                "Ports",
                "Prairie",
                "Radial",
                "Ramp",
                "Ranch",
                "Rapid",
                "Rapids",
                "Rest",
                "Ridge",
                "Ridges",
                "River",
                "Road",
                "Rd",
                "Roads",
                "Route",
                "Rte",
                "Row",
                "Run",
                "Shoal",
                "Shoals",
                "Shore",
                "Shores",
                "Skyway",
                "Spring",
                "Springs",
                "Spur",
                "Spurs",
                "Square",
                "Sq",
                "Squares",
                "Station",
                "Sta",
                "Stravenue",
                "Stream",
                "Street",
                "St",
                "Streets",
                "Summit",
                "Terrace",
                "Ter",
                "Throughway",
                "Trace",
                "Track",
                "Trafficway",
                "Trail",
                "Trl",
                "Trailer",
                "Tunnel",
                "Turnpike",
                "Tpke",
                "Underpass",
                "Union",
                "Unions",
                "Valley",
                "Valleys",
                "Viaduct",
                "View",
                "Views",
                "Village",
                "Villages",
                "Ville",
                "Via",
                "Vista",
                "Walk",
                "Walks",
                "Wall",
                "Way",
                "Ways",
                "Well",
                "Wells",
                "Close",
                "Crescent",
                "Drove",
                "Grove",
                "Mews",
                "Parade",
                "Rise",
                "Row",
                "Vale",
                "Wharf",
                "Wynd",
            ]
        ),
        key=lambda w: (-len(w), w),
    )
)
_WORD = "(?:{UP}')?{UP}{LO}{1,20}"
_US_ADDRESS = (
    r"[0-9]{1,6}[A-Za-z]?(?:[ ][NSEW]\.?)?(?:[ ]" + _WORD + r"|[ ][0-9]{1,3}(?:st|nd|rd|th)){1,4}"
    r"[ ](?:" + _STREET_SUFFIX + r")\.?(?:[ ](?:N|S|E|W|NE|NW|SE|SW)(?![A-Za-z]))?"
    r"(?:,?[ ](?:Apt|Apartment|Suite|Ste|Unit|Floor|Fl|#)\.?[ ]?[A-Za-z0-9-]{1,6})?"
    r"(?:,[ ]" + _WORD + r"(?:[ ]" + _WORD + r"){0,2})?"
    r"(?:,?[ ][A-Z]{2})?(?:[ ][0-9]{5}(?:-[0-9]{4})?)?"
    r"(?:,?[ ][A-Z]{1,2}[0-9][A-Z0-9]?[ ][0-9][A-Z]{2})?"
)
_EU_SUFFIX = "|".join(
    f"{w}|{w[0].upper()}{w[1:]}"
    for w in (
        "straße",
        "strasse",
        "str\\.",
        "weg",
        "gasse",
        "allee",
        "platz",
        "ring",
        "damm",
        "laan",
        "straat",
        "gracht",
        "plein",
        "vej",
        "gade",
        "gatan",
        "vägen",
        "väg",
        "katu",
    )
)
_EU_ADDRESS = (
    r"(?:{UP}{LO}{1,20}-){0,4}(?:{UP}{LO}{1,20})?(?:" + _EU_SUFFIX + r")[ ][0-9]{1,4}[a-z]?"
    r"(?:[-/][0-9]{1,4}[a-z]?)?"
    r"(?:,[ ][0-9]{4,5}[ ]" + _WORD + r"(?:[ ]" + _WORD + r")?)?"
)
_ROMANCE_STREETS = (
    "rue|avenue|boulevard|bd|place|chemin|allée|impasse|quai|route|"
    "Calle|Avenida|Avda\\.|Plaza|Paseo|Carrer|Via|Viale|Piazza|Corso|Rua|Rue|"
    "Av\\.|Travessa|Alameda|Estrada|Rodovia|Praça|Largo"
)
_ROMANCE_PARTICLES = "(?:(?:de|du|des|de la|del|della|di|da|do|dos|das)[ ])?"
_ROMANCE_ADDRESS = (
    # lower-case French words are common English words: they need a house number first
    r"(?:[0-9]{1,4}(?:[ ]?(?:bis|ter))?,?[ ](?:rue|avenue|boulevard|bd|place|chemin|allée|"
    r"impasse|quai|route)|(?:[0-9]{1,4},?[ ])?(?:Calle|Avenida|Avda\.|Plaza|Paseo|Carrer|Via|"
    r"Viale|Piazza|Corso|Rua|Rue|Av\.|Travessa|Alameda|Estrada|Rodovia|Praça|Largo))"
    r"[ ]" + _ROMANCE_PARTICLES + _WORD + r"(?:[ ]" + _WORD + r"){0,3}(?:,?[ ][0-9]{1,4}[A-Za-z]?)?"
    r"(?:,[ ][0-9]{5}[ ]" + _WORD + r"(?:[ ]" + _WORD + r")?)?"
)


def _address(
    name: str, pattern: str, score: float, anchor: str, before: int, after: int
) -> Detector:
    return Detector(
        name=name,
        cls="pii.location",
        pattern=_py(pattern),
        hs_pattern=anchor,
        anchor_before=before,
        anchor_after=after,
        score=score,
    )


# ---------------------------------------------------------------------------------------
# Dates (for DOB)

_MON = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]{0,6}\.?"
# German, French, Spanish, Italian, Dutch and Portuguese month names (validators._MONTHS)
_MON_INTL = (
    "(?:Januar|Februar|März|Maerz|Mai|Juni|Juli|Oktober|Dezember|janvier|février|fevrier|"
    "mars|avril|mai|juin|juillet|août|aout|septembre|octobre|novembre|décembre|decembre|"
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|setiembre|octubre|"
    "noviembre|diciembre|gennaio|febbraio|aprile|maggio|giugno|luglio|settembre|ottobre|"
    "dicembre|januari|februari|maart|mei|augustus|janeiro|fevereiro|março|maio|junho|"
    "julho|setembro|outubro|dezembro)"
)
_DATES = (
    r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-](?:[0-9]{4}|[0-9]{2})",
    r"(?:19|20)[0-9]{2}-[0-9]{2}-[0-9]{2}",
    _MON + r"[ ][0-9]{1,2}(?:st|nd|rd|th)?,?[ ](?:19|20)[0-9]{2}",
    r"[0-9]{1,2}(?:st|nd|rd|th)?[ ](?:of[ ])?" + _MON + r",?[ ](?:19|20)[0-9]{2}",
    r"[0-9]{1,2}-" + _MON + r"-(?:19|20)[0-9]{2}",  # 04-Mar-1958 (clinical and Oracle style)
    # 3. Oktober 1977, 2 avril 1963, 5 de enero de 1994, 28 de março de 1971
    r"[0-9]{1,2}\.?[ ](?:de[ ])?(?:" + _MON_INTL + "|" + _MON + r")[ ](?:de[ ])?(?:19|20)[0-9]{2}",
)


def _dob() -> Detector:
    return Detector(
        name="pii.date_of_birth",
        cls="pii.date_of_birth",
        pattern=_BD + "(?:" + "|".join(_DATES) + ")" + _ED,
        score=0.85,
        validator=v.plausible_birth_date,
        context=CTX_DOB,
        context_required=True,
        context_before=40,
        caseless=True,
    )


def _secret(name: str, pattern: str, *, score: float = 0.99, **kw: Any) -> Detector:
    """``secret.<kind>`` detector; ``name`` may carry a variant after a dot."""
    return Detector(
        name=f"secret.{name}",
        cls=f"secret.{name.split('.')[0]}",
        pattern=pattern,
        score=score,
        **kw,
    )


_ASSIGN = r"[\"']?[ \t]{0,3}(?::=|=>|[:=])[ \t]{0,3}[\"']?"

DETECTORS: tuple[Detector, ...] = (
    # -- PII ------------------------------------------------------------------------
    Detector(
        name="pii.email",
        cls="pii.email",
        pattern=(
            r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]{0,63}@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}"
            r"(?![A-Za-z0-9-])"
        ),
        hs_pattern=r"[A-Za-z0-9._%+-]@[A-Za-z0-9]",
        anchor_before=64,
        anchor_after=8 * 63 + 24,
        score=0.99,
    ),
    Detector(
        name="pii.phone.international",
        cls="pii.phone",
        pattern=r"(?<![A-Za-z0-9_+])(?:\+|00)[1-9][0-9 .()-]{6,20}[0-9](?![0-9]|-[0-9])",
        score=0.95,
        validator=v.phone,
        hs_pattern=r"\+[1-9]|\b00[1-9]",
        anchor_after=30,
    ),
    Detector(
        name="pii.phone.national",
        cls="pii.phone",
        pattern=(
            # a first group of up to 6 digits: Indian mobiles are written 081234 52221
            # and the North American long-distance "1-": 1-201-555-0123
            r"(?<![A-Za-z0-9_+.:-])(?:1[ .-])?(?:\([0-9]{2,5}\)[ .-]?|[0-9]{2,6}[ .-])[0-9]{2,8}"
            r"(?:[ .-][0-9]{2,8}){0,3}(?![A-Za-z0-9_-]|\.[0-9])"
        ),
        score=0.85,
        validator=v.formatted_phone,
        hs_pattern=r"[0-9][ .-][0-9]{2}|\)[ .-]?[0-9]{2}",
        anchor_before=30,
        anchor_after=30,
    ),
    Detector(
        name="pii.phone.digits",
        cls="pii.phone",
        pattern=_BD + r"[0-9]{10,11}" + _ED,
        score=0.8,
        validator=v.phone,
        context=CTX_PHONE,
        context_required=True,
    ),
    Detector(
        # a country without a trunk 0, written exactly as that country writes its numbers
        # ("612 34 34 07", "(11) 2345-0074"), next to a phone word
        name="pii.phone.no_trunk",
        cls="pii.phone",
        pattern=(
            r"(?<![A-Za-z0-9_+.:-])(?:\([0-9]{2}\)[ ][0-9]{4,5}-[0-9]{4}|"
            r"[0-9]{2,3}[ ][0-9]{2,4}(?:[ ][0-9]{2,4}){1,2})(?![A-Za-z0-9_-]|\.[0-9])"
        ),
        score=0.8,
        validator=v.national_format_phone,
        context=CTX_PHONE,
        context_required=True,
        # anchored on the digit groups, not on the context words: prose costs nothing
        hs_pattern=r"[0-9]{2,3}[ ][0-9]{2,4}[ ][0-9]{2}|\([0-9]{2}\)[ ][0-9]{4}",
        anchor_before=1,
        anchor_after=20,
    ),
    Detector(
        name="pii.ssn",
        cls="pii.ssn",
        pattern=_BD + r"(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})" + _ED,
        score=0.95,
        validator=v.us_ssn,
        context=CTX_SSN,
    ),
    Detector(
        name="pii.ssn.digits",
        cls="pii.ssn",
        pattern=_BD + r"[0-9]{9}" + _ED,
        score=0.9,
        validator=v.us_ssn,
        context=CTX_SSN,
        context_required=True,
    ),
    Detector(
        name="pii.national_id.gb_nino",
        cls="pii.national_id",
        pattern=_B + r"[A-CEGHJ-PR-TW-Z]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[A-D]" + _E,
        score=0.9,
        validator=v.gb_nino,
    ),
    Detector(
        name="pii.national_id.ca_sin",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{3}" + _ED,
        score=0.9,
        validator=v.ca_sin,
        context=("sin", "social insurance"),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.fr_nir",
        cls="pii.national_id",
        pattern=(
            _BD + r"[12][ ]?[0-9]{2}[ ]?(?:0[1-9]|1[0-2]|[2-9][0-9])[ ]?(?:[0-9]{2}|2A|2B)"
            r"[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{2}" + _ED
        ),
        score=0.95,
        validator=v.fr_nir,
    ),
    Detector(
        name="pii.national_id.de_idnr",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{2}[ ]?[0-9]{3}[ ]?[0-9]{3}[ ]?[0-9]{3}" + _ED,
        score=0.9,
        validator=v.de_idnr,
        context=("steuer", "tax id", "identifikationsnummer", "idnr", "steuer-id"),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.es_dni",
        cls="pii.national_id",
        pattern=_B + r"(?:[0-9]{8}|[XYZ][0-9]{7})-?[A-Z]" + _E,
        score=0.95,
        validator=v.es_dni_nie,
    ),
    Detector(
        name="pii.national_id.it_cf",
        cls="pii.national_id",
        pattern=_B
        + r"[A-Z]{6}[0-9LMNPQRSTUV]{2}[A-EHLMPR-T][0-9LMNPQRSTUV]{2}[A-Z][0-9LMNPQRSTUV]{3}[A-Z]"
        + _E,
        score=0.95,
        validator=v.it_codicefiscale,
    ),
    Detector(
        name="pii.national_id.nl_bsn",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{4}\.?[0-9]{2}\.?[0-9]{3}" + _ED,
        score=0.9,
        validator=v.nl_bsn,
        context=("bsn", "burgerservicenummer", "sofinummer"),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.in_aadhaar",
        cls="pii.national_id",
        pattern=_BD + r"[2-9][0-9]{3}[ -]?[0-9]{4}[ -]?[0-9]{4}" + _ED,
        score=0.9,
        validator=v.in_aadhaar,
        context=("aadhaar", "aadhar", "uidai", "uid"),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.br_cpf",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{3}\.[0-9]{3}\.[0-9]{3}-[0-9]{2}" + _ED,
        score=0.95,
        validator=v.br_cpf,
    ),
    Detector(
        name="pii.national_id.br_cpf.digits",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{11}" + _ED,
        score=0.9,
        validator=v.br_cpf,
        context=("cpf",),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.in_pan",
        cls="pii.national_id",
        # Indian PAN: 5 letters (the 4th the holder type), 4 digits, a letter
        pattern=_B + r"[A-Z]{3}[ABCFGHJLPT][A-Z][0-9]{4}[A-Z]" + _E,
        score=0.9,
        context=("pan", "permanent account number", "income tax"),
        context_required=True,
    ),
    Detector(
        name="pii.national_id.se_pnr",
        cls="pii.national_id",
        pattern=_BD + r"(?:19|20)?[0-9]{6}[-+][0-9]{4}" + _ED,
        score=0.9,
        validator=v.se_personnummer,
    ),
    Detector(
        name="pii.national_id.pl_pesel",
        cls="pii.national_id",
        pattern=_BD + r"[0-9]{11}" + _ED,
        score=0.9,
        validator=v.pl_pesel,
        context=("pesel",),
        context_required=True,
    ),
    Detector(
        name="pii.passport",
        cls="pii.passport",
        pattern=_B + r"[A-Z]{0,2}[0-9]{6,9}" + _E,
        score=0.85,
        context=CTX_PASSPORT,
        context_required=True,
    ),
    Detector(
        name="pii.driver_license",
        cls="pii.driver_license",
        pattern=_B + r"[A-Z]{0,3}[0-9]{1,3}[-]?[0-9]{3,14}" + _E,
        score=0.85,
        validator=v.has_digit_and_not_date,
        context=CTX_DL,
        context_required=True,
    ),
    Detector(
        name="pii.driver_license.gb",
        cls="pii.driver_license",
        pattern=_B
        + r"[A-Z9]{5}[0-9](?:[05][1-9]|[16][0-2])(?:0[1-9]|[12][0-9]|3[01])[0-9][A-Z9]{2}[0-9][A-Z]{2}"
        + _E,
        score=0.9,
    ),
    _dob(),
    Detector(
        name="pii.person",
        cls="pii.person",
        pattern=_py(
            "{UP}{LO}{1,20}(?:[ ](?:{UP}\\.|(?:(?:van|von|de|der|den|het|da|di|del|du|le|la|dos|ter|bin|al|d')[ ]){0,2}"
            "{UP}(?:'{UP})?{LO}{1,20}(?:-{UP}{LO}{1,20})?)){1,3}"
        ),
        hs_pattern=_latin("{UP}{LO}{1,20}[ ](?:[a-z']{1,4}[ ]){0,2}{UP}"),
        anchor_after=200,
        score=0.85,
        refine=_refine_person,
        context=CTX_PERSON,
        context_before=24,
        context_after=0,
    ),
    Detector(
        name="pii.person.titled",
        cls="pii.person",
        pattern=(
            "(?<![A-Za-z])(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Herr|Frau|Mme|Mlle)\\.?[ ]"
            "(?P<v>" + _UP + _LO + "{1,20}(?:[ ]" + _UP + _LO + "{1,20})?)" + _LETTER_E
        ),
        hs_pattern=_latin("(?:Mr|Mrs|Ms|Miss|Dr|Prof|Sir|Herr|Frau|Mme|Mlle)\\.?[ ]{UP}"),
        group="v",
        score=0.85,
        refine=_refine_titled,
        anchor_after=50,
        priority=1,
    ),
    Detector(
        name="pii.person.greeting",
        cls="pii.person",
        pattern=(f"(?<![A-Za-z])(?:{_GREETINGS})[ ](?P<v>{_UP}{_LO}{{1,20}})(?=[ ]?[,!:\n])"),
        hs_pattern=_latin(f"(?:{_GREETINGS})[ ]{{UP}}"),
        group="v",
        score=0.85,
        refine=_refine_greeted,
        anchor_after=30,
    ),
    _address("pii.location.us", _US_ADDRESS, 0.88, r"[ ](?:" + _STREET_SUFFIX + r")\b", 200, 220),
    _address("pii.location.eu", _EU_ADDRESS, 0.88, r"(?:" + _EU_SUFFIX + r")[ ][0-9]", 100, 120),
    _address(
        "pii.location.romance",
        _ROMANCE_ADDRESS,
        0.88,
        _latin(f"(?:{_ROMANCE_STREETS})[ ]{_ROMANCE_PARTICLES}{{UP}}"),
        20,
        300,
    ),
    # -- Financial --------------------------------------------------------------------
    Detector(
        name="fin.credit_card",
        cls="fin.credit_card",
        pattern=_BD + r"[0-9](?:[ -]?[0-9]){11,18}" + _ED,
        score=0.99,
        validator=v.credit_card,
        priority=2,
        hs_pattern=r"\b[0-9](?:[ -]?[0-9]){11}",
        anchor_after=30,
    ),
    Detector(
        name="fin.iban",
        cls="fin.iban",
        pattern=_B + r"[A-Z]{2}[0-9]{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?" + _E,
        score=0.99,
        validator=v.iban,
        priority=2,
    ),
    Detector(
        name="fin.bank_account",
        cls="fin.bank_account",
        pattern=_BD + r"[0-9]{6,17}" + _ED,
        score=0.85,
        context=CTX_ACCOUNT,
        context_required=True,
    ),
    Detector(
        name="fin.bank_account.sort_code",
        cls="fin.bank_account",
        pattern=_BD + r"[0-9]{2}-[0-9]{2}-[0-9]{2}" + _ED,
        score=0.85,
        context=CTX_SORT,
        context_required=True,
    ),
    Detector(
        name="fin.routing_number",
        cls="fin.routing_number",
        pattern=_BD + r"[0-9]{9}" + _ED,
        score=0.95,
        validator=v.aba_routing,
        context=CTX_ROUTING,
        context_required=True,
        priority=1,
    ),
    # -- PHI ----------------------------------------------------------------------------
    Detector(
        name="phi.npi",
        cls="phi.npi",
        pattern=_BD + r"[12][0-9]{9}" + _ED,
        score=0.97,
        validator=v.npi,
        context=CTX_NPI,
        context_required=True,
        priority=2,
    ),
    Detector(
        name="phi.mrn",
        cls="phi.mrn",
        pattern=_B + r"[A-Z]{0,3}-?[0-9]{5,10}" + _E,
        score=0.85,
        context=CTX_MRN,
        context_required=True,
        priority=1,
    ),
    Detector(
        name="phi.health_plan_id",
        cls="phi.health_plan_id",
        pattern=_B + r"[A-Z0-9]{2,5}-?[A-Z0-9]{4,12}" + _E,
        score=0.85,
        validator=v.has_digit_and_not_date,
        context=CTX_PLAN,
        context_required=True,
    ),
    Detector(
        name="phi.health_plan_id.mbi",
        cls="phi.health_plan_id",
        pattern=(
            _B + r"[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]"
            r"[AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]{2}[0-9]{2}" + _E
        ),
        score=0.9,
        validator=v.has_digit,
        priority=1,
    ),
    Detector(
        name="phi.health_plan_id.nhs",
        cls="phi.health_plan_id",
        pattern=_BD + r"[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}" + _ED,
        score=0.9,
        validator=v.gb_nhs,
        context=("nhs",),
        context_required=True,
        priority=2,
    ),
    Detector(
        name="phi.icd10",
        cls="phi.icd10",
        pattern=r"(?<![A-Za-z0-9_.-])[A-TV-Z][0-9][0-9AB](?:\.[0-9A-TV-Z]{1,4})?(?![A-Za-z0-9_-]|\.[0-9A-Za-z])",
        score=0.85,
        context=CTX_ICD,
        context_required=True,
        context_before=60,
    ),
    # -- Credentials ----------------------------------------------------------------------
    _secret(
        "aws_access_key",
        _B + r"(?:AKIA|ASIA|ABIA|ACCA|AROA|AIDA|AIPA|ANPA|ANVA|AGPA)[A-Z2-7]{16}" + _E,
        validator=v.not_example_key,
    ),
    _secret(
        "aws_secret_key",
        r"(?<![A-Za-z0-9])aws_?(?:secret_?access_?key|secret_?key)"
        + _ASSIGN
        + r"(?P<v>[A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])",
        group="v",
        validator=v.not_example_key,
        caseless=True,
    ),
    _secret(
        "gcp_service_account",
        r"\"private_key_id\"[ \t]{0,3}:[ \t]{0,3}\"(?P<v>[0-9a-f]{40})\"",
        group="v",
    ),
    _secret("gcp_api_key", _B + r"AIza[0-9A-Za-z_-]{35}(?![A-Za-z0-9_-])"),
    _secret(
        "azure_storage_key",
        r"AccountKey=(?P<v>[A-Za-z0-9+/]{86}==)",
        group="v",
    ),
    _secret(
        "azure_client_secret",
        r"(?<![A-Za-z0-9_~.-])[A-Za-z0-9_~.]{3}[0-9]Q~[A-Za-z0-9_~.-]{31,34}(?![A-Za-z0-9_~.-])",
        score=0.95,
    ),
    _secret(
        "anthropic_key",
        _B + r"sk-ant-(?:api|admin)[0-9]{2}-[A-Za-z0-9_-]{93}AA(?![A-Za-z0-9_-])",
        validator=v.not_filler,
        priority=2,
    ),
    _secret(
        "anthropic_key.loose",
        _B + r"sk-ant-[a-z]{2,8}[0-9]{0,3}-[A-Za-z0-9_-]{20,200}(?![A-Za-z0-9_-])",
        validator=v.not_filler,
        score=0.95,
        hs_pattern="sk-ant-",
        anchor_after=220,
    ),
    _secret(
        "openai_key",
        _B
        + r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{10,200}T3BlbkFJ[A-Za-z0-9_-]{10,200}(?![A-Za-z0-9_-])",
        priority=1,
        hs_pattern="T3BlbkFJ",
        anchor_before=230,
        anchor_after=210,
    ),
    _secret(
        "openai_key.legacy", _B + r"sk-[A-Za-z0-9]{48}" + _E, score=0.95, validator=v.not_filler
    ),
    _secret(
        "github_token", _B + r"gh[pousr]_[A-Za-z0-9]{36}" + _E, validator=v.github_token, priority=2
    ),
    _secret("github_token.fine_grained", _B + r"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}" + _E),
    _secret(
        "gitlab_token",
        _B + r"(?:glpat|glptt|gldt|glrt|gloas|glsoat)-[A-Za-z0-9_.-]{20,300}(?![A-Za-z0-9_.-])",
        hs_pattern="(?:glpat|glptt|gldt|glrt|gloas|glsoat)-",
        anchor_after=310,
        # like the other vendor tokens: in https://oauth2:glpat-…@gitlab.com the token is
        # secret.gitlab_token, not an e-mail address nor a bare URL password
        priority=2,
    ),
    _secret(
        "slack_token",
        _B + r"xox[baprs]-[A-Za-z0-9-]{10,250}(?![A-Za-z0-9-])",
        hs_pattern="xox[baprs]-",
        anchor_after=260,
    ),
    _secret(
        "slack_webhook",
        r"https://hooks\.slack\.com/services/T[A-Z0-9]{6,12}/B[A-Z0-9]{6,12}/[A-Za-z0-9]{20,32}",
    ),
    _secret("stripe_key", _B + r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{20,247}" + _E),
    _secret("twilio_key", _B + r"SK[0-9a-f]{32}" + _E, score=0.9),
    _secret("sendgrid_key", _B + r"SG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])"),
    _secret(
        "tutela_key", _B + r"tutela_sk_[0-9a-f]{16}_[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])", priority=2
    ),
    _secret(
        "private_key",
        r"-----BEGIN[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----"
        r"(?:[A-Za-z0-9+/=\r\n\t :,.\\]|-(?!----)){0,16384}"
        r"(?:-----END[A-Z ]{0,20} PRIVATE KEY(?: BLOCK)?-----)?",
        priority=3,
        hs_pattern="-----BEGIN[A-Z ]{0,20} PRIVATE KEY",
        anchor_after=16_500,
    ),
    _secret(
        "jwt",
        _B
        + r"eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{16,2048}(?![A-Za-z0-9_-])",
        validator=v.jwt,
        score=0.95,
        hs_pattern="eyJ[A-Za-z0-9_-]{8}",
        anchor_after=14_400,
    ),
    _secret(
        "db_connection",
        r"(?<![A-Za-z0-9+.-])(?:postgres(?:ql)?|mysql|mariadb|mongodb(?:\+srv)?|rediss?|mssql|"
        r"sqlserver|oracle|amqps?|cockroachdb)://[^\s:/@\"'<>]{1,64}:[^\s@/\"'<>]{1,128}@"
        r"[A-Za-z0-9.-]{1,253}(?::[0-9]{1,5})?(?:/[A-Za-z0-9_.%-]{0,128})?",
        priority=2,
        hs_pattern="://",
        anchor_before=24,
        anchor_after=600,
    ),
    _secret(
        "url_password",
        r"(?<![A-Za-z0-9+.-])[a-zA-Z][a-zA-Z0-9+.-]{1,20}://[^\s:/@\"'<>]{1,64}:"
        r"(?P<v>[^\s@/\"'<>]{1,128})@",
        group="v",
        validator=v.not_placeholder,
        score=0.99,
        priority=2,
        hs_pattern="://",
        anchor_before=24,
        anchor_after=200,
    ),
    _secret(
        "password",
        # after "_" too: POSTGRES_PASSWORD, ADMIN_PASSWORD, MYSQL_ROOT_PASSWORD
        r"(?<![A-Za-z0-9])(?:password|passwd|pwd|pass|passphrase|db_pass|db_password)"
        r"(?:[\"']?[ \t]{0,3}(?::=|=>|[:=])[ \t]{0,3}[\"']?|[ \t]is[ \t]{1,3})"
        r"(?P<v>[^\s\"',;<>]{4,128})",
        group="v",
        validator=v.password_value,
        score=0.9,
        caseless=True,
        hs_pattern="(?:password|passwd|pwd|pass|passphrase|db_pass|db_password)",
        anchor_after=160,
    ),
    _secret(
        "password.basic_auth",
        # curl/wget/httpie basic auth on the command line: -u user:password
        r"(?<![A-Za-z0-9_-])(?:-u|--user|--http-user)[ \t=]{1,3}[^\s:\"'<>]{1,64}:"
        r"(?P<v>[^\s\"'<>]{4,128})",
        group="v",
        validator=v.password_value,
        score=0.9,
    ),
    _secret(
        "password.mysql",
        # mysql, mysqldump, mysqladmin: the password glued to -p (-pS3cret)
        r"(?<![A-Za-z0-9_-])mysql(?:dump|admin)?[ \t][^\n]{0,200}?[ \t]-p(?P<v>[^\s\"'<>]{4,128})",
        group="v",
        validator=v.password_value,
        score=0.9,
        hs_pattern=r"mysql(?:dump|admin)?[ \t]",
        anchor_after=340,
    ),
    _secret(
        "generic",
        r"(?<![A-Za-z0-9])(?:[A-Za-z0-9]{1,20}[_-])?(?:api[_-]?key|apikey|access[_-]?token|"
        r"auth[_-]?token|secret[_-]?key|client[_-]?secret|api[_-]?secret|secret|token|"
        r"private[_-]?key|bearer)"
        + _ASSIGN
        + r"(?P<v>[A-Za-z0-9_+/=.~-]{16,256})(?![A-Za-z0-9_+/=.~-])",
        group="v",
        validator=v.high_entropy,
        score=0.8,
        caseless=True,
        priority=-1,
        hs_pattern=r"(?:api[_-]?key|apikey|access[_-]?token|auth[_-]?token|secret[_-]?key|"
        r"client[_-]?secret|api[_-]?secret|secret|token|private[_-]?key|bearer)",
        anchor_before=21,
        anchor_after=280,
    ),
    _secret(
        "generic.bearer",
        r"(?<![A-Za-z0-9])(?:Authorization:[ \t]{0,3})?Bearer[ \t]{1,3}(?P<v>[A-Za-z0-9_+/=.~-]{20,2048})(?![A-Za-z0-9_+/=.~-])",
        group="v",
        validator=v.high_entropy,
        score=0.85,
        priority=-1,
        hs_pattern="Bearer[ \t]",
        anchor_before=20,
        anchor_after=2060,
    ),
    # -- Network ----------------------------------------------------------------------------
    Detector(
        name="net.ip.v4",
        cls="net.ip_address",
        pattern=(
            # not a User-Agent product version (Chrome/120.0.0.0): no "letter/" before
            r"(?<![A-Za-z0-9_.])(?<![A-Za-z]/)(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
            r"(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}"
            r"(?![A-Za-z0-9_]|\.[0-9])"
        ),
        score=0.9,
        classify=v.classify_ip,
        priority=1,
        exclude_context=(
            "version",
            "ver",
            "release",
            "build",
            "firmware",
            "v.",
            "upgrade",
            "downgrade",
            "update",
            "upgraded",
            "downgraded",
            "updated",
            "released",
            "section",
            "clause",
            "chapter",
            "paragraph",
        ),
    ),
    Detector(
        name="net.ip.v6",
        cls="net.ip_address",
        pattern=(
            r"(?<![A-Za-z0-9_:.])(?:(?:[0-9A-Fa-f]{1,4}:){1,7}:?(?::?[0-9A-Fa-f]{1,4}){1,7}|"
            r"::1|(?:[0-9A-Fa-f]{1,4}:){1,7}:)(?![A-Za-z0-9_:])"
        ),
        hs_pattern=r":[0-9A-Fa-f]{0,4}:",
        anchor_before=40,
        anchor_after=45,
        score=0.9,
        classify=v.classify_ip,
        priority=1,
    ),
    Detector(
        name="net.url",
        cls="net.url",
        pattern=(
            r"(?<![A-Za-z0-9+.-])(?:https?|ftp|wss?)://"
            r"(?:[A-Za-z0-9._~%!$&'()*+,;=-]{1,64}(?::[A-Za-z0-9._~%!$&'()*+,;=-]{0,128})?@)?"
            r"[A-Za-z0-9._~%-]{1,253}(?::[0-9]{1,5})?"
            r"(?:[/?#][A-Za-z0-9._~%!$&'()*+,;=:@/?#-]{0,2048})?(?<![.,;:!?'()*])"
        ),
        score=0.5,
        priority=-2,
        hs_pattern="(?:https?|ftp|wss?)://",
        anchor_after=2520,
    ),
)

INTERNAL_SUFFIXES: tuple[str, ...] = ("internal", "local", "lan", "corp", "intranet", "home.arpa")


def internal_host_detector(domains: tuple[str, ...]) -> Detector:
    """Hostnames under ``domains`` (configured internal DNS zones plus the usual suffixes)."""
    names = "|".join(
        re.escape(d.strip(".").lower()) for d in sorted(set(domains), key=len, reverse=True)
    )
    return Detector(
        name="net.internal_host",
        cls="net.internal_host",
        pattern=(
            r"(?<![A-Za-z0-9_.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.){1,8}"
            rf"(?:{names})(?![A-Za-z0-9_-]|\.[A-Za-z0-9])"
        ),
        hs_pattern=rf"\.(?:{names})",
        anchor_before=8 * 64,
        score=0.9,
        caseless=True,
        priority=1,
    )
