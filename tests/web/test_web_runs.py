"""Runs from the page: stop mid-run and resume, retry failed rows after a faulty sandbox,
quote first and sell above the floor."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.support.leads import lead_rows, write_csv
from tests.support.web import expect, screenshot
from uploader.sandbox import SandboxConfig, Scripted
from uploader.settings import RetryPolicy

pytestmark = pytest.mark.slow


def drop(page, path: Path, rate: str = "1000") -> None:
    """Drop `path` on the home page's drop zone (as a file dragged from the desktop) and set
    the pace on its check page."""
    dragged = page.evaluate_handle(
        """([name, text]) => {
            const data = new DataTransfer();
            data.items.add(new File([text], name, {type: "text/csv"}));
            return data;
        }""",
        [path.name, path.read_text()],
    )
    page.dispatch_event("#drop-zone", "dragover", {"dataTransfer": dragged})
    page.dispatch_event("#drop-zone", "drop", {"dataTransfer": dragged})
    page.wait_for_url("**/check")
    page.get_by_label("Requests per second").fill(rate)
    page.get_by_label("Requests at once").fill("2")


def upload(page) -> None:
    page.get_by_test_id("start-upload").click()
    page.get_by_test_id("confirm-upload").click()
    page.wait_for_url("**/run")


def count(page, outcome: str) -> int:
    return int(page.get_by_test_id(f"count-{outcome}").inner_text())


def test_stop_mid_run_then_resume(open_web, tmp_path: Path) -> None:
    web, page = open_web(sandbox=SandboxConfig(latency_s=0.02))
    drop(page, write_csv(tmp_path / "leads.csv", lead_rows(100)), rate="40")
    upload(page)
    expect(page.get_by_test_id("run-status")).to_have_text("running")
    expect(page.get_by_test_id("count-created")).not_to_have_text("0")
    screenshot(page, "run-live")
    page.get_by_test_id("stop-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("stopped")
    pending = count(page, "pending")
    created = count(page, "created")
    assert pending > 0 and created > 0 and pending + created == 100
    assert web.sandbox.state.created_count == created
    screenshot(page, "run-stopped")

    page.get_by_test_id("resume-run").click()
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    assert count(page, "created") == 100
    assert count(page, "pending") == 0
    assert web.sandbox.state.created_count == 100
    assert web.sandbox.state.keys_created_twice() == []


def test_retry_failed_rows_after_a_faulty_sandbox(open_web, tmp_path: Path) -> None:
    # The first four requests meet a 503 and no time is allowed for overload: four rows fail;
    # the fifth is created but its answer is lost: unknown.
    script = [Scripted(status=503, headers={"Retry-After": "0"})] * 4
    script.append(Scripted(action="lose_response"))
    web, page = open_web(
        sandbox=SandboxConfig(script=script),
        retry=RetryPolicy(backoff_initial_s=0.01, rate_limited_max_s=0),
    )
    drop(page, write_csv(tmp_path / "leads.csv", lead_rows(30)))
    upload(page)
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    assert (count(page, "failed"), count(page, "unknown"), count(page, "created")) == (4, 1, 25)
    page.get_by_test_id("filter-failed").click()
    rows = page.get_by_test_id("not-created").locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(page.get_by_test_id("not-created")).not_to_contain_text("unknown")
    expect(page.locator("form.retry")).to_contain_text("may have been created already")
    screenshot(page, "run-failed-rows")

    page.get_by_test_id("retry-failed").click()  # the unknown row's box left unticked
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    assert (count(page, "failed"), count(page, "unknown"), count(page, "created")) == (0, 1, 29)
    assert web.sandbox.state.created_count == 30  # the unknown one was created, not resent
    assert web.sandbox.state.keys_created_twice() == []


def test_quote_chart_then_sell_above_the_floor(open_web, tmp_path: Path) -> None:
    web, page = open_web()
    rows = lead_rows(40, zip_code="10001") + lead_rows(20, start=40, zip_code="94105")
    drop(page, write_csv(tmp_path / "leads.csv", rows))
    page.get_by_test_id("quote-first").click()
    page.wait_for_url("**/quote")
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    chart = page.get_by_test_id("quote-chart")
    expect(chart).to_be_visible()
    assert chart.evaluate("img => img.complete && img.naturalWidth") > 0
    expect(page.get_by_test_id("quote-states")).to_contain_text("(all states)")
    assert count(page, "quoted") == 60
    assert web.sandbox.state.created_count == 0  # a quote posts nothing
    screenshot(page, "quote")

    page.get_by_label("Floor").fill("0")
    page.get_by_test_id("sell-above-floor").click()
    page.wait_for_url("**/run")
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    created, held = count(page, "created"), count(page, "held")
    assert created + held == 60
    assert created == web.sandbox.state.created_count > 0
    # Everything the runs left in the workspace is the person's alone.
    for path in web.only_upload().folder.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_the_run_page_tells_of_pauses_and_slow_downs(open_web, tmp_path: Path) -> None:
    web, page = open_web(sandbox=SandboxConfig(rate_limit_per_s=20))
    drop(page, write_csv(tmp_path / "leads.csv", lead_rows(40)), rate="200")
    upload(page)
    # 429s: the engine pauses and slows down, and says so; the page shows it while it goes.
    expect(page.locator("#notices")).to_contain_text("(429)", timeout=10_000)
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=25_000)
    assert count(page, "created") == 40 == web.sandbox.state.created_count
    assert web.sandbox.state.status_counts[429] > 0
