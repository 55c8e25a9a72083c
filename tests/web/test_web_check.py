"""The check page over plain HTTP: Excel files, the mapping file it saves, and the choices
and options it refuses before anything is sent."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.web import REPO, RunningWeb, log_in, web_in_thread
from uploader.prepare.mapping import load_mapping
from uploader.read import open_table
from uploader.settings import ReadOptions

SAMPLES = REPO / "sample_data"


@pytest.fixture
def web(tmp_path: Path):
    with web_in_thread(tmp_path / "workspace") as running:
        yield running


def dropped(web: RunningWeb, name: str) -> tuple[object, str]:
    session = log_in(web)
    answer = session.post(
        f"{web.url}/files",
        files={"file": (name, (SAMPLES / name).read_bytes())},
        allow_redirects=False,
    )
    assert answer.status_code == 303
    return session, answer.headers["Location"].rsplit("/", 1)[0]


def test_an_excel_file_is_checked_like_the_cli_would(web: RunningWeb) -> None:
    session, base = dropped(web, "leads.xlsx")
    page = session.get(f"{web.url}{base}/check", timeout=10).text
    detected = re.search(r'data-testid="detected">([^<]*)<', page)
    assert detected and detected.group(1).startswith("xlsx")
    assert "sheet" in detected.group(1)
    assert re.search(r'data-testid="count-would-send">(\d+)<', page).group(1) == "285"


def test_the_saved_mapping_is_what_mapping_files_say(web: RunningWeb, tmp_path: Path) -> None:
    session, base = dropped(web, "leads.csv")
    form = {"col:Email": "ignore", "col:Notes": "extra:remarks", "touched": '["Email", "Notes"]'}
    answer = session.post(f"{web.url}{base}/check", data=form, timeout=10).json()
    assert answer["error"] == ""
    targets = {c["ref"]: c["target"] for c in answer["columns"]}
    assert targets["Email"] == "ignore" and targets["Notes"] == "extra:remarks"
    saved = tmp_path / "saved.toml"
    saved.write_bytes(session.get(f"{web.url}{base}/mapping.toml", timeout=10).content)
    columns = open_table(SAMPLES / "leads.csv", ReadOptions()).columns
    mapping = load_mapping(saved, columns)
    assert columns.index("Email") in mapping.ignored
    assert mapping.extras[columns.index("Notes")] == "remarks"
    assert mapping.fields[columns.index("Phone")] == "phone"
    # Reloaded, the page keeps the choices.
    page = session.get(f"{web.url}{base}/check", timeout=10).text
    assert re.search(
        r'name="col:Email"[^>]*>(?:(?!</select>).)*value="ignore" selected', page, re.S
    )


def test_choices_and_options_that_cannot_be_sent_are_refused(web: RunningWeb) -> None:
    session, base = dropped(web, "leads.csv")
    clash = {"col:First Name": "full_name", "touched": '["First Name"]'}
    answer = session.post(f"{web.url}{base}/check", data=clash, timeout=10).json()
    assert "full_name" in answer["error"]
    assert answer["would_send"] == 0
    no_zip = {"col:Zip Code": "ignore", "touched": '["Zip Code"]'}
    answer = session.post(f"{web.url}{base}/check", data=no_zip, timeout=10).json()
    assert "no column maps to zip" in answer["error"]
    started = session.post(f"{web.url}{base}/start/upload", data=no_zip, timeout=10)
    assert started.status_code == 400 and "no column maps to zip" in started.text
    for bad in ({"rate": "fast"}, {"rate": "0"}, {"concurrency": "1000"}, {"min_price": "-1"}):
        answer = session.post(f"{web.url}{base}/check", data=bad, timeout=10).json()
        assert answer["error"], bad
    assert web.sandbox.state.request_count == 0
