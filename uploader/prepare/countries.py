"""Which country a value names or a postcode belongs to: the row's own country (issue 12).

A country column decides how its row's phone and postcode are read; without one, a postcode
that plainly belongs elsewhere (a UK postcode, a 4-digit postcode beside an Australian state)
is named rather than padded into a US ZIP (DECISIONS 2026-12-03).
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache, lru_cache

import pycountry

# What people write for a country besides ISO's names and codes.
_ALIASES = {
    "usa": "US", "u s a": "US", "u s": "US", "us of a": "US", "america": "US",
    "united states of america": "US", "uk": "GB", "u k": "GB", "great britain": "GB",
    "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "holland": "NL", "the netherlands": "NL", "south korea": "KR",
    "korea": "KR", "north korea": "KP", "russia": "RU", "vietnam": "VN", "iran": "IR",
    "syria": "SY", "laos": "LA", "bolivia": "BO", "venezuela": "VE", "tanzania": "TZ",
    "moldova": "MD", "taiwan": "TW", "czech republic": "CZ", "ivory coast": "CI",
    "macedonia": "MK", "swaziland": "SZ", "burma": "MM", "uae": "AE",
}  # fmt: skip
# Australian states and territories that are not also US state codes (WA is Washington).
AU_STATES = frozenset(
    ("nsw", "qld", "tas", "vic", "act", "nt", "sa", "new south wales", "queensland",
     "tasmania", "victoria", "australian capital territory", "northern territory",
     "south australia", "western australia")
)  # fmt: skip

_UK_POSTCODE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}$")
_CA_POSTCODE = re.compile(r"^[A-Z]\d[A-Z]\s*-?\s*\d[A-Z]\d$")
_AU_POSTCODE = re.compile(r"^\d{4}$")
_COUNTRY_NAMES = {"US": "a US", "GB": "a GB", "CA": "a CA", "AU": "an AU"}


def fold(text: str) -> str:
    """Lower case, accents and punctuation gone, single spaces: how names are compared."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", folded.lower()).split())


@cache
def _names() -> dict[str, str]:
    """Folded country name or code -> ISO 3166 alpha-2 code, built once."""
    names: dict[str, str] = {}
    for c in pycountry.countries:
        for attr in ("name", "official_name", "common_name", "alpha_3", "alpha_2"):
            value = getattr(c, attr, None)
            if value:
                names.setdefault(fold(value), c.alpha_2)
    names.update(_ALIASES)
    return names


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO alpha-2 code a cell names (`GB`, `gbr`, `United Kingdom`, `UK`), else None."""
    key = fold(text)
    if not key:
        return None
    return _names().get(key)


def a_country(code: str) -> str:
    """`a GB`, `an AU`: the code with its article, for "looks like a GB postcode"."""
    return _COUNTRY_NAMES.get(code, f"an {code}" if code[:1] in "AEFHILMNORSX" else f"a {code}")


def postcode_country(text: str, state: str = "") -> str | None:
    """The country a postcode plainly belongs to when it is not a US ZIP: GB, CA, or AU (4
    digits beside an Australian state); None when it could be a US ZIP or is unclear."""
    value = " ".join(text.upper().split())
    if _CA_POSTCODE.match(value):
        return "CA"
    if _UK_POSTCODE.match(value):
        return "GB"
    if _AU_POSTCODE.match(value) and fold(state) in AU_STATES:
        return "AU"
    return None
