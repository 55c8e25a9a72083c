"""Per-value normalisers: one cell's text -> what the API validates, or why it cannot be.

Each returns `(value, problem)`: `problem` is None when the value is usable (an empty value
is usable here; whether it may be empty is the row's business), else a short reason that the
row's error quotes after the column and the value. Every normaliser is idempotent: feeding
its output back gives the same output (tests/test_normalise.py checks it with Hypothesis).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from decimal import Decimal
from functools import lru_cache

import numpy as np
import phonenumbers
from nameparser import HumanName
from nameparser.config import CONSTANTS as NAME_CONSTANTS

from uploader.prepare.countries import a_country, postcode_country

Checked = tuple[str, str | None]

# What people type in an email or phone cell to say "none": sent as no value, not as an
# invalid one. Only for those two fields: "Na" is a surname, "None" a town.
PLACEHOLDERS = frozenset(("n/a", "na", "null", "none", "-", "--", "#n/a", "no email", "no phone"))
MULTI_VALUE_SEP = ":::"  # Google Contacts: several values in one cell; the first is meant
NANP_REGIONS = frozenset(("US", "CA"))  # sent as 555-123-4567, as the API's examples show

_FB_PREFIX = re.compile(r"^[a-z]{1,2}:(?=\S)", re.IGNORECASE)  # p:+1555..., z:01960
# What spreadsheets make of numbers, with a decimal point or (European Excel) comma.
_TRAILING_ZERO_DECIMAL = re.compile(r"^(\d+)[.,]0+$")  # 2139.0, 15551234567.0
_SCIENTIFIC = re.compile(r"^[+-]?(\d+)(?:[.,](\d+))?[eE]\+?(\d+)$")  # 1.55512E+10, 1,55E+10
# WHATWG's "valid e-mail address", the rule browsers use for <input type=email>, but
# requiring a dot in the domain (a lead's address is on the internet, not on "localhost").
_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
    r"(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$"
)
# A North American number written plainly: +1 / 1, then NPA (2-9xx), NXX, line, any of
# spaces, dots, dashes and parentheses between.
_NANP_PLAIN = re.compile(r"^(?:\+?1[ .-]?)?\(?([2-9]\d\d)\)?[ .-]?(\d{3})[ .-]?(\d{4})$")
_US_ZIP = re.compile(r"^(\d{1,5})(?:\s*-\s*\d{4}|\s+\d{4})?$")  # 2139, 02139, 02139-1234
_US_ZIP9 = re.compile(r"^\d{7,9}$")  # ZIP+4 written without the dash, leading zeros lost
_CA_POSTAL = re.compile(r"^([A-Z]\d[A-Z])\s*-?\s*(\d[A-Z]\d)$")
_INTERNATIONAL = re.compile(r"^00[\s.-]*(?=[1-9])")  # 001-555..., 00 44 ...: the IDD most use
# What a person reads when Excel has turned a long number into scientific notation.
LOST_DIGITS = (
    "lost its digits to scientific notation (a spreadsheet saved the number so): "
    "re-export the file from its source, or format the column as Text in Excel before "
    "saving it as CSV"
)


def collapse(text: str) -> str:
    """Trim and collapse inner whitespace (tabs, newlines, no-break spaces); case unchanged."""
    return " ".join(text.split())


# Whitespace str.split() splits on, other than the plain space. Looked for one character at a
# time with `in` (memchr at C speed; a character wider than the text is ruled out at once),
# which is several times faster than a regex character class over a whole column.
_ODD_SPACES = (
    "\t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680"
    + "".join(map(chr, range(0x2000, 0x200B)))
    + "\u2028\u2029\u202f\u205f\u3000"
)


def _plain_column(joined: str, collapse: bool = False) -> bool:
    """True when no value (`joined` by NUL) has an edge space or odd whitespace, nor, to
    `collapse`, two spaces in a row. One-character searches run at memchr speed; a space by
    a NUL is looked for with numpy: str's search for two common characters crawls."""
    if any(c in joined for c in _ODD_SPACES):
        return False
    if " " not in joined:
        return True
    try:
        data = np.frombuffer(joined.encode("latin-1"), dtype=np.uint8)
    except UnicodeEncodeError:  # wider text: one code unit a character all the same
        data = np.frombuffer(joined.encode("utf-32-le"), dtype=np.uint32)
    nul = data == 0
    space = data == ord(" ")
    if space[0] or space[-1]:  # (a NUL inside a value can only make a false alarm)
        return False
    before = nul[1:] | space[1:] if collapse else nul[1:]  # what a space must not precede
    return not (space[:-1] & before).any() and not (space[1:] & nul[:-1]).any()


