"""`leadup worker`: one procrastinate worker with leadup's tasks, and its watchdog.

    leadup.tick   a job's tick (periodic: one per tick cluster-wide), claims inbox files
    leadup.upload one upload, locked by its credential: one sender per credential

The watchdog, on every worker, every heartbeat: prunes workers silent for longer than the
stall timeout and puts their running jobs back in the queue (another worker takes the upload
over with a new run attempt, see journal.py); and checks that this worker itself was not
pruned. A worker that finds itself declared dead (it was paused: SIGSTOP, a swapped-out VM)
leaves at once, with os._exit, writing nothing: its jobs already belong to others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Mapping
from typing import Any

from jobs.config import JobsFile
from uploader.cluster.config import ClusterConfig
from uploader.cluster.database import connect, is_disconnect
from uploader.cluster.inbox import claim_inbox
from uploader.cluster.uploads import QUEUE, TICK_TASK, UPLOAD_TASK, run_upload
from uploader.errors import ConfigError, FencedOut
from uploader.run import RunControl
from uploader.text import inert

_NEVER_S = 10 * 365 * 86400.0
EXIT_DECLARED_DEAD = 75  # EX_TEMPFAIL: a supervisor starts a fresh worker
log = logging.getLogger("leadup.cluster")


def worker_name() -> str:
    """host:pid, what `leadup cluster status` shows for a worker."""
    return f"{socket.gethostname()}:{os.getpid()}"


class ClusterWorker:
    """The tasks a worker runs, bound to its database, job file and environment."""

    def __init__(
        self,
        url: str,
        config: ClusterConfig,
        jobs_file: JobsFile | None,
        env: Mapping[str, str],
    ) -> None:
        import procrastinate

        self.url = url
        self.config = config
        self.jobs_file = jobs_file
        self.env = dict(env)
        self.name = worker_name()
        self.worker: Any = None
        self._controls: set[RunControl] = set()  # the uploads running here, to stop well
        self._stopping = False
        self.app = procrastinate.App(
            connector=procrastinate.PsycopgConnector(conninfo=url),
            periodic_defaults={"max_delay": 60},
        )
        self._register()

    def _register(self) -> None:
        app = self.app

        @app.task(name=UPLOAD_TASK, queue=QUEUE)
        async def upload(upload_id: int) -> None:
            await self.upload(upload_id)

        @app.task(name=TICK_TASK, queue=QUEUE)
        async def tick(timestamp: int, job: str) -> None:
            await asyncio.to_thread(self.tick, job, timestamp)

        if self.jobs_file is None:
            return
        for job in self.jobs_file.jobs.values():
            cron = self.config.schedules.get(job.name) or job.schedule
            if not cron:
                continue
            if job.timezone != "UTC" and job.name not in self.config.schedules:
                log.warning("job %s: the cluster reads its schedule in UTC", job.name)
            app.periodic(cron=cron, periodic_id=job.name, task_kwargs={"job": job.name})(tick)

    async def upload(self, upload_id: int) -> None:
        """Run one upload; leave the process at once if another worker took it over."""
        control = RunControl()
        if self._stopping:
            control.stop()
        self._controls.add(control)
        try:
            await run_upload(self.url, upload_id, self.name, self.env, control)
        except FencedOut as exc:
            log.error("%s; this worker was presumed dead and leaves now", inert(exc, lines=True))
            os._exit(EXIT_DECLARED_DEAD)
        finally:
            self._controls.discard(control)

    def tick(self, job_name: str, timestamp: int) -> None:
        """One tick of a job: recorded (one per tick: a test checks it), then the claims."""
        if self.jobs_file is None or job_name not in self.jobs_file.jobs:
            raise ConfigError(f"this worker has no job {job_name!r}: start it with its job file")
        db = connect(self.url)
        try:
            with db.transaction():
                db.execute(
                    "INSERT INTO leadup_ticks (job, tick, worker) VALUES (%s, %s, %s)",
                    (job_name, timestamp, self.name),
                )
            claim_inbox(db, self.jobs_file.jobs[job_name], self.env)
        finally:
            db.close()

    async def run(self) -> None:
        """Work until stopped (SIGINT/SIGTERM); start again after losing the database."""
        from procrastinate.worker import Worker

        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.stop)
        async with self.app.open_async():
            while not self._stopping:
                self.worker = Worker(
                    app=self.app,
                    queues=[QUEUE],
                    name=self.name,
                    concurrency=self.config.concurrency,
                    fetch_job_polling_interval=self.config.poll_s,
                    abort_job_polling_interval=self.config.poll_s,
                    update_heartbeat_interval=self.config.heartbeat_s,
                    # procrastinate prunes at start-up with this; the watchdog prunes,
                    # knowing when the database itself was away (see _watchdog).
                    stalled_worker_timeout=_NEVER_S,
                    install_signal_handlers=False,
                )
                watchdog = asyncio.create_task(self._watchdog(), name="leadup-watchdog")
                try:
                    await self.worker.run()
                except Exception as exc:
                    # Woken after being declared dead, procrastinate's own loop may fail
                    # first (its worker row is gone): leave as the watchdog would.
                    with contextlib.suppress(Exception):
                        if await self._declared_dead():
                            self._leave_declared_dead()
                    if not is_disconnect(exc):
                        raise
                    log.warning("lost the cluster database; starting again")
                finally:
                    watchdog.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await watchdog
                if not self._stopping:
                    await asyncio.sleep(self.config.heartbeat_s)

    def stop(self) -> None:
        """Take no new job; stop the running uploads well (their rows out are recorded,
        the rest stay pending) and queue them again for another worker."""
        self._stopping = True
        for control in self._controls:
            control.stop()
        if self.worker is not None:
            self.worker.stop()

    async def _watchdog(self) -> None:
        """Leave if this worker was pruned; keep its heartbeat; prune stalled workers and
        requeue their jobs.

        Others are judged only once this worker has itself reached the database without a
        break for a whole stall timeout: after PostgreSQL was down (or this worker was
        paused) every heartbeat is old, and nobody is dead.
        Its own heartbeat is kept here too, because procrastinate's worker stops its own
        after losing the database while its running uploads go on (reconnecting).
        """
        manager = self.app.job_manager
        timeout = self.config.stall_timeout_s
        reachable_since = last_contact = time.monotonic()
        while True:
            await asyncio.sleep(self.config.heartbeat_s / 2)
            try:
                if await self._declared_dead():
                    self._leave_declared_dead()
                worker_id = getattr(self.worker, "worker_id", None)
                if worker_id is not None:
                    await manager.update_heartbeat(worker_id)
                now = time.monotonic()
                if now - last_contact > self._break_s:
                    reachable_since = now  # a break: the database, or this worker, was away
                last_contact = now
                if now - reachable_since < timeout:
                    continue
                await manager.prune_stalled_workers(timeout)
                for job in await manager.get_stalled_jobs(seconds_since_heartbeat=timeout):
                    log.warning("job %s (%s) stalled: back in the queue", job.id, job.task_name)
                    with contextlib.suppress(Exception):
                        await manager.retry_job(job)
            except Exception as exc:
                if not is_disconnect(exc):
                    raise
                log.warning("watchdog: the cluster database is unreachable")

    @property
    def _break_s(self) -> float:
        """A silence of ours this long means others may have been silent as long: judge
        nobody for a stall timeout. Shorter ones (a busy host's slow loop) are not breaks."""
        return max(self.config.heartbeat_s, self.config.stall_timeout_s / 2)

    def _leave_declared_dead(self) -> None:
        """Its jobs were given to others: leave now, writing nothing more."""
        log.error("this worker was declared dead while paused; leaving now")
        os._exit(EXIT_DECLARED_DEAD)

    async def _declared_dead(self) -> bool:
        worker_id = getattr(self.worker, "worker_id", None)
        if worker_id is None:
            return False
        found = await self.app.connector.execute_query_one_async(
            "SELECT count(*) AS n FROM procrastinate_workers WHERE id = %(id)s", id=worker_id
        )
        return found["n"] == 0
