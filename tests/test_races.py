"""Races on PostgreSQL, over real HTTP, against `mne serve` with several worker processes.

Each race fires its requests from threads that wait at one barrier, so they reach the server
together and run in different workers and transactions. After each race the outcome is checked
by hand-counted expectations (exactly one winner, the others 409), against the stored rows and
their audit events, and `mne db rebuild-summaries --check` must find the progress summaries
equal to a recomputation from scratch.

PostgreSQL only: SQLite has one writer at a time (every write transaction begins with
BEGIN IMMEDIATE), so these requests would simply queue. The plain save race with one worker
on both databases is in test_concurrency.py.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.db import engine_for
from mne.projects.models import Project
from mne.reference.models import Period
from mne.results.models import Result
from mne.unit_of_work import UnitOfWork
from mne.users import service as users
from tests import factories
from tests.command_line import mne
from tests.conftest import PG_URL, fresh_database, pg_database_url
from tests.progress_world import World, open_periods
from tests.serving import Served, serve

pytestmark = pytest.mark.skipif(
    not PG_URL, reason="races run on PostgreSQL only: set MNE_TEST_DATABASE_URL to a PostgreSQL database")

QUARTERS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")
CLOSING = "2023Q1"  # the period two admins close while officers save into it
LINES = 40
WORKERS = 4


@dataclass
class Site:
    db_url: str
    served: Served
    officer: list[str]  # tokens of one KGZ officer (one per client, as separate browsers would be)
    other_officer: str  # a second KGZ officer
    reviewer: list[str]
    admin: list[str]
    lines: list[int]

    @property
    def url(self) -> str:
        return self.served.url


def build_world(url: str) -> dict:
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, *QUARTERS, CLOSING)
        world = World(session)
        project = world.project("RACE-KGZ", countries=("KGZ",), priorities=("SP1",))
        lines = [world.indicator(project, f"L{n:02}", {"KGZ": (0, 1000)}) for n in range(LINES)]
        officer = users.get_user_by_email(session, world.officer("KGZ").email)
        other = factories.user(session, "country_officer", countries=["KGZ"])
        admin = factories.user(session, "admin")
        tokens = {
            "officer": [users.create_token(session, officer, f"o{n}")[1] for n in range(20)],
            "other_officer": users.create_token(session, other, "other")[1],
            "reviewer": [users.create_token(session, world.reviewer_user, f"r{n}")[1] for n in range(2)],
            "admin": [users.create_token(session, admin, f"a{n}")[1] for n in range(2)],
        }
        session.commit()
        return {**tokens, "lines": lines}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    url = pg_database_url("races")
    world = build_world(url)
    with serve(url, tmp_path_factory.mktemp("races"), workers=WORKERS) as served:
        yield Site(db_url=url, served=served, **world)
    engine_for(url).dispose()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def together(url: str, calls: list[Callable[[httpx.Client], httpx.Response]]) -> list[httpx.Response]:
    """Run every call on a thread and a connection of its own; all wait at one barrier first."""
    barrier = threading.Barrier(len(calls))

    def fire(call):
        with httpx.Client(base_url=url, timeout=60) as client:
            client.get("/healthz")  # connected before the barrier: the requests leave together
            barrier.wait(timeout=30)
            return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def codes(responses: list[httpx.Response]) -> Counter:
    return Counter(r.status_code for r in responses)


def assert_envelope(response: httpx.Response, code: str) -> None:
    error = response.json()["error"]
    assert error["code"] == code and error["message"], response.text


def assert_summaries_equal(site: Site) -> None:
    done = mne(["db", "rebuild-summaries", "--check"], site.db_url)
    out = done.stdout.decode()
    assert done.returncode == 0 and out.startswith("summaries match ("), out + done.stderr.decode()


def save(client: httpx.Client, token: str, line: int, value: float, period: str = "2022Q1",
         version: int | None = None) -> httpx.Response:
    body = {"indicator_id": line, "country": "KGZ", "period": period, "value": value}
    if version is not None:
        body["version"] = version
    return client.put("/api/v1/results", headers=bearer(token), json=body)


def prepare(site: Site, line: int, status: str, period: str = "2022Q1") -> dict:
    """A result of `line` taken through the API up to `status` (draft, submitted, returned)."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        result = save(client, site.officer[0], line, 10, period)
        assert result.status_code == 200, result.text
        rid = result.json()["id"]
        if status in ("submitted", "returned"):
            result = client.post(f"/api/v1/results/{rid}/submit", headers=bearer(site.officer[0]))
            assert result.status_code == 200, result.text
        if status == "returned":
            result = client.post(f"/api/v1/results/{rid}/return", headers=bearer(site.reviewer[0]),
                                 json={"note": "check the attendance lists"})
            assert result.status_code == 200, result.text
    return result.json()


