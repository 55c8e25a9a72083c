"""What the column headers of real lead exports mean: aliases, prefixes, and extra-field keys.

Headers are matched by the names real exports use (shared/guides/EXPORT-HEADERS.md), case-
and punctuation-insensitively. Prefixed repeats (Outlook's Home/Business/Other, Salesforce's
Mailing) are ranked so that the choice between them is deliberate and the same for every file.
"""

from __future__ import annotations

import difflib
import re
import unicodedata

from uploader.model import STANDARD_FIELDS

FULL_NAME = "full_name"  # mapping-file target: split into first_name / last_name
COUNTRY = "country"  # not a lead field: the column that says each row's country
IGNORE = "ignore"  # mapping-file target: leave the column out
EXTRA_PREFIX = "extra:"  # mapping-file target prefix forcing an extra field, e.g. "extra:zip2"
KEY_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")  # the API's rule for field keys
# Keys an extra field must not take: they mean something else to the API.
RESERVED_KEYS = frozenset((*STANDARD_FIELDS, "is_test"))

# The headers real exports use, per target (EXPORT-HEADERS.md plus a few close cousins).
# Within a field, earlier aliases win over later ones when a file has several.
_ALIASES: dict[str, tuple[str, ...]] = {
    "first_name": ("First Name", "FirstName", "Given Name", "FNAME", "fn"),
    "last_name": ("Last Name", "LastName", "Family Name", "Surname", "LNAME", "ln"),
    FULL_NAME: ("Full Name", "Name", "Person - Name", "Display Name", "Contact Name"),
    "email": (
        "Email",
        "Email Address",
        "E-mail 1 - Value",
        "Email 1",
        "Mail",
    ),
    "phone": (
        "Phone",
        "Phone Number",
        "Phone 1 - Value",
        "Telephone",
        "Telephone Number",
        "Tel",
        "Ph",
        "Mobile",
        "Mobile Phone",
        "Mobile Phone Number",
        "Mobile Number",
        "Cell",
        "Cell Phone",
        "Mob",
    ),
    "address_1": (
        # A street column is more specific than "Address" (which may be the whole address,
        # or Salesforce's compound value): with both, the street goes as address_1.
        "Street",
        "Street Address",
        "Address",
        "Address 1",
        "Address Line 1",
        "Street 1",
        "Address 1 - Street",
        "Addr",
    ),
    "address_2": ("Address 2", "Address Line 2", "Street 2", "Street Address 2"),
    "city": ("City", "Town", "Address 1 - City", "ct"),
    "state": (
        "State",
        "State/Province",
        "State/Region",
        "Region",
        "Province",
        "Address 1 - Region",
        "st",
    ),
    "zip": (
        "Zip",
        "Zip Code",
        "ZIP/Postal Code",
        "Postal Code",
        "Post Code",
        "Postcode",
        "Postal",
        "ZipCode",
        "Address 1 - Postal Code",
    ),
    "county": ("County",),
    COUNTRY: ("Country", "Country Code", "Country/Region", "Address 1 - Country"),
}
# Fields a person may have several of, written as numbered columns (`phone1`, `Email 2`,
# `Phone 1 - Value`): the number ranks them. Address lines are not numbered repeats:
# `Address 2` is the second line of one address.
REPEATABLE = frozenset(("email", "phone"))

# Prefixes exports put before a base header (Outlook: Home/Business/Other; Salesforce:
# Mailing). Lower rank wins. Home beats Business because Juiced leads are people, reached at
# home; Mailing is Salesforce's only contact address. A mapping file picks otherwise.
_PREFIX_RANK: dict[str, int] = {
    "": 0,
    "mailing": 0,
    "primary": 0,
    "mobile": 1,
    "home": 2,
    "personal": 2,
    "business": 3,
    "work": 3,
    "company": 3,
    "other": 4,
    "billing": 5,
    "shipping": 6,
}
_NAME_TARGETS = frozenset(("first_name", "last_name", FULL_NAME))
# Short aliases ("st", "fn") never combine with a prefix: "homest" means nothing.
_MIN_PREFIXED_ALIAS = 4


