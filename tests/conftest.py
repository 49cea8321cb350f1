"""Test fixtures: one migrated database per backend, a rolled-back transaction per test.

SQLite always; PostgreSQL too when MNE_TEST_DATABASE_URL is set (CI sets it). The schema is
built by the migrations, never by create_all, so the tests exercise what production runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, make_url
from sqlmodel import Session

from mne import migrate
from mne.app import create_app
from mne.config import Settings
from mne.db import engine_for, normalise_url
from mne.deps import get_session
from mne.reference.seed import load_reference

PG_URL = os.environ.get("MNE_TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if PG_URL else [])
TEST_SECRET = "test-secret-key-0123456789abcdef"


def pytest_report_header(config):
    if PG_URL:
        return f"databases: sqlite and {make_url(normalise_url(PG_URL)).render_as_string(hide_password=True)}"
    return "databases: sqlite only (set MNE_TEST_DATABASE_URL to test PostgreSQL too)"


def pg_database_url(suffix: str) -> str:
    """A sibling database on the test server, created when missing (for migration tests)."""
    from sqlalchemy import create_engine, text

    base = make_url(normalise_url(PG_URL))
    name = f"{base.database}_{suffix}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def reset_database(url: str) -> None:
    """Empty a database completely (any tables, even from an aborted run), then migrate it."""
    if url.startswith("postgresql"):
        from sqlalchemy import text

        with engine_for(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    migrate.upgrade(url)


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = normalise_url(PG_URL)
    reset_database(url)
    with Session(engine_for(url)) as session:
        load_reference(session)
        session.commit()
    return url


@pytest.fixture(scope="session")
def backend(db_url) -> str:
    return "postgresql" if db_url.startswith("postgresql") else "sqlite"


@pytest.fixture
def connection(db_url) -> Iterator[Connection]:
    """A connection inside a transaction that is rolled back after the test."""
    engine = engine_for(db_url)
    with engine.connect() as conn:
        outer = conn.begin()
        try:
            yield conn
        finally:
            outer.rollback()


@pytest.fixture
def session(connection) -> Iterator[Session]:
    with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def app(db_url):
    return create_app(Settings(database_url=db_url, secret_key=TEST_SECRET, demo=False))


@pytest.fixture
def client(app, connection) -> Iterator[TestClient]:
    """The app on the test's connection: what it writes is rolled back with the test."""

    def session_override():
        with Session(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    app.dependency_overrides[get_session] = session_override
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver") as c:
        yield c
    app.dependency_overrides.clear()
