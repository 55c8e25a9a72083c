"""What `leadup web` is started with: where it listens, its workspace, its limits."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from uploader.settings import ApiSettings, RetryPolicy

DEFAULT_PORT = 8765
DEFAULT_MAX_UPLOAD_MB = 200.0


def default_workspace() -> Path:
    """Beside the upload memory: `$LEADUP_DATA_DIR/web`, else `$XDG_DATA_HOME/leadup/web`."""
    if folder := os.environ.get("LEADUP_DATA_DIR"):
        return Path(folder) / "web"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "leadup" / "web"


@dataclass(frozen=True, slots=True)
class WebConfig:
    """How the web face runs. `api` is where leads go (the embedded sandbox's when
    `sandbox`); the retry policy and grace period are the CLI's defaults unless a test
    makes them quicker."""

    api: ApiSettings | None = None  # None until the embedded sandbox gives its own
    sandbox: bool = False
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workspace: Path = field(default_factory=default_workspace)
    max_upload_bytes: int = int(DEFAULT_MAX_UPLOAD_MB * 1024 * 1024)
    jobs_file: Path | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    grace_s: float = 2.0

    @property
    def max_upload_mb(self) -> float:
        return self.max_upload_bytes / (1024 * 1024)
