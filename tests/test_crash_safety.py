"""A server killed with SIGKILL in the middle of a large transaction leaves the database
exactly as it was before that transaction, and starts again and serves.

Each test serves the app (`mne serve`), starts one large write over real HTTP, stops it in the
middle, kills the server with SIGKILL, and compares a checksum of every row of every table
before and after. "The middle" is reached deterministically:

- PostgreSQL: the test holds an ACCESS EXCLUSIVE lock on a table the transaction writes last;
  the server's backend is seen waiting on it in `pg_stat_activity`, holding the write locks of
  the tables it has already written (`pg_locks`). Then the server is killed and the lock
  released: the orphaned backend finishes its statement, finds its client gone, rolls back.
- SQLite: no lock can stop a writer half-way (the write lock is taken at BEGIN IMMEDIATE), so
  the served app pauses at that same statement (`tests/crash_hook/sitecustomize.py`) and is
  killed there; the uncommitted pages it spilled into the write-ahead log must not count.

The writes: an import of thousands of rows, a whole period submitted at once (the largest
multi-result workflow write there is; a bulk approval endpoint comes with issue 14), and an
admin closing a period.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from mne.db import engine_for, normalise_url
from mne.imports import service as imports
from mne.unit_of_work import UnitOfWork
from mne.users import service as users
from tests import factories
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import World, open_periods, principal_of
from tests.serving import Served, serve

HOOK = Path(__file__).parent / "crash_hook"
COUNTRIES = ("KGZ", "KAZ", "TJK")
INDICATORS = 120  # each with a line in every country: 360 lines
LINES = INDICATORS * len(COUNTRIES)
IMPORTED = ("2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1", "2023Q2")  # 2,160 rows
SUBMITTED = "2023Q4"  # holds a draft on every line in KGZ (120), submitted at once
CLOSED = "2023Q3"
PROJECT = "CRASH"
WAIT = 30.0  # seconds: the most any step below may take before the test fails


# --- what "exactly as before" means ----------------------------------------------------------

def table_checksums(url: str) -> dict[str, tuple[int, str]]:
    """Every table's row count and an MD5 of its rows in primary-key order, read in one
    transaction on a connection of its own (none of the app's pooled ones)."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn, conn.begin():
            inspector = inspect(conn)
            sums = {}
            for table in sorted(inspector.get_table_names()):
                key = inspector.get_pk_constraint(table)["constrained_columns"] or [
                    c["name"] for c in inspector.get_columns(table)]
                order = ", ".join(f'"{column}"' for column in key)
                digest, count = hashlib.md5(), 0
                for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY {order}')):
                    digest.update(repr(tuple(row)).encode())
                    count += 1
                sums[table] = (count, digest.hexdigest())
            return sums
    finally:
        engine.dispose()


def differences(before: dict, after: dict) -> list[str]:
    return [f"{t}: {before.get(t)} → {after.get(t)}" for t in sorted(set(before) | set(after))
            if before.get(t) != after.get(t)]


# --- the test world --------------------------------------------------------------------------

def import_file(periods, countries=COUNTRIES, *, value: int = 7) -> bytes:
    lines = ["project_code,indicator_code,country_iso3,period,value"]
    lines += [f"{PROJECT},I{n:03},{country},{period},{value + n % 5}"
              for period in periods for n in range(INDICATORS) for country in countries]
    return ("\n".join(lines) + "\n").encode()


@dataclass
class Site:
    url: str
    backend: str
    workdir: Path
    officer: dict[str, str]
    admin: dict[str, str]


def build(url: str, workdir: Path, backend: str) -> Site:
    """A project in three countries with 120 indicators, open periods 2022Q1–2023Q4, a draft on
    every line of KGZ in 2023Q4; the API tokens of an officer of the three countries and of an admin."""
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, *IMPORTED, CLOSED, SUBMITTED)
        world = World(session)
        project = world.project(PROJECT, countries=COUNTRIES, start="2022-01-01", end="2023-12-31")
        for n in range(INDICATORS):
            world.indicator(project, f"I{n:03}", {country: (0, 1000) for country in COUNTRIES})
        officer_user = factories.user(session, "country_officer", countries=COUNTRIES)
        officer = principal_of(officer_user, "country_officer", COUNTRIES)
        officer_token = users.create_token(session, officer_user, "crash")[1]
        admin = factories.token(session, "admin")
        limits = imports.Limits(max_bytes=10**8, max_rows=10**6)
        imports.import_results(session, officer, imports.Upload(import_file([SUBMITTED], ["KGZ"]), "drafts.csv"), limits,
                               dry_run=False)
        session.commit()
    engine.dispose()
    return Site(url=url, backend=backend, workdir=workdir, officer={"Authorization": f"Bearer {officer_token}"},
                admin=admin)


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory) -> Site:
    workdir = tmp_path_factory.mktemp(f"crash-{request.param}")
    url = f"sqlite:///{workdir / 'crash.db'}" if request.param == "sqlite" else pg_database_url("crash")
    return build(url, workdir, request.param)