def collapse_column(values: list[str]) -> list[str]:
    """`collapse` over a column; when no value needs it (C-speed searches), the column."""
    if _plain_column("\x00".join(values), collapse=True):
        return values
    return [" ".join(v.split()) for v in values]


def strip_column(values: list[str]) -> list[str]:
    """Each value trimmed; when none needs it (C-speed searches), the column as it is."""
    if _plain_column("\x00".join(values)):
        return values
    return [v.strip() for v in values]


# Control characters no lead's value holds: NUL and the other C0 controls but tab and line
# breaks, DEL, and the C1 controls. A NUL is refused by many APIs and databases, or cuts the
# value short; the others are terminal escapes (ESC) or debris of a damaged file (issue 16).
_CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def without_controls(values: list[str]) -> list[str]:
    """Each value less its control characters; the column itself when none has any (one
    C-speed regex search over the joined column)."""
    if not _CONTROLS.search("".join(values)):
        return values
    return [_CONTROLS.sub("", v) for v in values]


def first_value(text: str) -> str:
    """The first of several values Google Contacts packs into one cell with ` ::: `."""
    if MULTI_VALUE_SEP in text:
        return text.split(MULTI_VALUE_SEP, 1)[0]
    return text


def _strip_prefix(text: str) -> str:
    # Facebook Lead Ads prefix values so Excel keeps them as text: p:+15551234567, z:01960.
    if ":" not in text[1:3]:
        return text
    return _FB_PREFIX.sub("", text, count=1)


def undo_excel_number(text: str) -> str | None:
    """Digits as typed from a number a spreadsheet stored; None when the digits are lost."""
    m = _TRAILING_ZERO_DECIMAL.match(text)
    if m:
        return m.group(1)
    m = _SCIENTIFIC.match(text)
    if m:
        significant = (m.group(1) + (m.group(2) or "")).lstrip("0")
        value = Decimal(text.replace(",", "."))
        digits = str(int(value))
        # 1.5551234567E+10 keeps every digit; 1.55512E+10 lost five of them to zeros.
        if value != int(value) or len(digits) > len(significant):
            return None
        return digits
    return text


_undo_excel_number = undo_excel_number  # the name tests and older callers use


def email(raw: str) -> Checked:
    """Trimmed and lower-cased; the first of several; `mailto:` dropped."""
    text = raw.strip().lower()
    if MULTI_VALUE_SEP in text:
        text = first_value(text).strip()
    if text.startswith("mailto:"):
        text = text[7:].strip()
    if not text or text in PLACEHOLDERS:
        return "", None
    if _EMAIL.match(text) is None:
        return text, "is not an email address"
    return text, None


