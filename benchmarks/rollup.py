"""Benchmark: roll-ups and the dashboard at demo scale 1, 10 and 30 on SQLite and PostgreSQL.

For each database and scale: seed the demo (``seed_demo``: projects, results and the progress
summaries), serve the app with uvicorn on 127.0.0.1 (one worker, as ``mne serve``), sign in,
then time over HTTP, sequentially, after a warm-up:

- ``GET /api/v1/rollup?by=priority,subregion`` (API token of a regional reviewer),
- ``GET /dashboard`` (signed-in regional reviewer, the full page),
- ``GET /dashboard?donor=ECHO`` and the dashboard of the ECHO donor viewer (project-level path),

median and p95 over N requests each, beside the floor: one plain ``SELECT status, period_code,
count(*), sum(value) FROM result GROUP BY status, period_code`` on the same database. Finally
approvals of submitted results are checked to be visible in the very next read.

    .venv/bin/python benchmarks/rollup.py --scales 1,10,30 --databases sqlite,postgresql

prints a Markdown report (the machine, then one table). Databases are kept in --workdir (SQLite)
and in PostgreSQL databases ``<name>_s<scale>`` beside --pg-url; --reuse skips seeding when a
database already holds the demo at that scale.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from mne import migrate  # noqa: E402
from mne.db import engine_for  # noqa: E402
from mne.demo.generator import PROJECTS_PER_SCALE, demo_users, seed_demo  # noqa: E402
from mne.reference.seed import load_reference  # noqa: E402

SECRET = "benchmark-secret-key-0123456789abcdef"
FLOOR_SQL = "SELECT status, period_code, count(*), sum(value) FROM result GROUP BY status, period_code"


@dataclass
class Timing:
    median_ms: float
    p95_ms: float


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p95 of 20 samples is the 19th smallest)."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def timing(samples: list[float]) -> Timing:
    return Timing(statistics.median(samples) * 1000, percentile(samples, 95) * 1000)


def database_url(kind: str, scale: int, args) -> str:
    if kind == "sqlite":
        return f"sqlite:///{Path(args.workdir) / f'bench-s{scale}.db'}"
    base = make_url(args.pg_url)
    return base.set(database=f"{base.database}_s{scale}").render_as_string(hide_password=False)


def prepare(url: str, scale: int, reuse: bool) -> float | None:
    """A database holding the demo at this scale; returns the seconds seeding took (None if reused)."""
    if url.startswith("postgresql"):
        parsed = make_url(url)
        admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
        admin.dispose()
    if reuse and _holds_demo(url, scale):
        return None
    if url.startswith("postgresql"):
        with engine_for(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    else:
        engine_for(url).dispose()  # no pooled connection may keep the old file open
        for suffix in ("", "-wal", "-shm"):
            Path(make_url(url).database + suffix).unlink(missing_ok=True)
    migrate.upgrade(url)
    from sqlmodel import Session

    with Session(engine_for(url)) as session:
        load_reference(session)
        session.commit()
    started = time.perf_counter()
    seed_demo(engine_for(url), scale=scale, seed=1)
    return time.perf_counter() - started


def _holds_demo(url: str, scale: int) -> bool:
    try:
        if migrate.current_revision(url) != _head():
            return False
        with engine_for(url).connect() as conn:
            projects = conn.execute(text("SELECT count(*) FROM project WHERE is_demo")).scalar()
            summaries = conn.execute(text("SELECT count(*) FROM region_summary")).scalar()
        return projects == PROJECTS_PER_SCALE * scale and summaries > 0
    except Exception:
        return False


def _head() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(migrate.alembic_config()).get_current_head()


def checkpoint(url: str) -> None:
    """Fold SQLite's write-ahead log into the database after the bulk load (as closing the
    last connection of `mne seed demo` does), so reads do not wade through it."""
    if url.startswith("sqlite"):
        with engine_for(url).connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def floor(url: str, runs: int = 5) -> Timing:
    samples = []
    with engine_for(url).connect() as conn:
        conn.execute(text(FLOOR_SQL)).all()  # warm the cache like the app's requests are
        for _ in range(runs):
            started = time.perf_counter()
            conn.execute(text(FLOOR_SQL)).all()
            samples.append(time.perf_counter() - started)
    return timing(samples)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """`uvicorn mne.app:create_app --factory` on 127.0.0.1, one worker, as `mne serve` runs it."""

    def __init__(self, url: str) -> None:
        self.port = free_port()
        env = {**os.environ, "MNE_DATABASE_URL": url, "MNE_SECRET_KEY": SECRET, "MNE_DEMO": "0"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "mne.app:create_app", "--factory", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(self.base + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("the server did not start")
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def signed_in(base: str, email: str, password: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60)
    page = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    response = client.post("/login", data={"email": email, "password": password, "csrf_token": csrf, "next": "/"})
    assert response.status_code in (200, 303), response.text
    return client


def api_token(url: str, email: str) -> str:
    from sqlmodel import Session

    from mne.users import service as users

    with Session(engine_for(url)) as session:
        user = users.get_user_by_email(session, email)
        _, secret = users.create_token(session, user, "benchmark")
        session.commit()
    return secret


def measure(client: httpx.Client, path: str, n: int, headers: dict | None = None) -> Timing:
    for _ in range(3):
        assert client.get(path, headers=headers).status_code == 200
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(path, headers=headers)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (path, response.status_code)
    return timing(samples)


def approvals_visible(url: str, api: httpx.Client, headers: dict, tries: int = 5) -> tuple[int, int, float]:
    """Approve submitted results (the only pending one on its line, in an open period): the
    line's approved-only figures right after must equal its with-pending figures right before."""
    with engine_for(url).connect() as conn:
        open_periods = set(conn.execute(text("SELECT code FROM period WHERE status = 'open'")).scalars())
        single = conn.execute(text("""
            SELECT min(r.id), r.indicator_id, r.country_iso3, min(r.period_code) FROM result r
            WHERE r.status = 'submitted' GROUP BY r.indicator_id, r.country_iso3 HAVING count(*) = 1
            ORDER BY min(r.id)""")).all()
        picked = [row for row in single if row[3] in open_periods][:tries]
        codes = dict(conn.execute(text(
            "SELECT i.id, p.code FROM indicator i JOIN project p ON p.id = i.project_id WHERE i.id IN :ids")
            .bindparams(bindparam("ids", expanding=True)), {"ids": [row[1] for row in picked] or [0]}).all())
        rows = [(rid, iid, country, codes[iid]) for rid, iid, country, _period in picked]
    ok, latencies = 0, []
    for rid, iid, country, project in rows:
        def line(pending: bool) -> dict:
            lines = api.get("/api/v1/indicator-lines", headers=headers,
                            params={"project": project, "country": country,
                                    "include_pending": str(pending).lower()}).json()
            return next(x for x in lines if x["indicator_id"] == iid)

        before = line(True)
        started = time.perf_counter()
        assert api.post(f"/api/v1/results/{rid}/approve", headers=headers).status_code == 200
        latencies.append(time.perf_counter() - started)
        after = line(False)
        ok += all(after[k] == before[k] for k in ("actual", "progress", "status", "achieved"))
    return ok, len(rows), statistics.median(latencies) * 1000 if latencies else 0.0


