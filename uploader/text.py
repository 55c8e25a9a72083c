"""Text a person reads: `inert` for text from files before it reaches a terminal, and
`plural` for counts.

Header cells, values and file names are chosen by whoever made the file (in jobs, a vendor).
Printed raw, `ESC]0;...BEL` retitles the window, `ESC[2J` clears the screen and a bidi
override (U+202E) shows `exe.txt` for `txt.exe` (issue 16, item 6). Every face prints such
text through `inert`, which shows each of those characters as a visible escape instead.
"""

from __future__ import annotations

import json
import re

# C0 and C1 controls and DEL; line and paragraph separators; bidi embeddings, overrides,
# isolates and marks; zero-width spaces and the BOM; lone surrogates (undecodable bytes of a
# file name under surrogateescape). Printable text, emoji joiners and accents pass as is.
_UNSAFE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_UNSAFE_BUT_NEWLINE = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2069\ufeff\ud800-\udfff]"
)
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r", "\x1b": "\\e"}


def _escape(match: re.Match[str]) -> str:
    char = match.group(0)
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not valid text in a file name
        return f"\\x{code - 0xDC00:02x}"
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def quoted(text: str) -> str:
    """`text` as a JSON string literal, which is also a TOML basic string, with every
    character `inert` escapes written as `\\uXXXX`: it reads back exactly (json, tomllib)
    and shows nothing raw on a terminal (`leadup mapping`'s file, issue 16, item 6).
    A lone surrogate, which neither format can hold, becomes U+FFFD."""
    return _UNSAFE.sub(_unicode_escape, json.dumps(text, ensure_ascii=False))


def _unicode_escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    return "\\ufffd" if 0xD800 <= code <= 0xDFFF else f"\\u{code:04x}"


def inert(text: object, *, lines: bool = False) -> str:
    """`text` (str() of it) safe to print: controls, escape sequences and bidi controls are
    shown as `\\e`, `\\x07`, `\\u202e`... so nothing in it can act on the terminal.

    `lines=True` keeps newlines (a whole message of several lines); anything else that could
    act on the terminal is still escaped.
    """
    return (_UNSAFE_BUT_NEWLINE if lines else _UNSAFE).sub(_escape, str(text))


def plural(n: int, word: str) -> str:
    """`1 row`, `2 rows`, `1 retry`, `3 retries`, `2 days`."""
    if n == 1:
        return f"{n} {word}"
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "i", "o", "u"):
        return f"{n} {word[:-1]}ies"
    return f"{n} {word}s"
