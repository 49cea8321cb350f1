"""Load test: a realistic mix by many users at once against `mne serve --workers N` (locust).

Run as a script it is the driver; loaded by locust (``python -m locust -f benchmarks/load.py``)
it is the locustfile. The driver:

1. prepares a PostgreSQL database holding the demo at --scale (``mne db upgrade``, ``mne seed
   reference``, ``mne seed demo --scale N``; --reuse keeps one that already holds it), or uses
   the database of --database-url as it is with --existing (the smoke test's small world);
2. writes a plan: for each simulated user, a signed-in page session and API tokens (made in
   the database, so no Argon2 sign-in or throttle is in the way), the pages it reads, and the
   results it alone edits and approves (see "Users" below);
3. serves the app with ``mne serve --workers N`` on 127.0.0.1, as deployed (access log on);
4. runs locust headless: --users users for --duration seconds, each thinking 1–3 s between
   requests (--wait 2, the mean; --wait 0 sends the next request as soon as the last is
   answered, so 50 users keep 50 requests in flight: the server's saturation);
5. runs 50 users again against ``/healthz`` only, with no think time (the ceiling: the same app,
   served the same way, doing no work);
6. prints and writes (--report, Markdown, and beside it JSON) a table: requests/s, p50/p95/p99
   per endpoint, failures; with the CPU time each request cost the app's workers and PostgreSQL
   (psutil, before and after each run) and the most database connections held at once.
   Exits 1 if any request failed or the server logged a 500.

Users. Each simulated user does, by request count: 60 % dashboard and drill-down pages, 20 %
lists and the results grid, 15 % result saves and submissions, 5 % approvals. It reads as a
country officer (4 of 5 users; pages scoped to the officer's countries) or as the regional
reviewer (1 of 5). Its saves go through the API as a country officer, on lines no other user
touches: each result of its queue (a draft or returned result in an open period) is saved once
(``PUT /api/v1/results`` with the version it read: the value of a plain number goes up by one,
other results get a note added to the narrative) and then submitted. Its approvals, as the
regional reviewer, take results from a queue of its own (results submitted before the run, on
lines nobody edits during it). So no two users ever write the same result: every 409 would be
a genuine error, and is counted as a failure, as is any status other than the expected one.

    .venv/bin/python benchmarks/load.py --reuse   # demo scale 10, 4 workers, 50 users, 60 s
    .venv/bin/python benchmarks/load.py --existing --database-url sqlite:///small.db \\
        --users 5 --duration 5 --workers 1 --ceiling-duration 0
"""

from __future__ import annotations

import itertools
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PLAN_ENV = "MNE_LOAD_PLAN"

