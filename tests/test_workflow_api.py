"""Projects, indicators and results through the API: validation, workflow, locks, conflicts."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def kgz(session):
    return factories.token(session, "country_officer", countries=["KGZ"])


@pytest.fixture
def tjk(session):
    return factories.token(session, "country_officer", countries=["TJK"])


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


def project_body(**overrides):
    body = {
        "code": "KG-WF-01", "title": "Reintegration of returnees in Osh", "start_date": "2024-01-01",
        "end_date": "2025-12-31", "countries": ["KGZ", "TJK"], "priorities": ["SP2", "SP1"],
        "donors": [{"code": "WFDONOR", "amount_usd": 250000}], "budget_usd": 300000,
        "sdg_targets": ["10.7"], "gcm_objectives": [21], "markers": ["gender"], "office": "IOM Bishkek",
    }
    body.update(overrides)
    return body


def indicator_body(**overrides):
    body = {"code": "OC1", "statement": "Returnees receiving reintegration assistance", "priority": "SP2",
            "measure": "number", "aggregation": "sum", "disaggregation": "sex",
            "standard_indicator": "SP2.1", "targets": [{"country": "KGZ", "baseline": 0, "target": 400},
                                                        {"country": "TJK", "baseline": 0, "target": 100}]}
    body.update(overrides)
    return body


def error_fields(response):
    assert response.status_code == 422, response.text
    return {d["field"] for d in response.json()["error"]["details"]}


@pytest.fixture
def project(client, session, kgz):
    factories.donor(session, "WFDONOR")
    response = client.post("/api/v1/projects", json=project_body(), headers=kgz)
    assert response.status_code == 201, response.text
    return response.json()


@pytest.fixture
def indicator(client, project, kgz):
    response = client.post(f"/api/v1/projects/{project['code']}/indicators", json=indicator_body(), headers=kgz)
    assert response.status_code == 201, response.text
    return response.json()


def put(client, headers, ind_id, **body):
    payload = {"indicator_id": ind_id, "country": "KGZ", "period": "2024Q1", "value": 10, **body}
    return client.put("/api/v1/results", json=payload, headers=headers)


# --- projects -------------------------------------------------------------------------

def test_project_round_trip(client, project, kgz):
    got = client.get(f"/api/v1/projects/{project['code']}", headers=kgz).json()
    assert got["countries"] == ["KGZ", "TJK"] and got["priorities"] == ["SP2", "SP1"]
    assert got["donors"] == [{"code": "WFDONOR", "amount_usd": 250000.0}]
    assert got["office"] == "IOM Bishkek" and got["gcm_objectives"] == [21]


@pytest.mark.parametrize("overrides, field", [
    ({"code": "x"}, "code"),
    ({"code": "has space"}, "code"),
    ({"end_date": "2023-12-31"}, "end_date"),
    ({"countries": []}, "countries"),
    ({"countries": ["KGZ", "ZZZ"]}, "countries"),
    ({"priorities": ["SP9"]}, "priorities"),
    ({"priorities": []}, "priorities"),
    ({"donors": [{"code": "NOPE", "amount_usd": 1}]}, "donors"),
    ({"donors": [{"code": "WFDONOR", "amount_usd": -1}]}, "donors.0.amount_usd"),
    ({"gcm_objectives": [24]}, "gcm_objectives"),
    ({"sdg_targets": ["99.9"]}, "sdg_targets"),
    ({"markers": ["shiny"]}, "markers"),
    ({"office": "IOM Atlantis"}, "office"),
    ({"status": "paused"}, "status"),
    ({"start_date": "2024-02-30"}, "start_date"),
])
def test_project_validation_names_the_field(client, session, kgz, overrides, field):
    factories.donor(session, "WFDONOR")
    response = client.post("/api/v1/projects", json=project_body(**overrides), headers=kgz)
    assert field in error_fields(response)
    assert client.get("/api/v1/projects/KG-WF-01", headers=kgz).status_code == 404


def test_duplicate_project_code(client, project, kgz):
    assert "code" in error_fields(client.post("/api/v1/projects", json=project_body(), headers=kgz))


def test_officer_cannot_register_a_project_outside_its_countries(client, session, tjk):
    factories.donor(session, "WFDONOR")
    body = project_body(countries=["SRB"], office=None)
    assert client.post("/api/v1/projects", json=body, headers=tjk).status_code == 403


def test_reviewer_and_donor_cannot_write_projects(client, session, reviewer, project):
    donor = factories.token(session, "donor_viewer", donors=["WFDONOR"])
    for headers in (reviewer, donor):
        assert client.post("/api/v1/projects", json=project_body(code="OTHER-1"), headers=headers).status_code == 403
        assert client.patch(f"/api/v1/projects/{project['code']}", json={"title": "x"}, headers=headers).status_code == 403


def test_only_the_lead_country_edits(client, project, kgz, tjk):
    # Led by IOM Bishkek: the Tajik officer reads it but cannot edit it.
    assert client.get(f"/api/v1/projects/{project['code']}", headers=tjk).status_code == 200
    assert client.patch(f"/api/v1/projects/{project['code']}", json={"title": "x"}, headers=tjk).status_code == 403
    response = client.patch(f"/api/v1/projects/{project['code']}", json={"title": "Renamed"}, headers=kgz)
    assert response.status_code == 200 and response.json()["title"] == "Renamed"


def test_project_list_is_scoped_and_searchable(client, session, project, kgz):
    srb = factories.token(session, "country_officer", countries=["SRB"])
    assert [p["code"] for p in client.get("/api/v1/projects", headers=kgz).json()] == ["KG-WF-01"]
    assert client.get("/api/v1/projects", headers=srb).json() == []
    assert client.get("/api/v1/projects/KG-WF-01", headers=srb).status_code == 403
    assert [p["code"] for p in client.get("/api/v1/projects?q=osh", headers=kgz).json()] == ["KG-WF-01"]
    assert client.get("/api/v1/projects?q=nothing-like-it", headers=kgz).json() == []


# --- indicators -----------------------------------------------------------------------

@pytest.mark.parametrize("overrides, field", [
    ({"aggregation": "sum", "direction": "decrease"}, "direction"),
    ({"measure": "percentage", "aggregation": "sum"}, "aggregation"),
    ({"measure": "percentage", "aggregation": "latest",
      "targets": [{"country": "KGZ", "baseline": 20, "target": 120}]}, "targets.0.target"),
    ({"priority": "SP4"}, "priority"),
    ({"targets": [{"country": "SRB", "baseline": 0, "target": 5}]}, "targets.0.country"),
    ({"targets": [{"country": "KGZ", "baseline": 0, "target": 0}]}, "targets.0.target"),
    ({"aggregation": "latest", "targets": [{"country": "KGZ", "baseline": 30, "target": 30}]}, "targets.0.target"),
    ({"aggregation": "latest", "direction": "decrease",
      "targets": [{"country": "KGZ", "baseline": 30, "target": 40}]}, "targets.0.target"),
    ({"targets": []}, "targets"),
    ({"standard_indicator": "SP9.9"}, "standard_indicator"),
    ({"period_targets": [{"country": "KGZ", "period": "2030Q1", "target": 5}]}, "period_targets.0.period"),
    ({"period_targets": [{"country": "KGZ", "period": "2020Q1", "target": 5}]}, "period_targets.0.period"),
    ({"code": "bad code"}, "code"),
])
def test_indicator_rules_name_the_field(client, project, kgz, overrides, field):
    response = client.post(f"/api/v1/projects/{project['code']}/indicators", json=indicator_body(**overrides), headers=kgz)
    assert field in error_fields(response)
    assert client.get(f"/api/v1/projects/{project['code']}/indicators", headers=kgz).json() == []


def test_percentage_defaults_to_latest(client, project, kgz):
    body = indicator_body(code="PCT", measure="percentage", aggregation=None, disaggregation="none",
                          standard_indicator=None, targets=[{"country": "KGZ", "baseline": 20, "target": 60}])
    response = client.post(f"/api/v1/projects/{project['code']}/indicators", json=body, headers=kgz)
    assert response.status_code == 201 and response.json()["aggregation"] == "latest"


def test_indicator_update_and_duplicate_code(client, project, indicator, kgz):
    response = client.patch(f"/api/v1/indicators/{indicator['id']}", json={"statement": "Changed"}, headers=kgz)
    assert response.status_code == 200 and response.json()["statement"] == "Changed"
    second = client.post(f"/api/v1/projects/{project['code']}/indicators", json=indicator_body(code="OC2"), headers=kgz).json()
    assert "code" in error_fields(client.patch(f"/api/v1/indicators/{second['id']}", json={"code": "OC1"}, headers=kgz))


# --- results --------------------------------------------------------------------------

def test_draft_update_needs_current_version(client, indicator, kgz):
    created = put(client, kgz, indicator["id"], value=10)
    assert created.status_code == 200 and created.json()["status"] == "draft" and created.json()["version"] == 1
    assert put(client, kgz, indicator["id"], value=11).status_code == 409  # no version
    updated = put(client, kgz, indicator["id"], value=12, version=1)
    assert updated.status_code == 200 and updated.json()["version"] == 2 and updated.json()["value"] == 12
    stale = put(client, kgz, indicator["id"], value=99, version=1)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "conflict"
    assert stale.json()["error"]["details"][0]["current"]["value"] == 12
    assert client.get("/api/v1/results?project=KG-WF-01", headers=kgz).json()[0]["value"] == 12


@pytest.mark.parametrize("body, field", [
    ({"value": -1}, "value"),
    ({"value": "ten"}, "value"),
    ({"period": "2031Q1"}, "period"),
    ({"period": "2020Q1"}, "period"),
    ({"country": "SRB"}, "country"),
    ({"disaggregation": {"female": 4, "male": 5}}, "disaggregation"),
    ({"disaggregation": {"female": 5, "male": 5, "0-17": 10}}, "disaggregation"),
    ({"disaggregation": {"female": -1}}, "disaggregation.female"),
    ({"indicator_id": 987654}, "indicator_id"),
])
def test_result_validation_names_the_field(client, indicator, session, body, field):
    # An officer covering SRB too, so the scope check does not answer first.
    headers = factories.token(session, "country_officer", countries=["KGZ", "SRB"])
    response = put(client, headers, indicator["id"], **body)
    assert field in error_fields(response)
    assert client.get("/api/v1/results?project=KG-WF-01", headers=headers).json() == []


def test_disaggregation_that_adds_up_is_kept(client, indicator, kgz):
    response = put(client, kgz, indicator["id"], value=10, disaggregation={"female": 6, "male": 3, "other": 1})
    assert response.status_code == 200
    assert response.json()["disaggregation"]["female"] == 6


def test_officer_cannot_log_another_countrys_line(client, indicator, tjk, session):
    assert put(client, tjk, indicator["id"], country="KGZ").status_code == 403
    srb = factories.token(session, "country_officer", countries=["SRB"])
    assert put(client, srb, indicator["id"], country="KGZ").status_code == 403


def test_full_review_cycle_with_lock_and_reopen(client, indicator, kgz, reviewer, session):
    rid = put(client, kgz, indicator["id"], value=10).json()["id"]
    assert client.post(f"/api/v1/results/{rid}/approve", headers=reviewer).status_code == 409  # still a draft
    assert client.post(f"/api/v1/results/{rid}/submit", headers=kgz).json()["status"] == "submitted"
    assert client.post(f"/api/v1/results/{rid}/approve", headers=kgz).status_code == 403  # officers do not review
    missing_note = client.post(f"/api/v1/results/{rid}/return", json={"note": " "}, headers=reviewer)
    assert "note" in error_fields(missing_note)
    returned = client.post(f"/api/v1/results/{rid}/return", json={"note": "Attach the beneficiary list"}, headers=reviewer)
    assert returned.json()["status"] == "returned" and returned.json()["review_note"] == "Attach the beneficiary list"
    version = returned.json()["version"]
    assert put(client, kgz, indicator["id"], value=11, version=version).status_code == 200
    client.post(f"/api/v1/results/{rid}/submit", headers=kgz)
    approved = client.post(f"/api/v1/results/{rid}/approve", headers=reviewer).json()
    assert approved["status"] == "approved" and approved["approved_at"]
    locked = put(client, kgz, indicator["id"], value=12, version=approved["version"])
    assert locked.status_code == 409 and locked.json()["error"]["code"] == "locked"
    assert "reason" in error_fields(client.post(f"/api/v1/results/{rid}/reopen", json={"reason": ""}, headers=reviewer))
    reopened = client.post(f"/api/v1/results/{rid}/reopen", json={"reason": "Donor audit found a double count"}, headers=reviewer).json()
    assert reopened["status"] == "returned" and reopened["review_note"] == "Donor audit found a double count"
    history = client.get(f"/api/v1/results/{rid}/history", headers=kgz).json()
    assert [e["action"] for e in history] == ["result.create", "result.submit", "result.return", "result.update",
                                              "result.submit", "result.approve", "result.reopen"]
    assert history[-1]["before"]["value"] == 11 and history[-1]["reason"] == "Donor audit found a double count"


def test_closed_period_is_locked(client, indicator, kgz, session):
    from mne.reference.models import Period

    rid = put(client, kgz, indicator["id"], value=10).json()["id"]
    period = session.get(Period, "2024Q1")
    period.status = "closed"
    session.add(period)
    session.flush()
    response = put(client, kgz, indicator["id"], value=11, version=1)
    assert response.status_code == 409 and response.json()["error"]["code"] == "locked"
    assert client.post(f"/api/v1/results/{rid}/submit", headers=kgz).json()["error"]["code"] == "locked"
    response = put(client, kgz, indicator["id"], period="2024Q1", country="TJK")
    assert response.status_code in (403, 409)


def test_submit_a_whole_period(client, project, indicator, kgz):
    second = client.post(f"/api/v1/projects/{project['code']}/indicators", json=indicator_body(code="OC2", standard_indicator=None), headers=kgz).json()
    a = put(client, kgz, indicator["id"], value=10).json()["id"]
    b = put(client, kgz, second["id"], value=5).json()["id"]
    put(client, kgz, indicator["id"], value=1, period="2024Q2")
    response = client.post(f"/api/v1/projects/{project['code']}/submit", json={"period": "2024Q1"}, headers=kgz)
    assert response.status_code == 200 and sorted(response.json()["submitted"]) == sorted([a, b])
    statuses = {r["period"]: r["status"] for r in client.get("/api/v1/results?project=KG-WF-01&period=2024", headers=kgz).json() if r["indicator_code"] == "OC1"}
    assert statuses == {"2024Q1": "submitted", "2024Q2": "draft"}


def test_results_list_filters(client, indicator, kgz, reviewer):
    put(client, kgz, indicator["id"], value=10)
    put(client, kgz, indicator["id"], value=12, period="2024Q2")
    assert len(client.get("/api/v1/results?period=2024S1", headers=reviewer).json()) >= 2
    assert [r["period"] for r in client.get("/api/v1/results?project=KG-WF-01&period=2024Q2", headers=reviewer).json()] == ["2024Q2"]
    assert client.get("/api/v1/results?project=KG-WF-01&status=approved", headers=reviewer).json() == []
    assert "status" in error_fields(client.get("/api/v1/results?status=lost", headers=reviewer))
    assert "period" in error_fields(client.get("/api/v1/results?period=soon", headers=reviewer))
    assert "gcm" in error_fields(client.get("/api/v1/results?gcm=seven", headers=reviewer))


def test_quality_flags(client, indicator, kgz):
    put(client, kgz, indicator["id"], value=10, period="2024Q1")
    jump = put(client, kgz, indicator["id"], value=45, period="2024Q2").json()
    assert [f["code"] for f in jump["flags"]] == ["jump"]
    big = put(client, kgz, indicator["id"], value=600, period="2024Q3").json()
    assert {f["code"] for f in big["flags"]} == {"jump", "over_target"}
