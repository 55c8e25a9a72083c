"""What a column's values look like, judged on a sample of its cells (issue 12).

The auto-mapper weighs a header's name against these shares: `phone1` whose cells all parse
as phones is the lead's phone; `Address` whose cells are JSON objects is a compound value,
never a street. Only a sample is looked at (a few hundred rows spread over the first chunk),
so a million-row file costs what a small one does.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache

from uploader.prepare import fields as f
from uploader.prepare.countries import AU_STATES, country_code, fold


class Kind(StrEnum):
    """A kind of value a cell may parse as (a cell may be several: `CA` is a state and a
    country); the word is what validate says: "100% parse as phones"."""

    EMAIL = "emails"
    PHONE = "phones"
    US_ZIP = "US ZIP codes"
    CA_POSTCODE = "Canadian postcodes"
    UK_POSTCODE = "UK postcodes"
    POSTCODE = "other postcodes"
    STATE = "states"
    COUNTRY = "countries"
    DATE = "dates"
    URL = "URLs"
    JSON = "JSON objects"
    DIGITS = "digit strings"  # 6 digits or more, as ids and phones are
    LONG_DIGITS = "long digit strings"  # 13 digits or more
    CARD = "card numbers"
    SSN = "social security numbers"
    SCIENTIFIC = "numbers in scientific notation"
    WORDS = "words"


POSTCODES = (Kind.US_ZIP, Kind.CA_POSTCODE, Kind.UK_POSTCODE, Kind.POSTCODE)

_FB_PREFIX = re.compile(r"^[a-z]{1,2}:(?=\S)", re.IGNORECASE)
_EXTENSION = re.compile(r"^(.*?\d)\s*(?:x|ext\.?|extension|#)\s*(\d{1,6})$", re.IGNORECASE)
_PHONE_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
_US_ZIP = re.compile(r"^\d{5}(?:-?\d{4})?$")
_CA_POSTCODE = re.compile(r"^[A-Za-z]\d[A-Za-z]\s*-?\s*\d[A-Za-z]\d$")
_UK_POSTCODE = re.compile(r"^[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}$")
# Other countries' postcodes: 4 digits or more (AU, most of Europe), or letters and digits.
_OTHER_POSTCODE = re.compile(
    r"^(?:\d{4,5}|\d{2,3}(?=[ -])|(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]{3,5})"
    r"(?:[ -][A-Za-z0-9]{2,4})?$"
)
_DECIMAL = re.compile(r"^-?\d+[.,](?!0+$)\d+$")  # 77.377518, 217.6: a measure, not a phone
_DATE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})(?:[T ][\d:.+\-Z]*)?$"
)
_URL = re.compile(r"^(?:https?://|www\.)\S+$", re.IGNORECASE)
_DIGITS = re.compile(r"^\d[\d -]*\d$")
_SSN = re.compile(r"^\d{3}-\d{2}-\d{4}$")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(?:[.,]\d+)?[eE]\+?\d+$")
_LONGEST_PLACE = 60  # longer text is no state or country name ("Northern Mariana Islands")
_WORDS = re.compile(r"^[^\W\d_][^\W\d_ .'&,-]*(?:[ .'&,-]+[^\W\d_]*)*$")


def split_extension(text: str) -> tuple[str, str]:
    """(number, extension) of a phone written with one: `985.939.5411x2641`, `ext. 12`."""
    m = _EXTENSION.match(text.strip())
    return (m[1], m[2]) if m else (text, "")


def luhn_valid(digits: str) -> bool:
    """The Luhn check payment card numbers pass (ISO/IEC 7812-1)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


