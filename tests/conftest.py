"""Test fixtures: one migrated database per backend, a rolled-back transaction per test.

SQLite always; PostgreSQL too when MNE_TEST_DATABASE_URL is set (CI sets it). The schema is
built by the migrations, never by create_all, so the tests exercise what production runs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy.engine import Connection, make_url
from sqlmodel import Session

from mne import migrate
from mne.app import create_app
from mne.config import Settings
from mne.db import engine_for, normalise_url
from mne.deps import get_session, record_bookkeeping
from mne.exports.streaming import export_source
from mne.reference.seed import load_reference
from mne.unit_of_work import UnitOfWork

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


def fresh_database(url: str) -> str:
    """An emptied, migrated database holding the reference data of `seed/` and nothing else."""
    reset_database(url)
    with UnitOfWork(engine_for(url)) as session:
        load_reference(session)
        session.commit()
    return url


def demo_database(url: str, seed: int) -> str:
    """A fresh database holding the scale-1 demo data (the bulk paths on real data)."""
    from mne.demo.generator import seed_demo
    from mne.users import security

    fresh_database(url)
    real_hash = security.hash_password
    security.hash_password = lambda password: "not-a-hash"  # Argon2 is slow by design; unused here
    try:
        seed_demo(engine_for(url), scale=1, seed=seed)
    finally:
        security.hash_password = real_hash
    return url


@pytest.fixture(scope="session", params=BACKENDS)
def db_url(request, tmp_path_factory) -> str:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    else:
        url = normalise_url(PG_URL)
    return fresh_database(url)


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
    with UnitOfWork(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
        yield s


@pytest.fixture(scope="session")
def app(db_url, tmp_path_factory):
    # Evidence files go to a folder of the test run, never ./files of the checkout.
    return create_app(Settings(database_url=db_url, secret_key=TEST_SECRET, demo=False,
                               files_dir=tmp_path_factory.mktemp("files")))


@pytest.fixture
def client(app, connection) -> Iterator[TestClient]:
    """The app on the test's connection: what it writes is rolled back with the test."""

    def session_override(request: Request):
        with UnitOfWork(bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False) as s:
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise
            finally:
                record_bookkeeping(request, connection)  # as get_session does after its transaction

    @contextmanager
    def test_transaction():
        with connection.begin_nested():
            yield connection

    app.dependency_overrides[get_session] = session_override
    app.dependency_overrides[export_source] = lambda: test_transaction
    with TestClient(app, raise_server_exceptions=False, base_url="http://testserver") as c:
        yield c
    app.dependency_overrides.clear()


# --- browser tests ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("MNE_SCREENSHOTS", "test-artifacts/screenshots")


def pytest_collection_modifyitems(config, items):
    if os.path.exists(CHROMIUM):
        return
    reason = f"browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("MNE_REQUIRE_BROWSER"):
        raise pytest.UsageError(reason + ", and MNE_REQUIRE_BROWSER is set")
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def browser_type_launch_args():
    # Debian's Chromium; the network flags keep it from calling out of this closed machine.
    return {
        "executable_path": CHROMIUM,
        "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"],
    }


@dataclass(frozen=True)
class LiveServer:
    url: str
    db_url: str

    def session(self) -> Session:
        """A session on the live server's database: what it commits, the server sees."""
        return UnitOfWork(engine_for(self.db_url), expire_on_commit=False)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory) -> Iterator[LiveServer]:
    """The real app served by uvicorn on 127.0.0.1, on its own committed SQLite database."""
    import socket
    import threading
    import time

    import uvicorn

    url = f"sqlite:///{tmp_path_factory.mktemp('live') / 'live.db'}"
    fresh_database(url)
    live_app = create_app(Settings(database_url=url, secret_key=TEST_SECRET, demo=False,
                                   files_dir=tmp_path_factory.mktemp("live-files")))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(live_app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield LiveServer(url=f"http://127.0.0.1:{port}", db_url=url)
    server.should_exit = True
    thread.join(timeout=10)


def screenshot(page, name: str) -> str:
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f"{name}.png")
    page.screenshot(path=path, full_page=True)
    return path