if __name__ != "__main__":
    # Loaded by locust (which has patched the standard library for gevent by now).
    from locust import FastHttpUser, between, constant, task

    PLAN = json.loads(Path(os.environ[PLAN_ENV]).read_text())
    DASHBOARD, LISTS, WRITES, APPROVALS = PLAN["mix"]
    _next_user = itertools.count()

    class MneUser(FastHttpUser):
        """One person of the mix (see the module's docstring)."""

        # Think time: uniform around the plan's mean (0: the next request at once).
        wait_time = between(PLAN["wait"] * 0.5, PLAN["wait"] * 1.5)

        def on_start(self) -> None:
            index = next(_next_user)
            self.me = PLAN["users"][index % len(PLAN["users"])]
            self.rng = random.Random(index)
            self.edits = list(self.me["edits"])  # consumed: saved, then submitted
            self.saved: dict | None = None
            self.approvals = list(self.me["approvals"])

        def _request(self, method: str, path: str, name: str, *, expect: int = 200, auth: str = "page",
                     json_body: dict | None = None) -> dict | None:
            headers = ({"Cookie": f"mne_session={self.me['session']}"} if auth == "page"
                       else {"Authorization": f"Bearer {self.me[auth]}"})
            with self.client.request(method, path, name=name, headers=headers, json=json_body,
                                     catch_response=True, allow_redirects=False) as response:
                if response.status_code != expect:
                    response.failure(f"{response.status_code} (expected {expect}): {(response.text or '')[:300]}")
                    return None
                response.success()
                return response.json() if auth != "page" else None

        def _pick(self, kinds: dict[str, list[str]]) -> tuple[str, str]:
            kind = self.rng.choice(sorted(kinds))
            return self.rng.choice(kinds[kind]), kind

        @task(DASHBOARD)
        def dashboard(self) -> None:
            path, name = self._pick(self.me["dashboard"])
            self._request("GET", path, name)

        @task(LISTS)
        def lists(self) -> None:
            path, name = self._pick(self.me["lists"])
            self._request("GET", path, name, auth="reader_token" if name.startswith("GET /api/") else "page")

        @task(WRITES)
        def save_or_submit(self) -> None:
            if self.saved is not None:  # the draft saved last time: submit it
                result, self.saved = self.saved, None
                self._request("POST", f"/api/v1/results/{result['id']}/submit", "POST /api/v1/results/[id]/submit",
                              auth="officer_token")
                return
            if not self.edits:
                self.environment.events.request.fire(
                    request_type="PUT", name="PUT /api/v1/results", response_time=0, response_length=0,
                    context={}, exception=RuntimeError("the plan ran out of results to edit"))
                return
            edit = self.edits.pop(0)
            body = {k: v for k, v in edit["body"].items() if v is not None}
            self.saved = self._request("PUT", "/api/v1/results", "PUT /api/v1/results", auth="officer_token",
                                       json_body=body)

        @task(APPROVALS)
        def approve(self) -> None:
            if not self.approvals:
                self.environment.events.request.fire(
                    request_type="POST", name="POST /api/v1/results/[id]/approve", response_time=0,
                    response_length=0, context={}, exception=RuntimeError("the plan ran out of results to approve"))
                return
            result_id = self.approvals.pop(0)
            self._request("POST", f"/api/v1/results/{result_id}/approve", "POST /api/v1/results/[id]/approve",
                          auth="reviewer_token")

    class Ceiling(FastHttpUser):
        """The trivial endpoint of the same app: what the server and locust manage at most."""

        wait_time = constant(0)  # the most it can take, whatever the mix's think time

        @task
        def healthz(self) -> None:
            with self.client.get("/healthz", name="GET /healthz", catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code}")


# --- the driver --------------------------------------------------------------------------------

SECRET = "load-test-secret-key-0123456789abcdef"
OPEN_EDITABLE = ("draft", "returned")