# --- killing the server in the middle --------------------------------------------------------

def server_processes(served: Served) -> list[psutil.Process]:
    """The `mne serve` process listening on the served port, and its worker processes."""
    port = str(httpx.URL(served.url).port)
    for child in psutil.Process().children(recursive=True):
        try:
            cmdline = child.cmdline()
        except psutil.NoSuchProcess:
            continue
        if "serve" in cmdline and "--port" in cmdline and cmdline[cmdline.index("--port") + 1] == port:
            return [child, *child.children(recursive=True)]
    raise AssertionError(f"no server process on port {port}")


def sigkill(processes: list[psutil.Process]) -> None:
    for process in processes:
        try:
            os.kill(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    _, alive = psutil.wait_procs(processes, timeout=WAIT)
    assert not alive, f"still running after SIGKILL: {alive}"


class Request:
    """One request sent on a thread of its own; the server is killed before it answers."""

    def __init__(self, served: Served, method: str, path: str, **kwargs) -> None:
        self.response: httpx.Response | None = None
        self.error: Exception | None = None

        def send() -> None:
            try:
                self.response = httpx.request(method, served.url + path, timeout=WAIT * 2, **kwargs)
            except httpx.HTTPError as exc:
                self.error = exc

        self.thread = threading.Thread(target=send, daemon=True)
        self.thread.start()

    def assert_unanswered(self) -> None:
        self.thread.join(timeout=WAIT)
        assert self.response is None, f"the request was answered: {self.response.status_code} {self.response.text[:300]}"
        assert isinstance(self.error, httpx.TransportError), self.error


def wait_for(condition: Callable[[], object], what: str, served: Served | None = None):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f"\n{served.log_tail()}" if served else ""))


