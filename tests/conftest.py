"""Fixtures only; the helpers they use live in tests.support (import them from there)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.support.leads import lead_rows, write_csv

# The `virtual_time` marker and the loop it gives (see tests/support/__init__.py); whether
# the browser tests of tests/web can run here (tests/support/browser.py).
pytest_plugins = ["tests.support.virtual_time", "tests.support.browser"]


@pytest.fixture
def lead_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a CSV of `count` valid leads (tests.support.leads.lead_rows) and return its path."""

    def make(count: int = 20, name: str = "leads.csv", **kwargs: Any) -> Path:
        return write_csv(tmp_path / name, lead_rows(count, **kwargs))

    return make


@pytest.fixture(autouse=True)
def private_upload_memory(tmp_path_factory: pytest.TempPathFactory, monkeypatch) -> Path:
    """Each test has its own memory of what was created (uploader/run/memory.py), so tests
    that upload the same leads to other results files do not see each other's uploads; the
    commands they run as subprocesses inherit it."""
    folder = tmp_path_factory.mktemp("leadup-data")
    monkeypatch.setenv("LEADUP_DATA_DIR", str(folder))
    return folder
