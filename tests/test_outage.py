"""A database that goes away: the served app answers 503 with the error envelope (JSON for the
API and /healthz, the error page for the pages) within a few seconds, neither a 500 nor a hang,
and recovers by itself when the database returns, without a restart.

PostgreSQL: a cluster of the test's own (`tests/pg_cluster.py`) is stopped with `pg_ctl stop -m
immediate` (every connection ends at once, as in a crash) under a served app, then started
again. SQLite: a database whose write lock another process holds longer than `db_timeout`
answers 503 to writes, and goes on answering reads.
"""

from __future__ import annotations

import sqlite3
import threading
import time

import httpx
import psycopg
import pytest
from fastapi.testclient import TestClient

from mne.app import create_app
from mne.config import Settings
from mne.db import CONNECT_TIMEOUT, engine_for
from mne.unit_of_work import UnitOfWork
from tests import factories
from tests.conftest import TEST_SECRET, fresh_database
from tests.pg_cluster import temporary_cluster, unavailable_reason
from tests.serving import Served, serve

FEW_SECONDS = 5.0  # the longest an answer may take while the database is away
PERIOD = "2023Q1"


def world(url: str) -> tuple[dict, dict]:
    """An admin's and an officer's API token on a fresh database."""
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        admin = factories.token(session, "admin")
        officer = factories.token(session, "country_officer", countries=["KGZ"])
        session.commit()
    engine.dispose()
    return admin, officer


def timed(method: str, url: str, **kwargs) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.request(method, url, timeout=60, **kwargs)
    return response, time.monotonic() - started


def requests(served: Served, admin: dict, officer: dict) -> dict[str, tuple]:
    """One request of each kind: (method, url, keyword arguments, answers JSON)."""
    return {
        "healthz": ("GET", f"{served.url}/healthz", {}, True),
        "API read": ("GET", f"{served.url}/api/v1/projects", {"headers": officer}, True),
        "API write": ("PATCH", f"{served.url}/api/v1/periods/{PERIOD}", {"headers": admin, "json": {"status": "open"}},
                      True),
        "page": ("GET", f"{served.url}/projects", {"headers": {**officer, "accept": "text/html"}}, False),
        "page write": ("POST", f"{served.url}/admin/periods/{PERIOD}/close", {"headers": admin, "data": {"reason": "x"}},
                       False),
    }


class InFlight(threading.Thread):
    def __init__(self, method: str, url: str, **kwargs) -> None:
        super().__init__(daemon=True)
        self.args, self.kwargs = (method, url), kwargs
        self.response: httpx.Response | None = None
        self.error: Exception | None = None
        self.answered = 0.0

    def run(self) -> None:
        try:
            self.response = httpx.request(*self.args, timeout=60, **self.kwargs)
        except httpx.HTTPError as exc:
            self.error = exc
        self.answered = time.monotonic()