@lru_cache(maxsize=65_536)
def kinds_of(value: str) -> frozenset[Kind]:
    """Every kind a (non-empty) cell parses as; remembered by value (lists repeat values)."""
    text = value.strip()
    kinds: set[Kind] = set()
    if "@" in text and f.email(text)[1] is None:
        kinds.add(Kind.EMAIL)
    if text.startswith("{") and text.endswith("}"):
        try:
            if isinstance(json.loads(text), dict):
                kinds.add(Kind.JSON)
        except ValueError:
            pass
        return frozenset(kinds)
    if ("://" in text or text[:4].lower() == "www.") and _URL.match(text):
        return frozenset((*kinds, Kind.URL))
    if ":" in text[1:3]:  # Facebook Lead Ads keep Excel off a value: p:+1555..., z:01960
        text = _FB_PREFIX.sub("", text, count=1)
    if not any(c.isdigit() for c in text):
        return frozenset(kinds | _word_kinds(text))
    return frozenset(kinds | _number_kinds(text))


def _word_kinds(text: str) -> set[Kind]:
    """The kinds of a cell without digits: words, a state, a country."""
    kinds = {Kind.WORDS} if _WORDS.match(text) else set()
    if len(text) <= _LONGEST_PLACE:
        if f.is_state(text) or fold(text) in AU_STATES:
            kinds.add(Kind.STATE)
        if country_code(text):
            kinds.add(Kind.COUNTRY)
    return kinds


def _number_kinds(text: str) -> set[Kind]:
    """The kinds of a cell with digits: phone, postcodes, date, ids, card, SSN ..."""
    kinds: set[Kind] = set()
    if _SCIENTIFIC.match(text):
        kinds.add(Kind.SCIENTIFIC)
    digits = re.sub(r"\D", "", text)
    number, _ = split_extension(text)
    plain = number.strip()
    if _DATE.match(text):
        kinds.add(Kind.DATE)
    elif _DECIMAL.match(text):
        pass
    elif (_PHONE_CHARS.match(plain) and 6 <= len(re.sub(r"\D", "", plain)) <= 15) or (
        Kind.SCIENTIFIC in kinds and "." in text
    ):
        kinds.add(Kind.PHONE)
    if _US_ZIP.match(text):
        kinds.add(Kind.US_ZIP)
    elif _CA_POSTCODE.match(text):
        kinds.add(Kind.CA_POSTCODE)
    elif _UK_POSTCODE.match(text):
        kinds.add(Kind.UK_POSTCODE)
    elif _OTHER_POSTCODE.match(text) and len(digits) <= 8:
        kinds.add(Kind.POSTCODE)
    if _DIGITS.match(text):
        if len(digits) >= 6:
            kinds.add(Kind.DIGITS)
        if len(digits) >= 13:
            kinds.add(Kind.LONG_DIGITS)
            # Card numbers start with 2-6 (Mastercard, Amex, Visa, Discover ...); a phone
            # written with 00 or a long id starting 0 or 1 is not one.
            if len(digits) <= 19 and digits[0] in "23456" and luhn_valid(digits):
                kinds.add(Kind.CARD)
    if _SSN.match(text):
        kinds.add(Kind.SSN)
    return kinds


@dataclass(frozen=True, slots=True)
class ColumnProfile:
    """The shares of a column's sampled non-empty cells that parse as each kind."""

    sampled: int  # cells looked at
    filled: int  # of which had a value
    counts: Counter[Kind]
    postcodes: int = 0  # cells that parse as a postcode of any country

    def share(self, kind: Kind) -> float:
        """The share of filled cells that parse as `kind` (0 with no filled cell)."""
        return self.counts[kind] / self.filled if self.filled else 0.0

    def postcode_share(self) -> float:
        """The share of filled cells that parse as a postcode of some country."""
        return self.postcodes / self.filled if self.filled else 0.0


def profile(values: Sequence[str]) -> ColumnProfile:
    """The profile of one column's sampled cells (each distinct value judged once)."""
    counts: Counter[Kind] = Counter()
    filled = postcodes = 0
    for value, times in Counter(values).items():
        if not value.strip():
            continue
        filled += times
        kinds = kinds_of(value)
        for kind in kinds:
            counts[kind] += times
        postcodes += times * (not kinds.isdisjoint(POSTCODES))
    return ColumnProfile(len(values), filled, counts, postcodes)
