"""Whether the browser tests (tests/web) can run here, and one line saying how when not.

A pytest plugin (tests/conftest.py loads it): without Debian's chromium or the playwright
package, the tests that need the `browser` fixture are left out and the run ends with one
line saying how to run them. With LEADUP_REQUIRE_BROWSER=1 (.ci/run sets it) they are kept,
and the `browser` fixture fails them instead.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("LEADUP_CHROMIUM", "/usr/bin/chromium"))
HOW_TO_RUN = (
    "they need Debian's chromium at /usr/bin/chromium (apt-get install chromium) and the "
    "playwright package (pip install -e '.[test]'); .ci/run installs chromium and requires them"
)


def browser_missing() -> str:
    """Why the browser tests cannot run here ("" when they can)."""
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing"
    return ""


def browser_required() -> bool:
    return os.environ.get("LEADUP_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not browser_missing() or browser_required():
        return
    left_out = [item for item in items if "browser" in getattr(item, "fixturenames", ())]
    if left_out:
        items[:] = [item for item in items if item not in left_out]
        config.hook.pytest_deselected(items=left_out)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    why = browser_missing()
    if why and not browser_required():
        terminalreporter.write_line(f"browser tests (tests/web) not run: {why}; {HOW_TO_RUN}")
