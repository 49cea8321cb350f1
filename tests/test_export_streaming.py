"""Downloads over real HTTP against `mne serve`, on the demo data: complete files, the server
free while they stream, a client that goes away leaving no transaction or cursor behind, and a
download that finds every export stream busy getting 503 before any byte."""

from __future__ import annotations

import socket
import sqlite3
import time

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from mne.users import service as users
from tests import factories
from tests.conftest import BACKENDS, demo_database, pg_database_url
from tests.readers import csv_rows
from tests.serving import serve

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"export-stream-{request.param}")
    url = f"sqlite:///{workdir / 'demo.db'}" if request.param == "sqlite" else pg_database_url("export_stream")
    demo_database(url, seed=7)
    with UnitOfWork(engine_for(url)) as session:
        user = factories.user(session, "regional_reviewer")
        _, secret = users.create_token(session, user)
        session.commit()
    with serve(url, workdir, export_streams="1", db_timeout="2") as served:
        yield {"url": url, "base": served.url, "headers": {"Authorization": f"Bearer {secret}"},
               "backend": request.param}
    engine_for(url).dispose()


def open_transactions(url: str) -> int:
    """Other sessions inside a transaction (a cursor lives in one): PostgreSQL counts them;
    on SQLite, a reader holding an old snapshot keeps a checkpoint from truncating the log."""
    if url.startswith("postgresql"):
        with engine_for(url).connect() as conn:
            return conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND (state LIKE 'idle in transaction%' OR state = 'active')")).scalar()
    path = make_url(url).database
    with sqlite3.connect(path, timeout=0.1, isolation_level=None) as db:
        db.execute("CREATE TABLE IF NOT EXISTS probe (at REAL)")
        db.execute("INSERT INTO probe VALUES (?)", (time.time(),))  # a write newer than any reader's snapshot
        busy, _, _ = db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    return busy


def settles(url: str, seconds: float = 5.0) -> int:
    deadline = time.monotonic() + seconds
    while (found := open_transactions(url)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return found


def held_download(site, path: str) -> socket.socket:
    """A download whose client reads its first bytes and then stops reading (a small receive
    buffer, so the server soon waits on it), left open."""
    base = httpx.URL(site["base"])
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((base.host, base.port))
    headers = "".join(f"{k}: {v}\r\n" for k, v in site["headers"].items())
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {base.host}\r\n{headers}\r\n".encode())
    first = sock.recv(4096)
    assert first.startswith(b"HTTP/1.1 200"), first[:200]
    return sock


def test_a_whole_download_holds_every_result(site):
    with httpx.stream("GET", site["base"] + "/exports/results.csv", headers=site["headers"], timeout=120) as response:
        assert response.status_code == 200
        content = b"".join(response.iter_bytes())
    with engine_for(site["url"]).connect() as conn:
        results = conn.execute(text("SELECT count(*) FROM result")).scalar()
    assert results > 20_000 and len(csv_rows(content)) == results


def test_a_client_that_goes_away_leaves_no_transaction_behind(site):
    assert settles(site["url"]) == 0
    sock = held_download(site, "/exports/results.csv")
    try:
        # While the download waits on its client, the server answers others at once.
        started = time.perf_counter()
        health = httpx.get(site["base"] + "/healthz", timeout=5)
        lines = httpx.get(site["base"] + "/api/v1/indicator-lines?limit=5", headers=site["headers"], timeout=5)
        assert health.status_code == 200 and lines.status_code == 200
        assert time.perf_counter() - started < 2
        # A second download finds the only export stream taken: 503 with the envelope, no file.
        busy = httpx.get(site["base"] + "/exports/iptt.csv", headers=site["headers"], timeout=10)
        assert busy.status_code == 503 and busy.json()["error"]["code"] == "unavailable", busy.text[:300]
        assert open_transactions(site["url"]) >= 1  # the held download's read transaction is open
    finally:
        sock.close()  # the client goes away mid-file
    assert settles(site["url"]) == 0, "the export's transaction outlived its client"
    # The stream is free again, and the next download is whole.
    again = httpx.get(site["base"] + "/exports/iptt.csv?as_of=2024Q4", headers=site["headers"], timeout=60)
    assert again.status_code == 200 and len(csv_rows(again.content)) > 3000
