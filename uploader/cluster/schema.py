"""leadup's own tables in the cluster's PostgreSQL, beside procrastinate's.

    leadup_cluster   one row: the salt of the credential locks' keyed hash
    leadup_uploads   one upload of one file: where it is, its settings, its state and its
                     run attempt (the fencing token every journal write checks)
    leadup_rows      the journal of every upload: the SQLite journal's rows, per upload
    leadup_claims    inbox files claimed by (job, content hash): each content is sent once
    leadup_ticks     every run of a job's tick, by the worker that ran it
    leadup_sightings the settle window's first look at each inbox file, for every host

`leadup cluster init` creates them (and procrastinate's schema); running it again is harmless.
"""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1

TABLES = (
    """
CREATE TABLE IF NOT EXISTS leadup_cluster (
    only_row   boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    version    integer NOT NULL,
    lock_salt  text NOT NULL DEFAULT md5(random()::text || clock_timestamp()::text)
)""",
    """
CREATE TABLE IF NOT EXISTS leadup_uploads (
    id            bigserial PRIMARY KEY,
    job           text NOT NULL DEFAULT '',
    input_path    text NOT NULL,
    input_sha256  text NOT NULL,
    results_path  text NOT NULL,
    archive_path  text NOT NULL DEFAULT '',
    request       jsonb NOT NULL,
    columns       jsonb,
    meta          jsonb NOT NULL DEFAULT '{}',
    loaded        boolean NOT NULL DEFAULT false,
    state         text NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'running', 'finished', 'stopped', 'failed')),
    attempt       integer NOT NULL DEFAULT 0,
    worker        text NOT NULL DEFAULT '',
    procrastinate_job bigint,
    error         text NOT NULL DEFAULT '',
    counts        jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    started_at    timestamptz,
    finished_at   timestamptz
)""",
    """
CREATE TABLE IF NOT EXISTS leadup_rows (
    upload_id      bigint NOT NULL REFERENCES leadup_uploads ON DELETE CASCADE,
    row            bigint NOT NULL,
    state          text NOT NULL CHECK (state IN ('pending', 'in_flight', 'final')),
    cells          text NOT NULL,
    payload        text,
    idem_key       text,
    attempts       integer NOT NULL DEFAULT 0,
    last_attempt   integer,
    outcome        text,
    lead_status    text NOT NULL DEFAULT '',
    price          double precision,
    lead_public_id text NOT NULL DEFAULT '',
    http_status    integer,
    error          text NOT NULL DEFAULT '',
    extra          text,
    written_by     integer NOT NULL DEFAULT 0,
    updated_at     double precision NOT NULL,
    PRIMARY KEY (upload_id, row),
    CHECK ((state = 'final') = (outcome IS NOT NULL)),
    CHECK (state = 'final' OR payload IS NOT NULL)
)""",
    "CREATE INDEX IF NOT EXISTS leadup_rows_pending ON leadup_rows (upload_id, row)"
    " WHERE state = 'pending'",
    """
CREATE TABLE IF NOT EXISTS leadup_claims (
    job        text NOT NULL,
    sha256     text NOT NULL,
    file_name  text NOT NULL,
    upload_id  bigint REFERENCES leadup_uploads ON DELETE SET NULL,
    claimed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job, sha256)
)""",
    """
CREATE TABLE IF NOT EXISTS leadup_ticks (
    id         bigserial PRIMARY KEY,
    job        text NOT NULL,
    tick       bigint NOT NULL,
    worker     text NOT NULL,
    ran_at     timestamptz NOT NULL DEFAULT now()
)""",
    """
CREATE TABLE IF NOT EXISTS leadup_sightings (
    job          text NOT NULL,
    file_name    text NOT NULL,
    size_bytes   bigint NOT NULL,
    mtime_ns     bigint NOT NULL,
    inode        bigint NOT NULL,
    first_seen_s double precision NOT NULL,
    PRIMARY KEY (job, file_name)
)""",
    # Not unique on purpose: a tick that ran twice shows as two rows (tests look for them).
    "CREATE INDEX IF NOT EXISTS leadup_ticks_by_tick ON leadup_ticks (job, tick)",
)

