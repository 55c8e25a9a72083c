"""The Mapping: where each column of a file goes, and the evidence for it.

Built by `uploader.prepare.judge` (automatic) or `uploader.prepare.mapping` (a mapping file);
read by the Preparer; stored in a run's journal (its `identity`) so that a resume or a retry
prepares rows the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class ColumnEvidence:
    """Why one column goes where it goes, for validate and the web page to show."""

    column: int  # 0-based position
    header: str
    target: str  # "phone", "extra:phone2", "full name", "held back", "ignored" ...
    why: str  # "name + 100% parse as phones"
    runners_up: tuple[str, ...] = ()  # close alternatives: `zip? name, but 0% parse as ...`


@dataclass(frozen=True)
class Mapping:
    """Where each column goes: a standard field, an extra field, a name to split, or nowhere."""

    fields: dict[int, str]  # column position -> standard API field
    extras: dict[int, str]  # column position -> extra field key
    constants: dict[str, str] = field(default_factory=dict)  # key -> value on every lead
    ignored: tuple[int, ...] = ()  # column positions left out
    full_name: int | None = None  # column split into first/last when no separate columns
    # A field with several columns (phone1, phone2): per row the first valid value wins.
    # These are the columns after the one in `fields`, in order; they also go as extras.
    alternates: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # A second column for a one-per-lead field ("Zip Code" beside "Zip"): checked to agree
    # with the first, never sent.
    twins: dict[int, str] = field(default_factory=dict)
    # A field no column gives, filled from a compound JSON column: field -> (column, key).
    parts: dict[str, tuple[int, str]] = field(default_factory=dict)
    held_back: dict[int, str] = field(default_factory=dict)  # sensitive: position -> what
    country: int | None = None  # the column that says each row's country
    digits: tuple[int, ...] = ()  # id columns whose cells must keep every digit
    evidence: tuple[ColumnEvidence, ...] = field(default=(), compare=False)

    def identity(self) -> dict[str, Any]:
        """What a resume must find unchanged: everything but the evidence. Keys that hold
        nothing are left out, so a mapping without the newer parts reads as it did before."""
        data = asdict(self)
        del data["evidence"]
        for key in ("alternates", "twins", "parts", "held_back", "digits"):
            if not data[key]:
                del data[key]
        if data["country"] is None:
            del data["country"]
        return data

    @classmethod
    def from_identity(cls, raw: dict[str, Any]) -> Mapping:
        """A Mapping back from `identity()` as JSON (keys of positions are text there)."""
        return cls(
            fields={int(k): v for k, v in raw["fields"].items()},
            extras={int(k): v for k, v in raw["extras"].items()},
            constants=dict(raw["constants"]),
            ignored=tuple(raw["ignored"]),
            full_name=raw["full_name"],
            alternates={k: tuple(v) for k, v in raw.get("alternates", {}).items()},
            twins={int(k): v for k, v in raw.get("twins", {}).items()},
            parts={k: (int(v[0]), str(v[1])) for k, v in raw.get("parts", {}).items()},
            held_back={int(k): v for k, v in raw.get("held_back", {}).items()},
            country=raw.get("country"),
            digits=tuple(raw.get("digits", ())),
        )


def held_back_note(mapping: Mapping, columns: Sequence[str]) -> str:
    """`held back, never sent: "CCNumber" (card number), ...`: for validate and the summary."""
    held = ", ".join(f'"{columns[pos]}" ({why})' for pos, why in sorted(mapping.held_back.items()))
    return f"held back, never sent: {held}; a mapping file that names a column sends it"
