"""Review in bulk, with context (issue 14, part 4): `results.service.approve_many`, the API's
`POST /api/v1/results/approve`, and the review queue that shows each row's target, previous
value, progress before and after, narrative, flags, files and conversation, and approves the
rows a reviewer selects in one action."""

from __future__ import annotations

import re

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
