"""Fixtures for the web page's tests: one Chromium per test process, a fresh page and
server per test.

Without Debian's chromium (or the playwright package) the browser tests skip, saying how
to run them; with LEADUP_REQUIRE_BROWSER=1 (set by .ci/run) they fail instead.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.web import RunningWeb, web_in_thread
from uploader.sandbox import SandboxConfig

CHROMIUM = Path(os.environ.get("LEADUP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HOW_TO_RUN = (
    "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install chromium) "
    "and `pip install -e .[test]`; .ci/run installs it and requires them"
)


def _no_browser(why: str) -> None:
    if os.environ.get("LEADUP_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{why}: {HOW_TO_RUN}")
    pytest.skip(HOW_TO_RUN)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser("playwright is not installed")
    if not CHROMIUM.exists():
        _no_browser(f"{CHROMIUM} is missing")
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