def history(site: Site, rid: int) -> list[dict]:
    """The result's audit events over the API, oldest first."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        response = client.get(f"/api/v1/results/{rid}/history", headers=bearer(site.reviewer[0]))
    assert response.status_code == 200, response.text
    return sorted(response.json(), key=lambda e: (e["after"] or {}).get("version", 0))


def stored(site: Site, rid: int) -> Result:
    with UnitOfWork(engine_for(site.db_url), expire_on_commit=False) as session:
        return session.get(Result, rid)


def assert_history_replays(site: Site, rid: int, start_version: int, successes: list[str]) -> list[dict]:
    """The events since `start_version` are exactly the successful requests, one version apart,
    each from the state the one before left, and the last one is what is stored."""
    events = [e for e in history(site, rid) if e["after"]["version"] > start_version]
    assert sorted(e["action"] for e in events) == sorted(successes), [e["action"] for e in events]
    version, status = start_version, None
    for event in events:
        assert event["before"]["version"] == version and event["after"]["version"] == version + 1, event
        if status is not None:
            assert event["before"]["status"] == status
        version, status = version + 1, event["after"]["status"]
    row = stored(site, rid)
    assert row.version == version
    if events:
        assert (row.status, row.value) == (events[-1]["after"]["status"], events[-1]["after"]["value"])
    return events


# --- the races --------------------------------------------------------------------------------

def test_twenty_saves_of_one_result_with_one_version_on_four_workers(site):
    line = site.lines[0]
    created = prepare(site, line, "draft")
    rid, version = created["id"], created["version"]
    values = [100 + n for n in range(20)]
    responses = together(site.url, [
        (lambda c, v=v, t=t: save(c, t, line, v, version=version)) for v, t in zip(values, site.officer)])
    assert codes(responses) == {200: 1, 409: 19}, codes(responses)
    for r in responses:
        if r.status_code == 409:
            assert_envelope(r, "conflict")
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["version"] == version + 1
    row = stored(site, rid)
    assert (row.value, row.version) == (winner["value"], version + 1)
    updates = [e for e in history(site, rid) if e["action"] == "result.update"]
    assert len(updates) == 1 and updates[0]["after"]["value"] == winner["value"]
    print(f"\n[20 saves, one version, {WORKERS} workers] {dict(codes(responses))}")
    assert_summaries_equal(site)


def test_twenty_creates_of_one_result_at_once(site):
    """No version, no result yet: one creates it, the others are told it exists (409)."""
    line = site.lines[1]
    responses = together(site.url, [(lambda c, t=t, n=n: save(c, t, line, 50 + n)) for n, t in enumerate(site.officer)])
    assert codes(responses) == {200: 1, 409: 19}, [r.text[:200] for r in responses if r.status_code != 409]
    for r in responses:
        if r.status_code == 409:
            assert_envelope(r, "conflict")
    winner = next(r.json() for r in responses if r.status_code == 200)
    with UnitOfWork(engine_for(site.db_url)) as session:
        rows = session.exec(select(Result).where(Result.indicator_id == line)).all()
        assert [(r.id, r.value, r.version) for r in rows] == [(winner["id"], winner["value"], 1)]
    assert [e["action"] for e in history(site, winner["id"])] == ["result.create"]
    print(f"\n[20 creates of one result] {dict(codes(responses))}")
    assert_summaries_equal(site)


def test_an_approval_racing_a_return(site):
    """Two reviewers decide the same submitted results at once: one decision each, the other 409."""
    results = [prepare(site, line, "submitted") for line in site.lines[2:12]]
    calls = []
    for r in results:
        calls.append(lambda c, rid=r["id"]: c.post(f"/api/v1/results/{rid}/approve", headers=bearer(site.reviewer[0])))
        calls.append(lambda c, rid=r["id"]: c.post(f"/api/v1/results/{rid}/return", headers=bearer(site.reviewer[1]),
                                                   json={"note": "the source is missing"}))
    responses = together(site.url, calls)
    outcomes = Counter()
    for n, r in enumerate(results):
        approve, give_back = responses[2 * n], responses[2 * n + 1]
        assert sorted([approve.status_code, give_back.status_code]) == [200, 409], (approve.text, give_back.text)
        winner = "approve" if approve.status_code == 200 else "return"
        outcomes[winner] += 1
        assert_envelope(give_back if winner == "approve" else approve, "conflict")
        events = assert_history_replays(site, r["id"], r["version"], [f"result.{winner}"])
        assert events[0]["after"]["status"] == ("approved" if winner == "approve" else "returned")
    print(f"\n[approve vs return, 10 results] winners {dict(outcomes)}; answers {dict(codes(responses))}")
    assert_summaries_equal(site)


def test_an_edit_racing_a_resubmission_and_its_approval(site):
    """A returned result: the officer's one tab saves a correction (with the version it loaded)
    while another tab resubmits it and a reviewer approves at once. The edit and the resubmission
    both start from the same version: one of them wins; whatever was approved is exactly what was
    submitted, and the audit trail replays to the stored row."""
    results = [prepare(site, line, "returned") for line in site.lines[12:20]]
    calls = []
    for r in results:
        calls.append(lambda c, r=r: save(c, site.officer[1], r["indicator_id"], 99, version=r["version"]))
        calls.append(lambda c, r=r: c.post(f"/api/v1/results/{r['id']}/submit", headers=bearer(site.officer[2])))
        calls.append(lambda c, r=r: c.post(f"/api/v1/results/{r['id']}/approve", headers=bearer(site.reviewer[0])))
    responses = together(site.url, calls)
    outcomes = Counter()
    for n, r in enumerate(results):
        edit, submit, approve = responses[3 * n:3 * n + 3]
        assert {edit.status_code, submit.status_code, approve.status_code} <= {200, 409}
        for response in (edit, submit, approve):
            if response.status_code == 409:
                assert response.json()["error"]["code"] in ("conflict", "locked")
        # Both read version v of a returned result: the edit fails only if the submit came first
        # (stale version, or no longer editable), and an approval needs the submit before it.
        assert edit.status_code == 200 or submit.status_code == 200
        assert approve.status_code == 409 or submit.status_code == 200
        successes = [f"result.{name}" for name, resp in (("update", edit), ("submit", submit), ("approve", approve))
                     if resp.status_code == 200]
        events = assert_history_replays(site, r["id"], r["version"], successes)
        order = [e["action"] for e in events]
        if "result.approve" in order:
            assert order.index("result.submit") < order.index("result.approve")
            submitted = events[order.index("result.submit")]["after"]["value"]
            assert stored(site, r["id"]).value == submitted
        outcomes[" then ".join(a.removeprefix("result.") for a in order)] += 1
    print(f"\n[edit vs resubmit+approve, 8 results] sequences {dict(outcomes)}; answers {dict(codes(responses))}")
    assert_summaries_equal(site)


def test_a_return_racing_a_resubmission(site):
    """A returned result is resubmitted while a reviewer returns it again (a stale queue): the
    return can only land after the resubmission, never on the returned result itself."""
    results = [prepare(site, line, "returned") for line in site.lines[20:28]]
    calls = []
    for r in results:
        calls.append(lambda c, r=r: c.post(f"/api/v1/results/{r['id']}/submit", headers=bearer(site.officer[3])))
        calls.append(lambda c, r=r: c.post(f"/api/v1/results/{r['id']}/return", headers=bearer(site.reviewer[1]),
                                           json={"note": "still no source"}))
    responses = together(site.url, calls)
    outcomes = Counter()
    for n, r in enumerate(results):
        submit, give_back = responses[2 * n:2 * n + 2]
        assert submit.status_code == 200, submit.text  # nothing else can change a returned result here
        assert give_back.status_code in (200, 409), give_back.text
        successes = ["result.submit"] + (["result.return"] if give_back.status_code == 200 else [])
        events = assert_history_replays(site, r["id"], r["version"], successes)
        assert [e["action"] for e in events] == successes  # a return only after the resubmission
        outcomes["submit then return" if give_back.status_code == 200 else "submit; return refused"] += 1
    print(f"\n[resubmit vs return, 8 results] {dict(outcomes)}")
    assert_summaries_equal(site)


def test_two_officers_create_the_same_project_code(site):
    body = {"code": "RACE-TWIN", "title": "Twin project", "start_date": "2022-01-01", "end_date": "2023-12-31",
            "countries": ["KGZ"], "priorities": ["SP1"]}
    responses = together(site.url, [
        (lambda c, t=t: c.post("/api/v1/projects", headers=bearer(t), json=body))
        for t in (site.officer[4], site.other_officer)])
    assert codes(responses) == {201: 1, 409: 1}, [r.text[:300] for r in responses]
    assert_envelope(next(r for r in responses if r.status_code == 409), "conflict")
    with UnitOfWork(engine_for(site.db_url)) as session:
        (project,) = session.exec(select(Project).where(Project.code == "RACE-TWIN")).all()
        assert len(session.exec(select(AuditEvent).where(AuditEvent.action == "project.create",
                                                         AuditEvent.entity_id == str(project.id))).all()) == 1
    print(f"\n[two creates of one project code] {dict(codes(responses))}")
    assert_summaries_equal(site)


def test_two_admins_close_a_period_while_officers_save_into_it(site):
    """Officers keep saving into a period while two admins close it: every save landed before
    the close or was refused with `locked`, none was accepted once a close had answered, and the
    period has one close event for its one change."""
    lines = site.lines[28:40]
    timings: list[tuple[float, float, int]] = []  # (sent, answered, status) of every save

    def timed(call):
        sent = time.monotonic()
        response = call()
        timings.append((sent, time.monotonic(), response.status_code))
        return response

    def saver(c, line, token):
        answers = [timed(lambda: save(c, token, line, 10, CLOSING))]
        while answers[-1].status_code == 200 and len(answers) < 40:
            version = answers[-1].json()["version"]
            answers.append(timed(lambda v=version: save(c, token, line, 10 + len(answers), CLOSING, version=v)))
        return answers

    def closer(c, token):
        time.sleep(0.3)  # the saves are under way when the admins press the button
        sent = time.monotonic()
        response = c.patch(f"/api/v1/periods/{CLOSING}", headers=bearer(token), json={"status": "closed"})
        return response, sent, time.monotonic()

    responses = together(site.url, [(lambda c, t=t: closer(c, t)) for t in site.admin] + [
        (lambda c, line=line, t=t: saver(c, line, t)) for line, t in zip(lines, site.officer[5:])])
    closes, saves = responses[:2], [a for answers in responses[2:] for a in answers]
    assert [r.status_code for r, _, _ in closes] == [200, 200], [r.text for r, _, _ in closes]
    assert all(r.json()["status"] == "closed" for r, _, _ in closes)
    save_codes = Counter(r.status_code for r in saves)
    assert set(save_codes) <= {200, 409}, [r.text[:200] for r in saves if r.status_code not in (200, 409)]
    for r in saves:
        if r.status_code == 409:
            assert_envelope(r, "locked")
    assert save_codes[409] == len(lines)  # every saver went on until the close stopped it
    first_closed = min(answered for _, _, answered in closes)
    late = [(sent - first_closed, status) for sent, _, status in timings if sent > first_closed and status == 200]
    assert not late, f"saves accepted after the period was closed: {late}"
    with UnitOfWork(engine_for(site.db_url)) as session:
        assert session.get(Period, CLOSING).status == "closed"
        period_events = session.exec(select(AuditEvent).where(AuditEvent.action.like("period.%"),
                                                              AuditEvent.entity_id == CLOSING)).all()
        assert [e.action for e in period_events] == ["period.close"]
        rids = [r.id for r in session.exec(select(Result).where(Result.period_code == CLOSING))]
        writes = session.exec(select(AuditEvent).where(AuditEvent.entity == "result",
                                                       AuditEvent.entity_id.in_([str(i) for i in rids]))).all()
        assert len(writes) == save_codes[200]  # every accepted save, and only those
        assert max(e.id for e in writes) < period_events[0].id  # written before the close
    print(f"\n[2 closes racing {len(lines)} savers] closes {[r.status_code for r, _, _ in closes]}, "
          f"saves {dict(save_codes)}")
    assert_summaries_equal(site)


def test_two_imports_of_the_same_file_at_once(site):
    body = "project_code,indicator_code,country_iso3,period,value\n" + "".join(
        f"RACE-KGZ,L{n:02},KGZ,2022Q3,{n + 1}\n" for n in range(LINES))

    def post(c, token):
        return c.post("/imports/results?dry_run=false", headers={**bearer(token), "content-type": "text/csv"},
                      content=body.encode())

    responses = together(site.url, [(lambda c, t=t: post(c, t)) for t in (site.officer[18], site.officer[19])])
    assert {r.status_code for r in responses} <= {200, 409}, [r.text[:300] for r in responses]
    assert Counter(r.status_code for r in responses)[200] >= 1
    with UnitOfWork(engine_for(site.db_url)) as session:
        rows = session.exec(select(Result).where(Result.period_code == "2022Q3")).all()
        assert sorted((r.indicator_id, r.value, r.version) for r in rows) == \
            sorted((line, n + 1, 1) for n, line in enumerate(site.lines))
        creates = session.execute(text(
            "SELECT count(*) FROM audit_event WHERE action = 'result.create' AND entity_id IN "
            "(SELECT CAST(id AS TEXT) FROM result WHERE period_code = '2022Q3')")).scalar_one()
        assert creates == LINES
    print(f"\n[two imports of one {LINES}-row file] {[r.status_code for r in responses]}")
    assert_summaries_equal(site)