def phone(raw: str, region: str = "US") -> Checked:
    """A phone parsed with phonenumbers: `555-123-4567` for US/CA numbers, else E.164.

    `region` is the country assumed for numbers written without one (`--country`).
    An extension is dropped: the API's phone format has no place for it.
    """
    text = raw.strip()
    if MULTI_VALUE_SEP in text:
        text = first_value(text).strip()
    text = _strip_prefix(text).strip()
    if not text or text.lower() in PLACEHOLDERS:
        return "", None
    if "." in text or "," in text:
        if _SCIENTIFIC.match(text):
            digits = undo_excel_number(text)
            if digits is None:
                return text, LOST_DIGITS
            text = digits
        else:
            text = undo_excel_number(text) or text
    if text.startswith("00") and sum(c.isdigit() for c in text) >= 11:
        # 00 then a country code and a number: the international prefix most countries dial.
        # Taken only when it gives a phone; otherwise the text is judged as written.
        international = _INTERNATIONAL.sub("+", text, count=1)
        if international != text and (read := phone(international, region))[1] is None:
            return read
    if region in NANP_REGIONS or text.startswith("+1"):
        # Most US lists are plain 10-digit numbers: read those without phonenumbers' full
        # parse (50 µs each); the result is the same (tests compare both on Hypothesis data).
        m = _NANP_PLAIN.match(text)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}", None
    return _phone_parsed(text, region)


@lru_cache(maxsize=100_000)
def _phone_parsed(text: str, region: str) -> Checked:
    """The general case of `phone`, by phonenumbers; cached by value (a parse is ~50 µs)."""
    try:
        number = phonenumbers.parse(text, region.upper())
    except phonenumbers.NumberParseException:
        return text, "is not a phone number"
    reason = phonenumbers.is_possible_number_with_reason(number)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        why = {
            phonenumbers.ValidationResult.IS_POSSIBLE_LOCAL_ONLY: "has no area code",
            phonenumbers.ValidationResult.TOO_SHORT: "is too short for a phone number",
            phonenumbers.ValidationResult.TOO_LONG: "is too long for a phone number",
            phonenumbers.ValidationResult.INVALID_COUNTRY_CODE: "has no valid country code",
        }.get(reason, "cannot be a phone number")
        return text, why
    if number.country_code == 1:
        national = f"{number.national_number:010d}"
        if national[0] in "01":
            return text, "cannot be a phone number (no area code starts with 0 or 1)"
        return f"{national[:3]}-{national[3:6]}-{national[6:]}", None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164), None


Column = tuple[list[str], dict[int, str]]  # normalised values, problems by row offset


def each(normalise: Callable[[str], Checked], values: list[str]) -> Column:
    """A normaliser over a column, one call a value."""
    out = [normalise(v) for v in values]
    return [o[0] for o in out], {i: why for i, (_, why) in enumerate(out) if why is not None}


def email_column(values: list[str]) -> Column:
    """`email` over a column, with the common case (a clean address) done in C.

    The column is joined into one text, lower-cased once, and one multi-line substitution
    marks every line that is already a clean address (or empty); only the others are looked
    at one by one.
    """
    joined = "\n".join(values).lower()
    if joined.count("\n") != len(values) - 1 or "\x00" in joined:  # newlines inside values
        return each(email, values)
    if not values:
        return [], {}
    lowered = joined.split("\n")
    marks = _EMAIL_LINES.sub("\x00", joined).split("\n")
    problems: dict[int, str] = {}
    for i in [i for i, mark in enumerate(marks) if mark != "\x00"]:
        lowered[i], why = email(values[i])
        if why is not None:
            problems[i] = why
    return lowered, problems


# `_EMAIL` (or nothing) as whole lines, written not to backtrack (twice as fast): a label is
# the longest run of up to 63 letters, digits and dashes, not starting or ending with a dash.
# tests/test_normalise.py holds it to `_EMAIL`'s answers.
_LABEL = r"(?=[a-z0-9])[a-z0-9-]{1,63}+(?<!-)"
_EMAIL_LINES = re.compile(
    r"^(?:[a-z0-9.!#$%&'*+/=?^_`{|}~-]++@" + _LABEL + r"(?:\." + _LABEL + r")++)?$",
    re.MULTILINE,
)