def crash_postgresql(site: Site, served: Served, start: Callable[[], Request], *, last: str, lock: str,
                     written: set[str]) -> Request:
    """Hold `lock` (on the table `last`), start the request, see its backend wait for it with
    `written` already written, then SIGKILL the server and let the orphaned backend go."""
    engine = create_engine(make_url(normalise_url(site.url)))
    # Polled on a connection of its own in autocommit: PostgreSQL keeps one snapshot of
    # pg_stat_activity per transaction, so a poll inside one would never see a change.
    monitor_engine = engine.execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as blocker, monitor_engine.connect() as monitor:
            blocker.execute(text(lock))
            blocker_pid = blocker.execute(text("SELECT pg_backend_pid()")).scalar()
            processes = server_processes(served)
            request = start()

            def blocked_backend():
                return monitor.execute(text("SELECT pid FROM pg_stat_activity WHERE :blocker = ANY(pg_blocking_pids(pid))"),
                                       {"blocker": blocker_pid}).scalar()

            pid = wait_for(blocked_backend, f"the server's transaction to wait for {last}", served)
            holding = set(monitor.execute(text(
                "SELECT c.relname FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                "WHERE l.pid = :pid AND l.granted AND l.mode = 'RowExclusiveLock'"), {"pid": pid}).scalars())
            assert written <= holding, f"the transaction had not written {written - holding} yet"
            sigkill(processes)
            blocker.rollback()  # the lock goes; the orphaned backend finds its client gone

            def backend_gone():
                return not monitor.execute(text("SELECT 1 FROM pg_stat_activity WHERE pid = :pid"), {"pid": pid}).first()

            wait_for(backend_gone, "the killed server's backend to end")
    finally:
        engine.dispose()
    return request


def crash_sqlite(site: Site, served: Served, start: Callable[[], Request]) -> tuple[Request, int]:
    """Start the request on a server paused at its last statement, then SIGKILL it there.
    Returns the request and how many bytes of write-ahead log the transaction had spilled."""
    mark = site.workdir / "paused"
    wal = Path(make_url(site.url).database + "-wal")
    wal_before = wal.stat().st_size if wal.exists() else 0
    processes = server_processes(served)
    request = start()
    wait_for(mark.exists, "the server to pause in its transaction", served)
    spilled = (wal.stat().st_size if wal.exists() else 0) - wal_before
    sigkill(processes)
    mark.unlink()
    return request, spilled


def crash(site: Site, monkeypatch, start: Callable[[Served], Request], *, last: str, written: set[str],
          lock: str | None = None, spills: bool = True) -> dict[str, tuple[int, str]]:
    """Kill a server in the middle of the request `start` sends, when it is about to write `last`
    (on PostgreSQL: blocked by `lock`, by default a lock on the whole table), having written
    `written`; assert that every table is as before (and return their checksums). On SQLite a
    large transaction `spills` uncommitted pages into the write-ahead log before it is killed."""
    before = table_checksums(site.url)
    spilled = None
    with monkeypatch.context() as env:  # the hook's variables reach this server only
        if site.backend == "sqlite":
            env.setenv("PYTHONPATH", str(HOOK), prepend=os.pathsep)
            env.setenv("CRASH_PAUSE_AT", rf'^\s*(INSERT INTO|UPDATE|DELETE FROM) "?{last}\b')
            env.setenv("CRASH_PAUSE_MARK", str(site.workdir / "paused"))
        with serve(site.url, site.workdir) as served:
            if site.backend == "postgresql":
                lock = lock or f'LOCK TABLE "{last}" IN ACCESS EXCLUSIVE MODE'
                request = crash_postgresql(site, served, lambda: start(served), last=last, lock=lock,
                                           written=written)
            else:
                request, spilled = crash_sqlite(site, served, lambda: start(served))
    request.assert_unanswered()
    if spilled is not None and spills:
        assert spilled > 0, "the transaction left nothing uncommitted in the write-ahead log"
    after = table_checksums(site.url)
    assert differences(before, after) == []
    rows = sum(count for count, _ in after.values())
    print(f"\n[{site.backend}] killed before {last}: {len(after)} tables, {rows} rows equal"
          + (f"; {spilled} bytes of WAL spilled" if spilled is not None else ""))
    return after


def changed(url: str, before: dict) -> set[str]:
    """The tables whose rows differ from `before`: the checksums see the operation, once done."""
    after = table_checksums(url)
    return {table for table in after if after[table] != before.get(table)}


# --- the tests -------------------------------------------------------------------------------

def count(served: Served, headers, **query) -> int:
    response = httpx.get(served.url + "/api/v1/results", params={"project": PROJECT, "limit": 1000, **query},
                         headers=headers, timeout=WAIT)
    assert response.status_code == 200, response.text
    return len(response.json())


def test_an_import_killed_half_way_writes_nothing(site, monkeypatch):
    body = import_file(IMPORTED)

    def start(served: Served) -> Request:
        return Request(served, "POST", "/imports/results?dry_run=false&filename=big.csv", content=body,
                       headers={**site.officer, "content-type": "text/csv"})

    written = {"result_import", "result", "audit_event", "line_summary", "project_summary"}
    before = crash(site, monkeypatch, start, last="region_summary", written=written)
    with serve(site.url, site.workdir) as served:
        done = httpx.post(served.url + "/imports/results?dry_run=false&filename=big.csv", content=body,
                          headers={**site.officer, "content-type": "text/csv"}, timeout=WAIT * 2)
        assert done.status_code == 200, done.text
        assert done.json()["counts"]["create"] == len(IMPORTED) * LINES == 2160
    # The summaries were rewritten to the same figures: drafts count in none of them.
    assert changed(site.url, before) >= {"result_import", "result", "audit_event"}


def test_a_period_submission_killed_half_way_writes_nothing(site, monkeypatch):
    def start(served: Served) -> Request:
        return Request(served, "POST", f"/projects/{PROJECT}/results/submit", data={"period": SUBMITTED},
                       headers=site.officer)

    written = {"result", "audit_event", "line_summary", "project_summary"}
    before = crash(site, monkeypatch, start, last="region_summary", written=written)
    with serve(site.url, site.workdir) as served:
        assert count(served, site.officer, period=SUBMITTED, status="draft") == INDICATORS
        done = httpx.post(served.url + f"/projects/{PROJECT}/results/submit", data={"period": SUBMITTED},
                          headers=site.officer, timeout=WAIT * 2)
        assert done.status_code == 303, done.text
        # Back to the period submitted (its column in view), saying how many were sent.
        assert f"submitted={SUBMITTED}&count={INDICATORS}#period-{SUBMITTED}" in done.headers["location"]
        assert count(served, site.officer, period=SUBMITTED, status="submitted") == INDICATORS
    assert changed(site.url, before) >= written | {"region_summary"}


def test_a_period_close_killed_half_way_writes_nothing(site, monkeypatch):
    def start(served: Served) -> Request:
        return Request(served, "POST", f"/admin/periods/{CLOSED}/close", data={"reason": "quarter done"},
                       headers=site.admin)

    # The audit event is inserted first; the period's row, held by the test, is updated last.
    before = crash(site, monkeypatch, start, last="period", written={"audit_event"},
          lock=f"SELECT code FROM period WHERE code = '{CLOSED}' FOR UPDATE", spills=False)
    with serve(site.url, site.workdir) as served:
        periods = {p["code"]: p["status"] for p in httpx.get(served.url + "/api/v1/periods", headers=site.admin,
                                                              timeout=WAIT).json()}
        assert periods[CLOSED] == "open"
        done = httpx.post(served.url + f"/admin/periods/{CLOSED}/close", data={"reason": "quarter done"},
                          headers=site.admin, timeout=WAIT)
        assert done.status_code == 303, done.text
        periods = {p["code"]: p["status"] for p in httpx.get(served.url + "/api/v1/periods", headers=site.admin,
                                                              timeout=WAIT).json()}
        assert periods[CLOSED] == "closed"
    assert changed(site.url, before) >= {"period", "audit_event"}
