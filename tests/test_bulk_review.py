"""Review in bulk, with context (issue 14, part 4): `results.service.approve_many`, the API's
`POST /api/v1/results/approve`, and the review queue that shows each row's target, previous
value, progress before and after, narrative, flags, files and conversation, and approves the
rows a reviewer selects in one action."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.comments.models import ResultComment
from mne.evidence.models import EvidenceFile
from mne.reference.models import Period
from mne.results import service as results
from mne.results.models import Result
from mne.results.schemas import MAX_BULK_IDS
from tests import factories
from tests.pages import doc
from tests.progress_world import World, open_periods

API = "/api/v1"


@pytest.fixture
def world(session) -> World:
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    return World(session)


@pytest.fixture
def mixed(world: World, session) -> dict:
    """BULK-1 in KGZ and TJK, I1 (sum, targets 400 and 100): results in every state, one of them
    in a period closed afterwards."""
    project = world.project("BULK-1", countries=("KGZ", "TJK"), donors=("ECHO",))
    i1 = world.indicator(project, "I1", {"KGZ": (0, 400), "TJK": (0, 100)})
    ids = {
        "approved": world.report(i1, "KGZ", "2022Q1", 50),
        "kgz_q2": world.report(i1, "KGZ", "2022Q2", 70, "submitted"),
        "tjk_q2": world.report(i1, "TJK", "2022Q2", 20, "submitted"),
        "draft": world.report(i1, "KGZ", "2022Q3", 30, "draft"),
        "returned": world.report(i1, "KGZ", "2022Q4", 5, "returned"),
        "closed": world.report(i1, "TJK", "2022Q1", 10, "submitted"),
    }
    period = session.get(Period, "2022Q1")
    period.status = "closed"
    session.add(period)
    session.commit()
    return {"i1": i1, **ids}


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


def actuals(client, headers, as_of: str, project: str = "BULK-1") -> dict[tuple[str, str], float | None]:
    response = client.get(f"{API}/indicator-lines?as_of={as_of}&project={project}", headers=headers)
    assert response.status_code == 200, response.text
    return {(line["indicator_code"], line["country"]): line["actual"] for line in response.json()}


def statuses(session, ids) -> dict[int, str]:
    session.expire_all()
    return {r.id: r.status for r in session.exec(select(Result).where(Result.id.in_(ids)))}


def approvals(session, ids) -> list[AuditEvent]:
    return list(session.exec(select(AuditEvent).where(
        AuditEvent.entity == "result", AuditEvent.action == "result.approve",
        AuditEvent.entity_id.in_([str(i) for i in ids])).order_by(AuditEvent.id)))


# --- the service and the API ------------------------------------------------------------------

def test_a_mixed_list_approves_what_it_can_and_says_why_for_the_rest(client, session, mixed, reviewer):
    before = actuals(client, reviewer, "2022Q2")
    assert before == {("I1", "KGZ"): 50, ("I1", "TJK"): None}
    ids = [mixed["kgz_q2"], mixed["draft"], mixed["approved"], 999_999, mixed["tjk_q2"], mixed["kgz_q2"],
           mixed["closed"], mixed["returned"]]
    response = client.post(f"{API}/results/approve", json={"ids": ids}, headers=reviewer)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["approved"] == [mixed["kgz_q2"], mixed["tjk_q2"]]
    refused = {(r["id"], r["code"]) for r in body["refused"]}
    assert [r["id"] for r in body["refused"]] == [mixed["draft"], mixed["approved"], 999_999, mixed["kgz_q2"],
                                                  mixed["closed"], mixed["returned"]]  # in the order given
    assert refused == {(mixed["draft"], "conflict"), (mixed["approved"], "locked"), (999_999, "not_found"),
                       (mixed["kgz_q2"], "duplicate"), (mixed["closed"], "locked"), (mixed["returned"], "conflict")}
    messages = {r["id"]: r["message"] for r in body["refused"]}
    assert messages[mixed["draft"]] == "cannot approve a result that is draft"
    assert "period 2022Q1 is closed" in messages[mixed["closed"]]
    assert "approved and locked" in messages[mixed["approved"]]
    assert messages[999_999] == "no result with id 999999"
    # Stored, and the summaries moved: the dashboard's figures count the two new approvals.
    assert statuses(session, [mixed["kgz_q2"], mixed["tjk_q2"], mixed["draft"], mixed["closed"]]) == {
        mixed["kgz_q2"]: "approved", mixed["tjk_q2"]: "approved", mixed["draft"]: "draft",
        mixed["closed"]: "submitted"}
    assert actuals(client, reviewer, "2022Q2") == {("I1", "KGZ"): 120, ("I1", "TJK"): 20}


def test_one_audit_event_each_like_a_single_approval(client, session, mixed, reviewer):
    single = approvals(session, [mixed["approved"]])  # approved one at a time by the world
    assert len(single) == 1
    response = client.post(f"{API}/results/approve", json={"ids": [mixed["kgz_q2"], mixed["tjk_q2"]]},
                           headers=reviewer)
    assert response.status_code == 200, response.text
    events = approvals(session, [mixed["kgz_q2"], mixed["tjk_q2"]])
    assert sorted(int(e.entity_id) for e in events) == sorted([mixed["kgz_q2"], mixed["tjk_q2"]])
    for event in events:
        assert set(event.before) == set(single[0].before) and set(event.after) == set(single[0].after)
        assert event.before["status"] == "submitted" and event.after["status"] == "approved"
        assert event.after["version"] == event.before["version"] + 1
        assert event.after["approved_by_id"] == event.actor_id == event.after["reviewed_by_id"]
        assert event.after["approved_at"] and event.after["review_note"] == ""
        changed = {k for k in event.after if event.after[k] != event.before[k]}
        assert changed == {"status", "version", "approved_by_id", "approved_at", "reviewed_by_id", "reviewed_at",
                           "updated_at"}
    session.expire_all()
    for event in events:
        assert session.get(Result, int(event.entity_id)).version == event.after["version"]
    # The result's history shows the approval, as after a single one.
    history = client.get(f"{API}/results/{mixed['kgz_q2']}/history", headers=reviewer).json()
    assert history[-1]["action"] == "result.approve"


def test_one_transaction_nothing_stays_when_it_rolls_back(session, mixed, world):
    savepoint = session.begin_nested()
    summary = results.approve_many(session, world.reviewer, [mixed["kgz_q2"], mixed["tjk_q2"]])
    assert summary.approved == [mixed["kgz_q2"], mixed["tjk_q2"]]
    savepoint.rollback()
    assert statuses(session, [mixed["kgz_q2"], mixed["tjk_q2"]]) == {mixed["kgz_q2"]: "submitted",
                                                                      mixed["tjk_q2"]: "submitted"}
    assert approvals(session, [mixed["kgz_q2"], mixed["tjk_q2"]]) == []


def test_a_result_changed_meanwhile_is_refused_not_overwritten(session, mixed, world, monkeypatch):
    """Between the read and the write another review changes one result: the compare-and-set
    on its version refuses it; the other is approved."""
    from mne.results import service

    real = service.locks.period_lock

    def and_meanwhile(conn, codes, **kwargs):
        real(conn, codes, **kwargs)
        conn.exec_driver_sql(f"UPDATE result SET version = version + 1 WHERE id = {int(mixed['tjk_q2'])}")

    monkeypatch.setattr(service.locks, "period_lock", and_meanwhile)
    summary = results.approve_many(session, world.reviewer, [mixed["kgz_q2"], mixed["tjk_q2"]])
    assert summary.approved == [mixed["kgz_q2"]]
    assert [(r.id, r.code) for r in summary.refused] == [(mixed["tjk_q2"], "conflict")]
    assert statuses(session, [mixed["tjk_q2"]]) == {mixed["tjk_q2"]: "submitted"}
    assert [int(e.entity_id) for e in approvals(session, [mixed["kgz_q2"], mixed["tjk_q2"]])] == [mixed["kgz_q2"]]


def test_officers_and_donors_get_403_and_nothing_changes(client, session, mixed):
    kgz = factories.token(session, "country_officer", countries=["KGZ"])
    donor = factories.token(session, "donor_viewer", donors=["ECHO"])
    for headers in (kgz, donor):
        response = client.post(f"{API}/results/approve", json={"ids": [mixed["kgz_q2"]]}, headers=headers)
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"
    assert client.post(f"{API}/results/approve", json={"ids": [mixed["kgz_q2"]]}).status_code == 401
    assert statuses(session, [mixed["kgz_q2"]]) == {mixed["kgz_q2"]: "submitted"}


def test_an_officer_is_refused_by_the_service_too(session, mixed, world):
    from mne.errors import Forbidden

    with pytest.raises(Forbidden):
        results.approve_many(session, world.officer("KGZ"), [mixed["kgz_q2"]])


@pytest.mark.parametrize("body, field", [
    ({"ids": []}, "ids"),
    ({"ids": list(range(1, MAX_BULK_IDS + 2))}, "ids"),
    ({"ids": [0]}, "ids.0"),
    ({"ids": ["seven"]}, "ids.0"),
    ({"ids": [2**31]}, "ids.0"),
    ({}, "ids"),
    ({"ids": [1], "note": "x"}, "note"),
])
def test_bad_bodies_are_422_naming_the_field(client, reviewer, body, field):
    response = client.post(f"{API}/results/approve", json=body, headers=reviewer)
    assert response.status_code == 422, response.text
    assert field in {d["field"] for d in response.json()["error"]["details"]}


def test_the_service_caps_the_ids_too(session, world):
    from mne.errors import Invalid

    with pytest.raises(Invalid) as refused:
        results.approve_many(session, world.reviewer, list(range(1, MAX_BULK_IDS + 2)))
    assert refused.value.details[0]["field"] == "ids"
    with pytest.raises(Invalid):
        results.approve_many(session, world.reviewer, [])


# --- the queue page ---------------------------------------------------------------------------

HX = {"HX-Request": "true"}
ON_TIME = datetime(2022, 7, 1, tzinfo=UTC)  # before every due date below: no "late" flag


@pytest.fixture
def queue(world: World, session) -> dict:
    """A small queue whose figures are computed by hand below.

    RQ-1 (KGZ, TJK; 2022-01-01 to 2023-12-31, 730 days):
    - I1 KGZ, sum, target 400, milestone 160 by 2022Q2: 40 approved in 2022Q1; **80 submitted in
      2022Q2** (row `kgz`): progress 40/400 = 10 % → 120/400 = 30 %, expected 160/400 = 40 %,
      off track (0.25 of expected) → at risk (0.75); no flag.
    - I1 TJK, sum, target 100: 10 approved in 2022Q1; **50 submitted in 2022Q2** (row `tjk`):
      10 % → 60 %, expected 181/730 days = 25 %, off track → on track; flagged: 50 is more than
      3× the previous value, and late (first submitted after the due date).
    - I2 KGZ, latest percentage, baseline 20, target 60: **35 % submitted in 2022Q3** (row `pct`),
      nothing earlier: no data → (35 - 20) / 40 = 38 %, expected 273/730 = 37 %, on track; no flag.
    RQ-2 (KGZ): J1, target 100: **5 submitted in 2022Q2** (row `other`), no flag.
    """
    rq1 = world.project("RQ-1", countries=("KGZ", "TJK"))
    i1 = world.indicator(rq1, "I1", {"KGZ": (0, 400), "TJK": (0, 100)}, period_targets=[("KGZ", "2022Q2", 160)])
    i2 = world.indicator(rq1, "I2", {"KGZ": (20, 60)}, aggregation="latest", measure="percentage")
    world.report(i1, "KGZ", "2022Q1", 40)
    world.report(i1, "TJK", "2022Q1", 10)
    rows = {"kgz": world.report(i1, "KGZ", "2022Q2", 80, "submitted",
                                narrative="Reached through <b>mobile teams</b> in Osh"),
            "tjk": world.report(i1, "TJK", "2022Q2", 50, "submitted"),
            "pct": world.report(i2, "KGZ", "2022Q3", 35, "submitted")}
    rq2 = world.project("RQ-2", countries=("KGZ",))
    j1 = world.indicator(rq2, "J1", {"KGZ": (0, 100)})
    rows["other"] = world.report(j1, "KGZ", "2022Q2", 5, "submitted")
    for key in ("kgz", "pct", "other"):
        session.get(Result, rows[key]).first_submitted_at = ON_TIME
    session.add(EvidenceFile(result_id=rows["kgz"], name="attendance <list>.pdf", size=2048,
                             content_type="application/pdf", sha256="a" * 64, uploaded_by_id=world.officer("KGZ").id))
    session.add(ResultComment(result_id=rows["kgz"], kind="comment", text="Signed lists are attached",
                              author_id=world.officer("KGZ").id))
    session.commit()
    return rows


@pytest.fixture
def reviewer_csrf(client, session):
    user = factories.user(session, "regional_reviewer")
    session.commit()
    return factories.sign_in(client, user.email)


def row_text(page, rid: int) -> str:
    return " ".join(" ".join(doc(page).get_element_by_id(f"review-{rid}").itertext()).split())


def count_of(page) -> str:
    return " ".join(doc(page).get_element_by_id("queue-count").text_content().split())


def test_each_row_shows_its_context_computed_by_hand(client, queue, reviewer_csrf):
    page = client.get("/review?project=RQ-1")
    assert page.status_code == 200, page.text
    kgz = row_text(page, queue["kgz"])
    assert "80" in kgz and "Previous 40 in 2022Q1 (approved)" in kgz
    assert "Target 400 by 2023-12-31; milestone for 2022Q2: 160" in kgz
    assert "Progress 10 % → 30 % once approved, as of 2022Q2" in kgz
    assert "expected 40 %; off track → at risk" in kgz
    assert "Reached through <b>mobile teams</b> in Osh" in kgz  # the narrative, as text (escaped)
    assert "<b>mobile" not in page.text.replace("&lt;b&gt;mobile", "")
    assert "No flags" in kgz
    assert "attendance <list>.pdf (2 KB)" in kgz or "attendance <list>.pdf (2.0 KB)" in kgz
    assert "Signed lists are attached" in kgz
    tjk = row_text(page, queue["tjk"])
    assert "Previous 10 in 2022Q1 (approved)" in tjk and "Target 100 by 2023-12-31" in tjk
    assert "milestone" not in tjk
    assert "10 % → 60 % once approved" in tjk and "expected 25 %; off track → on track" in tjk
    assert "50 is more than 3× the previous value (10)" in tjk and "after the due date" in tjk
    assert "No files attached" in tjk and "No narrative" in tjk
    pct = row_text(page, queue["pct"])
    assert "35 %" in pct and "Previous none reported" in pct
    assert "Target 60 % by 2023-12-31, from a baseline of 20 %" in pct
    assert "— → 38 % once approved" in pct and "expected 37 %; no data → on track" in pct
    assert f"review-{queue['other']}" not in page.text  # another project
    assert "3 results awaiting review match these filters" in count_of(page)
    # Each row can be ticked, with a label naming it.
    box = doc(page).get_element_by_id(f"select-{queue['kgz']}")
    assert box.get("form") == "bulk-approve" and box.get("name") == "ids"
    label = doc(page).xpath(f'//label[@for="select-{queue["kgz"]}"]')[0].text_content()
    assert label == "Select RQ-1 I1, Kyrgyzstan, 2022Q2"


def test_filters_flagged_unflagged_and_project(client, queue, reviewer_csrf):
    everything = client.get("/review")
    assert all(f"review-{queue[k]}" in everything.text for k in queue)
    flagged = client.get("/review?flags=flagged")
    assert f"review-{queue['tjk']}" in flagged.text
    assert not any(f"review-{queue[k]}" in flagged.text for k in ("kgz", "pct", "other"))
    assert "1 result awaiting review matches these filters" in count_of(flagged)
    unflagged = client.get("/review?flags=unflagged&project=RQ-1")
    assert {k for k in queue if f"review-{queue[k]}" in unflagged.text} == {"kgz", "pct"}
    other = client.get("/review?project=RQ-2")
    assert {k for k in queue if f"review-{queue[k]}" in other.text} == {"other"}
    # An unknown flag filter is ignored, not an error.
    assert client.get("/review?flags=nonsense&project=RQ-2").status_code == 200


def test_select_unflagged_and_approve_them_without_javascript(client, session, queue, reviewer_csrf, world):
    dashboard_before = client.get("/dashboard/indicators/%d/KGZ?as_of=2022Q2" % session.get(Result, queue["kgz"]).indicator_id)
    page = client.get("/review?project=RQ-1&select=unflagged")
    ticked = {int(b.get("value")) for b in doc(page).xpath('//input[@name="ids"][@checked]')}
    assert ticked == {queue["kgz"], queue["pct"]}  # not the flagged TJK row
    assert "Select all unflagged on this page (2)" in page.text
    response = client.post("/review/approve", data={"csrf_token": reviewer_csrf, "next": "/review?project=RQ-1",
                                                     "ids": [str(i) for i in sorted(ticked)]},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith("/review?project=RQ-1&notice=bulk&approved=2")
    after = client.get(response.headers["location"])
    assert "Approved 2 results." in after.text
    assert "1 result awaiting review matches these filters" in count_of(after)
    assert statuses(session, ticked) == {i: "approved" for i in ticked}
    assert len(approvals(session, ticked)) == 2
    # The dashboard moved: the KGZ line's actual as of 2022Q2 went from 40 to 120.
    line = session.get(Result, queue["kgz"]).indicator_id
    api = factories.token(session, "regional_reviewer")
    assert actuals(client, api, "2022Q2", "RQ-1")[("I1", "KGZ")] == 120
    assert dashboard_before.status_code == 200
    assert client.get(f"/dashboard/indicators/{line}/KGZ?as_of=2022Q2").text != dashboard_before.text


def test_refusals_are_listed_in_the_notice(client, session, queue, reviewer_csrf, world):
    results.approve(session, world.reviewer, queue["other"])
    session.commit()
    response = client.post("/review/approve", data={"csrf_token": reviewer_csrf, "next": "/review",
                                                     "ids": [str(queue["tjk"]), str(queue["other"])]},
                           follow_redirects=False)
    page = client.get(response.headers["location"])
    assert (f"Approved 1 result. 1 refused — result {queue['other']}: it is approved already, or its period is "
            "closed.") in page.text
    # With htmx: the queue comes back at once with the service's own reasons and the new count.
    response = client.post("/review/approve", headers=HX, data={
        "csrf_token": reviewer_csrf, "next": "/review?project=RQ-1", "ids": [str(queue["kgz"]), str(queue["tjk"])]})
    assert response.status_code == 200 and "<html" not in response.text
    assert f"Approved 1 result. 1 refused — result {queue['tjk']}: approved and locked" in response.text
    assert "1 result awaiting review matches these filters" in count_of(response)


def test_nothing_selected_or_bad_ids_say_so(client, queue, reviewer_csrf):
    response = client.post("/review/approve", data={"csrf_token": reviewer_csrf, "next": "/review"})
    assert response.status_code == 422 and "Choose at least one result." in response.text
    response = client.post("/review/approve", data={"csrf_token": reviewer_csrf, "ids": "12; DROP", "next": "/review"})
    assert response.status_code == 422 and "not a result" in response.text


def test_officers_cannot_use_the_queue(client, session, queue):
    officer = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    csrf = factories.sign_in(client, officer.email)
    assert client.get("/review").status_code == 403
    response = client.post("/review/approve", data={"csrf_token": csrf, "ids": str(queue["kgz"])})
    assert response.status_code == 403
    assert statuses(session, [queue["kgz"]]) == {queue["kgz"]: "submitted"}


def test_a_single_approval_inline_updates_the_count(client, queue, reviewer_csrf):
    response = client.post(f"/review/{queue['kgz']}/approve", headers=HX,
                           data={"csrf_token": reviewer_csrf, "next": "/review?project=RQ-1"})
    assert response.status_code == 200 and response.text.lstrip().startswith("<tr")
    oob = doc(response).xpath('//*[@id="queue-count"]')
    assert oob and oob[0].get("hx-swap-oob") == "true"
    assert "2 results awaiting review match these filters" in " ".join(oob[0].text_content().split())


def test_a_page_of_50_rows_reads_its_context_in_a_few_queries(client, session, world, reviewer_csrf, db_url):
    """No query per row: a page of 50 rows costs the same queries as a page of 5."""
    from sqlalchemy import event

    from mne.db import engine_for

    for code, lines in (("RQ-FEW", 5), ("RQ-MANY", 50)):
        project = world.project(code, countries=("KGZ",))
        for n in range(lines):
            ind = world.indicator(project, f"M{n}", {"KGZ": (0, 100)})
            world.report(ind, "KGZ", "2022Q1", 1)
            rid = world.report(ind, "KGZ", "2022Q2", 2, "submitted")
            session.add(ResultComment(result_id=rid, kind="comment", text=f"note {n}",
                                      author_id=world.officer("KGZ").id))
    session.commit()
    counted = []

    def count(*_args):
        counted.append(1)

    engine = engine_for(db_url)

    def queries(url: str) -> int:
        counted.clear()
        event.listen(engine, "before_cursor_execute", count)
        try:
            page = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert page.status_code == 200
        return len(counted), len(doc(page).xpath('//input[@name="ids"]'))

    few, rows_few = queries("/review?project=RQ-FEW")
    many, rows_many = queries("/review?project=RQ-MANY")
    assert (rows_few, rows_many) == (5, 50)
    assert 5 < many == few, (few, many)
