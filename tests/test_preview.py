"""`leadup validate` and `leadup mapping`: a preview that shows everything and sends nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.cli import env_for, leadup
from tests.support.leads import lead_rows, results_of, write_csv
from uploader.run.preview import SAME_LEAD, split_reason
from uploader.sandbox import SandboxConfig, sandbox_in_thread


def test_validate_sends_nothing_and_fills_in_problems(tmp_path: Path) -> None:
    rows = lead_rows(5)
    rows[1][2] = "jane@"  # bad email
    rows[3][2] = rows[0][2]  # the same lead as row 2
    path = write_csv(tmp_path / "leads.csv", rows)
    with sandbox_in_thread(SandboxConfig()) as sb:
        done = leadup("validate", str(path), env=env_for(sb))
        assert sb.state.request_count == 0
    assert done.returncode == 1, done.stderr
    assert "5 rows: 3 would be sent, 1 invalid, 1 skipped" in done.stdout
    assert "field email" in done.stdout  # the mapping table
    assert "person0@example.com" in done.stdout  # a sample lead
    assert "nothing was sent" in done.stdout
    lines = results_of(tmp_path / "leads.results.csv")
    assert [line["outcome"] for line in lines] == [
        "pending",
        "invalid",
        "pending",
        "skipped",
        "pending",
    ]
    assert "jane@" in lines[1]["error"] and "Email" in lines[1]["error"]
    assert lines[3]["error"] == "same lead as row 2"


def test_validate_clean_file_exits_0(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(3))
    done = leadup("validate", str(path))
    assert done.returncode == 0, done.stderr
    assert "3 rows: 3 would be sent, 0 invalid, 0 skipped" in done.stdout.splitlines()
    assert "would not be sent" not in done.stdout


def test_one_row_is_one_row(tmp_path: Path) -> None:
    rows = lead_rows(1)
    rows[0][7] = ""  # no zip
    done = leadup("validate", str(write_csv(tmp_path / "leads.csv", rows)), "--samples", "0")
    assert done.returncode == 1, done.stderr
    assert _problems(done.stdout) == [
        "1 row: 0 would be sent, 1 invalid, 0 skipped",
        "why 1 row would not be sent:",
        '  1 row: column "Zip Code" is empty: every lead needs a zip (row 2)',
    ]


# Row numbers as a person sees them: the header is row 1, lead_rows(n)[i] is row i + 2.
def _problem_rows() -> list[list[str]]:
    rows = lead_rows(15)
    rows[1][2] = "jane@"  # row 3: bad email
    rows[4][2] = "bob@"  # row 6: bad email
    rows[6][2] = "x@@y"  # row 8: bad email ...
    rows[6][3] = "123"  # ... and a phone too short: another reason
    rows[2][7] = ""  # row 4: no zip
    rows[3][2] = rows[0][2]  # row 5: the same lead as row 2
    rows[8][3] = rows[5][3]  # row 10: the same phone as row 7
    rows[9][7] = ""  # row 11: no zip
    rows[10][2] = "ann@"  # row 12: bad email
    rows[11][3] = "555-0199"  # row 13: no area code
    rows[12][3] = "000-000-0000"  # row 14: no area code starts with 0
    rows[13][3] = "617-555-01"  # row 15: too short
    return rows


def _problems(stdout: str) -> list[str]:
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if " would be sent, " in line)
    return lines[start : lines.index(next(x for x in lines if x.startswith("results file:")))]


def test_reasons_show_rows_and_values_and_add_up_to_the_rows_not_sent(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", _problem_rows())
    done = leadup("validate", str(path), "--samples", "0")
    assert done.returncode == 1, done.stderr
    assert _problems(done.stdout) == [
        "15 rows: 4 would be sent, 9 invalid, 2 skipped",
        "why 11 rows would not be sent:",
        '  3 rows: column "Email": … is not an email address (row 3 "jane@", row 6 "bob@", …)',
        '  2 rows: column "Zip Code" is empty: every lead needs a zip (rows 4, 11)',
        "  2 rows: same email or phone as an earlier row (row 5 repeats row 2, "
        "row 10 repeats row 7)",
        '  1 row: column "Email": … is not an email address; column "Phone": … is too short '
        'for a phone number (row 8 "x@@y", "123")',
        '  1 row: column "Phone": … has no area code (row 13 "555-0199")',
        "  and 2 more rows with 2 other reasons (see the results file)",
    ]


def test_a_rest_of_one_reason_is_shown_not_summed_up(tmp_path: Path) -> None:
    rows = _problem_rows()
    rows[12] = lead_rows(1, start=12)[0]  # row 14 is fine again: six reasons in all
    done = leadup("validate", str(write_csv(tmp_path / "leads.csv", rows)), "--samples", "0")
    problems = _problems(done.stdout)
    assert problems[0] == "15 rows: 5 would be sent, 8 invalid, 2 skipped"
    assert problems[-1] == (
        '  1 row: column "Phone": … is too short for a phone number (row 15 "617-555-01")'
    )
    assert not any("more row" in line for line in problems)


@pytest.mark.parametrize(
    ("error", "reason", "detail"),
    [
        (
            'column "Email": "jane@" is not an email address',
            'column "Email": … is not an email address',
            '"jane@"',
        ),
        (  # a quote inside the value, and a header with a colon
            'column "E: mail": "ja"ne@" is not an email address',
            'column "E: mail": … is not an email address',
            '"ja"ne@"',
        ),
        (
            'column "Zip Code" is empty: every lead needs a zip',
            'column "Zip Code" is empty: every lead needs a zip',
            "",
        ),
        ("same lead as row 12", SAME_LEAD, "repeats row 12"),
    ],
)
def test_split_reason(error: str, reason: str, detail: str) -> None:
    assert split_reason(error) == (reason, detail)


def test_validate_unreadable_file_exits_2(tmp_path: Path) -> None:
    path = tmp_path / "leads.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    done = leadup("validate", str(path))
    assert done.returncode == 2
    assert "leads.xlsx" in done.stderr and "Traceback" not in done.stderr


def test_validate_will_not_overwrite_an_uploads_results(tmp_path: Path) -> None:
    path = write_csv(tmp_path / "leads.csv", lead_rows(2))
    done = leadup("upload", str(path), "--sandbox")
    assert done.returncode == 0, done.stderr
    again = leadup("validate", str(path))
    assert again.returncode == 2 and "--output" in again.stderr


def test_mapping_file_round_trip(tmp_path: Path) -> None:
    header = ["Given Name", "Surname", "E-mail Address", "Mobile", "Postcode", "Budget?"]
    path = write_csv(
        tmp_path / "leads.csv",
        [["Ann", "Lee", "ann@example.com", "617-555-0100", "02139", "5k"]],
        header=header,
    )
    mapping = leadup("mapping", str(path))
    assert mapping.returncode == 0, mapping.stderr
    text = mapping.stdout.replace('"Budget?" = "budget"', '"Budget?" = "ignore"')
    text = text.replace('# lead_source = "Trade show"', 'lead_source = "Expo"')
    (tmp_path / "mapping.toml").write_text(text)
    with sandbox_in_thread(SandboxConfig()) as sb:
        done = leadup(
            "upload", str(path), "--mapping", str(tmp_path / "mapping.toml"), env=sb.env()
        )
        assert done.returncode == 0, done.stderr
        (lead,) = sb.state.leads
    assert lead.payload == {
        "first_name": "Ann",
        "last_name": "Lee",
        "email": "ann@example.com",
        "phone": "617-555-0100",
        "zip": "02139",
        "lead_source": "Expo",
    }
