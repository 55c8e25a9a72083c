"""Fixtures for the web page's tests: one Chromium per test process, a fresh page and
server per test.

Without Debian's chromium (or the playwright package) the browser tests are left out with
one line saying how to run them (tests/support/browser.py); with LEADUP_REQUIRE_BROWSER=1
(set by .ci/run) they fail instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import CHROMIUM, HOW_TO_RUN, browser_missing
from tests.support.web import RunningWeb, web_in_thread
from uploader.sandbox import SandboxConfig

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if why := browser_missing():
        pytest.fail(f"{why}: browser tests {HOW_TO_RUN}")  # only when they are required
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


WebFactory = Callable[..., tuple[RunningWeb, Any]]


@pytest.fixture
def open_web(browser: Any, tmp_path: Path) -> Iterator[WebFactory]:
    """`open_web(sandbox=SandboxConfig(...), width=, height=, **WebConfig)`: a server over
    a sandbox, and a browser page logged in to it (1280x800 unless told)."""
    opened: list[Any] = []

    def make(
        sandbox: SandboxConfig | None = None, width: int = 1280, height: int = 800, **config: Any
    ) -> tuple[RunningWeb, Any]:
        server = web_in_thread(tmp_path / f"workspace{len(opened)}", sandbox, **config)
        web = server.__enter__()
        opened.append(server)
        context = browser.new_context(viewport={"width": width, "height": height})
        opened.append(context)
        context.set_default_timeout(15_000)
        page = context.new_page()
        page.goto(web.login_url())
        return web, page

    yield make
    for thing in reversed(opened):
        if hasattr(thing, "__exit__"):
            thing.__exit__(None, None, None)
        else:
            thing.close()
