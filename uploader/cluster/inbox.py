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
from pathlib import Path
from typing import Any

from jobs.config import JobConfig, build_settings, check_folders
from jobs.inbox import archive_name, file_sha256, move_into, scan_inbox, unchanged
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
    scan = scan_inbox(job.inbox, job.pattern, settle_s=job.settle_s, now_s=time.time())
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