def request_in_flight(cluster, served: Served, admin: dict) -> InFlight:
    """A write whose transaction waits inside the database (for a lock the test holds) until the
    database goes away under it."""
    blocker = psycopg.connect(f"host=127.0.0.1 port={cluster.port} user=postgres dbname=postgres")
    blocker.execute("LOCK TABLE period IN ACCESS EXCLUSIVE MODE")
    request = InFlight("PATCH", f"{served.url}/api/v1/periods/{PERIOD}", headers=admin, json={"status": "open"})
    request.start()
    deadline = time.monotonic() + 30
    while not blocker.execute("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                              "AND pid <> pg_backend_pid()").fetchone():
        assert time.monotonic() < deadline, "the request never waited for the lock"
        time.sleep(0.05)
    return request  # the blocker's connection ends with the database


def test_postgresql_going_away_answers_503_at_once_and_the_app_recovers_by_itself(tmp_path):
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"no PostgreSQL cluster of the test's own: {reason}")
    with temporary_cluster() as cluster:
        admin, officer = world(cluster.url)
        with serve(cluster.url, tmp_path) as served:
            calls = requests(served, admin, officer)
            for name, (method, url, kwargs, _) in calls.items():
                response, _ = timed(method, url, **kwargs)
                assert response.status_code in (200, 303), (name, response.status_code, response.text[:300])

            in_flight = request_in_flight(cluster, served, admin)
            stopped = time.monotonic()
            cluster.stop("immediate")
            in_flight.join(timeout=60)
            assert in_flight.response is not None, in_flight.error
            assert in_flight.response.status_code == 503, in_flight.response.text[:300]
            assert in_flight.response.json()["error"] == {
                "code": "unavailable", "details": [],
                "message": "the database cannot be reached; nothing was saved; try again in a moment"}
            cut_off = in_flight.answered - stopped
            assert cut_off < FEW_SECONDS, f"the request in flight was answered {cut_off:.1f} s after the stop"

            slowest = 0.0
            for attempt in range(2):  # the first finds its pooled connections dead, the second none
                for name, (method, url, kwargs, json) in calls.items():
                    response, elapsed = timed(method, url, **kwargs)
                    slowest = max(slowest, elapsed)
                    assert response.status_code == 503, (name, response.status_code, response.text[:300])
                    assert elapsed < FEW_SECONDS, f"{name} took {elapsed:.1f} s while the database was away"
                    assert response.headers["retry-after"] == "2"
                    if json:
                        error = response.json()["error"]
                        assert error["code"] == "unavailable", (name, error)
                        assert error["message"].startswith("the database cannot be reached"), (name, error)
                    else:
                        assert response.headers["content-type"].startswith("text/html"), name
                        assert "the database cannot be reached" in response.text, name
            health = httpx.get(f"{served.url}/healthz", timeout=60).json()
            assert health["error"]["message"] == "the database cannot be reached", health

            cluster.start()
            returned = time.monotonic()
            while (response := httpx.get(f"{served.url}/healthz", timeout=60)).status_code != 200:
                assert time.monotonic() - returned < FEW_SECONDS, (response.status_code, response.text[:300])
                time.sleep(0.05)
            recovered = time.monotonic() - returned
            for name, (method, url, kwargs, _) in calls.items():
                response, _ = timed(method, url, **kwargs)
                assert response.status_code in (200, 303), (name, response.status_code, response.text[:300])
            # A server that accepts connections and never answers: every pooled connection
            # died with the restart, the new one waits out the connect timeout, then 503.
            cluster.stop("immediate")
            cluster.start()
            cluster.freeze()
            try:
                response, hung = timed("GET", f"{served.url}/healthz")
            finally:
                cluster.thaw()
            assert response.status_code == 503, response.text[:300]
            assert response.json()["error"]["message"] == "the database cannot be reached"
            assert CONNECT_TIMEOUT <= hung < CONNECT_TIMEOUT + 2, f"{hung:.1f} s"
            response, _ = timed("GET", f"{served.url}/api/v1/projects", headers=officer)
            assert response.status_code == 200, response.text[:300]
            print(f"\n[outage] request in flight answered 503 {cut_off * 1000:.0f} ms after the stop; "
                  f"slowest answer while away {slowest * 1000:.0f} ms; "
                  f"healthz 200 again {recovered * 1000:.0f} ms after the database started; "
                  f"a hanging server answered 503 after {hung:.1f} s")


def test_sqlite_whose_write_lock_is_held_too_long_answers_503(tmp_path):
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    admin, _ = world(url)
    app = create_app(Settings(database_url=url, secret_key=TEST_SECRET, demo=False, db_timeout=1))
    with TestClient(app, raise_server_exceptions=False) as client:
        holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            started = time.monotonic()
            response = client.patch(f"/api/v1/periods/{PERIOD}", headers=admin, json={"status": "open"})
            elapsed = time.monotonic() - started
            assert response.status_code == 503, response.text
            assert response.json()["error"]["code"] == "unavailable"
            assert response.json()["error"]["message"].startswith("the database is busy;")
            assert elapsed < FEW_SECONDS
            page = client.post(f"/admin/periods/{PERIOD}/close", headers=admin, data={"reason": "x"})
            assert page.status_code == 503 and page.headers["content-type"].startswith("text/html")
            assert "the database is busy" in page.text
            # Reads go on: the write-ahead log lets readers past a writer.
            assert client.get("/healthz").status_code == 200
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        response = client.patch(f"/api/v1/periods/{PERIOD}", headers=admin, json={"status": "open"})
        assert response.status_code == 200, response.text
