"""The page itself in Chromium: hostile cells run nothing, a narrow window works, and the
keyboard reaches everything."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.leads import HEADER, lead_rows, write_csv
from tests.support.web import REPO, expect, screenshot

SAMPLE = REPO / "sample_data" / "leads.csv"
SCRIPT = "<script>window.__pwned = 1</script>"
IMAGE = '<img src=x onerror="window.__pwned = 2">'
SVG = '"><svg onload="window.__pwned = 3">'
pytestmark = pytest.mark.slow


def hostile_file(tmp_path: Path) -> Path:
    rows = lead_rows(6)
    rows[0][0], rows[0][1] = SCRIPT, IMAGE  # a lead that is sent
    rows[1][0], rows[1][2] = SVG, f"not-an-email{IMAGE}"  # a row held back as invalid
    rows[2][8] = SCRIPT  # an extra field
    header = [*HEADER[:-1], f"Source {IMAGE}"]
    return write_csv(tmp_path / "hostile.csv", rows, header)


def assert_nothing_ran(page) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src=x], svg, body script:not([src])").count() == 0


def test_hostile_cells_are_shown_as_text_and_run_nothing(open_web, tmp_path: Path) -> None:
    web, page = open_web()
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    page.get_by_test_id("file-input").set_input_files(hostile_file(tmp_path))
    page.wait_for_url("**/check")
    samples = page.get_by_test_id("samples")
    expect(samples).to_contain_text(SCRIPT)
    expect(samples).to_contain_text(IMAGE)
    expect(page.get_by_test_id(f"map-Source {IMAGE}")).to_be_visible()
    assert_nothing_ran(page)

    page.get_by_test_id("map-Email").select_option("ignore")  # recomputed, shown again
    expect(page.get_by_test_id("count-invalid")).to_have_text("0")
    expect(page.get_by_test_id("samples")).to_contain_text(SVG)
    assert_nothing_ran(page)
    page.get_by_test_id("map-Email").select_option("email")
    expect(page.get_by_test_id("count-invalid")).to_have_text("1")

    page.get_by_test_id("held-rows").click()
    expect(page.get_by_test_id("held-table")).to_contain_text(SVG)
    screenshot(page, "held")
    assert_nothing_ran(page)
    page.go_back()

    page.get_by_label("Requests per second").fill("500")
    page.get_by_test_id("start-upload").click()
    page.get_by_test_id("confirm-upload").click()
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=20_000)
    expect(page.get_by_test_id("not-created")).to_contain_text(f"not-an-email{IMAGE}")
    assert_nothing_ran(page)
    page.goto(web.url + "/")
    assert_nothing_ran(page)
    assert alerts == []
    lead = next(r for r in web.sandbox.state.leads if r.payload.get("first_name") == SCRIPT)
    assert lead.payload["last_name"] == IMAGE  # sent as the person typed it


def test_a_narrow_window_and_the_keyboard(open_web) -> None:
    web, page = open_web(width=390, height=844)
    for _ in range(12):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "file-input":
            break
    else:
        pytest.fail("Tab never reached the file input")
    page.get_by_test_id("file-input").set_input_files(SAMPLE)
    page.wait_for_url("**/check")
    # Wide tables scroll inside their box; the page itself does not scroll sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    labels = page.evaluate(
        "[...document.querySelectorAll('input:not([type=hidden]), select')]"
        ".filter(e => !e.labels || e.labels.length === 0).map(e => e.name || e.id)"
    )
    assert labels == []
    screenshot(page, "check-narrow")

    page.get_by_test_id("map-Email").focus()
    page.keyboard.press("ArrowDown")  # Email -> phone: the Phone column yields (an extra)
    expect(page.get_by_test_id("map-Phone")).to_have_value("extra:phone_2")
    expect(page.get_by_test_id("count-would-send")).to_have_text("0")
    expect(page.get_by_test_id("start-upload")).to_be_disabled()
    page.keyboard.press("ArrowUp")  # back to email: Phone is phone again
    expect(page.get_by_test_id("map-Phone")).to_have_value("phone")
    expect(page.get_by_test_id("start-upload")).to_be_enabled()

    page.get_by_test_id("start-upload").focus()
    page.keyboard.press("Enter")
    expect(page.locator("dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("dialog")).to_be_hidden()
    assert web.sandbox.state.created_count == 0
