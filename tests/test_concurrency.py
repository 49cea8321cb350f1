"""Many requests at once, over real HTTP, against `mne serve` on SQLite and PostgreSQL.

Before this was tested, two API calls with one token froze the server on PostgreSQL: each
request's bearer-token lookup ran on the event loop and updated `api_token.last_used_at`, the
second waited there for the first's row lock, and the first could never commit because its
commit needed the event loop. These tests fire requests together and watch `/healthz`.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from mne.db import READ, WRITE, engine_for
from mne.results.models import Result
from mne.audit.models import AuditEvent
from mne.users import service as users
from mne.users.models import ApiToken
from mne.unit_of_work import UnitOfWork, session_scope
from tests import factories
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import World, open_periods
from tests.serving import Served, serve

QUARTERS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")
LINES = 25  # indicators of the KGZ project: 20 savers on lines of their own, and spares
# Seconds. A freeze shows as the database timeout (10 s) or a hang; on 2 shared cores the
# first probe beside 20 busy requests was once seen at 1.18 s, so the bound leaves it room.
HEALTHZ_LIMIT = 2.0


@dataclass
class Site:
    """A served app with its committed test world."""

    db_url: str
    served: Served
    officer_tokens: list[str]
    reviewer_tokens: list[str]
    indicator_ids: list[int]
    officer_email: str
    reviewer_email: str
    backend: str

    @property
    def url(self) -> str:
        return self.served.url


def build_world(url: str) -> dict:
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, *QUARTERS)
        world = World(session)
        project = world.project("CONC-KGZ", countries=("KGZ",), priorities=("SP1",))
        ids = [world.indicator(project, f"L{n:02}", {"KGZ": (0, 1000)}) for n in range(LINES)]
        officer = world.officer("KGZ")
        officer_user = users.get_user_by_email(session, officer.email)
        officer_tokens = [users.create_token(session, officer_user, f"t{n}")[1] for n in range(20)]
        reviewer_tokens = [users.create_token(session, world.reviewer_user, f"r{n}")[1] for n in range(4)]
        session.commit()
        return {"officer_tokens": officer_tokens, "reviewer_tokens": reviewer_tokens, "indicator_ids": ids,
                "officer_email": officer.email, "reviewer_email": world.reviewer_user.email}


@pytest.fixture(scope="module", params=BACKENDS)
def site(request, tmp_path_factory):
    workdir = tmp_path_factory.mktemp(f"served-{request.param}")
    url = f"sqlite:///{workdir / 'served.db'}" if request.param == "sqlite" else pg_database_url("served")
    world = build_world(url)
    with serve(url, workdir) as served:
        yield Site(db_url=url, served=served, backend=request.param, **world)
    engine_for(url).dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class HealthWatch:
    """Polls /healthz every 50 ms while a test's requests run."""

    url: str
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    async def run(self, stop: asyncio.Event) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                response = await client.get("/healthz")
                self.latencies.append(time.perf_counter() - started)
                self.statuses.append(response.status_code)
                await asyncio.sleep(0.05)

    def check(self, what: str, **figures) -> None:
        """Assert /healthz answered 200 within the limit throughout; print the test's figures
        (`pytest -s -k concurrency` shows them)."""
        assert self.statuses and set(self.statuses) == {200}, Counter(self.statuses)
        assert max(self.latencies) < HEALTHZ_LIMIT, f"/healthz took {max(self.latencies):.2f} s"
        shown = ", ".join(f"{k} {v:.2f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items())
        print(f"\n[{what}] {shown}; /healthz polled {len(self.latencies)} times, max {max(self.latencies) * 1000:.0f} ms")


async def together(url: str, calls, *, watch: bool = True) -> tuple[list[httpx.Response], HealthWatch, float]:
    """Send every call at once (each on its own connection) while /healthz is watched.
    `calls` are functions of a client that return a coroutine giving a response."""
    health = HealthWatch(url)
    stop = asyncio.Event()
    limits = httpx.Limits(max_connections=len(calls) + 5, max_keepalive_connections=0)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        watcher = asyncio.create_task(health.run(stop)) if watch else None
        started = time.perf_counter()
        try:
            responses = await asyncio.gather(*(call(client) for call in calls))
        finally:
            elapsed = time.perf_counter() - started
            stop.set()
            if watcher:
                await watcher
    return list(responses), health, elapsed


def run(coro):
    """Run a scenario on an event loop of its own thread (Playwright's sync API may hold the
    main thread's loop when browser tests ran first)."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()


def test_twenty_reads_with_one_token(site):
    token = site.officer_tokens[0]
    paths = ["/api/v1/countries", "/api/v1/rollup?by=priority", "/api/v1/indicator-lines?country=KGZ",
             "/api/v1/results?country=KGZ"] * 5
    responses, health, elapsed = run(together(site.url, [
        (lambda c, p=p: c.get(p, headers=bearer(token))) for p in paths]))
    assert [r.status_code for r in responses] == [200] * 20, [r.text[:200] for r in responses if r.status_code != 200]
    health.check(f"{site.backend}: 20 reads, one token", all_200_in_s=elapsed)


def test_twenty_reads_with_twenty_tokens(site):
    responses, health, elapsed = run(together(site.url, [
        (lambda c, t=t: c.get("/api/v1/countries", headers=bearer(t))) for t in site.officer_tokens]))
    assert [r.status_code for r in responses] == [200] * 20
    health.check(f"{site.backend}: 20 reads, 20 tokens", all_200_in_s=elapsed)
    # Each token's use is recorded at most once per interval, as bookkeeping that may skip
    # under contention (SQLite's single writer) and catches up on the token's next use.
    def last_used() -> dict[str, object]:
        with UnitOfWork(engine_for(site.db_url)) as session:
            return dict(session.exec(select(ApiToken.name, ApiToken.last_used_at).where(
                ApiToken.name.like("t%"))).all())

    after_burst = last_used()
    assert any(after_burst.values())
    with httpx.Client(base_url=site.url, timeout=30) as client:
        for t in site.officer_tokens:
            assert client.get("/api/v1/countries", headers=bearer(t)).status_code == 200
    after_next = last_used()
    assert len(after_next) == 20 and all(after_next.values())
    assert {k: v for k, v in after_next.items() if after_burst[k]} == {k: v for k, v in after_burst.items() if v}


def test_twenty_saves_of_one_result_with_one_version(site):
    token, line = site.officer_tokens[0], site.indicator_ids[0]
    with httpx.Client(base_url=site.url, timeout=30) as client:
        created = client.put("/api/v1/results", headers=bearer(token),
                             json={"indicator_id": line, "country": "KGZ", "period": "2022Q1", "value": 1})
    assert created.status_code == 200, created.text
    rid, version = created.json()["id"], created.json()["version"]
    values = [100 + n for n in range(20)]
    responses, health, elapsed = run(together(site.url, [
        (lambda c, v=v, t=t: c.put("/api/v1/results", headers=bearer(t), json={
            "indicator_id": line, "country": "KGZ", "period": "2022Q1", "value": v, "version": version}))
        for v, t in zip(values, site.officer_tokens)]))
    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: 19}, codes
    assert all(r.json()["error"]["code"] == "conflict" for r in responses if r.status_code == 409)
    winner = next(r.json() for r in responses if r.status_code == 200)
    health.check(f"{site.backend}: 20 saves of one result, one version", answers=dict(codes), in_s=elapsed)
    with UnitOfWork(engine_for(site.db_url)) as session:
        stored = session.get(Result, rid)
        assert (stored.value, stored.version) == (winner["value"], version + 1)
        updates = session.exec(select(AuditEvent).where(AuditEvent.entity == "result", AuditEvent.entity_id == str(rid),
                                                        AuditEvent.action == "result.update")).all()
        assert len(updates) == 1


def test_twenty_saves_of_different_lines(site):
    lines = site.indicator_ids[1:21]
    responses, health, elapsed = run(together(site.url, [
        (lambda c, line=line, t=t: c.put("/api/v1/results", headers=bearer(t), json={
            "indicator_id": line, "country": "KGZ", "period": "2022Q2", "value": 7}))
        for line, t in zip(lines, site.officer_tokens)]))
    assert [r.status_code for r in responses] == [200] * 20, [r.text[:200] for r in responses if r.status_code != 200]
    health.check(f"{site.backend}: 20 saves of different lines", all_200_in_s=elapsed)
    with UnitOfWork(engine_for(site.db_url)) as session:
        saved = session.exec(select(Result).where(Result.period_code == "2022Q2", Result.indicator_id.in_(lines))).all()
        assert len(saved) == 20


async def sign_in(client: httpx.AsyncClient, email: str, password: str = factories.PASSWORD) -> httpx.Response:
    page = await client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    return await client.post("/login", data={"email": email, "password": password, "csrf_token": csrf, "next": "/"})


def test_ten_sign_ins_while_reads_go_on(site):
    async def scenario():
        limits = httpx.Limits(max_connections=40, max_keepalive_connections=0)
        browsers = [httpx.AsyncClient(base_url=site.url, timeout=60, limits=limits) for _ in range(10)]
        emails = [site.officer_email, site.reviewer_email] * 5
        stop = asyncio.Event()
        health = HealthWatch(site.url)
        reads: list[int] = []

        async def reader(token: str) -> None:
            async with httpx.AsyncClient(base_url=site.url, timeout=60) as client:
                while not stop.is_set():
                    reads.append((await client.get("/api/v1/rollup?by=country", headers=bearer(token))).status_code)

        background = [asyncio.create_task(health.run(stop))] + [
            asyncio.create_task(reader(t)) for t in site.officer_tokens[:4]]
        try:
            await asyncio.sleep(0.2)
            signed = await asyncio.gather(*(sign_in(b, e) for b, e in zip(browsers, emails)))
            await asyncio.sleep(0.2)
        finally:
            stop.set()
            await asyncio.gather(*background)
            for b in browsers:
                await b.aclose()
        return signed, reads, health

    signed, reads, health = run(scenario())
    assert [r.status_code for r in signed] == [303] * 10, [r.text[:200] for r in signed]
    assert all("mne_session" in r.cookies for r in signed)
    assert reads and set(reads) == {200}, Counter(reads)
    health.check(f"{site.backend}: 10 sign-ins while 4 clients read", sign_ins_303=len(signed), reads_200=len(reads))


def test_a_mix_of_reads_saves_submits_and_approvals(site):
    """8 clients for 20 seconds: readers, officers saving and submitting their own lines,
    reviewers approving and returning. No 5xx; then every summary equals a recomputation."""
    duration = 20.0
    officers = [site.officer_tokens[10 + n] for n in range(3)]
    own_lines = [site.indicator_ids[21:24][n:n + 1] + site.indicator_ids[n * 7:n * 7 + 6] for n in range(3)]
    codes: Counter = Counter()
    done: Counter = Counter()
    failures: list[str] = []

    def note(kind: str, response: httpx.Response) -> httpx.Response:
        codes[response.status_code] += 1
        if response.status_code >= 500:
            failures.append(f"{kind} {response.status_code} {response.text[:300]}")
        elif response.status_code < 300:
            done[kind] += 1
        return response

    async def reader(client: httpx.AsyncClient, token: str, deadline: float) -> None:
        paths = ("/api/v1/rollup?by=priority,subregion", "/api/v1/indicator-lines?country=KGZ&include_pending=true",
                 "/api/v1/completeness?by=country&period=2022Q3", "/api/v1/results?status=submitted")
        n = 0
        while time.monotonic() < deadline:
            note("read", await client.get(paths[n % len(paths)], headers=bearer(token)))
            n += 1

    async def officer(client: httpx.AsyncClient, token: str, lines: list[int], deadline: float) -> None:
        n = 0
        while time.monotonic() < deadline:
            line, period = lines[n % len(lines)], QUARTERS[(n // len(lines)) % len(QUARTERS)]
            n += 1
            body = {"indicator_id": line, "country": "KGZ", "period": period, "value": n % 50 + 1}
            saved = note("save", await client.put("/api/v1/results", headers=bearer(token), json=body))
            if saved.status_code == 409 and saved.json()["error"]["details"][:1] and \
                    saved.json()["error"]["details"][0].get("message") == "required":
                current = saved.json()["error"]["details"][0]["current"]
                saved = note("save", await client.put("/api/v1/results", headers=bearer(token),
                                                      json={**body, "version": current["version"]}))
            if saved.status_code == 200 and n % 2 == 0:
                note("submit", await client.post(f"/api/v1/results/{saved.json()['id']}/submit",
                                                 headers=bearer(token)))

    async def reviewer(client: httpx.AsyncClient, token: str, deadline: float) -> None:
        n = 0
        while time.monotonic() < deadline:
            queue = note("read", await client.get("/api/v1/results?status=submitted&limit=5", headers=bearer(token)))
            for item in queue.json() if queue.status_code == 200 else []:
                n += 1
                if n % 4:
                    note("approve", await client.post(f"/api/v1/results/{item['id']}/approve", headers=bearer(token)))
                else:
                    note("return", await client.post(f"/api/v1/results/{item['id']}/return", headers=bearer(token),
                                                     json={"note": "check the attendance lists"}))
            await asyncio.sleep(0.05)

    async def scenario() -> HealthWatch:
        deadline = time.monotonic() + duration
        stop = asyncio.Event()
        health = HealthWatch(site.url)
        clients = [httpx.AsyncClient(base_url=site.url, timeout=60) for _ in range(8)]
        watcher = asyncio.create_task(health.run(stop))
        try:
            await asyncio.gather(
                reader(clients[0], site.officer_tokens[0], deadline),
                reader(clients[1], site.reviewer_tokens[0], deadline),
                reader(clients[2], site.officer_tokens[1], deadline),
                *(officer(clients[3 + n], officers[n], own_lines[n], deadline) for n in range(3)),
                reviewer(clients[6], site.reviewer_tokens[1], deadline),
                reviewer(clients[7], site.reviewer_tokens[2], deadline),
            )
        finally:
            stop.set()
            await watcher
            for c in clients:
                await c.aclose()
        return health

    health = run(scenario())
    assert not failures, failures[:5]
    assert all(code < 500 for code in codes), codes
    # Enough of each happened for the check below to mean something.
    assert done["read"] >= 50 and done["save"] >= 30 and done["submit"] >= 10, done
    assert done["approve"] >= 5 and done["return"] >= 1, done
    health.check(f"{site.backend}: 8 clients for {duration:g} s", done=dict(done), answers=dict(codes))
    from tests.test_progress_summaries import assert_summaries_match

    with UnitOfWork(engine_for(site.db_url)) as session:
        assert assert_summaries_match(session) == LINES


# Coroutine functions that may run on the event loop: each only awaits (the request body, a
# database turn) or computes a little. Anything that reads the database, hashes a password or
# reads a file is a plain `def`. A new `async def` on a route must be added here, knowingly.
NON_BLOCKING = {"get_principal", "database_turn", "export_turn", "_anyone", "_form_data", "refuse_nul",
                "uploaded", "page_upload", "upload_or_refusal"} | {
    f"permission_{name}" for name in ("public", "signed_in", "review", "admin", "edit")}


def test_no_route_runs_blocking_work_on_the_event_loop(tmp_path):
    import inspect

    from fastapi.routing import APIRoute

    from mne.app import create_app
    from mne.config import Settings
    from tests.conftest import TEST_SECRET
    from tests.routes import iter_routes

    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", secret_key=TEST_SECRET))
    found: set[str] = set()
    for path, route in iter_routes(app.routes):
        if not isinstance(route, APIRoute):
            continue
        stack = [route.dependant]
        while stack:
            dependant = stack.pop()
            call = dependant.call
            if call is not None and (inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call)):
                found.add(call.__name__)
                assert call.__name__ in NON_BLOCKING, f"{path}: async {call.__name__} is not known to be non-blocking"
            stack.extend(dependant.dependencies)
    assert {"get_principal", "database_turn"} <= found


# --- the mechanisms, one at a time ------------------------------------------------------------

def test_a_read_transaction_cannot_write(site):
    """GET requests run in read-only transactions: a read that wrote would fail, not queue."""
    engine = engine_for(site.db_url)
    with pytest.raises(Exception, match="read-only|readonly"):
        with session_scope(engine, READ) as session:
            session.execute(text("UPDATE api_token SET name = name"))
    with session_scope(engine, WRITE) as session:
        session.execute(text("UPDATE api_token SET name = name WHERE id < 0"))


def test_token_use_is_recorded_once_per_interval_and_never_waits(site):
    from datetime import timedelta

    from mne.base import utcnow

    engine = engine_for(site.db_url)
    with UnitOfWork(engine) as session:
        token = session.exec(select(ApiToken).where(ApiToken.name == "r3")).one()
    now = utcnow()
    assert users.record_token_use(engine, token.id, None, now) is True
    assert users.record_token_use(engine, token.id, None, now + timedelta(minutes=1)) is False  # the row says recent
    assert users.record_token_use(engine, token.id, now, now + timedelta(minutes=1)) is False  # known recent: no SQL
    later = now + users.TOKEN_USE_INTERVAL + timedelta(seconds=1)
    # Another transaction holds the row (PostgreSQL) or the write lock (SQLite): skip, soon.
    with engine.connect() as other:
        if site.backend == "sqlite":
            other.connection.driver_connection.execute("BEGIN IMMEDIATE")
        else:
            other.execute(text("SELECT id FROM api_token WHERE id = :id FOR UPDATE"), {"id": token.id})
        started = time.perf_counter()
        assert users.record_token_use(engine, token.id, now, later) is False
        assert time.perf_counter() - started < users.TOKEN_USE_WAIT_MS / 1000 + 0.25
        if site.backend == "sqlite":
            other.connection.driver_connection.execute("ROLLBACK")
        else:
            other.rollback()
    assert users.record_token_use(engine, token.id, now, later) is True


def test_a_request_that_cannot_get_the_database_in_time_gets_503(site, tmp_path):
    """One database turn, one second to wait: a request kept waiting answers 503 with the error
    envelope and Retry-After, nothing is written, /healthz still answers, and the server goes on."""
    token, line = site.officer_tokens[5], site.indicator_ids[24]  # a line no other test uses
    with httpx.Client(base_url=site.url, timeout=30) as client:
        created = client.put("/api/v1/results", headers=bearer(token),
                             json={"indicator_id": line, "country": "KGZ", "period": "2022Q4", "value": 5})
    assert created.status_code == 200, created.text
    rid, version = created.json()["id"], created.json()["version"]
    update = {"indicator_id": line, "country": "KGZ", "period": "2022Q4", "value": 6, "version": version}
    engine = engine_for(site.db_url)

    def assert_unavailable(response: httpx.Response) -> None:
        assert response.status_code == 503, response.text
        assert response.json()["error"]["code"] == "unavailable"
        assert int(response.headers["Retry-After"]) >= 1

    with serve(site.db_url, tmp_path, db_pool_size="1", db_timeout="1") as small:
        with engine.connect() as other:
            if site.backend == "postgresql":
                other.execute(text("SELECT id FROM result WHERE id = :id FOR UPDATE"), {"id": rid})

                async def scenario():
                    async with httpx.AsyncClient(base_url=small.url, timeout=30) as client:
                        save = asyncio.create_task(client.put("/api/v1/results", headers=bearer(token), json=update))
                        await asyncio.sleep(0.3)  # the save holds the only turn, waiting on the row lock
                        started = time.perf_counter()
                        assert_unavailable(await client.get("/api/v1/countries", headers=bearer(token)))
                        assert 0.9 <= time.perf_counter() - started < 3
                        assert (await client.get("/healthz")).status_code == 200
                        assert not save.done()  # still waiting on the lock, as it should
                        other.rollback()  # the lock goes: the save goes through
                        return await save

                saved = run(scenario())
                assert saved.status_code == 200, saved.text
            else:
                raw = other.connection.driver_connection
                raw.execute("BEGIN IMMEDIATE")  # another writer holds SQLite's write lock
                try:
                    with httpx.Client(base_url=small.url, timeout=30) as client:
                        started = time.perf_counter()
                        assert_unavailable(client.put("/api/v1/results", headers=bearer(token), json=update))
                        assert 0.9 <= time.perf_counter() - started < 3
                        # Readers are not held up by a writer.
                        assert client.get("/api/v1/countries", headers=bearer(token)).status_code == 200
                        # A page's form gets the busy page, in words, not a 500.
                        csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text).group(1)
                        page = client.post("/login", data={"email": site.officer_email, "csrf_token": csrf,
                                                           "password": factories.PASSWORD, "next": "/"})
                        assert page.status_code == 503 and "The server is busy" in page.text
                        assert "send the form again" in page.text
                        assert client.get("/healthz").status_code == 200
                    with UnitOfWork(engine) as session:
                        assert session.get(Result, rid).value == 5  # nothing was written
                finally:
                    raw.execute("ROLLBACK")
                with httpx.Client(base_url=small.url, timeout=30) as client:
                    saved = client.put("/api/v1/results", headers=bearer(token), json=update)
                assert saved.status_code == 200, saved.text
        with httpx.Client(base_url=small.url, timeout=30) as client:
            assert client.get("/api/v1/countries", headers=bearer(token)).status_code == 200



def test_wrong_passwords_at_once_are_all_counted(site):
    """Sign-ins hash outside their transaction, yet every failure is still counted: six wrong
    passwords at once for one account, then the right one is refused for a while (429).
    It runs last of its database's tests here: the account stays throttled for 15 minutes."""
    email = site.reviewer_email

    async def scenario():
        async def attempt(password: str) -> httpx.Response:
            async with httpx.AsyncClient(base_url=site.url, timeout=60) as client:
                return await sign_in(client, email, password)

        wrong = await asyncio.gather(*(attempt(f"wrong-password-{n}") for n in range(6)))
        return wrong, await attempt(factories.PASSWORD)

    wrong, right = run(scenario())
    assert [r.status_code for r in wrong] == [401] * 6
    assert right.status_code == 429 and int(right.headers["Retry-After"]) > 0
    from mne.users.models import LoginAttempt

    with UnitOfWork(engine_for(site.db_url)) as session:
        assert len(session.exec(select(LoginAttempt).where(LoginAttempt.email == email)).all()) == 6
