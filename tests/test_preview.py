"""`leadup validate` and `leadup mapping`: a preview that shows everything and sends nothing."""

from __future__ import annotations

from pathlib import Path

from tests.support.cli import env_for, leadup
from tests.support.leads import lead_rows, results_of, write_csv
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
    assert "would be sent: 3" in done.stdout
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
