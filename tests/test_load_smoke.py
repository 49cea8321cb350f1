"""The load test (benchmarks/load.py) still runs: five users for five seconds against a served
SQLite app holding a small world, with no failed request. Locust patches the standard library
for gevent, so it runs in a subprocess, never in this one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from tests.conftest import fresh_database
from tests.progress_world import World, open_periods

ROOT = Path(__file__).resolve().parent.parent
PERIODS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")


def small_world(url: str) -> None:
    """Two countries, each with ten lines of drafts to edit and fifteen of submitted results to
    approve (four periods each): enough that no user runs out in 5 s on an idle machine."""
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, *PERIODS)
        world = World(session)
        for country in ("KGZ", "TJK"):
            project = world.project(f"LOAD-{country}", countries=(country,))
            for n in range(25):
                indicator = world.indicator(project, f"I{n}", {country: (0, 1000)})
                for period in PERIODS:
                    world.report(indicator, country, period, 10 + n, "draft" if n < 10 else "submitted")
        session.commit()
    engine.dispose()


def test_load_script_runs_without_failures(tmp_path):
    url = f"sqlite:///{tmp_path / 'load.db'}"
    small_world(url)
    report = tmp_path / "report.md"
    done = subprocess.run(
        [sys.executable, "benchmarks/load.py", "--existing", "--database-url", url, "--users", "5",
         "--duration", "5", "--workers", "1", "--ceiling-duration", "0", "--workdir", str(tmp_path),
         "--report", str(report), "--wait", "0", "--mix", "40,20,20,20"],  # every kind surely made in 5 s
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [run] = json.loads(report.with_suffix(".json").read_text())["runs"]
    rows = {row["name"]: row for row in run["rows"]}
    assert rows["all requests"]["failures"] == 0 and run["failures"] == []
    # Every part of the mix was exercised (and answered as expected): a part of 20 % left out of
    # the 50 or more requests made in 5 s is a chance of 0.8^50, about 1 in 70,000.
    made = {part: sum(row["requests"] for name, row in rows.items() if name.startswith(prefixes))
            for part, prefixes in {"dashboard": ("GET /dashboard",),
                                   "lists": ("GET /projects", "GET /api/v1/results", "GET /review"),
                                   "saves": ("PUT /api/v1/results",),
                                   "approvals": ("POST /api/v1/results/[id]/approve",)}.items()}
    assert all(made.values()), made
    assert "| mix | **all requests** |" in report.read_text()