# Every journal write first takes a share lock on its upload and checks the run attempt: a
# takeover (which bumps the attempt under an exclusive lock) waits for writes in progress,
# and every write after it finds a newer attempt and is refused.
FENCE = "SELECT attempt FROM leadup_uploads WHERE id = %(upload)s FOR SHARE"

# Attempt 0 reserves a row before its first attempt and counts none (as the SQLite journal).
MARK = """
UPDATE leadup_rows SET state = 'in_flight', last_attempt = %(attempt)s, updated_at = %(now)s,
    extra = coalesce(%(extra)s, extra), attempts = attempts + (%(attempt)s > 0)::int,
    written_by = %(fence)s
WHERE upload_id = %(upload)s AND row = %(row)s AND state <> 'final'
"""
# As the SQLite journal's RECORD, and: the same run attempt may record the same `created`
# again (a transaction replayed after its COMMIT was lost with the connection).
RECORD = """
UPDATE leadup_rows SET
    state = CASE WHEN %(outcome)s::text IS NULL THEN 'pending' ELSE 'final' END,
    outcome = %(outcome)s, lead_status = %(lead_status)s, price = %(price)s,
    lead_public_id = %(lead_public_id)s, http_status = %(http_status)s,
    attempts = greatest(attempts, %(attempts)s), error = %(error)s, extra = %(extra)s,
    updated_at = %(now)s, written_by = %(fence)s
WHERE upload_id = %(upload)s AND row = %(row)s AND CASE
    WHEN %(outcome)s::text IS NULL THEN state <> 'final'
    ELSE outcome IS DISTINCT FROM 'created'
         OR (%(outcome)s = 'created' AND written_by = %(fence)s
             AND lead_public_id = %(lead_public_id)s)
END
"""
INSERT_PENDING = """
INSERT INTO leadup_rows (upload_id, row, cells, payload, idem_key, state, updated_at, written_by)
VALUES (%s, %s, %s, %s, %s, 'pending', %s, %s) ON CONFLICT DO NOTHING
"""
INSERT_FINAL = """
INSERT INTO leadup_rows (upload_id, cells, outcome, lead_status, price, lead_public_id,
    http_status, attempts, error, extra, updated_at, row, state, written_by)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 'final', %s) ON CONFLICT DO NOTHING
"""
RECOVERED_ERROR = "in flight when the worker sending it stopped; may have been created"
RECOVER_AS_UNKNOWN = f"""
UPDATE leadup_rows SET state = 'final', outcome = 'unknown', updated_at = %(now)s,
    attempts = attempts + (coalesce(last_attempt, 0) = 0)::int,
    error = '{RECOVERED_ERROR}', written_by = %(fence)s
WHERE upload_id = %(upload)s AND state = 'in_flight'
"""
RECOVER_TO_RESEND = """
UPDATE leadup_rows SET state = 'pending', updated_at = %(now)s, written_by = %(fence)s
WHERE upload_id = %(upload)s AND state = 'in_flight'
"""
REOPEN = """
UPDATE leadup_rows SET state = 'pending', outcome = NULL, lead_status = '', price = NULL,
    lead_public_id = '', http_status = NULL, error = '', extra = NULL, updated_at = %(now)s,
    written_by = %(fence)s
"""
RESULT_FIELDS = (
    "row, state, outcome, lead_status, price, lead_public_id, http_status, attempts, error, extra"
)


def create_tables(cursor: Any) -> None:
    """leadup's tables and their one settings row (idempotent)."""
    for statement in TABLES:
        cursor.execute(statement)
    cursor.execute(
        "INSERT INTO leadup_cluster (version) VALUES (%s) ON CONFLICT DO NOTHING",
        (SCHEMA_VERSION,),
    )