def counts(url: str) -> tuple[int, int]:
    with engine_for(url).connect() as conn:
        return (conn.execute(text("SELECT count(*) FROM result")).scalar(),
                conn.execute(text("SELECT count(*) FROM indicator_target")).scalar())


def machine() -> str:
    cpu = "unknown CPU"
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = ""
    try:
        kb = int(next(line.split()[1] for line in open("/proc/meminfo") if line.startswith("MemTotal")))
        mem = f", {kb / 1024 / 1024:.0f} GiB RAM"
    except (OSError, StopIteration):
        pass
    pg = ""
    try:
        out = subprocess.run(["psql", "--version"], capture_output=True, text=True, timeout=5).stdout.strip()
        pg = f", {out.replace('psql (PostgreSQL) ', 'PostgreSQL ')} on 127.0.0.1"
    except (OSError, subprocess.SubprocessError):
        pass
    load = os.getloadavg()[0]
    return (f"{os.cpu_count()} cores ({cpu}){mem}, {platform.system()} {platform.release()}, Python "
            f"{platform.python_version()}, SQLite {sqlite3.sqlite_version}{pg}; load average {load:.1f} at start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", default="1,10,30")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--requests", type=int, default=20)
    parser.add_argument("--workdir", default="/tmp/mne-bench")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/mne_bench")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the demo")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}.\n")
    print("| database | scale | results | lines | seed (s) | floor GROUP BY median | rollup by priority,subregion median / p95 "
          "| /dashboard median / p95 | /dashboard?donor=ECHO median / p95 | donor viewer /dashboard median / p95 "
          "| approvals visible at once | approve (median) |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    users = {email: password for email, _role, password, *_ in demo_users(1)}
    for kind in args.databases.split(","):
        for scale in (int(s) for s in args.scales.split(",")):
            url = database_url(kind, scale, args)
            seeded = prepare(url, scale, args.reuse)
            results, lines = counts(url)
            checkpoint(url)
            base_floor = floor(url)
            server = Server(url)
            try:
                reviewer = signed_in(server.base, "reviewer@mne.example", users["reviewer@mne.example"])
                donor = signed_in(server.base, "donor.echo@mne.example", users["donor.echo@mne.example"])
                headers = {"Authorization": f"Bearer {api_token(url, 'reviewer@mne.example')}"}
                api = httpx.Client(base_url=server.base, timeout=60)
                n = args.requests
                rollup = measure(api, "/api/v1/rollup?by=priority,subregion", n, headers)
                dash = measure(reviewer, "/dashboard", n)
                dash_donor = measure(reviewer, "/dashboard?donor=ECHO", n)
                dash_viewer = measure(donor, "/dashboard", n)
                ok, tried, approve_ms = approvals_visible(url, api, headers)
            finally:
                server.stop()
            seed_text = "reused" if seeded is None else f"{seeded:.0f}"
            print(f"| {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} | {scale} | {results:,} | {lines:,} | {seed_text} "
                  f"| {base_floor.median_ms:.0f} ms | {rollup.median_ms:.0f} / {rollup.p95_ms:.0f} ms "
                  f"| {dash.median_ms:.0f} / {dash.p95_ms:.0f} ms | {dash_donor.median_ms:.0f} / {dash_donor.p95_ms:.0f} ms "
                  f"| {dash_viewer.median_ms:.0f} / {dash_viewer.p95_ms:.0f} ms | {ok} of {tried} | {approve_ms:.0f} ms |",
                  flush=True)


if __name__ == "__main__":
    main()
