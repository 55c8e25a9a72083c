"""What to do next, per outcome that needs action: advice in plain words and a command that
runs as printed (this run's paths, and leadup as the person invoked it)."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path

from uploader.model import Outcome
from uploader.report import NextStep

_RETRY = {
    Outcome.FAILED: ("never reached the API, so they are safe to send again", ""),
    Outcome.UNKNOWN: (
        "may have been created: check them on the platform first, then send the missing ones",
        "--include-unknown",
    ),
    Outcome.REJECTED: (
        "refused by the API (see the error column): fix those cells in the results file, then",
        "--include-rejected",
    ),
    Outcome.INVALID: (
        "not sent: fix the cells the error column names in the results file, then",
        "--include-invalid",
    ),
    Outcome.HELD: ("held back by the floor or the ping: to price them again", "--include-held"),
}


def next_steps(
    counts: Mapping[Outcome, int],
    *,
    results_path: Path,
    input_path: Path,
    program: str = "leadup",
    again: str = "",
    floor: float | None = None,
    sellable: int = 0,
) -> tuple[NextStep, ...]:
    """The steps for these counts, in the order a person should take them; `program` is how
    leadup is run and `again` this run's own command, both ready for a shell."""
    steps: list[NextStep] = []
    if counts.get(Outcome.PENDING):
        steps.append(
            NextStep(
                Outcome.PENDING,
                counts[Outcome.PENDING],
                "not sent, because the run stopped first: run the same command again",
                again or f"{program} upload {shlex.quote(str(input_path))}",
            )
        )
    for outcome, (advice, flag) in _RETRY.items():
        if counts.get(outcome):
            command = f"{program} retry {shlex.quote(str(results_path))}"
            steps.append(NextStep(outcome, counts[outcome], advice, f"{command} {flag}".rstrip()))
    if counts.get(Outcome.QUOTED) and floor is not None and sellable:
        steps.append(
            NextStep(
                Outcome.QUOTED,
                sellable,
                "priced, nothing sold: to sell the ones at or above the floor",
                _sell_command(again, program, input_path, floor),
            )
        )
    return tuple(steps)


def _sell_command(quote_command: str, program: str, input_path: Path, floor: float) -> str:
    """The quote's own command as an upload (its read options and ping fields kept)."""
    words = shlex.split(quote_command) if quote_command else []
    if "quote" in words:
        words[words.index("quote")] = "upload"
        if not any(w == "--min-price" or w.startswith("--min-price=") for w in words):
            words += ["--min-price", f"{floor:g}"]
        return " ".join([program, *map(shlex.quote, words[len(shlex.split(program)) :])])
    return f"{program} upload {shlex.quote(str(input_path))} --min-price {floor:g}"