def prepare(url: str, scale: int, reuse: bool) -> float | None:
    """A PostgreSQL database holding the demo at `scale`, seeded through the command line; returns
    the seconds seeding took, or None when an existing one was reused."""
    import subprocess
    import time

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    from mne import migrate
    from mne.db import engine_for
    from mne.demo.generator import PROJECTS_PER_SCALE

    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}).first():
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()
    if reuse:
        try:
            with engine_for(url).connect() as conn:
                projects = conn.execute(text("SELECT count(*) FROM project WHERE is_demo")).scalar()
            if projects == PROJECTS_PER_SCALE * scale and migrate.current_revision(url) is not None:
                migrate.upgrade(url)  # as the deployed app does at every start
                return None
        except DBAPIError:  # no schema yet: seed it
            pass
    with engine_for(url).begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine_for(url).dispose()
    env = {**os.environ, "MNE_DATABASE_URL": url, "MNE_DEMO": "1"}
    started = time.perf_counter()
    for args in (["db", "upgrade"], ["seed", "reference"], ["seed", "demo", "--scale", str(scale)]):
        subprocess.run([sys.executable, "-m", "mne.cli", *args], cwd=ROOT, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def build_plan(url: str, users: int, wait: float, mix: list[int], seed: int = 1) -> dict:
    """Who each simulated user is, what it reads, and the results it alone writes."""
    from sqlalchemy import text
    from sqlmodel import Session

    from mne.auth import sessions
    from mne.db import engine_for
    from mne.users import service as user_service
    from mne.users.models import User

    rng = random.Random(seed)
    engine = engine_for(url)
    with engine.connect() as conn:
        countries_of: dict[int, list[str]] = {}
        for user_id, iso3 in conn.execute(text(
                "SELECT u.id, c.country_iso3 FROM \"user\" u JOIN user_country c ON c.user_id = u.id "
                "WHERE u.role = 'country_officer' AND u.is_active ORDER BY u.id, c.country_iso3")):
            countries_of.setdefault(user_id, []).append(iso3)
        officers = sorted(countries_of.items())
        reviewer_id = conn.execute(text(
            "SELECT id FROM \"user\" WHERE role = 'regional_reviewer' AND is_active ORDER BY id LIMIT 1")).scalar()
        open_periods = sorted(conn.execute(text("SELECT code FROM period WHERE status = 'open'")).scalars())
        lines = conn.execute(text(
            "SELECT t.indicator_id, t.country_iso3, p.code, c.subregion_code FROM indicator_target t "
            "JOIN indicator i ON i.id = t.indicator_id JOIN project p ON p.id = i.project_id "
            "JOIN country c ON c.iso3 = t.country_iso3 ORDER BY t.indicator_id, t.country_iso3")).all()
        results = conn.execute(text(
            "SELECT r.id, r.indicator_id, r.country_iso3, r.period_code, r.status, r.version, r.value, r.female, "
            "r.male, r.other, r.age_0_17, r.age_18_59, r.age_60_plus, r.numerator, r.denominator, r.narrative, "
            "r.means_of_verification, i.measure, i.disaggregation FROM result r "
            "JOIN indicator i ON i.id = r.indicator_id JOIN period pe ON pe.code = r.period_code "
            "WHERE pe.status = 'open' AND r.status IN ('draft', 'returned', 'submitted') ORDER BY r.id")).all()
        priorities = sorted(conn.execute(text("SELECT code FROM priority")).scalars())
    if not officers or reviewer_id is None:
        raise SystemExit("the database needs active country officers with countries and a regional reviewer")

    # Lines with editable results are edited, the others' submitted results approved: no line is both.
    editable_lines = {(r.indicator_id, r.country_iso3) for r in results if r.status in OPEN_EDITABLE}
    officer_of_user = [officers[i % len(officers)] for i in range(users)]
    edits: list[list[dict]] = [[] for _ in range(users)]
    by_line: dict[tuple[int, str], list] = {}
    for r in results:
        if r.status in OPEN_EDITABLE:
            by_line.setdefault((r.indicator_id, r.country_iso3), []).append(r)
    for officer_id, countries in officers:
        mine = [i for i in range(users) if officer_of_user[i][0] == officer_id]
        if not mine:
            continue
        own_lines = [line for line in sorted(by_line) if line[1] in countries]
        rng.shuffle(own_lines)
        for n, line in enumerate(own_lines):
            edits[mine[n % len(mine)]].extend(_edit(r) for r in by_line[line])
    approvals: list[list[int]] = [[] for _ in range(users)]
    submitted_lines: dict[tuple[int, str], list[int]] = {}
    for r in results:
        if r.status == "submitted" and (r.indicator_id, r.country_iso3) not in editable_lines:
            submitted_lines.setdefault((r.indicator_id, r.country_iso3), []).append(r.id)
    shuffled = sorted(submitted_lines)
    rng.shuffle(shuffled)
    for n, line in enumerate(shuffled):
        approvals[n % users].extend(submitted_lines[line])

    plan_users = []
    with Session(engine) as session:
        reviewer = session.get(User, reviewer_id)
        for i in range(users):
            officer = session.get(User, officer_of_user[i][0])
            countries = officer_of_user[i][1]
            reads_as_reviewer = i % 5 == 4
            reader = reviewer if reads_as_reviewer else officer
            cookie, _ = sessions.start(session, reader, hours=12)
            _, officer_token = user_service.create_token(session, officer, f"load test {i}")
            _, reviewer_token = user_service.create_token(session, reviewer, f"load test {i}")
            scope = None if reads_as_reviewer else set(countries)
            plan_users.append({
                "session": cookie,
                "officer_token": officer_token,
                "reviewer_token": reviewer_token,
                "reader_token": reviewer_token if reads_as_reviewer else officer_token,
                **_reads(lines, priorities, open_periods, scope, reads_as_reviewer, random.Random(seed + i)),
                "edits": edits[i],
                "approvals": approvals[i],
            })
        session.commit()
    engine.dispose()
    return {"wait": wait, "mix": mix, "users": plan_users,
            "totals": {"edits": sum(map(len, edits)), "approvals": sum(map(len, approvals)),
                       "officers": len(officers)}}


def _edit(r) -> dict:
    """The body of a save of result `r` (with the version read now): a plain number goes up by
    one; any other result keeps its figures (they must add up) and gets a note in its narrative."""
    plain = r.measure == "number" and r.disaggregation == "none"
    disaggregation = {"female": r.female, "male": r.male, "other": r.other,
                      "0-17": r.age_0_17, "18-59": r.age_18_59, "60+": r.age_60_plus}
    disaggregation = {k: v for k, v in disaggregation.items() if v is not None}
    return {"id": r.id, "body": {
        "indicator_id": r.indicator_id, "country": r.country_iso3, "period": r.period_code,
        "value": r.value + 1 if plain else (None if r.numerator is not None else r.value),
        "disaggregation": disaggregation or None, "numerator": r.numerator, "denominator": r.denominator,
        "narrative": ((r.narrative or "") + " Checked again under load.")[-10_000:],
        "means_of_verification": r.means_of_verification, "version": r.version}}


def _reads(lines, priorities, periods, countries: set[str] | None, reviewer: bool, rng: random.Random) -> dict:
    """The pages (and API lists) a user reads, grouped by endpoint: a kind is chosen evenly, then a page."""
    in_scope = [line for line in lines if countries is None or line[1] in countries]
    projects = sorted({line[2] for line in in_scope})
    subregions = sorted({line[3] for line in in_scope})
    own = sorted({line[1] for line in in_scope})
    sample_projects = rng.sample(projects, min(40, len(projects)))
    sample_lines = rng.sample(in_scope, min(40, len(in_scope)))
    dashboard = {
        "GET /dashboard": ["/dashboard"],
        "GET /dashboard/priorities/[code]": [f"/dashboard/priorities/{p}" for p in priorities],
        "GET /dashboard/subregions/[code]": [f"/dashboard/subregions/{s}" for s in subregions],
        "GET /dashboard/countries/[iso3]": [f"/dashboard/countries/{c}" for c in own],
        "GET /dashboard/projects/[code]": [f"/dashboard/projects/{p}" for p in sample_projects],
        "GET /dashboard/indicators/[id]/[iso3]": [f"/dashboard/indicators/{i}/{c}" for i, c, *_ in sample_lines],
    }
    lists = {
        "GET /projects": ["/projects"] + [f"/projects?country={c}" for c in own],
        "GET /projects/[code]/results": [f"/projects/{p}/results" for p in sample_projects],
        "GET /api/v1/results": [f"/api/v1/results?country={c}&period={p}&limit=100" for c in own for p in periods]
        or ["/api/v1/results?limit=100"],
    }
    if reviewer:
        lists["GET /review"] = ["/review"] + [f"/review?country={c}" for c in own[:10]]
    return {"dashboard": {k: v for k, v in dashboard.items() if v}, "lists": {k: v for k, v in lists.items() if v}}


class Server:
    """`mne serve --workers N` on 127.0.0.1, as deployed; waits until every worker serves."""

    def __init__(self, url: str, workers: int, workdir: Path, pool_size: int | None) -> None:
        import socket
        import subprocess
        import time

        import httpx

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MNE_")}
        env.update({"MNE_DATABASE_URL": url, "MNE_SECRET_KEY": SECRET,
                    **({"MNE_DB_POOL_SIZE": str(pool_size)} if pool_size else {})})
        self.log = workdir / f"serve-{self.port}.log"
        with open(self.log, "wb") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "mne.cli", "serve", "--port", str(self.port), "--workers", str(workers)],
                cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 120
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"mne serve exited:\n{self.log.read_text()[-2000:]}")
            started = self.log.read_text(errors="replace").count("Application startup complete.")
            try:
                if started >= workers and httpx.get(self.url + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"mne serve did not start in 120 s:\n{self.log.read_text()[-2000:]}")
            time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def run_locust(server: Server, plan_path: Path, user_class: str, users: int, seconds: int, prefix: Path) -> dict:
    """One headless locust run; returns its stats per endpoint and its failures."""
    import csv
    import subprocess

    env = {**os.environ, PLAN_ENV: str(plan_path)}
    done = subprocess.run(
        [sys.executable, "-m", "locust", "-f", str(Path(__file__).resolve()), "--headless", "--only-summary",
         "-u", str(users), "-r", str(users), "-t", f"{seconds}s", "--stop-timeout", "30",
         "--host", server.url, "--csv", str(prefix), "--loglevel", "WARNING", user_class],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False)  # failures: read below
    stats_file = Path(f"{prefix}_stats.csv")
    if not stats_file.exists():
        raise RuntimeError(f"locust failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    rows = []
    with open(stats_file, newline="") as f:
        for row in csv.DictReader(f):
            rows.append({"name": row["Name"] if row["Name"] != "Aggregated" else "all requests",
                         "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                         "rps": float(row["Requests/s"]), "p50": _ms(row["50%"]), "p95": _ms(row["95%"]),
                         "p99": _ms(row["99%"])})
    failures = []
    failures_file = Path(f"{prefix}_failures.csv")
    if failures_file.exists():
        with open(failures_file, newline="") as f:
            failures = [{"name": r["Name"], "error": r["Error"][:300], "count": int(r["Occurrences"])}
                        for r in csv.DictReader(f)]
    return {"class": user_class, "users": users, "seconds": seconds, "rows": rows, "failures": failures,
            "exit": done.returncode, "stderr": done.stderr[-3000:] if done.returncode and not failures else ""}


class ConnectionWatch:
    """The most connections the server held to a PostgreSQL database at once (sampled every
    0.5 s): workers × pool must stay below max_connections."""

    def __init__(self, url: str) -> None:
        import threading

        self.url, self.peak, self.limit = url, 0, None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True) if url.startswith("postgresql") else None
        if self._thread:
            self._thread.start()

    def _run(self) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url

        engine = create_engine(self.url, pool_size=1)
        with engine.connect() as conn:
            self.limit = int(conn.execute(text("SHOW max_connections")).scalar())
            name = make_url(self.url).database
            while not self._stop.wait(0.5):
                count = conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE datname = :n AND "
                                          "pid <> pg_backend_pid()"), {"n": name}).scalar()
                self.peak = max(self.peak, count)
                conn.rollback()
        engine.dispose()

    def stop(self) -> str:
        if not self._thread:
            return ""
        self._stop.set()
        self._thread.join(timeout=5)
        return f"; at most {self.peak} connections to the database at once (max_connections {self.limit})"


