"""Real `leadup worker` processes for the cluster tests, and what to read back from them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import tomli_w

from tests.support.jobs import REPO, subprocess_env
from uploader.sandbox import Sandbox

# Short schedules and stall timeouts, so the whole cluster suite stays within a minute or two.
FAST_CLUSTER = {"heartbeat_s": 0.5, "stall_timeout_s": 4.0, "poll_s": 0.5, "concurrency": 4}


def cluster_env(url: str, sandbox: Sandbox) -> dict[str, str]:
    """A worker's environment: the database and the sandbox's credentials, nothing inherited."""
    return subprocess_env({"LEADUP_DATABASE_URL": url, **sandbox.env()})


def write_cluster_job_file(folder: Path, cluster: dict[str, Any] | None = None, **job: Any) -> Path:
    """A job file `nightly` with inbox/ and archive/, and a `[cluster]` table."""
    (folder / "inbox").mkdir(parents=True, exist_ok=True)
    table = {"inbox": "inbox", "archive": "archive", "settle_s": 0, "rate": 500} | job
    document = {"cluster": FAST_CLUSTER | (cluster or {}), "jobs": {"nightly": table}}
    path = folder / "leadup-jobs.toml"
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path


class Workers:
    """`leadup worker` subprocesses, each logging to its own file; all killed at the end."""

    def __init__(self, folder: Path, env: dict[str, str], config: Path | None) -> None:
        self.folder = folder
        self.env = env
        self.config = config
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, count: int = 1) -> list[subprocess.Popen[bytes]]:
        started = []
        for _ in range(count):
            index = len(self.processes)
            log = (self.folder / f"worker-{index}.log").open("wb")
            args = [sys.executable, "-m", "uploader", "worker"]
            if self.config is not None:
                args += ["--config", str(self.config)]
            process = subprocess.Popen(
                args, env=self.env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
            )
            log.close()
            self.processes.append(process)
            started.append(process)
        return started

    def log(self, index: int) -> str:
        return (self.folder / f"worker-{index}.log").read_text(encoding="utf-8", errors="replace")

    def logs(self) -> str:
        return "\n".join(self.log(i) for i in range(len(self.processes)))

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGCONT)
                    process.kill()
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


@contextlib.contextmanager
def workers(
    folder: Path, env: dict[str, str], config: Path | None = None, count: int = 1
) -> Iterator[Workers]:
    """`count` workers for the `with` block, all with the same job file."""
    if config is None:  # the [cluster] table of FAST_CLUSTER, one job never scheduled
        config = write_cluster_job_file(folder / "config")
    group = Workers(folder, env, config)
    group.start(count)
    try:
        yield group
    finally:
        group.stop_all()


def wait_for(check: Callable[[], Any], timeout_s: float, what: str, *, logs: Workers) -> Any:
    """Poll `check` until it returns something true; fail with the workers' logs."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}\n{logs.logs()[-6000:]}")


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as db:
        return db.execute(sql, params).fetchall()  # type: ignore[arg-type]


def uploads_ended(url: str, count: int) -> bool:
    rows = query(url, "SELECT count(*) FROM leadup_uploads WHERE finished_at IS NOT NULL")
    return rows[0][0] >= count


def creations_per_email(sandbox: Sandbox) -> Counter[str]:
    """How many leads the sandbox created per email: every value must be 1."""
    return Counter(str(lead.payload.get("email", "")) for lead in sandbox.state.leads)


def submit(url: str, path: Path, sandbox: Sandbox, *, rate: float, concurrency: int = 8) -> int:
    """Queue an upload of `path` as `leadup upload --cluster` does; its id."""
    from uploader.cluster.control import submit_upload
    from uploader.run import UploadRequest
    from uploader.settings import ApiSettings, Credentials, RatePolicy, UploadSettings

    settings = UploadSettings(
        api=ApiSettings(credentials=Credentials(), base_url=sandbox.url, timeout_s=5.0),
        concurrency=concurrency,
        rate=RatePolicy(rate_per_s=rate),
    )
    upload_id, _ = submit_upload(url, UploadRequest(input_path=path, settings=settings))
    return upload_id


def upload_row(url: str, upload_id: int) -> dict[str, Any]:
    """The upload's row in leadup_uploads, by column name."""
    import psycopg
    from psycopg.rows import dict_row

    with psycopg.connect(url, autocommit=True, row_factory=dict_row) as db:
        found = db.execute("SELECT * FROM leadup_uploads WHERE id = %s", (upload_id,)).fetchone()
    assert found is not None
    return dict(found)


def outcomes(url: str, upload_id: int) -> Counter[str]:
    """The upload's rows by outcome (pending and in flight by their state)."""
    rows = query(
        url,
        "SELECT coalesce(outcome, state), count(*) FROM leadup_rows WHERE upload_id = %s"
        " GROUP BY 1",
        (upload_id,),
    )
    return Counter({str(k): int(v) for k, v in rows})


def done_rows(url: str, upload_id: int) -> int:
    """Rows with a final outcome so far."""
    counts = outcomes(url, upload_id)
    return sum(n for k, n in counts.items() if k not in ("pending", "in_flight"))


def pid_of(worker: str) -> int:
    """The pid in a worker's name (host:pid)."""
    return int(worker.rsplit(":", 1)[1])
