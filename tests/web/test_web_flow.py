"""The page end to end in Chromium against the sandbox: drop a file, change a column and see
the counts follow, upload, watch it finish, download the results and compare with the journal."""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest

from tests.support.web import REPO, expect, screenshot
from uploader.journal import Journal
from uploader.run.preview import preview
from uploader.run.request import journal_path_for
from uploader.settings import PrepareOptions, ReadOptions

SAMPLE = REPO / "sample_data" / "leads.csv"
pytestmark = pytest.mark.slow


def engine_counts(tmp_path: Path, mapping: str | None) -> tuple[int, int, int]:
    """What `leadup validate` counts for the sample with this mapping file text."""
    copy = tmp_path / f"engine{len(list(tmp_path.glob('engine*')))}" / "leads.csv"
    copy.parent.mkdir()
    shutil.copy(SAMPLE, copy)
    mapping_path = None
    if mapping is not None:
        mapping_path = copy.parent / "mapping.toml"
        mapping_path.write_text(mapping)
    found = preview(
        copy,
        read=ReadOptions(),
        prepare=PrepareOptions(),
        mapping_path=mapping_path,
        output=copy.parent / "check.csv",
    )
    return found.to_send, found.counts["invalid"], found.counts["skipped"]


def shown_counts(page) -> tuple[int, int, int]:
    return tuple(  # type: ignore[return-value]
        int(page.get_by_test_id(f"count-{name}").inner_text())
        for name in ("would-send", "invalid", "skipped")
    )


def test_drop_map_upload_finish_and_download(open_web, tmp_path: Path) -> None:
    web, page = open_web()
    expect(page.get_by_test_id("destination")).to_contain_text("sandbox")
    screenshot(page, "home")

    page.get_by_test_id("file-input").set_input_files(SAMPLE)
    page.wait_for_url("**/check")
    auto = engine_counts(tmp_path, None)
    assert shown_counts(page) == auto
    screenshot(page, "check")

    # Email ignored: rows with only an email cannot be reached, duplicates by email are not.
    page.get_by_test_id("map-Email").select_option("ignore")
    ignored = engine_counts(tmp_path, '[columns]\n"Email" = "ignore"\n')
    assert ignored != auto
    expect(page.get_by_test_id("count-would-send")).to_have_text(str(ignored[0]))
    assert shown_counts(page) == ignored
    expect(page.get_by_test_id("start-upload")).to_contain_text(f"Upload {ignored[0]} leads")

    page.get_by_test_id("map-Email").select_option("email")
    expect(page.get_by_test_id("count-would-send")).to_have_text(str(auto[0]))
    page.get_by_label("Requests per second").fill("500")

    page.get_by_test_id("start-upload").click()
    expect(page.get_by_test_id("confirm-count")).to_have_text(str(auto[0]))
    expect(page.locator("dialog")).to_contain_text(web.sandbox.url.split("//")[1])
    page.get_by_test_id("confirm-upload").click()
    page.wait_for_url("**/run")
    expect(page.get_by_test_id("run-status")).to_have_text("finished", timeout=25_000)
    screenshot(page, "run")

    upload = web.only_upload()
    created = web.sandbox.state.created_count
    assert created > 0
    expect(page.get_by_test_id("count-created")).to_have_text(str(created))
    with page.expect_download() as download:
        page.get_by_test_id("download-results").click()
    data = Path(download.value.path()).read_bytes()
    assert data == upload.results_path.read_bytes()

    downloaded = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    with Journal.open_existing(journal_path_for(upload.results_path)) as journal:
        recorded = {r.row: r for r, _ in journal.results()}
    assert len(downloaded) == len(recorded) == 300
    for line in downloaded:
        result = recorded[int(line["row"])]
        assert line["outcome"] == result.outcome.value
        assert line["lead_public_id"] == (result.lead_public_id or "")
    assert sum(r.outcome.value == "created" for r in recorded.values()) == created

    page.goto(web.url + "/")
    expect(page.get_by_test_id("recent-runs")).to_contain_text("finished")