def cpu_seconds(server: Server, url: str) -> dict[str, dict[int, float]]:
    """CPU seconds (user + system) used so far by each worker process and, on PostgreSQL, by each
    server process serving the database: the difference over a run is what its requests cost."""
    import psutil

    def used(pid: int) -> float | None:
        try:
            times = psutil.Process(pid).cpu_times()
            return times.user + times.system
        except psutil.Error:
            return None

    main = psutil.Process(server.process.pid)  # with one worker, it serves itself
    workers = {process.pid: used(process.pid) for process in [main, *main.children()]}
    backends: dict[int, float | None] = {}
    if url.startswith("postgresql"):
        from sqlalchemy import create_engine, text
        from sqlalchemy.engine import make_url
        from sqlalchemy.pool import NullPool

        engine = create_engine(url, poolclass=NullPool)
        with engine.connect() as conn:
            pids = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"),
                                {"n": make_url(url).database}).scalars().all()
        engine.dispose()
        backends = {pid: used(pid) for pid in pids}
    return {"app": {k: v for k, v in workers.items() if v is not None},
            "database": {k: v for k, v in backends.items() if v is not None}}


def cpu_per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request, by side (a database process that ended during the run is
    missed, so the database's figure is a lower bound)."""
    out = {}
    for side in ("app", "database"):
        spent = sum(value - before[side].get(pid, 0.0) for pid, value in after[side].items())
        out[side] = spent / requests * 1000 if requests else 0.0
    return out


def _ms(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def table(runs: list[dict]) -> str:
    lines = ["| run | endpoint | requests | requests/s | p50 (ms) | p95 (ms) | p99 (ms) | failures |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        label = "mix" if run["class"] == "MneUser" else "ceiling"
        body = sorted((r for r in run["rows"] if r["name"] != "all requests"), key=lambda r: -r["requests"])
        total = [r for r in run["rows"] if r["name"] == "all requests"]
        for r in body + total:
            name = f"**{r['name']}**" if r["name"] == "all requests" else f"`{r['name']}`"
            lines.append(f"| {label} | {name} | {r['requests']:,} | {r['rps']:.1f} | {_fmt(r['p50'])} | "
                         f"{_fmt(r['p95'])} | {_fmt(r['p99'])} | {r['failures']} |")
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def machine() -> str:
    import platform

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
            f"load average {load:.1f} at the start")


def main() -> int:
    import argparse
    import datetime
    import time

    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/mne_load",
                        help="the database to seed (PostgreSQL) or, with --existing, to use as it is")
    parser.add_argument("--existing", action="store_true", help="use the database as it is: no seeding")
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep a database that holds the demo at --scale")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=int, default=60, help="seconds of the mixed run")
    parser.add_argument("--ceiling-duration", type=int, default=60, help="seconds of the /healthz run (0: none)")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--pool-size", type=int, default=None, help="MNE_DB_POOL_SIZE (default: the app's)")
    parser.add_argument("--mix", default="60,20,15,5",
                        help="weights of dashboard pages, lists, saves and submissions, approvals")
    parser.add_argument("--wait", type=float, default=2.0,
                        help="mean think time between a user's requests (s; uniform from half to 1.5 times)")
    parser.add_argument("--workdir", default="/tmp/mne-load")
    parser.add_argument("--report", default=None, help="Markdown report (default: WORKDIR/load-report.md)")
    args = parser.parse_args()

    from mne.db import normalise_url

    url = normalise_url(args.database_url)
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started_at = datetime.datetime.now(datetime.UTC)
    host = machine()
    seeded = None if args.existing else prepare(url, args.scale, args.reuse)
    mix = [int(part) for part in args.mix.split(",")]
    if len(mix) != 4 or min(mix) < 0 or not sum(mix):
        parser.error("--mix takes four weights, e.g. 60,20,15,5")
    plan = build_plan(url, args.users, args.wait, mix)
    plan_path = workdir / "plan.json"
    plan_path.write_text(json.dumps(plan))
    print(f"plan: {args.users} users, {plan['totals']['edits']} results to edit and "
          f"{plan['totals']['approvals']} to approve, {plan['totals']['officers']} officers", flush=True)
    server = Server(url, args.workers, workdir, args.pool_size)
    watch = ConnectionWatch(url)
    runs = []
    try:
        stamp = int(time.time())
        jobs = [("MneUser", args.duration, "mix")] + ([("Ceiling", args.ceiling_duration, "ceiling")]
                                                    if args.ceiling_duration else [])
        for user_class, seconds, label in jobs:
            before = cpu_seconds(server, url)
            run = run_locust(server, plan_path, user_class, args.users, seconds, workdir / f"{label}-{stamp}")
            total = next((r["requests"] for r in run["rows"] if r["name"] == "all requests"), 0)
            run["cpu_ms_per_request"] = cpu_per_request(before, cpu_seconds(server, url), total)
            runs.append(run)
    finally:
        connections = watch.stop()
        server.stop()
    errors_in_log = sum(1 for line in server.log.read_text(errors="replace").splitlines()
                        if "Traceback" in line or " 500 " in line)
    header = (f"Load test, {started_at:%Y-%m-%d %H:%M} UTC: {args.users} users for {args.duration} s, "
              + (f"think time {args.wait / 2:g}–{args.wait * 1.5:g} s" if args.wait else "no think time")
              + f", mix {args.mix} (dashboard, lists, saves and submissions, approvals)")
    report = "\n".join([
        header,
        f"Database: {'the given one' if args.existing else f'PostgreSQL, demo scale {args.scale}'}"
        + (f" (seeded in {seeded:.0f} s)" if seeded else "") + f"; `mne serve --workers {args.workers}`"
        + (f", MNE_DB_POOL_SIZE={args.pool_size}" if args.pool_size else "") + connections,
        f"Machine: {host}",
        f"Server log: {errors_in_log} tracebacks or 500s",
        "", table(runs), ""])
    for run in runs:
        cpu = run["cpu_ms_per_request"]
        report += (f"\nCPU per request ({'mix' if run['class'] == 'MneUser' else 'ceiling'}): app workers "
                   f"{cpu['app']:.0f} ms" + (f", PostgreSQL {cpu['database']:.0f} ms" if url.startswith("postgresql")
                                             else "") + "")
    for run in runs:
        for failure in run["failures"]:
            report += f"\nfailure ({run['class']}): {failure['count']} × {failure['name']}: {failure['error']}"
        if run["stderr"]:
            report += f"\nlocust ({run['class']}) exited {run['exit']}:\n{run['stderr']}"
    print(report, flush=True)
    report_path = Path(args.report) if args.report else workdir / "load-report.md"
    report_path.write_text(report + "\n")
    report_path.with_suffix(".json").write_text(json.dumps({"runs": runs, "server_errors": errors_in_log}, indent=1))
    failed = sum(r["failures"] for run in runs for r in run["rows"] if r["name"] == "all requests")
    return 1 if failed or errors_in_log or any(run["exit"] for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
