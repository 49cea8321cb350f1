"""Benchmark: importing 100,000 results from one CSV file, in one transaction (issue 12).

For each database (default: SQLite and PostgreSQL), on a demo database seeded as
``benchmarks/rollup.py`` seeds it (scale 10 by default: about 37,000 indicator lines; ``--reuse``
keeps one that already holds the demo), prepared once for imports -- every reporting period
opened, and a country officer covering all 20 countries (``importer@mne.example``) -- the
script writes a CSV of ``--rows`` results (default 100,000): every draft and returned result of
a line in the officer's scope updated, the rest creates of results not reported yet, all within
their project's dates; about 5 % of the rows carry a breakdown by sex (and age, where the
indicator has it), a percentage's rows sometimes a numerator and denominator instead of a
value, and some rows a narrative or a means of verification (with commas, quotes, Cyrillic).

Each repetition copies the prepared database (SQLite: a file copy; PostgreSQL:
``CREATE DATABASE … TEMPLATE``) and, on the copy, runs in a child process of its own:

- the dry run: ``mne.imports.service.import_results(dry_run=True)``, rolled back;
- the write: ``import_results(dry_run=False)`` and the commit, whose ``settle`` refreshes the
  progress summaries of every line the file touched, once -- the whole of ``mne import results``
  but the interpreter's start.

The child times the phases by wrapping the functions that do them (reading the file, loading what
the rules read, deciding the rows, ``apply_writes``, ``settle`` and its parts) and reports its
peak RSS (``VmHWM``). After the last write the parent checks that every row of the file is
stored with its values, that the audit trail holds one event per written result, and that the
summaries equal a rebuild (``rebuild_all`` in a transaction rolled back afterwards, every row of
the three tables compared).

    .venv/bin/python benchmarks/imports.py --databases sqlite,postgresql --repeat 3 --reuse

prints a Markdown report: the machine, then a table per database (medians of the repetitions).
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rollup import checkpoint, database_url, machine, prepare

from mne.db import engine_for

IMPORTER = "importer@mne.example"
COLUMNS = ("project_code", "indicator_code", "country_iso3", "period", "value", "numerator", "denominator",
           "female", "male", "other", "age_0_17", "age_18_59", "age_60_plus", "narrative", "means_of_verification")
NARRATIVES = ("Reached through the mobile teams, as planned", 'Partner "Nadezhda" reported late; figures checked',
              "Отчёт районного офиса, данные сверены", "Lower than planned: the border crossing was closed, twice",
              "Includes the returnees, and the host families")
EVIDENCE = ("attendance sheets", "distribution lists, signed", "partner report Q-2", "список участников")


# --- the prepared database, and its copies -------------------------------------------------

def prepare_for_imports(url: str) -> None:
    """Every period open, and a country officer of every country (once; idempotent)."""
    from sqlmodel import Session

    from mne.reference.models import Country
    from mne.users import service as users

    engine = engine_for(url)
    with Session(engine) as session:
        session.execute(text("UPDATE period SET status = 'open' WHERE status <> 'open'"))
        if session.execute(text('SELECT 1 FROM "user" WHERE email = :e'), {"e": IMPORTER}).first() is None:
            countries = list(session.execute(text(f"SELECT iso3 FROM {Country.__tablename__}")).scalars())
            users.create_user(session, email=IMPORTER, password="Benchmark-Import-Officer-2026",
                              role="country_officer", name="Import benchmark", countries=countries)
        session.commit()
    engine.dispose()


def run_copy_url(url: str) -> str:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        return f"sqlite:///{path.with_name(path.stem + '-run.db')}"
    base = make_url(url)
    return base.set(database=f"{base.database}_run").render_as_string(hide_password=False)


def copy_database(template: str, target: str) -> float:
    """A fresh copy of the prepared database; returns the seconds it took."""
    started = time.perf_counter()
    if template.startswith("sqlite"):
        checkpoint(template)
        engine_for(template).dispose()
        engine_for(target).dispose()
        source, dest = make_url(template).database, make_url(target).database
        for suffix in ("-wal", "-shm"):
            Path(dest + suffix).unlink(missing_ok=True)
        shutil.copyfile(source, dest)
    else:
        engine_for(template).dispose()
        engine_for(target).dispose()
        admin = create_engine(make_url(template).set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            name, source = make_url(target).database, make_url(template).database
            assert name.startswith("mne_bench_imp"), name  # never touch anybody else's database
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        admin.dispose()
    return time.perf_counter() - started


# --- the file ---------------------------------------------------------------------------------

def build_file(url: str, rows: int, path: Path, seed: int = 1) -> dict:
    """Write the CSV; returns what it holds: {(indicator id, country, period): values}, and counts."""
    rng = random.Random(seed)
    with engine_for(url).connect() as conn:
        periods = [(code, start, end) for code, start, end in conn.execute(text(
            "SELECT code, start_date, end_date FROM period ORDER BY start_date"))]
        lines = conn.execute(text(
            "SELECT t.indicator_id, t.country_iso3, p.code, i.code, p.start_date, p.end_date, i.measure, "
            "i.disaggregation FROM indicator_target t JOIN indicator i ON i.id = t.indicator_id "
            "JOIN project p ON p.id = i.project_id ORDER BY p.code, i.position, i.code, t.country_iso3")).all()
        stored: dict[tuple[int, str], dict[str, str]] = defaultdict(dict)
        for iid, country, period, status in conn.execute(text(
                "SELECT indicator_id, country_iso3, period_code, status FROM result")):
            stored[(iid, country)][period] = status
    updates, creates = [], []
    for line in lines:
        iid, country, _project, _code, start, end, _measure, _split = line
        start, end = _day(start), _day(end)
        for code, p_start, p_end in periods:
            if _day(p_end) < start or _day(p_start) > end:
                continue
            status = stored[(iid, country)].get(code)
            if status is None:
                creates.append((line, code))
            elif status in ("draft", "returned"):
                updates.append((line, code))
    if len(updates) + len(creates) < rows:
        raise SystemExit(f"the database has {len(updates) + len(creates):,} free or draft slots, fewer than "
                         f"{rows:,} rows: seed a larger --scale")
    chosen = updates[:rows] + rng.sample(creates, max(0, rows - len(updates)))
    order = {(line[0], line[1]): n for n, line in enumerate(lines)}
    chosen.sort(key=lambda item: (order[(item[0][0], item[0][1])], item[1]))
    expected: dict[tuple[int, str, str], dict] = {}
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for (iid, country, project, code, _start, _end, measure, split), period in chosen:
            cells = _cells(rng, measure, split)
            writer.writerow([project, code, country, period, *(cells.get(c, "") for c in COLUMNS[4:])])
            expected[(iid, country, period)] = cells
    return {"expected": expected, "updates": min(len(updates), rows), "creates": rows - min(len(updates), rows),
            "bytes": path.stat().st_size}


def _day(value) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _cells(rng: random.Random, measure: str, split: str) -> dict:
    """One row's values, valid by the rules: a breakdown adds up to a number's value."""
    cells: dict = {}
    if measure == "percentage":
        if rng.random() < 0.1:
            denominator = rng.randint(10, 500)
            cells.update(numerator=rng.randint(0, denominator), denominator=denominator)
            cells["value_expected"] = round(100 * cells["numerator"] / denominator, 2)
        else:
            cells["value"] = round(rng.uniform(0, 100), 1)
        if split != "none" and rng.random() < 0.05:
            cells.update(female=round(rng.uniform(0, 100), 1), male=round(rng.uniform(0, 100), 1))
    else:
        value = rng.randint(0, 5000)
        cells["value"] = value
        if split != "none" and rng.random() < 0.05:
            female = value * 3 // 5
            cells.update(female=female, male=value - female)
            if split == "sex_age":
                cells.update(age_0_17=value // 3, age_18_59=value // 2, age_60_plus=value - value // 3 - value // 2)
    if rng.random() < 0.05:
        cells["narrative"] = rng.choice(NARRATIVES)
    if rng.random() < 0.03:
        cells["means_of_verification"] = rng.choice(EVIDENCE)
    return cells


# --- one measurement, in a child process ------------------------------------------------------

class Phases:
    """Seconds spent in wrapped functions (a call inside another wrapped one counts in both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - started

        setattr(owner, name, timed)


def status_kb(field_name: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise KeyError(field_name)


def child(mode: str, url: str, file: str, profile: str | None) -> None:
    from mne.db import WRITE, for_access
    from mne.exports.files import principal_for
    from mne.imports import results, service
    from mne.progress import snapshots
    from mne.results import service as result_service
    from mne.unit_of_work import UnitOfWork

    phases = Phases()
    phases.wrap(service, "read", "read the file")
    phases.wrap(results.FileKnown, "__init__", "load what the rules read")
    phases.wrap(results, "check", "check (load + decide every row)")
    phases.wrap(service, "_record", "keep the file (result_import)")
    phases.wrap(result_service, "apply_writes", "apply_writes (results + audit events)")
    phases.wrap(snapshots, "settle", "settle the summaries")
    phases.wrap(snapshots, "_refresh_lines", "settle: line summaries")
    phases.wrap(snapshots, "refresh_cells", "settle: region and project sums")
    content = Path(file).read_bytes()
    upload = service.Upload(content, Path(file).name)
    limits = service.Limits(max_bytes=len(content) + 1, max_rows=10_000_000)
    engine = for_access(engine_for(url), WRITE)
    with UnitOfWork(engine, expire_on_commit=False) as session:  # warm: the connection, the imports
        principal = principal_for(session, IMPORTER)
        session.rollback()
    rss_before = status_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:  # VmHWM from here on
        f.write("5")
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    with UnitOfWork(engine, expire_on_commit=False) as session:
        report = service.import_results(session, principal, upload, limits, dry_run=mode == "dry")
        if mode == "write":
            commit_started = time.perf_counter()
            session.commit()
            phases.seconds["commit (settle included)"] = time.perf_counter() - commit_started
    seconds = time.perf_counter() - started
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    print(json.dumps({"seconds": seconds, "phases": phases.seconds, "rss_before_kb": rss_before,
                      "peak_kb": status_kb("VmHWM"), "counts": report.counts.model_dump(),
                      "problems": [p.model_dump() for p in report.problems[:5]], "written": report.written}))


def measure(mode: str, url: str, file: Path, profile: str | None = None) -> dict:
    args = [sys.executable, __file__, "--child", mode, "--url", url, "--file", str(file)]
    if profile:
        args += ["--profile", profile]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- checking what was written ----------------------------------------------------------------

def verify(url: str, expected: dict, counts_before: dict) -> list[str]:
    """Every row stored with its values; one audit event per written result; the summaries
    equal a rebuild. Returns what was found, in words."""
    notes = []
    with engine_for(url).connect() as conn:
        found = mismatched = 0
        for iid, country, period, value, *rest in conn.execute(text(
                "SELECT indicator_id, country_iso3, period_code, value, numerator, denominator, female, male, "
                "other, age_0_17, age_18_59, age_60_plus, narrative, means_of_verification, updated_by_id "
                "FROM result WHERE updated_at >= :since"), {"since": counts_before["at"]}):
            cells = expected.get((iid, country, period))
            if cells is None:
                continue
            found += 1
            want = cells.get("value", cells.get("value_expected"))
            stored = dict(zip(COLUMNS[5:], rest[:-1], strict=True))
            same = math.isclose(value, want, rel_tol=1e-9, abs_tol=1e-9) and all(
                (stored[c] or None) == (cells.get(c) or None) if c in ("narrative", "means_of_verification")
                else (stored[c] is None and c not in cells) or (stored[c] is not None and c in cells
                                                                and math.isclose(stored[c], cells[c]))
                for c in COLUMNS[5:])
            mismatched += not same
        results = conn.execute(text("SELECT count(*) FROM result")).scalar()
        events = conn.execute(text("SELECT count(*) FROM audit_event WHERE reason LIKE 'imported from %'")).scalar()
    notes.append(f"{found:,} of {len(expected):,} rows of the file stored as written"
                 f"{'' if not mismatched else f', {mismatched:,} with other values'}; results "
                 f"{counts_before['results']:,} → {results:,}; {events:,} audit events of the import")
    notes.append(summaries_equal_rebuild(url))
    return notes


SUMMARY_TABLES = {"line_summary": ("indicator_id", "country_iso3", "period_code"),
                  "region_summary": ("period_code", "priority_code", "country_iso3", "standard_code"),
                  "project_summary": ("project_id", "period_code", "priority_code", "country_iso3")}


def summaries_equal_rebuild(url: str) -> str:
    """Copy the three tables, rebuild them from scratch, compare every row; all rolled back."""
    from mne.progress.snapshots import rebuild_all

    with engine_for(url).connect() as conn, conn.begin() as transaction:
        for table in SUMMARY_TABLES:
            conn.execute(text(f"CREATE TEMPORARY TABLE before_{table} AS SELECT * FROM {table}"))
        started = time.perf_counter()
        rebuild_all(conn)
        rebuilt_in = time.perf_counter() - started
        parts = []
        for table, key in SUMMARY_TABLES.items():
            order = ", ".join(key)
            stream = {"stream_results": True, "yield_per": 5000}  # two cursors side by side, never all rows
            before = conn.execute(text(f"SELECT * FROM before_{table} ORDER BY {order}"), execution_options=stream)
            after = conn.execute(text(f"SELECT * FROM {table} ORDER BY {order}"), execution_options=stream)
            rows = differ = 0
            for a, b in itertools.zip_longest(before, after):
                rows += 1
                differ += a is None or b is None or not _same_row(a, b)
            parts.append(f"{table} {rows:,} rows{'' if not differ else f' ({differ:,} DIFFERENT)'}")
        transaction.rollback()
    return f"summaries equal a rebuild ({rebuilt_in:.0f} s): " + ", ".join(parts)


def _same_row(a, b) -> bool:
    for x, y in zip(a, b, strict=True):
        if isinstance(x, float) and isinstance(y, float):
            if not math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9):
                return False
        elif x != y:
            return False
    return True


def before_counts(url: str) -> dict:
    with engine_for(url).connect() as conn:
        at = conn.execute(text("SELECT max(updated_at) FROM result")).scalar()
        return {"results": conn.execute(text("SELECT count(*) FROM result")).scalar(), "at": at}


# --- the report --------------------------------------------------------------------------------

def report(kind: str, scale: int, built: dict, rows: int, dry: list[dict], write: list[dict],
           copies: list[float], notes: list[str]) -> None:
    name = "SQLite" if kind == "sqlite" else "PostgreSQL"
    print(f"\n### {name}, scale {scale}: {rows:,} rows ({built['creates']:,} creates, {built['updates']:,} "
          f"updates of drafts and returned results), {built['bytes'] / 1024 / 1024:.1f} MB\n")
    print("| run | seconds (median) | each run | rows/s | RSS before | peak RSS |")
    print("|---|---|---|---|---|---|")
    for label, runs in (("dry run", dry), ("write, one transaction, summaries settled", write)):
        seconds = statistics.median(r["seconds"] for r in runs)
        each = ", ".join(f"{r['seconds']:.1f}" for r in runs)
        print(f"| {label} | {seconds:.1f} | {each} | {rows / seconds:,.0f} "
              f"| {statistics.median(r['rss_before_kb'] for r in runs) / 1024:.0f} MB "
              f"| {max(r['peak_kb'] for r in runs) / 1024:.0f} MB |")
    print("\nWhere the time goes (medians, seconds; a phase inside another counts in both):\n")
    print("| phase | dry run | write |")
    print("|---|---|---|")
    labels = list(dict.fromkeys([*dry[0]["phases"], *write[0]["phases"]]))
    for label in labels:
        values = [statistics.median(r["phases"].get(label, 0.0) for r in runs) for runs in (dry, write)]
        print(f"| {label} | " + " | ".join(f"{v:.1f}" if v else "–" for v in values) + " |")
    print(f"\n- Counts of the write: {write[-1]['counts']}.")
    print(f"- Copying the prepared database before each run: {statistics.median(copies):.1f} s (not counted).")
    for note in notes:
        print(f"- {note}.")
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/mne-bench-imp")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/mne_bench_imp")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the demo")
    parser.add_argument("--no-verify", action="store_true", help="skip checking the last write")
    parser.add_argument("--profile", help="write a cProfile of the last write to this file")
    parser.add_argument("--child", choices=("dry", "write"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.file, args.profile)
        return
    if not make_url(args.pg_url).database.startswith("mne_bench_imp"):
        raise SystemExit("--pg-url must name a database starting with mne_bench_imp")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}.")
    for kind in args.databases.split(","):
        url = database_url(kind, args.scale, args)
        seeded = prepare(url, args.scale, args.reuse)
        if seeded is not None:
            print(f"(seeded scale {args.scale} on {kind} in {seeded:.0f} s)")
        prepare_for_imports(url)
        checkpoint(url)
        file = Path(args.workdir) / f"import-{kind}-{args.rows}.csv"
        built = build_file(url, args.rows, file)
        run_url = run_copy_url(url)
        dry, write, copies, notes = [], [], [], []
        for n in range(args.repeat):
            copies.append(copy_database(url, run_url))
            dry.append(measure("dry", run_url, file))
            counts = before_counts(run_url)
            last = n == args.repeat - 1
            write.append(measure("write", run_url, file, args.profile if last else None))
            if last and not args.no_verify:
                notes = verify(run_url, built["expected"], counts)
            engine_for(run_url).dispose()
        report(kind, args.scale, built, args.rows, dry, write, copies, notes)


if __name__ == "__main__":
    os.environ.setdefault("MNE_SECRET_KEY", "benchmark-secret-key-0123456789abcdef")
    main()
