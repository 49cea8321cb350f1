"""Benchmark: a reviewer approves 500 submitted results in one action (issue 14, part 4).

For each database (default: SQLite and PostgreSQL), on a demo database seeded as
``benchmarks/rollup.py`` seeds it (scale 10 by default: 3,700 projects, 37,618 indicator lines,
285,416 results, about 7,600 of them submitted in the open periods; ``--reuse`` keeps one that
already holds the demo, ``--pg-template`` names another PostgreSQL database to copy instead),
each repetition copies it (SQLite: a file copy; PostgreSQL: ``CREATE DATABASE … TEMPLATE``; not
counted) and, on the copy, in a child process of its own, approves ``--ids`` submitted results
of the open periods (a sample drawn with a fixed seed, spread over the queue) as the demo's
reviewer:

- ``approve_many``: ``mne.results.service.approve_many`` (the read, the checks, the
  compare-and-set UPDATE and the audit events), then the commit, whose ``settle`` refreshes the
  summaries of every line touched — what ``POST /api/v1/results/approve`` and the queue's
  "Approve selected" do, without HTTP;
- the same through the API, on another copy: ``POST /api/v1/results/approve`` through
  Starlette's TestClient (in process), token authentication and JSON included.

The child also times the review queue's first page (50 rows with their context) and the same
page filtered to unflagged results (which reads the flags of every waiting result), before the
approval. After each run the parent checks that every id was approved, that the audit trail
holds one ``result.approve`` event each, and that the touched lines' summaries moved.

    .venv/bin/python benchmarks/bulk_approve.py --databases sqlite,postgresql --repeat 3 --reuse

prints a Markdown report: the machine, then a table per database (medians of the repetitions).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from rollup import checkpoint, database_url, machine, prepare

from mne.db import engine_for

REVIEWER = "reviewer@mne.example"  # the demo's regional reviewer
COPY_PREFIX = "mne_bench_bulk"


# --- the copies -------------------------------------------------------------------------------

def run_copy_url(url: str) -> str:
    if url.startswith("sqlite"):
        path = Path(make_url(url).database)
        return f"sqlite:///{path.with_name(path.stem + '-bulk.db')}"
    return make_url(url).set(database=f"{COPY_PREFIX}_run").render_as_string(hide_password=False)


def copy_database(template: str, target: str) -> None:
    if template.startswith("sqlite"):
        checkpoint(template)
        engine_for(template).dispose()
        engine_for(target).dispose()
        dest = make_url(target).database
        for suffix in ("-wal", "-shm"):
            Path(dest + suffix).unlink(missing_ok=True)
        shutil.copyfile(make_url(template).database, dest)
        return
    engine_for(template).dispose()
    engine_for(target).dispose()
    admin = create_engine(make_url(template).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        name = make_url(target).database
        assert name.startswith(COPY_PREFIX), name  # never touch anybody else's database
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(template).database}"'))
    admin.dispose()


def choose(url: str, n: int, seed: int = 1) -> list[int]:
    """``n`` submitted results of the open periods, drawn with a fixed seed."""
    with engine_for(url).connect() as conn:
        ids = list(conn.execute(text(
            "SELECT r.id FROM result r JOIN period p ON p.code = r.period_code "
            "WHERE r.status = 'submitted' AND p.status = 'open' ORDER BY r.id")).scalars())
    if len(ids) < n:
        raise SystemExit(f"only {len(ids)} submitted results in open periods: seed a larger --scale")
    return sorted(random.Random(seed).sample(ids, n))


# --- one measurement, in a child process ------------------------------------------------------

def child(mode: str, url: str, ids_file: str) -> None:
    from mne.db import WRITE, for_access
    from mne.exports.files import principal_for
    from mne.filters import Filters
    from mne.progress import snapshots
    from mne.results import review
    from mne.results import service as result_service
    from mne.unit_of_work import UnitOfWork

    ids = json.loads(Path(ids_file).read_text())
    seconds: dict[str, float] = defaultdict(float)

    def timed(owner, name: str, label: str) -> None:
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                seconds[label] += time.perf_counter() - started

        setattr(owner, name, wrapper)

    timed(snapshots, "settle", "settle the summaries (in the commit)")
    timed(snapshots, "_refresh_lines", "settle: line summaries")
    timed(snapshots, "refresh_cells", "settle: region and project sums")
    engine = for_access(engine_for(url), WRITE)
    with UnitOfWork(engine, expire_on_commit=False) as session:  # warm: the connection, the imports
        principal = principal_for(session, REVIEWER)
        for label, flags in (("queue page 1 (50 rows with context)", ""),
                             ("queue page 1, unflagged only", "unflagged")):
            started = time.perf_counter()
            items, total = review.review_queue(session, principal, filters=Filters(), period=None, page=1,
                                               flags=flags)
            seconds[label] = time.perf_counter() - started
            seconds[label + ": rows"] = len(items)
            seconds[label + ": matching"] = total
        session.rollback()
    if mode == "service":
        started = time.perf_counter()
        with UnitOfWork(engine, expire_on_commit=False) as session:
            begun = time.perf_counter()
            summary = result_service.approve_many(session, principal, ids)
            seconds["approve_many"] = time.perf_counter() - begun
            begun = time.perf_counter()
            session.commit()
            seconds["commit"] = time.perf_counter() - begun
        seconds["total"] = time.perf_counter() - started
    else:
        from fastapi.testclient import TestClient

        from mne.app import create_app
        from mne.config import Settings
        from mne.users import service as users

        with UnitOfWork(engine, expire_on_commit=False) as session:
            _, secret = users.create_token(session, users.get_user_by_email(session, REVIEWER))
            session.commit()
        app = create_app(Settings(database_url=url, secret_key="bench-secret-key-0123456789abcdef", demo=False))
        with TestClient(app) as client:
            headers = {"Authorization": f"Bearer {secret}"}
            assert client.get("/api/v1/results?limit=1", headers=headers).status_code == 200  # warm
            started = time.perf_counter()
            response = client.post("/api/v1/results/approve", json={"ids": ids}, headers=headers)
            seconds["total"] = time.perf_counter() - started
        assert response.status_code == 200, response.text
        summary = result_service.BulkApproval.model_validate(response.json())
    print(json.dumps({"seconds": seconds, "approved": len(summary.approved), "refused": len(summary.refused)}))


def measure(mode: str, url: str, ids_file: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", mode, "--url", url, "--ids-file", str(ids_file)],
                          cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} run failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verify(url: str, ids: list[int], summaries: bool) -> str:
    """Every id approved and one approval event each; with ``summaries``, the stored summaries
    compared with a recomputation from scratch (``mne db rebuild-summaries --check``)."""
    listed = ",".join(str(i) for i in ids)
    with engine_for(url).connect() as conn:
        rows = dict(conn.execute(text(f"SELECT status, count(*) FROM result WHERE id IN ({listed}) GROUP BY status")
                                 ).all())
        events = conn.execute(text(
            "SELECT count(*) FROM audit_event WHERE action = 'result.approve' AND entity = 'result' "
            f"AND entity_id IN ({','.join(repr(str(i)) for i in ids)})")).scalar()
    found = f"statuses {rows}, {events} approval events"
    if summaries:
        from mne.progress.check import check_summaries

        report = check_summaries(engine_for(url))
        found += (f"; the summaries equal a recomputation ({report.rows_compared:,} rows compared)" if report.equal
                  else f"; {report.count} summary differences, e.g. {report.differences[:3]}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=10)
    parser.add_argument("--ids", type=int, default=500)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workdir", default="/tmp/mne-bench-bulk")
    parser.add_argument("--pg-url", default=f"postgresql+psycopg://postgres@127.0.0.1:5432/{COPY_PREFIX}")
    parser.add_argument("--pg-template", help="a PostgreSQL database holding the demo, to copy instead of seeding")
    parser.add_argument("--sqlite-template", help="a SQLite file holding the demo, to copy instead of seeding")
    parser.add_argument("--reuse", action="store_true", help="keep a database that already holds the demo")
    parser.add_argument("--child", choices=("service", "api"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--ids-file", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.url, args.ids_file)
        return
    if not make_url(args.pg_url).database.startswith(COPY_PREFIX):
        raise SystemExit(f"--pg-url must name a database starting with {COPY_PREFIX}")
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    print(f"Machine: {machine()}.")
    for kind in args.databases.split(","):
        if kind == "postgresql" and args.pg_template:
            template = make_url(args.pg_url).set(database=args.pg_template).render_as_string(hide_password=False)
        elif kind == "sqlite" and args.sqlite_template:
            template = f"sqlite:///{Path(args.sqlite_template).resolve()}"
        else:
            template = database_url(kind, args.scale, args)
            prepare(template, args.scale, args.reuse)
        copy = run_copy_url(template if kind == "postgresql" else database_url(kind, args.scale, args))
        ids = choose(template, args.ids)
        ids_file = Path(args.workdir) / "ids.json"
        ids_file.write_text(json.dumps(ids))
        runs: dict[str, list[dict]] = defaultdict(list)
        for _ in range(args.repeat):
            for mode in ("service", "api"):
                copy_database(template, copy)
                result = measure(mode, copy, ids_file)
                if result["approved"] != len(ids):
                    raise SystemExit(f"{mode}: approved {result['approved']} of {len(ids)}")
                result["check"] = verify(copy, ids, summaries=mode == "service" and _ == args.repeat - 1)
                runs[mode].append(result)
        print(f"\n### {kind} (scale {args.scale}, {len(ids)} ids)\n")
        print("| step | seconds, median (each) |\n|---|---|")
        service = [r["seconds"] for r in runs["service"]]
        for label in ("approve_many", "settle the summaries (in the commit)", "settle: line summaries",
                      "settle: region and project sums", "commit", "total"):
            values = [s.get(label, 0.0) for s in service]
            print(f"| service: {label} | {_fmt(values)} |")
        print(f"| API: POST /api/v1/results/approve | {_fmt([r['seconds']['total'] for r in runs['api']])} |")
        for label in ("queue page 1 (50 rows with context)", "queue page 1, unflagged only"):
            values = [r["seconds"][label] for r in runs["service"] + runs["api"]]
            matching = runs["service"][0]["seconds"][label + ": matching"]
            print(f"| {label} ({matching:.0f} matching) | {_fmt(values)} |")
        print(f"\nChecked after each run: {runs['service'][-1]['check']}.")


def _fmt(values: list[float]) -> str:
    return f"**{statistics.median(values):.3f}** ({', '.join(f'{v:.3f}' for v in values)})"


if __name__ == "__main__":
    main()
