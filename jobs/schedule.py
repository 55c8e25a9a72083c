"""When a job runs next: a pure cron function that is correct across DST changes.

Cron expressions are read in a job's own wall-clock time (its `timezone`). Wall-clock time is
not a line: once a year an hour is skipped and once a year an hour repeats. The rules, the
same as classic cron's for fixed-time jobs, so a nightly import is neither lost nor doubled:

- a time that does not exist that day (spring forward: 02:30 when clocks jump from 02:00 to
  03:00) runs at the instant the clock jumps (03:00 new time), once however many such times
  the expression matches;
- a time that occurs twice (fall back: 01:30 comes twice) runs once, at its first occurrence.

`next_run` never reads the clock: callers pass `after`, which keeps it table-testable.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import CroniterError, croniter

# Aliases every cron understands; @reboot is not a schedule and is refused.
MACROS = frozenset(
    {"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"}
)

# Plain cron syntax only (no L, W, #, ?): the expression must also work in a real crontab.
_ITEM = r"(?:\*|(?:\d+|[A-Za-z]{3})(?:-(?:\d+|[A-Za-z]{3}))?)(?:/\d+)?"
_FIELD = re.compile(rf"^{_ITEM}(?:,{_ITEM})*$")

# A cron expression can match at most a few hundred wall times inside one repeated hour;
# past this many candidates that all fall before `after`, something is wrong.
_MAX_CANDIDATES = 100_000


class ScheduleError(ValueError):
    """The cron expression is not one leadup can schedule."""


def check_expression(expression: str) -> str:
    """Return the expression normalised (single spaces), or raise ScheduleError saying why.

    Only the five standard fields (or an @-alias) are accepted, because the same expression
    is pasted into a crontab by `leadup jobs schedule`.
    """
    text = " ".join(expression.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise ScheduleError(f"unknown alias {text!r}; use one of {', '.join(sorted(MACROS))}")
        return text.lower()
    fields = text.split(" ")
    if len(fields) != 5:
        raise ScheduleError(
            f"{text!r} must have 5 fields (minute hour day-of-month month day-of-week)"
        )
    for field in fields:
        if not _FIELD.match(field):
            raise ScheduleError(
                f"{text!r}: {field!r} is not plain cron syntax (numbers, names, * , - /)"
            )
    try:
        # A fixed start keeps this pure; it also finds expressions that never match (Feb 30).
        croniter(text, datetime(2000, 1, 1)).get_next(datetime)
    except (CroniterError, ValueError, KeyError) as exc:
        raise ScheduleError(f"{text!r} is not a valid cron expression: {exc}") from None
    return text


def next_run(after: datetime, expression: str, tz: ZoneInfo) -> datetime:
    """The first instant strictly after `after` at which `expression` fires in zone `tz`.

    `after` must be aware; the result is aware, in `tz`. Compare results as instants
    (`.astimezone(UTC)`): by PEP 495, `==` across zones is False for a time in a DST fold.
    Raises ScheduleError for an expression that is invalid or never fires.
    """
    if after.tzinfo is None or after.utcoffset() is None:
        raise ValueError("next_run needs an aware datetime; pass the time with its zone")
    text = check_expression(expression)
    after_utc = after.astimezone(UTC)
    wall_after = after.astimezone(tz).replace(tzinfo=None, fold=0)
    # Wall times map onto instants monotonically (see _instant), so walking the wall times
    # after `after`'s own wall time and keeping the first instant past `after` is exact.
    candidates = croniter(text, wall_after)
    for _ in range(_MAX_CANDIDATES):
        try:
            wall = candidates.get_next(datetime)
        except CroniterError as exc:
            raise ScheduleError(f"{text!r} never fires: {exc}") from None
        instant = _instant(wall, tz)
        if instant.astimezone(UTC) > after_utc:
            return instant
    raise ScheduleError(f"{text!r}: no run found after {after.isoformat()}")


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant a naive wall time stands for in `tz`, by the rules in the module doc."""
    first = wall.replace(tzinfo=tz, fold=0)
    if _exists(first):
        return first  # fold=0 is the first of two occurrences when the time repeats
    return _gap_end(wall, tz)


def _exists(aware: datetime) -> bool:
    """False for a wall time that falls in a spring-forward gap."""
    round_trip = aware.astimezone(UTC).astimezone(aware.tzinfo)
    return round_trip.replace(tzinfo=None) == aware.replace(tzinfo=None)


def _gap_end(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant the clock jumped over `wall` (the first valid time after the gap)."""
    # In a gap, fold=1 reads the wall time with the offset after the change and lands before
    # the transition; fold=0 reads it with the offset before and lands after it.
    low = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if low > high:
        low, high = high, low
    before = low.astimezone(tz).utcoffset()
    # Transitions fall on whole seconds: bisect down to one.
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(tz).utcoffset() == before:
            low = middle
        else:
            high = middle
    return high.replace(microsecond=0).astimezone(tz)
