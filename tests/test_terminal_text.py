"""What reaches a person's terminal: text from files is inert (issue 16, item 6), and a clamped
Retry-After is told (item 10)."""

from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest

from tests.support.cli import leadup
from tests.support.leads import HEADER, lead_rows, write_csv
from uploader.events import Notice, NoticeKind
from uploader.send.flow import FlowControl
from uploader.send.outcomes import Action, Verdict
from uploader.settings import ApiSettings, Credentials, RetryPolicy, UploadSettings
from uploader.text import inert

TITLE = "\x1b]0;pwned\x07"  # sets the window title
CLEAR = "\x1b[2J"  # clears the screen
BIDI = "\u202e"  # right-to-left override: "txt.exe" shows as "exe.txt"
HOSTILE = (TITLE, CLEAR, BIDI, "\x9b", "\u2066", "\r", "\x08")


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain José, 東京 👩‍👩‍👧", "plain José, 東京 👩‍👩‍👧"),  # text and emoji joiners pass
        (TITLE, "\\e]0;pwned\\x07"),
        (CLEAR, "\\e[2J"),
        (f"a{BIDI}txt.exe", "a\\u202etxt.exe"),
        ("tab\there\nline", "tab\\there\\nline"),
        ("\x9b1m", "\\x9b1m"),  # a C1 control (CSI in one byte)
        ("name\udcff.csv", "name\\xff.csv"),  # an undecodable byte of a file name
    ],
)
def test_inert_shows_what_could_act_on_a_terminal_as_escapes(text: str, shown: str) -> None:
    assert inert(text) == shown


def test_inert_keeps_newlines_only_when_asked() -> None:
    assert inert(f"one\ntwo{CLEAR}", lines=True) == "one\ntwo\\e[2J"


def assert_inert(output: str) -> None:
    for bad in HOSTILE:
        assert bad not in output, repr(bad)


def hostile_file(folder: Path) -> Path:
    """A lead file whose name, header cells and values carry escapes and bidi overrides."""
    header = [f"{HEADER[0]}{TITLE}", *HEADER[1:], f"notes{CLEAR}{BIDI}"]
    rows = [[*row, f"value{TITLE}{BIDI}\r\x08"] for row in lead_rows(3)]
    rows[1][2] = f"not-an-email{CLEAR}"  # shown among the reasons a row is invalid
    return write_csv(folder / f"leads{BIDI}vsc.{CLEAR}csv", rows, header=header)


def test_validate_prints_hostile_names_headers_and_values_inert(tmp_path: Path) -> None:
    path = hostile_file(tmp_path)
    done = leadup("validate", str(path))
    assert done.returncode in (0, 1), done.stderr
    assert "\\e]0;pwned\\x07" in done.stdout  # shown, escaped
    assert "\\u202e" in done.stdout
    assert_inert(done.stdout + done.stderr)


def test_upload_prints_hostile_names_and_headers_inert(tmp_path: Path) -> None:
    path = hostile_file(tmp_path)
    done = leadup("upload", str(path), "--sandbox", "--rate", "1000")
    assert done.returncode in (0, 1), done.stderr
    assert "\\u202e" in done.stdout + done.stderr  # the file name, escaped
    assert_inert(done.stdout + done.stderr)


def test_clicks_own_messages_repeat_what_was_typed_inert(tmp_path: Path) -> None:
    """Before: `Got unexpected extra argument (...)` printed the argument raw (click strips
    only CSI sequences, and only when stderr is not a terminal)."""
    path = write_csv(tmp_path / "leads.csv", lead_rows(1))
    done = leadup("validate", str(path), f"extra{TITLE}{BIDI}\x9b{CLEAR}")
    assert done.returncode == 2
    assert "Error: Got unexpected extra argument (extra\\e]0;pwned\\x07\\u202e\\x9b\\e[2J)" in (
        done.stderr
    )
    assert_inert(done.stdout + done.stderr)
    assert "Usage: leadup validate [OPTIONS] FILE" in done.stderr  # still click's usage error
    no_arguments = leadup()
    assert "Usage: leadup [OPTIONS] COMMAND" in no_arguments.stdout + no_arguments.stderr


def test_the_mapping_file_of_hostile_headers_is_inert_and_reads_back(tmp_path: Path) -> None:
    """Before: bidi overrides and C1 controls of header cells were written raw into the TOML,
    and a DEL made it a file tomllib refuses."""
    headers = [f"{HEADER[0]}{TITLE}", *HEADER[1:], f"notes{CLEAR}{BIDI}\x7f\x9b\u2066"]
    path = write_csv(tmp_path / "leads.csv", lead_rows(2), header=headers)
    done = leadup("mapping", str(path))
    assert done.returncode == 0, done.stderr
    assert_inert(done.stdout)
    assert "\x7f" not in done.stdout
    written = tomllib.loads(done.stdout)["columns"]
    assert set(headers) <= set(written)  # each header cell, exactly as in the file
    mapping = tmp_path / "mapping.toml"
    mapping.write_text(done.stdout, encoding="utf-8")
    used = leadup("validate", str(path), "--mapping", str(mapping))
    assert used.returncode == 0, used.stdout + used.stderr
    assert_inert(used.stdout + used.stderr)


@pytest.mark.virtual_time
async def test_a_clamped_retry_after_is_told_once_naming_the_flag() -> None:
    told: list[Notice] = []
    settings = UploadSettings(
        api=ApiSettings(Credentials(token="t"), base_url="http://127.0.0.1:9"),
        retry=RetryPolicy(retry_after_max_s=120),
    )
    flow = FlowControl(settings, stopping=asyncio.Event(), notify=told.append)
    wait = Verdict(Action.RATE_LIMITED, http_status=429, retry_after="3600")
    assert flow.retry_after_s(wait) == 120
    assert flow.retry_after_s(wait) == 120
    assert flow.retry_after_s(Verdict(Action.RATE_LIMITED, retry_after="30")) == 30
    assert len(told) == 1
    assert told[0].kind is not NoticeKind.NOTE  # views print it
    assert "3600s" in told[0].message and "--max-retry-after" in told[0].message