def phone_column(values: list[str], region: str = "US") -> Column:
    """`phone` over a column: plain North American numbers a column at a time, the rest by
    `phone` (whose phonenumbers parse is cached).

    Whether a cell is a plain number is matched once per *shape* (digits 2-9 all written 9;
    a list has a handful), not once per cell; their digits are laid out with numpy.
    """
    n = len(values)
    joined = "\n".join(values)
    if region not in NANP_REGIONS or joined.count("\n") != n - 1 or not joined.isascii():
        return each(lambda v: phone(v, region), values)
    shapes = joined.translate(_SHAPE).split("\n")
    plain_shape = {s: _NANP_CELL.match(s) is not None for s in set(shapes)}
    plain_shape[""] = True  # an empty cell is no phone, as `phone` says, without the call
    plain = np.fromiter(map(plain_shape.__getitem__, shapes), dtype=bool, count=n)
    # The digits of a plain number are its last ten once the punctuation is gone.
    digits = np.frombuffer(joined.translate(_PUNCTUATION).encode("ascii"), dtype=np.uint8)
    line_ends = np.append(np.flatnonzero(digits == ord("\n")), len(digits))
    numbers = plain & (line_ends > np.append(-1, line_ends[:-1]) + 1)  # plain, not empty
    column = np.full(n, "", dtype=object)
    if numbers.any():
        ends = line_ends[numbers]
        text = np.full((len(ends), 13), ord("-"), dtype=np.uint8)  # 555-123-4567 and \n
        text[:, _PHONE_DIGITS] = digits[ends[:, None] + np.arange(-10, 0)]
        text[:, 12] = ord("\n")
        column[numbers] = text.tobytes()[:-1].decode("ascii").split("\n")
    problems: dict[int, str] = {}
    for i in np.flatnonzero(~plain).tolist():
        column[i], why = phone(values[i], region)
        if why is not None:
            problems[i] = why
    return column.tolist(), problems


_SHAPE = str.maketrans("23456789", "9" * 8)  # what `_NANP_CELL` tells apart is kept
_PUNCTUATION = str.maketrans("", "", " .-()+")  # all a plain number has besides digits
_PHONE_DIGITS = [0, 1, 2, 4, 5, 6, 8, 9, 10, 11]  # where its ten digits go in 555-123-4567


# `_NANP_PLAIN`, but not a cell `phone` reads as a spreadsheet's number first (200000.0000).
_NANP_CELL = re.compile(r"^(?!\d+[.,]0+$)" + _NANP_PLAIN.pattern[1:])


def postal_code(raw: str, country: str = "US") -> Checked:
    """A zip as the API validates it for the country: 5-digit US ZIP, `A1A 1A1`, 4-digit AU.

    Leading zeros a spreadsheet dropped are restored (2139 -> 02139) and ZIP+4 is cut to five
    digits. Empty stays empty; the row decides whether that is allowed.
    """
    if len(raw) == 5 and raw.isascii() and raw.isdigit() and country == "US":
        return raw, None  # already what the API wants: most zips of a US list
    text = _strip_prefix(first_value(raw).strip()).strip()
    if not text:
        return "", None
    country = country.upper()
    if country == "US":
        plain = undo_excel_number(text) or text
        m = _US_ZIP.match(plain)
        if m:
            return m.group(1).zfill(5), None
        if _US_ZIP9.match(plain):
            return plain.zfill(9)[:5], None
        elsewhere = postcode_country(plain)
        if elsewhere is not None:
            return text, f"looks like {a_country(elsewhere)} postcode (use --country {elsewhere})"
        return text, "is not a US ZIP code"
    if country == "CA":
        m = _CA_POSTAL.match(text.upper())
        if m:
            return f"{m.group(1)} {m.group(2)}", None
        return text, "is not a Canadian postal code"
    if country == "AU":
        plain = undo_excel_number(text) or text
        if re.fullmatch(r"\d{3,4}", plain):
            return plain.zfill(4), None
        return text, "is not an Australian postcode"
    return collapse(text).upper(), None


