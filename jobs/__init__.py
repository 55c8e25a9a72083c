"""Scheduled imports (issue 5): job files, inbox, ledger, lock, runs, reprocess, schedule, serve.

Depends on `uploader`'s public API only. The CLI group is `jobs.cli.jobs_group`, added to the
`leadup` group as `leadup jobs`.
"""

from __future__ import annotations

from typing import Any

__all__ = ["jobs_group"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import jobs.schedule` does not pull in click and the runner.
    if name == "jobs_group":
        from jobs.cli import jobs_group

        return jobs_group
    raise AttributeError(name)
