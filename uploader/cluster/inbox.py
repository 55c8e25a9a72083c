"""A job's tick on the cluster: claim each settled inbox file by its content, once.

Every worker defers the same periodic ticks; procrastinate keeps one job per (task, job,
tick), so one worker runs each tick. The tick hashes each settled file and, in ONE
transaction, claims (job, sha256) and queues the file's upload: the same content under any
name, dropped on any host, is claimed once. The worker that runs the upload moves the file
into the archive first, and writes its results file beside it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from jobs.config import JobConfig, build_settings, check_folders
from jobs.inbox import archive_name, file_sha256, move_into, scan_inbox, unchanged
from jobs.sightings import Look, Sightings
from uploader.cluster.requests import request_document
from uploader.cluster.uploads import queue_upload, requeue_upload
from uploader.run import UploadRequest, default_results_path
from uploader.text import inert

log = logging.getLogger("leadup.cluster")


def claim_inbox(db: Any, job: JobConfig, env: dict[str, str]) -> list[int]:
    """Claim the job's settled inbox files and queue their uploads; the new uploads' ids."""
    check_folders(job)
    settings = build_settings(job, env)
    with db.transaction():  # uploads that stopped (API down, a worker shut down) go on
        stopped = db.execute(
            "SELECT id FROM leadup_uploads WHERE job = %s AND state = 'stopped' FOR UPDATE",
            (job.name,),
        ).fetchall()
        for (upload_id,) in stopped:
            requeue_upload(db, upload_id)
    sightings = ClusterSightings(db, job.name)
    scan = scan_inbox(
        job.inbox, job.pattern, settle_s=job.settle_s, now_s=time.time(), sightings=sightings
    )
    queued = []
    for seen in scan.ready:
        try:
            sha = file_sha256(seen.path)
        except OSError:
            continue  # moved away (another worker's upload archived it) or unreadable
        if not unchanged(seen):
            continue
        with db.transaction():
            claimed = db.execute(
                "INSERT INTO leadup_claims (job, sha256, file_name) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING RETURNING sha256",
                (job.name, sha, seen.path.name),
            ).fetchone()
            if claimed is None:  # this content was claimed before: never sent twice
                _set_aside_if_copy(db, job, seen.path, sha)
                continue
            target = _archive_slot(db, job, seen.path.name)
            request = UploadRequest(
                input_path=target,
                settings=settings,
                output_path=default_results_path(target),
                read=job.upload.read,
                prepare=job.upload.prepare,
                mapping_path=job.mapping,
            )
            names = {"key_env": job.key_env, "secret_env": job.secret_env}
            document = request_document(request, names | {"token_env": job.token_env})
            upload_id = queue_upload(
                db, document, input_sha256=sha, job=job.name, source_path=str(seen.path)
            )
            db.execute(
                "UPDATE leadup_claims SET upload_id = %s WHERE job = %s AND sha256 = %s",
                (upload_id, job.name, sha),
            )
        log.info("job %s: claimed %s as upload %s", job.name, inert(seen.path.name), upload_id)
        queued.append(upload_id)
    return queued


class ClusterSightings(Sightings):
    """The settle window's first looks (jobs/sightings.py) in PostgreSQL: a file first seen
    by one worker's tick is judged settled by the next, on any host."""

    def __init__(self, db: Any, job: str) -> None:  # not the SQLite ledger's connection
        self._pg = db
        self._job = job

    def first_seen(self, name: str, look: Look, now_s: float) -> float:
        """When `name` was first seen as `look` is; a new or changed file is first seen now."""
        row = self._pg.execute(
            "SELECT size_bytes, mtime_ns, inode, first_seen_s FROM leadup_sightings"
            " WHERE job = %s AND file_name = %s",
            (self._job, name),
        ).fetchone()
        if row is not None and Look(*row[:3]) == look:
            return float(row[3])
        self._pg.execute(
            "INSERT INTO leadup_sightings VALUES (%s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (job, file_name) DO UPDATE SET size_bytes = excluded.size_bytes,"
            " mtime_ns = excluded.mtime_ns, inode = excluded.inode,"
            " first_seen_s = excluded.first_seen_s",
            (self._job, name, look.size_bytes, look.mtime_ns, look.inode, now_s),
        )
        return now_s

    def keep_only(self, names: Collection[str]) -> None:
        """Forget files no longer in the inbox."""
        self._pg.execute(
            "DELETE FROM leadup_sightings WHERE job = %s AND NOT (file_name = ANY(%s))",
            (self._job, list(names)),
        )


def _set_aside_if_copy(db: Any, job: JobConfig, path: Path, sha: str) -> None:
    """A copy of claimed content goes to the archive, unsent; the claimed file itself stays
    in the inbox until the worker that runs its upload moves it."""
    name, finished = db.execute(
        "SELECT c.file_name, u.finished_at IS NOT NULL FROM leadup_claims c"
        " LEFT JOIN leadup_uploads u ON u.id = c.upload_id WHERE c.job = %s AND c.sha256 = %s",
        (job.name, sha),
    ).fetchone()
    if name == path.name and not finished:
        return
    try:
        target = move_into(path, _archive_slot(db, job, path.name))
    except FileNotFoundError:
        return  # another tick set it aside first
    log.info(
        "job %s: %s is a copy of %s, sent before: archived as %s",
        job.name,
        inert(path.name),
        inert(name),
        inert(target.name),
    )


def _archive_slot(db: Any, job: JobConfig, name: str) -> Path:
    """A free name in the archive, also among uploads queued but not yet archived."""
    taken = {
        Path(path).name
        for (path,) in db.execute(
            "SELECT input_path FROM leadup_uploads WHERE job = %s AND finished_at IS NULL",
            (job.name,),
        ).fetchall()
    }
    taken |= {default_results_path(Path(t)).name for t in taken}
    return archive_name(job.archive, name, taken)
