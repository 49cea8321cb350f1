"""Benchmark: the streamed exports at a demo scale, beside PostgreSQL's own COPY.

For each database (default: scale 30 on SQLite and PostgreSQL), on a demo database seeded as
``benchmarks/rollup.py`` seeds it (``--reuse`` keeps one that already holds the demo and never
reseeds it): serve the app with uvicorn on 127.0.0.1 (one worker, as ``mne serve``), make a
warm-up request (a one-project ``results.csv``) and read the server process's idle RSS, then
download each export with a regional reviewer's API token (httpx, streaming, the bytes
discarded) while a thread samples the server's ``VmRSS`` from ``/proc/<pid>/status`` every
50 ms; ``VmHWM`` (reset before each export through ``/proc/<pid>/clear_refs`` where the kernel
allows it) is read at the end. The peak of ``results.csv`` must stay within 100 MB of idle.

The ceiling, on PostgreSQL, in the same run: the app's own query (``mne.exports.results.query``,
compiled with literal binds for a reviewer's ``ExportRequest``) run through
``COPY (SELECT …) TO STDOUT WITH CSV HEADER`` with psycopg 3's ``cursor.copy``, data discarded
(once before the export to warm the cache, once after; the faster counts), and the same
query -- same joins, filters and order -- with its columns unformatted (the raw table columns
instead of the cells the app formats in SQL): what PostgreSQL alone costs to hand over these
rows. There is no COPY on SQLite: its export's rows/s and memory are reported alone.

    .venv/bin/python benchmarks/exports.py --scale 30 --databases sqlite,postgresql --reuse

prints a Markdown report: the machine, then a table per database.
"""

from __future__ import annotations

import argparse
import io
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Self

import httpx
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rollup import (
    Server,
    _holds_demo,
    api_token,
    checkpoint,
    database_url,
    machine,
    prepare,
)

from mne.auth.principal import Principal
from mne.base import Role
from mne.db import engine_for
from mne.exports import iptt, results
from mne.exports import request as export_request
from mne.filters import Filters

REVIEWER = "reviewer@mne.example"
MB = 1024 * 1024
SAMPLE_EVERY = 0.05
MEMORY_BUDGET_MB = 100


# --- the server's memory ------------------------------------------------------------------

