"""What the commands ask of the cluster: set it up, queue work, and read its state.

Every function takes the database URL (from the environment: see database.py) and opens its
own short connection; none of them needs a worker on this host.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from jobs.inbox import file_sha256
from uploader.cluster.database import connect
from uploader.cluster.requests import request_document
from uploader.cluster.schema import create_tables
from uploader.cluster.uploads import QUEUE, TICK_TASK, queue_upload, requeue_upload
from uploader.errors import ClusterError, UsageError
from uploader.run import UploadRequest

_INIT_LOCK = 0x1EAD0  # an advisory lock: two `cluster init` at once take turns


def init_cluster(url: str) -> bool:
    """Create procrastinate's schema and leadup's tables; False when they were there."""
    from procrastinate.schema import SchemaManager

    db = connect(url)
    try:
        with db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s)", (_INIT_LOCK,))
            (present,) = db.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if present is None:
                db.execute(SchemaManager.get_schema())
            (ours,) = db.execute("SELECT to_regclass('leadup_uploads')").fetchone()
            create_tables(db)
        return present is None or ours is None
    finally:
        db.close()


def _ready(db: Any) -> None:
    (ours,) = db.execute("SELECT to_regclass('leadup_uploads')").fetchone()
    if ours is None:
        raise ClusterError("the cluster database is not set up: run `leadup cluster init`")


def submit_upload(url: str, request: UploadRequest) -> tuple[int, str]:
    """Queue an upload of a file every worker can read (shared storage): its id, and
    "queued", "resumed" (an upload of this content that stopped goes on from its journal)
    or "following" (it is queued or running already).

    Content the cluster already finished uploading to the same API is refused, as a local
    upload refuses content its memory knows: it would be paid for twice.
    """
    sha = file_sha256(request.input_path)
    document = request_document(request)
    base_url = document["api"]["base_url"]
    db = connect(url)
    try:
        _ready(db)
        with db.transaction():
            # Two submissions of one content at once take turns here.
            db.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (sha,))
            found = db.execute(
                "SELECT id, state, counts FROM leadup_uploads WHERE input_sha256 = %s"
                " AND request -> 'api' ->> 'base_url' = %s ORDER BY id DESC LIMIT 1",
                (sha, base_url),
            ).fetchone()
            if found is None:
                return queue_upload(db, document, input_sha256=sha), "queued"
            upload_id, state, counts = found
            if state in ("queued", "running"):
                return int(upload_id), "following"
            if state in ("stopped", "failed") or counts.get("pending"):
                requeue_upload(db, upload_id)
                return int(upload_id), "resumed"
            created = counts.get("created", 0)
            raise UsageError(
                f"{request.input_path}: this content was already uploaded to {base_url} by"
                f" cluster upload {upload_id} ({created} rows created); nothing was sent"
            )
    finally:
        db.close()


def submit_tick(url: str, job: str) -> int:
    """Queue one run of a job now (`leadup jobs run NAME --cluster`); its procrastinate id."""
    db = connect(url)
    try:
        _ready(db)
        with db.transaction():
            (job_id,) = db.execute(
                "SELECT unnest(procrastinate_defer_jobs_v1(ARRAY[ROW(%s, %s, 0, NULL, NULL,"
                " %s::jsonb, NULL)::procrastinate_job_to_defer_v1]))",
                (QUEUE, TICK_TASK, json.dumps({"job": job, "timestamp": int(time.time())})),
            ).fetchone()
        return int(job_id)
    finally:
        db.close()


@dataclass(frozen=True, slots=True)
class UploadState:
    """One cluster upload as `status` and `upload --cluster` show it."""

    upload_id: int
    job: str
    input_path: str
    results_path: str
    state: str  # queued, running, finished, failed
    worker: str
    attempt: int
    counts: dict[str, int]  # rows by outcome; "pending" also counts rows in flight
    error: str = ""

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class ClusterStatus:
    """Workers, procrastinate's jobs by state, and the uploads not finished (or recent)."""

    workers: list[tuple[int, float]]  # (id, seconds since its heartbeat)
    jobs: dict[str, int] = field(default_factory=dict)  # status -> count
    running: list[str] = field(default_factory=list)  # each running job, in words
    uploads: list[UploadState] = field(default_factory=list)


def upload_state(url: str, upload_id: int) -> UploadState:
    """One upload's state and its rows by outcome, from the database."""
    db = connect(url)
    try:
        states = _uploads(db, "WHERE u.id = %s", (upload_id,))
    finally:
        db.close()
    if not states:
        raise ClusterError(f"no cluster upload {upload_id}")
    return states[0]


def cluster_status(url: str, *, recent: int = 10) -> ClusterStatus:
    """What `leadup cluster status` shows."""
    db = connect(url)
    try:
        _ready(db)
        workers = db.execute(
            "SELECT id, extract(epoch FROM now() - last_heartbeat)::float"
            " FROM procrastinate_workers ORDER BY id"
        ).fetchall()
        jobs = dict(
            db.execute(
                "SELECT status::text, count(*) FROM procrastinate_jobs"
                " WHERE status IN ('todo', 'doing') GROUP BY status"
            ).fetchall()
        )
        running = [
            f"{task} {_describe(args)} on worker {worker}"
            for task, args, worker in db.execute(
                "SELECT task_name, args, worker_id FROM procrastinate_jobs"
                " WHERE status = 'doing' ORDER BY id"
            ).fetchall()
        ]
        uploads = _uploads(
            db,
            "WHERE u.id IN (SELECT id FROM leadup_uploads WHERE finished_at IS NULL"
            " UNION (SELECT id FROM leadup_uploads WHERE finished_at IS NOT NULL"
            " ORDER BY finished_at DESC LIMIT %s))",
            (recent,),
        )
        return ClusterStatus(
            workers=[(int(i), float(s)) for i, s in workers],
            jobs=jobs,
            running=running,
            uploads=uploads,
        )
    finally:
        db.close()


def _describe(args: dict[str, Any]) -> str:
    """A job's arguments in words: `upload 7`, `job nightly`."""
    if "upload_id" in args:
        return f"upload {args['upload_id']}"
    return f"job {args.get('job', '?')}"


def _uploads(db: Any, where: str, params: tuple[Any, ...]) -> list[UploadState]:
    rows = db.execute(
        "SELECT u.id, u.job, u.input_path, u.results_path, u.state, u.worker, u.attempt,"
        " u.error, (SELECT coalesce(jsonb_object_agg(o, n), '{}') FROM (SELECT"
        " coalesce(r.outcome, 'pending') AS o, count(*) AS n FROM leadup_rows r"
        " WHERE r.upload_id = u.id GROUP BY 1) per_outcome)"
        f" FROM leadup_uploads u {where} ORDER BY u.id",
        params,
    ).fetchall()
    return [
        UploadState(
            upload_id=int(r[0]),
            job=r[1],
            input_path=r[2],
            results_path=r[3],
            state=r[4],
            worker=r[5],
            attempt=int(r[6]),
            error=r[7],
            counts={str(k): int(v) for k, v in r[8].items()},
        )
        for r in rows
    ]
