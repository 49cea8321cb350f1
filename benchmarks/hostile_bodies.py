"""What a hostile request body costs the event loop (issue 13, item 7 and the outside review).

FastAPI parses and validates a JSON body on the event loop, before a sync route moves to the
threadpool, so this work stalls every other request of the worker (e.g. `/healthz`) while it
runs. With the body size limit (MNE_MAX_BODY_BYTES, 1 MB) and the schemas' caps it is bounded;
this measures how much, for bodies just under the limit, through the whole app (TestClient, a
fresh SQLite database, an officer's token):

    .venv/bin/python benchmarks/hostile_bodies.py [--repeat 5]

Each figure is the median wall time of one request, from sending to the answer.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fastapi.testclient import TestClient  # noqa: E402

from mne.app import create_app  # noqa: E402
from mne.config import Settings  # noqa: E402
from mne.db import engine_for  # noqa: E402
from mne.unit_of_work import UnitOfWork  # noqa: E402
from tests import factories  # noqa: E402
from tests.conftest import TEST_SECRET, fresh_database  # noqa: E402

LIMIT = 1024 * 1024
BASE = {"code": "B-1", "title": "t", "start_date": "2024-01-01", "end_date": "2024-12-31",
        "countries": ["KGZ"], "priorities": ["SP1"]}


def near_limit(make) -> str:
    """The largest body `make(n)` builds that stays under the limit (n found by doubling, then halving)."""
    low, high = 1, 2
    while len(make(high)) < LIMIT:
        low, high = high, high * 2
    while high - low > 1:
        mid = (low + high) // 2
        low, high = (mid, high) if len(make(mid)) < LIMIT else (low, mid)
    return make(low)


BODIES = {
    "20,000 distinct countries (the review's body)": lambda: json.dumps(
        {**BASE, "countries": [f"{i:03d}" for i in range(20_000)]}),
    "countries up to 1 MB": lambda: near_limit(lambda n: json.dumps({**BASE, "countries": [f"{i:03d}" for i in range(n)]})),
    "donors up to 1 MB": lambda: near_limit(lambda n: json.dumps({**BASE, "donors": [{"code": f"D{i}"} for i in range(n)]})),
    "unknown keys up to 1 MB": lambda: near_limit(lambda n: json.dumps({**BASE, **{f"k{i}": 1 for i in range(n)}})),
    "countries of wrong type up to 1 MB": lambda: near_limit(lambda n: json.dumps({**BASE, "countries": [1] * n})),
    "unknown keys in 50 donors up to 1 MB": lambda: near_limit(lambda n: json.dumps(
        {**BASE, "donors": [{f"k{i}": 1 for i in range(n)}] * 50})),
    "a 1 MB summary": lambda: near_limit(lambda n: json.dumps({**BASE, "summary": "x" * n})),
    "NUL in every of 1 MB of markers": lambda: near_limit(lambda n: json.dumps({**BASE, "markers": ["\x00"] * n})),
    "nested arrays up to 1 MB": lambda: near_limit(lambda n: "[" * n + "]" * n),
    "a 1 MB body over the limit (413)": lambda: json.dumps({**BASE, "summary": "x" * LIMIT}),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = fresh_database(f"sqlite:///{tmp}/bench.db")
        with UnitOfWork(engine_for(url)) as session:
            headers = factories.token(session, "country_officer", countries=["KGZ"])
            session.commit()
        app = create_app(Settings(database_url=url, secret_key=TEST_SECRET))
        with TestClient(app, raise_server_exceptions=False) as client:
            print(f"{'body':48} {'bytes':>9} {'status':>6} {'median ms':>10}")
            for name, make in BODIES.items():
                body = make()
                times, status = [], None
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    response = client.post("/api/v1/projects", content=body,
                                           headers={**headers, "content-type": "application/json"})
                    times.append((time.perf_counter() - start) * 1000)
                    status = response.status_code
                print(f"{name:48} {len(body):>9,} {status:>6} {statistics.median(times):>10.1f}")


if __name__ == "__main__":
    main()