def status_kb(pid: int, field_name: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def reset_hwm(pid: int) -> bool:
    """Reset the process's peak RSS (VmHWM) to its current RSS (Linux >= 4.0, own processes)."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


class Sampler:
    """VmRSS of a process every ``SAMPLE_EVERY`` seconds, in a thread, while in the ``with``."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak_kb = max(self.peak_kb, status_kb(self.pid, "VmRSS"))
                self.samples += 1
            except (OSError, KeyError):
                return
            self._stop.wait(SAMPLE_EVERY)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


# --- one download -------------------------------------------------------------------------

@dataclass
class Download:
    export: str
    rows: int
    rows_label: str
    seconds: float
    bytes: int
    idle_kb: int
    peak_kb: int  # the larger of the sampled VmRSS peak and VmHWM
    sampled_peak_kb: int
    hwm_kb: int | None
    status: int = 200
    notes: list[str] = field(default_factory=list)

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0

    @property
    def growth_mb(self) -> float:
        return (self.peak_kb - self.idle_kb) / 1024


def download(client: httpx.Client, server: Server, path: str, headers: dict, export: str,
             rows: int, rows_label: str) -> Download:
    pid = server.process.pid
    idle = status_kb(pid, "VmRSS")
    hwm_ok = reset_hwm(pid)
    size = 0
    with Sampler(pid) as sampler:
        started = time.perf_counter()
        with client.stream("GET", path, headers=headers) as response:
            for chunk in response.iter_raw():
                size += len(chunk)
            status = response.status_code
        seconds = time.perf_counter() - started
    hwm = status_kb(pid, "VmHWM") if hwm_ok else None
    peak = max(sampler.peak_kb, hwm or 0)
    return Download(export, rows, rows_label, seconds, size, idle, peak, sampler.peak_kb, hwm, status)


class _Chunks(io.RawIOBase):
    """A readable stream over an iterator of bytes (for csv.reader through TextIOWrapper)."""

    def __init__(self, chunks) -> None:
        self._chunks, self._rest = chunks, b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._rest:
            self._rest = next(self._chunks, b"")
            if not self._rest:
                return 0
        n = min(len(buffer), len(self._rest))
        buffer[:n], self._rest = self._rest[:n], self._rest[n:]
        return n


def csv_records(client: httpx.Client, path: str, headers: dict) -> int:
    """Records of a streamed CSV as Python's csv reader counts them (header excluded)."""
    import csv

    with client.stream("GET", path, headers=headers) as response:
        response.raise_for_status()
        text = io.TextIOWrapper(io.BufferedReader(_Chunks(response.iter_raw()), 256 * 1024),
                                encoding="utf-8-sig", newline="")
        return sum(1 for _ in csv.reader(text)) - 1


# --- the ceiling: PostgreSQL's COPY of the app's own query ---------------------------------

def reviewer_request(url: str, kind: str) -> export_request.ExportRequest:
    from sqlmodel import Session

    from mne.users import service as users

    with Session(engine_for(url)) as session:
        user = users.get_user_by_email(session, REVIEWER)
        countries, donors = users.user_scopes(session, user)
        principal = Principal(id=user.id, email=user.email, name=user.name, role=Role(user.role),
                              countries=frozenset(countries), donors=frozenset(donors), via="token")
        return export_request.build(session.connection(), principal, kind, Filters())


def count_of(url: str, module, kind: str) -> int:
    with engine_for(url).connect() as conn:
        return module.count(conn, reviewer_request(url, kind))


def copy_sql(url: str, raw: bool = False) -> str:
    """COPY of the export's query; ``raw``: the same FROM, WHERE and ORDER BY over plain columns."""
    stmt = results.query(reviewer_request(url, export_request.RESULTS))
    if raw:
        from mne.indicators.models import Indicator, IndicatorTarget
        from mne.projects.models import Project
        from mne.reference.models import Country, Priority
        from mne.results.models import Result

        r, i, p = Result.__table__.c, Indicator.__table__.c, Project.__table__.c
        t, c, pr = IndicatorTarget.__table__.c, Country.__table__.c, Priority.__table__.c
        stmt = stmt.with_only_columns(
            p.id, p.code, p.title, i.priority_code, pr.pillar, c.subregion_code, r.country_iso3, c.name, i.code,
            i.statement, i.level, i.measure, i.aggregation, i.direction, t.baseline, t.target, r.period_code,
            r.value, r.numerator, r.denominator, r.female, r.male, r.other, r.status, r.narrative,
            r.means_of_verification, r.submitted_at, r.approved_at, maintain_column_froms=False)
    compiled = stmt.compile(dialect=engine_for(url).dialect, compile_kwargs={"literal_binds": True})
    return f"COPY ({compiled}) TO STDOUT WITH CSV HEADER"


def code_version() -> str:
    """The commit measured, and whether mne/exports differs from it in the working tree."""
    import subprocess

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=False, cwd=ROOT, capture_output=True, text=True).stdout.strip()

    changed = git("diff", "--name-only", "HEAD", "--", "mne/exports").split()
    return f"commit {git('rev-parse', '--short', 'HEAD')}" + (f" (uncommitted changes: {', '.join(changed)})"
                                                              if changed else "")


@dataclass
class Copy:
    rows: int
    seconds: float
    bytes: int

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds


def pg_copy(url: str, sql: str) -> Copy:
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    size = newlines = 0
    with psycopg.connect(conninfo) as conn, conn.cursor() as cur:
        started = time.perf_counter()
        with cur.copy(sql) as copy:
            for data in copy:
                size += len(data)
                newlines += bytes(data).count(b"\n")
        seconds = time.perf_counter() - started
    return Copy(newlines - 1, seconds, size)  # no line breaks inside the demo's cells


# --- the report -----------------------------------------------------------------------------

def mb(kb: int | None) -> str:
    return "–" if kb is None else f"{kb / 1024:.0f} MB"


