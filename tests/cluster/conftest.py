"""Fixtures of the cluster tests: one PostgreSQL per session, a fresh database per test.

Without the server binaries these tests skip with one line; with LEADUP_REQUIRE_POSTGRES=1
(set by .ci/run) they fail, saying what to install.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from tests.support.postgres import INSTALL_HINT, REQUIRE_ENV, PostgresServer, server_binaries


def _missing() -> str:
    if server_binaries() is None:
        return INSTALL_HINT
    if not all(importlib.util.find_spec(m) for m in ("procrastinate", "psycopg")):
        return INSTALL_HINT
    return ""


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for this test session (each xdist worker has its own)."""
    missing = _missing()
    if missing:
        if os.environ.get(REQUIRE_ENV):
            pytest.fail(f"{REQUIRE_ENV} is set but {missing}", pytrace=False)
        pytest.skip(f"cluster tests skipped: {missing}")
    binaries = server_binaries()
    assert binaries is not None
    server = PostgresServer(binaries)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="session")
def cluster_template(postgres_server: PostgresServer) -> str:
    """A database set up once by `leadup cluster init`'s function, copied for each test."""
    from uploader.cluster.control import init_cluster

    url = postgres_server.new_database()
    init_cluster(url)
    return url.rsplit("/", 1)[1]


@pytest.fixture
def database_url(postgres_server: PostgresServer, cluster_template: str) -> str:
    """A fresh database for this test, as `leadup cluster init` leaves it."""
    return postgres_server.new_database(template=cluster_template)
