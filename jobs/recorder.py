"""The evidence of a job's run, shared by `run` and `reprocess`: ledger, JSON lines, webhook."""

from __future__ import annotations

import time
from dataclasses import replace

from jobs import commands
from jobs.config import JobConfig
from jobs.ledger import Ledger
from jobs.notify import Notifier, NotifyError, make_notifier, webhook_host
from jobs.report import FileResult, RunSummary, Waiting, summary_text
from jobs.state import JsonLog, utc_now
from uploader.settings import redact


class RunRecorder:
    """The evidence of a run, shared by `run` and `reprocess`: ledger, JSON lines, webhook."""

    def __init__(
        self,
        job: JobConfig,
        ledger: Ledger,
        log: JsonLog,
        kind: str,
        notifier: Notifier | None,
        program: str | None = None,
    ) -> None:
        self.job, self.ledger, self.log, self.kind = job, ledger, log, kind
        self.notifier = notifier or make_notifier(job.notify_timeout_s)
        # leadup as the commands of next steps start it (absolute, for cron logs and chats)
        self.program = program or commands.program()
        self.files: list[FileResult] = []
        self.run_id = ledger.begin_run(kind, utc_now())
        self._t0 = time.monotonic()

    def redacted(self, text: str) -> str:
        """`text` without the run's credentials: summaries are printed, logged and posted."""
        return redact(text, self.log.redact)

    def file(self, result: FileResult) -> None:
        """Record one file: its history row and its JSON line."""
        result = replace(result, error=self.redacted(result.error))
        self.files.append(result)
        self.ledger.add_run_file(
            self.run_id,
            sha256=result.sha256,
            file_name=result.file_name,
            status=result.status,
            counts=result.counts,
            total_price=result.total_price,
            exit_code=result.exit_code,
            duration_s=result.duration_s,
        )
        event = "file" if self.kind == "run" else f"{self.kind}_file"
        self.log.write(event, job=self.job.name, **result.log_fields())

    async def finish(
        self, *, exit_code: int, error: str = "", waiting: tuple[Waiting, ...] = ()
    ) -> RunSummary:
        """Close the run: history, the run's JSON line, and the webhook when worth it."""
        error = self.redacted(error)
        summary = RunSummary(
            job=self.job.name,
            kind=self.kind,
            status="error" if error else "finished",
            exit_code=exit_code,
            files=tuple(self.files),
            waiting=waiting,
            error=error,
            duration_s=time.monotonic() - self._t0,
            settle_s=self.job.settle_s,
        )
        self.ledger.end_run(self.run_id, at=utc_now(), exit_code=exit_code, error=error)
        self.log.write(self.kind, job=self.job.name, **summary.log_fields())
        # Quiet when there was nothing to do, so a job polling every few minutes is not noise.
        if self.job.notify_url and (summary.files or exit_code):
            await self._notify(summary_text(summary))
        return summary

    async def _notify(self, text: str) -> None:
        text = self.redacted(text)
        host = webhook_host(self.job.notify_url)
        try:
            await self.notifier(self.job.notify_url, text)
        except NotifyError as exc:
            self.log.write("notify", job=self.job.name, ok=False, webhook=host, error=str(exc))
        else:
            self.log.write("notify", job=self.job.name, ok=True, webhook=host)