def report(kind: str, scale: int, downloads: list[Download], copy: Copy | None, raw: Copy | None,
           verified: int | None, expected: int) -> None:
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    print(f"\n### {name}, scale {scale}\n")
    print("| export | rows | seconds | rows/s | MB | idle RSS | peak RSS | peak − idle |")
    print("|---|---|---|---|---|---|---|---|")
    for d in downloads:
        if d.status != 200:
            print(f"| `{d.export}` | HTTP {d.status} | | | | | | |")
            continue
        print(f"| `{d.export}` | {d.rows:,} {d.rows_label} | {d.seconds:.1f} | {d.rows_per_s:,.0f} "
              f"| {d.bytes / MB:.0f} | {mb(d.idle_kb)} | {mb(d.peak_kb)} | {d.growth_mb:+.0f} MB |")
    for label, c in (("COPY of the export's query", copy), ("COPY of the same rows unformatted", raw)):
        if c is not None:
            print(f"| {label} | {c.rows:,} results | {c.seconds:.1f} | {c.rows_per_s:,.0f} "
                  f"| {c.bytes / MB:.0f} | – | – | – |")
    results_csv = downloads[0]
    print()
    within = results_csv.growth_mb <= MEMORY_BUDGET_MB
    print(f"- `results.csv` peak − idle: {results_csv.growth_mb:.0f} MB "
          f"({'within' if within else 'OVER'} the {MEMORY_BUDGET_MB} MB budget; "
          f"sampled VmRSS peak {mb(results_csv.sampled_peak_kb)}, VmHWM {mb(results_csv.hwm_kb)}).")
    if verified is not None:
        print(f"- Rows: {expected:,} results selected by the export's query; Python's csv reader counted "
              f"{verified:,} records in a second download ({'equal' if verified == expected else 'DIFFERENT'}).")
    if copy is None:
        print("- COPY ceiling: not applicable (SQLite has no COPY).")
    else:
        for label, c in (("COPY of the export's query", copy), ("COPY of the unformatted rows", raw)):
            ratio = results_csv.rows_per_s / c.rows_per_s
            print(f"- {label}: {c.rows_per_s:,.0f} rows/s; export / COPY = **{ratio:.2f}** "
                  f"({'meets' if ratio >= 0.5 else 'below'} the 0.5 goal).")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=30)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--workdir", default="/tmp/mne-bench")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/mne_bench")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the demo")
    parser.add_argument("--no-verify", action="store_true", help="skip the csv-reader count of results.csv")
    parser.add_argument("--only-results", action="store_true", help="results.csv only, not the other exports")
    args = parser.parse_args()
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}.")
    print(f"Code: {code_version()}.")
    scale = args.scale
    for kind in args.databases.split(","):
        url = database_url(kind, scale, args)
        if args.reuse and not _holds_demo(url, scale):
            # A benchmark must not silently reseed (and drop) a database someone else is filling.
            raise SystemExit(f"{url} does not hold the demo at scale {scale} (or is not migrated to head); "
                             "run without --reuse to seed it")
        prepare(url, scale, args.reuse)
        checkpoint(url)
        expected = count_of(url, results, export_request.RESULTS)
        headers = {"Authorization": f"Bearer {api_token(url, REVIEWER)}"}
        sql = copy_sql(url) if kind == "postgresql" else None
        raw_sql = copy_sql(url, raw=True) if sql else None
        copies = [pg_copy(url, sql)] if sql else []  # warms the cache the export reads too
        raws = [pg_copy(url, raw_sql)] if sql else []
        server = Server(url)
        downloads: list[Download] = []
        verified = None
        try:
            client = httpx.Client(base_url=server.base, timeout=httpx.Timeout(900.0))
            with engine_for(url).connect() as conn:
                some_project = conn.exec_driver_sql("SELECT min(code) FROM project").scalar()
            warm = client.get(f"/exports/results.csv?project={some_project}", headers=headers)
            assert warm.status_code == 200, (warm.status_code, warm.text[:300])
            time.sleep(1)
            downloads.append(download(client, server, "/exports/results.csv", headers, "results.csv",
                                      expected, "results"))
            if sql:
                copies.append(pg_copy(url, sql))
                raws.append(pg_copy(url, raw_sql))
            if not args.no_verify:
                verified = csv_records(client, "/exports/results.csv", headers)
            if not args.only_results:
                lines = count_of(url, iptt, export_request.IPTT)
                downloads.append(download(client, server, "/exports/iptt.csv", headers, "iptt.csv", lines, "lines"))
                downloads.append(download(client, server, "/exports/iptt.xlsx", headers, "iptt.xlsx", lines, "lines"))
                try:
                    from mne.exports import iati

                    activities = count_of(url, iati, export_request.IATI)
                except ImportError:
                    activities = 0
                d = download(client, server, "/exports/iati.xml", headers, "iati.xml", activities, "activities")
                if d.status != 404:  # 404: the route does not exist (yet)
                    downloads.append(d)
        finally:
            server.stop()
        copy = min(copies, key=lambda c: c.seconds) if copies else None
        raw = min(raws, key=lambda c: c.seconds) if raws else None
        report(kind, scale, downloads, copy, raw, verified, expected)


if __name__ == "__main__":
    main()