def _fold(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(folded.lower().replace(".", " ").replace("-", " ").split())


_STATES: dict[str, str] = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "district of columbia": "DC",
    "washington dc": "DC", "washington d c": "DC", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV",
    "new hampshire": "NH", "new jersey": "NJ", "new mexico": "NM", "new york": "NY",
    "north carolina": "NC", "north dakota": "ND", "ohio": "OH", "oklahoma": "OK",
    "oregon": "OR", "pennsylvania": "PA", "rhode island": "RI", "south carolina": "SC",
    "south dakota": "SD", "tennessee": "TN", "texas": "TX", "utah": "UT", "vermont": "VT",
    "virginia": "VA", "washington": "WA", "west virginia": "WV", "wisconsin": "WI",
    "wyoming": "WY", "puerto rico": "PR", "guam": "GU", "us virgin islands": "VI",
    "virgin islands": "VI", "american samoa": "AS", "northern mariana islands": "MP",
    "armed forces americas": "AA", "armed forces europe": "AE", "armed forces pacific": "AP",
    # Canadian provinces and territories (Canada Post codes), for --country CA files.
    "alberta": "AB", "british columbia": "BC", "manitoba": "MB", "new brunswick": "NB",
    "newfoundland and labrador": "NL", "newfoundland": "NL", "nova scotia": "NS",
    "northwest territories": "NT", "nunavut": "NU", "ontario": "ON",
    "prince edward island": "PE", "quebec": "QC", "saskatchewan": "SK", "yukon": "YT",
}  # fmt: skip
_STATE_CODES = frozenset(_STATES.values())


def is_state(text: str) -> bool:
    """True for a US state, territory or Canadian province, by name or 2-letter code."""
    key = _fold(text)
    return key.replace(" ", "").upper() in _STATE_CODES or key in _STATES


def state(raw: str) -> Checked:
    """A state or province name, or a code in any case, to its 2-letter code.

    What is not recognised is sent as written (collapsed): it may be a region the tenant
    knows, and guessing would send a wrong lead.
    """
    text = collapse(raw)
    if not text:
        return "", None
    key = _fold(text)
    code = key.replace(" ", "").upper()
    if len(code) == 2 and code in _STATE_CODES:
        return code, None
    return _STATES.get(key, text), None


_NAME_WORDS = frozenset(
    w.replace(".", "")
    for group in (
        NAME_CONSTANTS.titles,
        NAME_CONSTANTS.suffix_acronyms,
        NAME_CONSTANTS.suffix_not_acronyms,
        NAME_CONSTANTS.prefixes,
        NAME_CONSTANTS.conjunctions,
    )
    for w in group
)
_PLAIN_WORD = re.compile(r"^[^\W\d_][^\W\d_'-]*(?:['-][^\W\d_]+)*\.?$")


@lru_cache(maxsize=65_536)
def split_name(full: str) -> tuple[str, str]:
    """(first, last) of a full name, by nameparser: `Dr. Mary Ann van der Berg Jr.`.

    The first name keeps middle names (`Mary Ann`), the last name keeps particles and a
    suffix (`van der Berg Jr.`); titles like `Dr.` are dropped. One word is a first name.
    """
    text = collapse(full)
    if not text:
        return "", ""
    words = text.split(" ")
    # "Ann Lee" is most of any list: split it without nameparser's full parse when neither
    # word is a title, suffix, particle or conjunction it would treat specially.
    if (
        len(words) == 2
        and all(_PLAIN_WORD.match(w) for w in words)
        and not any(w.lower().replace(".", "") in _NAME_WORDS for w in words)
    ):
        return words[0], words[1]
    name = HumanName(text)
    first = collapse(f"{name.first} {name.middle}")
    last = collapse(f"{name.last} {name.suffix}")
    if not first and not last:  # only a title or nickname: keep it whole rather than lose it
        return text, ""
    return first, last
