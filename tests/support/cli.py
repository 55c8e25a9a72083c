"""The `leadup` command as a subprocess, with credentials that must never be printed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from uploader.sandbox import Sandbox

SECRET = "s3cr3t-Value-That-Must-Not-Leak"
KEY = "key-Visible-Only-In-Env"


def leadup(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m uploader ARGS` with no inherited JUICED_* variables; `env` adds some."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("JUICED_")}
    return subprocess.run(
        [sys.executable, "-m", "uploader", *args],
        env=clean | (env or {}),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def env_for(sb: Sandbox, **extra: str) -> dict[str, str]:
    """The environment that points `leadup` at `sb` with KEY and SECRET (and the test's own
    memory of uploads, LEADUP_DATA_DIR, for commands run with this environment alone)."""
    env = {"JUICED_API_URL": sb.url, "JUICED_API_KEY": KEY, "JUICED_API_SECRET": SECRET}
    if "LEADUP_DATA_DIR" in os.environ:
        env["LEADUP_DATA_DIR"] = os.environ["LEADUP_DATA_DIR"]
    return env | extra


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert SECRET not in text
        assert KEY not in text
