"""The jobs page (`leadup web --jobs FILE`): schedules, history, "Run now" and "Reprocess"."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.jobs import write_job_file, write_leads
from tests.support.web import expect, screenshot

pytestmark = pytest.mark.slow


def test_run_a_job_now_and_see_its_history(open_web, tmp_path: Path, monkeypatch) -> None:
    job_file = write_job_file(tmp_path / "jobs", schedule="0 2 * * *", timezone="UTC")
    write_leads(tmp_path / "jobs" / "inbox" / "monday.csv", 0, 5)
    web, page = open_web(jobs_file=job_file)
    for name, value in web.sandbox.env().items():
        monkeypatch.setenv(name, value)  # the job's credentials come from the environment
    page.goto(web.url + "/jobs")
    expect(page.locator("main")).to_contain_text("0 2 * * *")
    expect(page.locator("main")).to_contain_text("last run never")
    page.get_by_test_id("job-run-nightly").click()
    for _ in range(40):
        page.reload()
        if page.get_by_test_id("job-running").count() == 0:
            break
        page.wait_for_timeout(250)
    history = page.locator("section.job table")
    expect(history).to_contain_text("monday.csv")
    expect(history.locator("tbody tr").first).to_contain_text("run")
    expect(page.locator(".job-summary")).to_contain_text("created")
    assert web.sandbox.state.created_count == 5
    screenshot(page, "jobs")

    page.get_by_test_id("job-reprocess-nightly").click()
    for _ in range(40):
        page.reload()
        if page.get_by_test_id("job-running").count() == 0:
            break
        page.wait_for_timeout(250)
    expect(page.locator(".job-summary")).to_contain_text("reprocess")
    assert web.sandbox.state.created_count == 5  # nothing was left to send again
