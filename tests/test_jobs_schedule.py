"""The cron table: next_run across month ends, leap days, DST gaps and repeats, several zones."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from jobs.schedule import ScheduleError, check_expression, next_run


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


# (after, expression, zone, expected next run, why); all instants in UTC.
TABLE = [
    # plain calendar arithmetic
    ("2026-01-15 10:00", "30 2 * * *", "UTC", "2026-01-16 02:30", "daily, tomorrow"),
    ("2026-01-16 02:30", "30 2 * * *", "UTC", "2026-01-17 02:30", "strictly after"),
    ("2026-01-16 02:29:59.9", "30 2 * * *", "UTC", "2026-01-16 02:30", "sub-second before"),
    ("2026-01-31 23:59:59", "0 0 * * *", "UTC", "2026-02-01 00:00", "month end"),
    ("2026-12-31 23:30", "0 * * * *", "UTC", "2027-01-01 00:00", "year end"),
    ("2026-01-31 00:00", "0 0 31 * *", "UTC", "2026-03-31 00:00", "no 31st in Feb"),
    ("2026-04-30 12:00", "0 6 31 * *", "UTC", "2026-05-31 06:00", "no 31st in April"),
    ("2026-03-01 00:00", "0 12 29 2 *", "UTC", "2028-02-29 12:00", "leap day, two years on"),
    ("2028-02-28 12:00", "0 12 * * *", "UTC", "2028-02-29 12:00", "leap day exists"),
    ("2027-02-28 12:00", "0 12 * * *", "UTC", "2027-03-01 12:00", "no leap day"),
    ("2026-01-16 04:00", "0 9 * * 1-5", "Asia/Kolkata", "2026-01-19 03:30", "Fri -> Mon, +05:30"),
    ("2026-01-16 04:00", "0 9 * * MON-FRI", "Asia/Kolkata", "2026-01-19 03:30", "day names"),
    ("2027-01-01 00:00", "0 0 29 2 *", "Pacific/Auckland", "2028-02-28 11:00", "leap day, +13"),
    ("2026-01-31 22:00", "0 0 1 * *", "America/New_York", "2026-02-01 05:00", "local month end"),
    ("2026-06-30 23:00", "0 0 1 * *", "Europe/Paris", "2026-07-31 22:00", "already July there"),
    ("2026-01-15 10:00", "@daily", "UTC", "2026-01-16 00:00", "alias"),
    # spring forward: 02:00 -> 03:00; times in the gap run once, when the clock jumps
    ("2026-03-08 06:00", "30 2 * * *", "America/New_York", "2026-03-08 07:00", "02:30 -> 03:00"),
    ("2026-03-08 07:00", "30 2 * * *", "America/New_York", "2026-03-09 06:30", "then next day"),
    ("2026-03-08 06:50", "*/15 * * * *", "America/New_York", "2026-03-08 07:00", "gap once"),
    ("2026-03-08 07:00", "*/15 * * * *", "America/New_York", "2026-03-08 07:15", "not twice"),
    ("2026-03-08 06:30", "30 * * * *", "America/New_York", "2026-03-08 07:00", "hourly gap"),
    ("2026-03-08 07:00", "30 * * * *", "America/New_York", "2026-03-08 07:30", "then 03:30"),
    ("2026-03-29 00:00", "30 1 * * *", "Europe/London", "2026-03-29 01:00", "01:30 -> 02:00"),
    ("2026-10-03 15:00", "30 2 * * *", "Australia/Sydney", "2026-10-03 16:00", "south, Oct"),
    ("2011-12-29 22:00", "0 12 * * *", "Pacific/Apia", "2011-12-30 10:00", "a day skipped"),
    ("2011-12-30 10:00", "0 12 * * *", "Pacific/Apia", "2011-12-30 22:00", "after that day"),
    # fall back: 02:00 -> 01:00; a repeated time runs once, at its first occurrence
    ("2026-11-01 04:00", "30 1 * * *", "America/New_York", "2026-11-01 05:30", "first 01:30"),
    ("2026-11-01 05:30", "30 1 * * *", "America/New_York", "2026-11-02 06:30", "not second"),
    ("2026-11-01 05:30", "30 * * * *", "America/New_York", "2026-11-01 07:30", "hourly once"),
    ("2026-11-01 06:10", "*/20 * * * *", "America/New_York", "2026-11-01 07:00", "in 2nd pass"),
    ("2026-10-24 23:00", "30 2 * * *", "Europe/Berlin", "2026-10-25 00:30", "first 02:30"),
    ("2026-10-25 00:30", "30 2 * * *", "Europe/Berlin", "2026-10-26 01:30", "once"),
    ("2026-04-04 14:00", "45 1 * * *", "Australia/Lord_Howe", "2026-04-04 14:45", "30-min DST"),
    ("2026-04-04 14:45", "45 1 * * *", "Australia/Lord_Howe", "2026-04-05 15:15", "not again"),
]


@pytest.mark.parametrize(
    ("after", "expression", "zone", "expected", "why"), TABLE, ids=[row[4] for row in TABLE]
)
def test_next_run_table(after: str, expression: str, zone: str, expected: str, why: str) -> None:
    got = next_run(utc(after), expression, ZoneInfo(zone))
    assert got.astimezone(UTC) == utc(expected), why
    assert got.tzinfo == ZoneInfo(zone)  # shown in the job's own zone


def test_after_in_any_zone_is_the_same_instant() -> None:
    after = utc("2026-03-08 06:00").astimezone(timezone(timedelta(hours=9)))
    got = next_run(after, "30 2 * * *", ZoneInfo("America/New_York"))
    assert got.astimezone(UTC) == utc("2026-03-08 07:00")


def test_a_year_of_nightly_runs_is_one_per_day_across_both_changes() -> None:
    tz = ZoneInfo("Europe/Berlin")
    at, days = utc("2025-12-31 23:59"), []
    while (at := next_run(at, "30 2 * * *", tz)).year == 2026:
        days.append(at.date())
        assert at.strftime("%H:%M") in ("02:30", "03:00")  # 03:00 on the spring-forward day
    assert len(days) == len(set(days)) == 365


def test_naive_after_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        next_run(datetime(2026, 1, 1), "* * * * *", ZoneInfo("UTC"))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("* * * *", "5 fields"),
        ("* * * * * *", "5 fields"),
        ("61 * * * *", "not a valid cron"),
        ("0 0 30 2 *", "not a valid cron"),
        ("0 0 L * *", "plain cron"),
        ("0 0 * * 5#3", "plain cron"),
        ("@reboot", "unknown alias"),
    ],
)
def test_bad_expressions(expression: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        check_expression(expression)


def test_expression_is_normalised() -> None:
    assert check_expression("  */5   *  * * *") == "*/5 * * * *"
    assert check_expression("@DAILY") == "@daily"
