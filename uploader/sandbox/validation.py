"""What the sandbox refuses with a 422, in Laravel's words, and what makes two leads the same.

Laravel trims every string and turns "" into null before validating (the TrimStrings and
ConvertEmptyStringsToNull middlewares), so a blank required field is "required", not
"invalid". Rules apply to the trimmed copy; the lead is stored as it was sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from uploader.sandbox.config import SandboxConfig

Errors = dict[str, list[str]]

FIELD_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_-]*$")
ZIP_US = re.compile(r"^[0-9]{5}$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$")
# Lenient like Laravel's default `email` rule (RFC, no DNS): a local part, an @, and a
# domain of non-empty dot-separated labels. Unicode is allowed on both sides.
EMAIL = re.compile(r"^[^@\s.]+(?:\.[^@\s.]+)*@[^@\s.]+(?:\.[^@\s.]+)*$")
PHONE_PUNCTUATION = re.compile(r"[\s().+\-]")

ZIP_INVALID = "The postal code is not valid for this account's operating countries."
PING_NOT_FOUND = "Ping could not be found with the provided ping ID"
PING_EXPIRED = "Ping ID has expired"
PING_MISMATCH = "Lead data does not match ping data"


def attribute(name: str) -> str:
    """The field as Laravel names it in messages: `first_name` -> `first name`."""
    return name.replace("_", " ")


def laravel_input(payload: Mapping[str, Any]) -> dict[str, Any]:
    """The payload as Laravel's validator sees it: strings trimmed, "" as None."""
    seen: dict[str, Any] = {}
    for key, value in payload.items():
        if isinstance(value, str):
            value = value.strip() or None
        seen[key] = value
    return seen


def us_phone_digits(value: str) -> str | None:
    """The 10 digits of a US phone number, or None when it does not look like one."""
    digits = PHONE_PUNCTUATION.sub("", value)
    if not digits.isascii() or not digits.isdigit():
        return None
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def is_true(value: Any) -> bool:
    """Laravel's `boolean` truth: true, 1 or "1"."""
    return value is True or (type(value) is int and value == 1) or value == "1"


def validate_lead(
    payload: Mapping[str, Any], config: SandboxConfig, *, required: Iterable[str] = ()
) -> Errors:
    """Field errors of a lead (or ping) body; empty when it passes."""
    data = laravel_input(payload)
    errors: Errors = {}

    def fail(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    for key in payload:
        if not FIELD_NAME.match(key):
            fail(key, f"The field name {key!r} is not valid: it must match {FIELD_NAME.pattern}.")
    for name in dict.fromkeys(("zip", *required)):
        if data.get(name) is None:
            fail(name, f"The {attribute(name)} field is required.")

    for name, value in data.items():
        if value is None or not FIELD_NAME.match(name):
            continue
        if name in ("zip", "email", "phone", "state", "ping_id", "bid_id") and not isinstance(
            value, str
        ):
            fail(name, f"The {attribute(name)} field must be a string.")
            continue
        if name == "zip" and not ZIP_US.match(value):
            fail(name, ZIP_INVALID)
        elif name == "email" and config.validate_email and not EMAIL.match(value):
            fail(name, "The email field must be a valid email address.")
        elif name == "phone" and config.validate_phone and us_phone_digits(value) is None:
            fail(name, "The phone field must be a valid US phone number.")
        elif name == "state" and config.validate_state:
            if len(value) != 2:
                fail(name, "The state field must be 2 characters.")
            elif not (value.isascii() and value.isalpha()):
                fail(name, "The state field must only contain letters.")
        elif name in ("ping_id", "bid_id") and not UUID.match(value):
            fail(name, f"The {attribute(name)} field must be a valid UUID.")
        elif name == "is_test" and value not in (True, False, 0, 1, "0", "1"):
            fail(name, "The is test field must be true or false.")
    return errors


def contact_keys(payload: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The (email, phone) a duplicate check compares, normalised; None where absent."""
    email = payload.get("email")
    phone = payload.get("phone")
    email_key = (email.strip().lower() or None) if isinstance(email, str) else None
    phone_key = us_phone_digits(phone) if isinstance(phone, str) else None
    return email_key, phone_key


def contact_pairs(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The (kind, value) pairs a duplicate check looks up: ("email", ...), ("phone", ...)."""
    email_key, phone_key = contact_keys(payload)
    return [(k, v) for k, v in (("email", email_key), ("phone", phone_key)) if v]