def header_key(text: str) -> str:
    """A header reduced for matching: accents folded, lower case, letters and digits only."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]", "", folded.lower())


_BASE: dict[str, tuple[str, int]] = {}  # header_key -> (target, alias order)
for _target, _names in _ALIASES.items():
    for _order, _name in enumerate(_names):
        _BASE.setdefault(header_key(_name), (_target, _order))
# Snake_case spellings (phone_number, zip_code, work_email ...) reduce to the same keys.


# phone1, email2, phone1value (Google), email2address (Outlook's "E-mail 2 Address")
_NUMBERED = re.compile(r"^([a-z]+?)(\d{1,2})(value|address|number)?$")
_SALESFORCE_CUSTOM = re.compile(r"__c$")  # Home_Phone__c: a Salesforce custom field

Rank = tuple[int, int, int]  # (prefix rank, number of a numbered repeat, alias order)


def match_header(header: str) -> tuple[str, str, Rank] | None:
    """(target, prefix group, rank) a header names; None if unknown. Lower rank wins.

    Columns about someone else (`Lead Owner`, `Created By`) name no field of the lead.
    """
    key = header_key(_SALESFORCE_CUSTOM.sub("", header.strip()))
    if is_about_someone_else(header):
        return None
    if key in _BASE:
        target, order = _BASE[key]
        return target, "", (0, 0, order)
    numbered = _NUMBERED.match(key)
    if numbered and numbered[1] in _BASE and _BASE[numbered[1]][0] in REPEATABLE:
        target, order = _BASE[numbered[1]]
        return target, "", (0, int(numbered[2]), order)
    for prefix, rank in _PREFIX_RANK.items():
        if prefix and key.startswith(prefix):
            rest = key[len(prefix) :]
            if len(rest) >= _MIN_PREFIXED_ALIAS and rest in _BASE:
                target, order = _BASE[rest]
                # Names take no prefix: "Company Name" is not the person's name.
                if target not in _NAME_TARGETS:
                    return target, ("" if rank == 0 else prefix), (rank, 0, order)
    return None


# Words that make a column about another person than the lead: its owner, creator, editor,
# assignee or referrer (DECISIONS 2026-12-03). `Lead Owner` holds a salesperson's name,
# `Owner Email` theirs, `CreatedById` a user id.
_SOMEONE_ELSE = re.compile(
    r"owner|createdby|modifiedby|updatedby|assigned|assignee|salesrep|accountmanager|referr"
)


def is_about_someone_else(header: str) -> bool:
    """True for owner, creator, editor and assignee columns: never the lead's own fields."""
    return _SOMEONE_ELSE.search(header_key(header)) is not None


# What a column that must never be sent holds, by the names exports give it (DECISIONS
# 2026-12-03: card numbers, card security codes, passwords, national ids, SSNs).
CARD_NUMBER = "card number"
CARD_SECURITY_CODE = "card security code"
PASSWORD = "password"
NATIONAL_ID = "national id"
SSN = "social security number"
_SENSITIVE_KEYS: dict[str, str] = {
    **dict.fromkeys(
        ("ccnumber", "ccnum", "ccno", "cardnumber", "cardno", "creditcard", "creditcardnumber",
         "creditcardno", "debitcard", "debitcardnumber"),
        CARD_NUMBER,
    ),
    **dict.fromkeys(
        ("cvv", "cvv2", "cvc", "cvc2", "cvn", "csc", "securitycode",
         "cardsecuritycode", "cardverificationvalue", "cardcode"),
        CARD_SECURITY_CODE,
    ),
    **dict.fromkeys(("password", "passwd", "pwd", "pass", "passcode", "pin"), PASSWORD),
    **dict.fromkeys(
        ("nationalid", "nationalidnumber", "nationalidentitynumber", "nationalinsurance",
         "nationalinsurancenumber", "nino", "ninumber", "sin", "socialinsurancenumber",
         "taxid", "taxidnumber", "tin", "personalidnumber", "idcardnumber", "passportnumber"),
        NATIONAL_ID,
    ),
    **dict.fromkeys(
        ("ssn", "socialsecurity", "socialsecuritynumber", "socialsecurityno", "ssnumber"), SSN
    ),
}  # fmt: skip
_SENSITIVE_PARTS = (
    ("creditcard", CARD_NUMBER),
    ("cardnumber", CARD_NUMBER),
    ("password", PASSWORD),
    ("socialsecurity", SSN),
    ("nationalid", NATIONAL_ID),
)


def sensitive_kind(header: str) -> str | None:
    """What a column must never be sent for, by its header (`CVV2` -> "card security code")."""
    key = header_key(_SALESFORCE_CUSTOM.sub("", header.strip()))
    if key in _SENSITIVE_KEYS:
        return _SENSITIVE_KEYS[key]
    return next((kind for part, kind in _SENSITIVE_PARTS if part in key), None)


_CLOSE = 0.8  # difflib's ratio for a header close to a known one (`Emial`, `Telphone`)
_MIN_CLOSE_KEY = 5  # shorter keys are too alike by chance (`state`, `stat`; `zip`, `zap`)


def close_header(header: str) -> tuple[str, str] | None:
    """(target, the known header it is close to) for a misspelt header; None when none is
    close. Only a guess: the caller takes it when the column's values agree."""
    key = header_key(header)
    if len(key) < _MIN_CLOSE_KEY or is_about_someone_else(header):
        return None
    known = [k for k in _BASE if len(k) >= _MIN_CLOSE_KEY]
    found = difflib.get_close_matches(key, known, n=1, cutoff=_CLOSE)
    if not found:
        return None
    target = _BASE[found[0]][0]
    alias = next(name for name in _ALIASES[target] if header_key(name) == found[0])
    return target, alias


def is_known_header(header: str) -> bool:
    """True when the header names a standard field, a full name or a country (for header-row
    detection)."""
    return match_header(header) is not None


def snake_key(header: str, position: int) -> str:
    """An extra-field key from a header: snake_case, ASCII, valid for the API.

    `What is your budget?` -> `what_is_your_budget`; `LeadSource` -> `lead_source`;
    an empty header -> `column_<n>` (1-based), so the value is still sent under a stable key.
    """
    folded = unicodedata.normalize("NFKD", header).encode("ascii", "ignore").decode("ascii")
    folded = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", folded)
    key = re.sub(r"[^a-z0-9]+", "_", folded.lower()).strip("_")
    if not key:
        return f"column_{position + 1}"
    if key[0].isdigit():
        key = "_" + key
    return key
