"""SPEC §3 rev. 2 through the API and the forms: reporting frequency, opening actuals, period
targets that agree with their line, standard indicators of the same priority and measure,
numerators and denominators, percentage breakdowns, and the definitions lock — every refusal
names its field and changes nothing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.results.models import Result
from tests import factories
from tests.pages import doc, error_beside, fresh

NEW = "KG-R2-NEW"  # starts 2024-01-01, after the first reporting period (2020Q1)
OLD = "KG-R2-OLD"  # starts 2019-01-01, before it: its sum lines may carry an opening actual


@pytest.fixture
def kgz(session):
    return factories.token(session, "country_officer", countries=["KGZ"])


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


@pytest.fixture
def projects(client, session, kgz):
    for code, start, end in ((NEW, "2024-01-01", "2025-12-31"), (OLD, "2019-01-01", "2024-12-31")):
        body = {"code": code, "title": f"Project {code}", "start_date": start, "end_date": end,
                "countries": ["KGZ", "TJK"], "priorities": ["SP2", "SP1", "SP4"], "office": "IOM Bishkek"}
        response = client.post("/api/v1/projects", json=body, headers=kgz)
        assert response.status_code == 201, response.text
    return NEW, OLD


def number_body(**overrides):
    body = {"code": "OC1", "statement": "Returnees receiving reintegration assistance", "priority": "SP2",
            "measure": "number", "aggregation": "sum", "disaggregation": "sex", "standard_indicator": "SP2.1",
            "targets": [{"country": "KGZ", "baseline": 0, "target": 400}]}
    body.update(overrides)
    return body


def percentage_body(**overrides):
    body = {"code": "PC1", "statement": "Trained officials reporting improved knowledge", "priority": "SP4",
            "measure": "percentage", "aggregation": "latest", "disaggregation": "sex_age",
            "standard_indicator": "SP4.3", "targets": [{"country": "KGZ", "baseline": 20, "target": 60}]}
    body.update(overrides)
    return body


def create(client, headers, project, body):
    return client.post(f"/api/v1/projects/{project}/indicators", json=body, headers=headers)


def indicators_of(client, headers, project):
    return client.get(f"/api/v1/projects/{project}/indicators", headers=headers).json()


def error_fields(response):
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid"
    return {d["field"] for d in response.json()["error"]["details"]}


# --- the new fields round trip ----------------------------------------------------------------

def test_reporting_frequency_and_opening_actual_round_trip(client, projects, kgz):
    body = number_body(reporting_frequency="semiannual",
                       targets=[{"country": "KGZ", "baseline": 0, "target": 300, "opening_actual": 120}])
    created = create(client, kgz, OLD, body)
    assert created.status_code == 201, created.text
    got = client.get(f"/api/v1/indicators/{created.json()['id']}", headers=kgz).json()
    assert got["reporting_frequency"] == "semiannual"
    assert got["targets"] == [{"country": "KGZ", "baseline": 0, "target": 300, "opening_actual": 120}]
    plain = create(client, kgz, NEW, number_body()).json()
    assert plain["reporting_frequency"] == "quarterly" and plain["targets"][0]["opening_actual"] == 0
    patched = client.patch(f"/api/v1/indicators/{plain['id']}", json={"reporting_frequency": "endline"}, headers=kgz)
    assert patched.status_code == 200 and patched.json()["reporting_frequency"] == "endline"


# --- indicator rules --------------------------------------------------------------------------

@pytest.mark.parametrize("project, body, field", [
    # a standard indicator of another priority, or measured otherwise
    (NEW, number_body(standard_indicator="SP1.1"), "standard_indicator"),
    (NEW, number_body(priority="SP4", standard_indicator="SP4.3"), "standard_indicator"),
    (NEW, percentage_body(priority="SP2", standard_indicator="SP2.1"), "standard_indicator"),
    (NEW, percentage_body(standard_indicator="SP4.1"), "standard_indicator"),
    # opening actuals: on a latest line, on a project that began after tracking did, negative
    (OLD, percentage_body(targets=[{"country": "KGZ", "baseline": 20, "target": 60, "opening_actual": 5}]),
     "targets.0.opening_actual"),
    (OLD, number_body(aggregation="latest", targets=[{"country": "KGZ", "baseline": 10, "target": 50,
                                                      "opening_actual": 5}]), "targets.0.opening_actual"),
    (NEW, number_body(targets=[{"country": "KGZ", "target": 400, "opening_actual": 5}]), "targets.0.opening_actual"),
    (OLD, number_body(targets=[{"country": "KGZ", "target": 400, "opening_actual": -1}]), "targets.0.opening_actual"),
    # period targets of a sum add up to at most its target
    (NEW, number_body(period_targets=[{"country": "KGZ", "period": "2024Q2", "target": 200},
                                      {"country": "KGZ", "period": "2024Q1", "target": 150},
                                      {"country": "KGZ", "period": "2024Q3", "target": 100}]),
     "period_targets.2.target"),
    # period targets of a latest line lie between baseline and target, either direction
    (NEW, percentage_body(period_targets=[{"country": "KGZ", "period": "2024Q2", "target": 61}]),
     "period_targets.0.target"),
    (NEW, percentage_body(period_targets=[{"country": "KGZ", "period": "2024Q2", "target": 19}]),
     "period_targets.0.target"),
    (NEW, number_body(aggregation="latest", direction="decrease", standard_indicator=None,
                      targets=[{"country": "KGZ", "baseline": 40, "target": 20}],
                      period_targets=[{"country": "KGZ", "period": "2024Q1", "target": 45}]),
     "period_targets.0.target"),
    (NEW, number_body(reporting_frequency="monthly"), "reporting_frequency"),
])
def test_indicator_rules_name_the_field(client, projects, kgz, project, body, field):
    assert field in error_fields(create(client, kgz, project, body))
    assert indicators_of(client, kgz, project) == []


def test_what_agrees_with_the_line_is_accepted(client, projects, kgz):
    # a sum's period targets up to its target; a latest's on its bounds, in both directions
    ok = [
        (NEW, number_body(period_targets=[{"country": "KGZ", "period": "2024Q1", "target": 150},
                                          {"country": "KGZ", "period": "2024Q2", "target": 250}])),
        (NEW, percentage_body(code="PC2", period_targets=[{"country": "KGZ", "period": "2024Q1", "target": 20},
                                                          {"country": "KGZ", "period": "2024Q2", "target": 60}])),
        (NEW, number_body(code="OC3", aggregation="latest", direction="decrease", standard_indicator=None,
                          targets=[{"country": "KGZ", "baseline": 40, "target": 20}],
                          period_targets=[{"country": "KGZ", "period": "2024Q1", "target": 30}])),
        (OLD, number_body(targets=[{"country": "KGZ", "target": 400, "opening_actual": 0}])),
    ]
    for project, body in ok:
        response = create(client, kgz, project, body)
        assert response.status_code == 201, response.text


def test_patch_is_held_to_the_same_rules(client, projects, kgz):
    ind = create(client, kgz, NEW, number_body()).json()
    cases = [
        ({"period_targets": [{"country": "KGZ", "period": "2024Q1", "target": 401}]}, "period_targets.0.target"),
        ({"targets": [{"country": "KGZ", "target": 400, "opening_actual": 1}]}, "targets.0.opening_actual"),
        ({"standard_indicator": "SP4.1"}, "standard_indicator"),
        ({"aggregation": "latest", "targets": [{"country": "KGZ", "baseline": 10, "target": 400}],
          "period_targets": [{"country": "KGZ", "period": "2024Q1", "target": 5}]}, "period_targets.0.target"),
    ]
    for body, field in cases:
        assert field in error_fields(client.patch(f"/api/v1/indicators/{ind['id']}", json=body, headers=kgz)), body
    assert client.get(f"/api/v1/indicators/{ind['id']}", headers=kgz).json() == ind


# --- results: numerators, denominators, breakdowns --------------------------------------------

@pytest.fixture
def lines(client, projects, kgz):
    number = create(client, kgz, NEW, number_body()).json()
    percentage = create(client, kgz, NEW, percentage_body()).json()
    return number["id"], percentage["id"]


def put(client, headers, ind_id, **body):
    payload = {"indicator_id": ind_id, "country": "KGZ", "period": "2024Q1", **body}
    return client.put("/api/v1/results", json=payload, headers=headers)


@pytest.mark.parametrize("which, body, field", [
    ("percentage", {"numerator": 30, "denominator": 20}, "numerator"),
    ("percentage", {"numerator": 0, "denominator": 0}, "denominator"),
    ("percentage", {"numerator": 1, "denominator": -4}, "denominator"),
    ("percentage", {"numerator": -1, "denominator": 4}, "numerator"),
    ("percentage", {"numerator": 1.5, "denominator": 4}, "numerator"),
    ("percentage", {"numerator": 3}, "denominator"),
    ("percentage", {"value": 50, "denominator": 3}, "numerator"),
    ("percentage", {"value": 33.4, "numerator": 1, "denominator": 3}, "value"),
    ("percentage", {}, "value"),
    ("percentage", {"value": 80, "disaggregation": {"female": 101}}, "disaggregation.female"),
    ("percentage", {"value": 80, "disaggregation": {"female": 80, "60+": 100.5}}, "disaggregation.60+"),
    ("percentage", {"value": 100.5}, "value"),
    ("number", {"value": 10, "numerator": 1, "denominator": 2}, "numerator"),
    ("number", {"value": 10, "denominator": 2}, "denominator"),
    ("number", {}, "value"),
    ("number", {"value": 10, "disaggregation": {"female": 4, "male": 5}}, "disaggregation"),
])
def test_result_rules_name_the_field(client, session, lines, kgz, which, body, field):
    ind_id = lines[0] if which == "number" else lines[1]
    assert field in error_fields(put(client, kgz, ind_id, **body))
    assert session.exec(select(Result).where(Result.indicator_id.in_(lines))).all() == []


def test_a_ratio_without_a_value_is_stored_rounded(client, session, lines, kgz):
    _, pct = lines
    response = put(client, kgz, pct, numerator=1, denominator=3)
    assert response.status_code == 200, response.text
    got = response.json()
    assert (got["value"], got["numerator"], got["denominator"]) == (33.33, 1, 3)
    assert session.get(Result, got["id"]).value == 33.33
    # a value within 0.01 of the ratio is kept as given; the ratio is read back from the list
    response = put(client, kgz, pct, value=33.34, numerator=1, denominator=3, version=got["version"])
    assert response.status_code == 200 and response.json()["value"] == 33.34
    listed = client.get(f"/api/v1/results?project={NEW}", headers=kgz).json()
    assert [(r["numerator"], r["denominator"]) for r in listed] == [(1, 3)]
    # saving without them clears them
    response = put(client, kgz, pct, value=40, version=response.json()["version"])
    assert (response.json()["numerator"], response.json()["denominator"]) == (None, None)


def test_percentage_breakdowns_need_not_add_up(client, lines, kgz):
    number, pct = lines
    response = put(client, kgz, pct, value=80, disaggregation={"female": 85, "male": 75, "18-59": 100, "60+": 0})
    assert response.status_code == 200, response.text
    assert response.json()["disaggregation"]["female"] == 85 and response.json()["disaggregation"]["male"] == 75
    # numbers still must add up
    assert put(client, kgz, number, value=10, disaggregation={"female": 6, "male": 4}).status_code == 200


# --- the definitions lock ---------------------------------------------------------------------

def approve(client, kgz, reviewer, ind_id, period="2024Q1", **body):
    rid = put(client, kgz, ind_id, period=period, **({"value": 10} | body)).json()["id"]
    assert client.post(f"/api/v1/results/{rid}/submit", headers=kgz).status_code == 200
    assert client.post(f"/api/v1/results/{rid}/approve", headers=reviewer).status_code == 200
    return rid


@pytest.fixture
def locked(client, projects, kgz, reviewer):
    ind = create(client, kgz, OLD, number_body(
        targets=[{"country": "KGZ", "target": 400, "opening_actual": 30}],
        period_targets=[{"country": "KGZ", "period": "2024Q2", "target": 100}])).json()
    approve(client, kgz, reviewer, ind["id"])
    return ind


@pytest.mark.parametrize("change, fields", [
    ({"measure": "percentage"}, {"measure", "aggregation"}),  # a percentage would be 'latest'
    ({"aggregation": "latest"}, {"aggregation"}),
    ({"direction": "decrease"}, {"direction"}),
    ({"disaggregation": "none"}, {"disaggregation"}),
    ({"reporting_frequency": "annual"}, {"reporting_frequency"}),
    ({"standard_indicator": "SP2.2"}, {"standard_indicator"}),
    ({"standard_indicator": None}, {"standard_indicator"}),
    ({"direction": "decrease", "disaggregation": "sex_age", "reason": "the donor asked", "statement": "x"},
     {"direction", "disaggregation"}),
])
def test_the_definition_is_locked_once_a_result_is_approved(client, session, locked, kgz, change, fields):
    response = client.patch(f"/api/v1/indicators/{locked['id']}", json=change, headers=kgz)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["code"] == "locked" and "approved results (2024Q1)" in error["message"]
    assert {d["field"] for d in error["details"]} == fields
    assert client.get(f"/api/v1/indicators/{locked['id']}", headers=kgz).json() == locked
    assert fresh(session).exec(select(AuditEvent).where(AuditEvent.entity == "indicator",
                                                       AuditEvent.action == "indicator.update")).all() == []


def test_unchanged_definitions_and_other_fields_still_save(client, locked, kgz):
    same = {k: locked[k] for k in ("measure", "aggregation", "direction", "disaggregation", "reporting_frequency",
                                   "standard_indicator", "targets", "period_targets")}
    response = client.patch(f"/api/v1/indicators/{locked['id']}", json={**same, "statement": "Reworded"}, headers=kgz)
    assert response.status_code == 200, response.text
    assert response.json()["statement"] == "Reworded"


@pytest.mark.parametrize("change", [
    {"targets": [{"country": "KGZ", "target": 450, "opening_actual": 30}]},
    {"targets": [{"country": "KGZ", "baseline": 5, "target": 400, "opening_actual": 30}]},
    {"targets": [{"country": "KGZ", "target": 400}]},  # the opening actual back to 0
    {"targets": [{"country": "KGZ", "target": 400, "opening_actual": 30}, {"country": "TJK", "target": 50}]},
    {"period_targets": []},
    {"period_targets": [{"country": "KGZ", "period": "2024Q2", "target": 120}]},
])
def test_changing_targets_needs_a_reason_which_the_audit_keeps(client, session, locked, kgz, change):
    url = f"/api/v1/indicators/{locked['id']}"
    for blank in ({}, {"reason": "  "}):
        response = client.patch(url, json={**change, **blank}, headers=kgz)
        assert error_fields(response) == {"reason"}
    assert client.get(url, headers=kgz).json() == locked
    response = client.patch(url, json={**change, "reason": "Mid-term review raised the target"}, headers=kgz)
    assert response.status_code == 200, response.text
    event = fresh(session).exec(select(AuditEvent).where(
        AuditEvent.entity == "indicator", AuditEvent.entity_id == str(locked["id"]),
        AuditEvent.action == "indicator.update")).one()
    assert event.reason == "Mid-term review raised the target"
    assert event.before["targets"] == locked["targets"] and event.after == response.json()


def test_no_reason_needed_before_approval_or_without_a_target_change(client, projects, locked, kgz):
    draft_only = create(client, kgz, NEW, number_body(code="OC9")).json()
    put(client, kgz, draft_only["id"], value=5)
    response = client.patch(f"/api/v1/indicators/{draft_only['id']}",
                            json={"targets": [{"country": "KGZ", "target": 500}], "measure": "number"}, headers=kgz)
    assert response.status_code == 200, response.text
    same = client.patch(f"/api/v1/indicators/{locked['id']}", json={"targets": locked["targets"]}, headers=kgz)
    assert same.status_code == 200, same.text


def test_reopening_the_last_approved_result_unlocks(client, locked, kgz, reviewer, session):
    rid = session.exec(select(Result.id).where(Result.indicator_id == locked["id"])).one()
    assert client.post(f"/api/v1/results/{rid}/reopen", json={"reason": "typo"}, headers=reviewer).status_code == 200
    response = client.patch(f"/api/v1/indicators/{locked['id']}", json={"reporting_frequency": "annual"}, headers=kgz)
    assert response.status_code == 200 and response.json()["reporting_frequency"] == "annual"


# --- the forms ------------------------------------------------------------------------------

OFFICER = "rev2.kgz@test.example"


@pytest.fixture
def signed_in(client, session):
    factories.user(session, "country_officer", countries=["KGZ"], email=OFFICER)
    return factories.sign_in(client, OFFICER)


def submitted(page) -> dict[str, str]:
    """What a browser without JavaScript posts from the page's form: its enabled fields."""
    form = doc(page).xpath("//form[@method='post' and .//button[@type='submit']]")[-1]
    data = {}
    for field in form.xpath(".//input | .//select | .//textarea"):
        name = field.get("name")
        if not name or field.get("disabled") is not None:
            continue
        if field.tag == "select":
            chosen = field.xpath("./option[@selected]") or field.xpath("./option")
            data[name] = chosen[0].get("value")
        elif field.tag == "textarea":
            data[name] = field.text or ""
        else:
            data[name] = field.get("value") or ""
    return data


@pytest.fixture
def old_project(session):
    return factories.project(session, "PG-R2-OLD", countries=("KGZ",), priorities=("SP2", "SP4"),
                             start="2019-07-01", end="2024-12-31")


def test_indicator_form_takes_frequency_and_opening_actual(client, session, signed_in, old_project):
    page = client.get(f"/projects/{old_project.code}/indicators/new")
    tree = doc(page)
    assert "semiannual: due in Q2 and Q4" in tree.get_element_by_id("reporting_frequency-hint").text_content()
    assert "2020Q1" in tree.get_element_by_id("opening-hint").text_content()
    data = {**submitted(page), "code": "S1", "statement": "Returnees assisted", "priority": "SP2",
            "reporting_frequency": "semiannual", "target-KGZ": "300", "opening-KGZ": "120"}
    response = client.post(f"/projects/{old_project.code}/indicators/new", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    ind = fresh(session).exec(select(Indicator).where(Indicator.project_id == old_project.id)).one()
    assert ind.reporting_frequency == "semiannual"
    assert session.get(IndicatorTarget, (ind.id, "KGZ")).opening_actual == 120
    form = doc(client.get(f"/indicators/{ind.id}/edit"))
    assert form.get_element_by_id("opening-KGZ").get("value") == "120"
    assert form.xpath("//select[@id='reporting_frequency']/option[@selected]")[0].get("value") == "semiannual"
    # a latest line refuses one, beside its input
    data.update(code="S2", aggregation="latest", **{"baseline-KGZ": "10", "target-KGZ": "50", "opening-KGZ": "5"})
    response = client.post(f"/projects/{old_project.code}/indicators/new", data=data)
    assert response.status_code == 422 and "Only a sum line" in error_beside(response, "opening-KGZ")


def test_indicator_form_of_a_recent_project_has_no_opening_column(client, session, signed_in):
    project = factories.project(session, "PG-R2-NEW", countries=("KGZ",), priorities=("SP2",), start="2024-01-01",
                                end="2024-12-31")
    page = doc(client.get(f"/projects/{project.code}/indicators/new"))
    assert not page.xpath("//input[@name='opening-KGZ']")
    assert page.xpath("//select[@name='reporting_frequency']")


@pytest.fixture
def locked_form(session, old_project):
    ind = factories.indicator(session, old_project, "S1", priority="SP2", targets={"KGZ": (0, 300)})
    session.add(PeriodTarget(indicator_id=ind.id, country_iso3="KGZ", period_code="2024Q2", target=100))
    factories.result(session, ind, "KGZ", "2024Q1", value=20, status="approved")
    factories.result(session, ind, "KGZ", "2024Q2", value=20, status="draft")
    session.flush()
    return ind


def test_indicator_form_shows_the_lock_and_works_without_javascript(client, session, signed_in, locked_form):
    url = f"/indicators/{locked_form.id}/edit"
    page = client.get(url)
    tree = doc(page)
    note = tree.get_element_by_id("lock-note").text_content()
    assert "Locked: this indicator has approved results (2024Q1)" in note
    for name in ("measure", "aggregation", "direction", "disaggregation", "reporting_frequency", "standard_indicator"):
        select_ = tree.get_element_by_id(name)
        assert select_.get("disabled") is not None and "lock-note" in select_.get("aria-describedby").split(), name
    assert tree.get_element_by_id("reason") is not None
    assert not tree.xpath("//select[@id='code' or @id='statement'][@disabled]")
    # Posting the form as it is saves (the locked fields travel as hidden fields)
    data = submitted(page)
    assert data["measure"] == "number" and data["aggregation"] == "sum"
    response = client.post(url, data={**data, "statement": "Reworded"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    # A new target without a reason: the error beside the reason, nothing saved
    response = client.post(url, data={**data, "target-KGZ": "350"})
    assert response.status_code == 422 and "say why" in error_beside(response, "reason").lower()
    assert fresh(session).get(IndicatorTarget, (locked_form.id, "KGZ")).target == 300
    # …with one: saved, and the audit event keeps it
    response = client.post(url, data={**data, "target-KGZ": "350", "reason": "Second phase funded"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert fresh(session).get(IndicatorTarget, (locked_form.id, "KGZ")).target == 350
    events = session.exec(select(AuditEvent).where(AuditEvent.entity == "indicator",
                                                   AuditEvent.entity_id == str(locked_form.id))).all()
    assert [e.reason for e in events] == ["", "Second phase funded"]


def test_indicator_form_refuses_a_locked_change_and_says_why(client, session, signed_in, locked_form):
    url = f"/indicators/{locked_form.id}/edit"
    data = submitted(client.get(url))
    response = client.post(url, data={**data, "measure": "percentage", "aggregation": "latest"})
    assert response.status_code == 409
    assert "Locked: this indicator has approved results (2024Q1)" in error_beside(response, "measure")
    assert "Nothing has been saved" in doc(response).xpath("//p[@role='alert']")[0].text_content()
    # the page shows what is stored, so posting it again is no longer a change
    assert doc(response).xpath("//input[@type='hidden'][@name='measure']")[0].get("value") == "number"
    assert fresh(session).get(Indicator, locked_form.id).measure == "number"


def test_cell_form_takes_a_ratio_and_percentage_breakdowns(client, session, signed_in):
    project = factories.project(session, "PG-R2-CELL", countries=("KGZ",), priorities=("SP1",), start="2024-01-01",
                                end="2024-12-31")
    pct = factories.indicator(session, project, "P1", aggregation="latest", measure="percentage",
                              targets={"KGZ": (20, 60)})
    pct.disaggregation = "sex"
    number = factories.indicator(session, project, "N1", targets={"KGZ": (0, 100)})
    session.add(pct)
    session.flush()
    cell = f"cell-{pct.id}-KGZ-2024Q2"
    form = client.get(f"/results/edit?indicator_id={pct.id}&country=KGZ&period=2024Q2")
    tree = doc(form)
    assert tree.get_element_by_id(f"{cell}-numerator") is not None
    assert "Each group's own percentage (0–100); need not add up." in form.text
    number_form = client.get(f"/results/edit?indicator_id={number.id}&country=KGZ&period=2024Q2")
    assert 'name="numerator"' not in number_form.text

    def post(**values):
        data = {"csrf_token": signed_in, "indicator_id": str(pct.id), "country": "KGZ", "period": "2024Q2",
                "version": "", "value": "", "narrative": "", "means_of_verification": "",
                **{k: str(v) for k, v in values.items()}}
        return client.post("/results/edit", data=data, follow_redirects=False)

    response = post(numerator=5, denominator=3)
    assert response.status_code == 422 and "cannot exceed" in error_beside(response, f"{cell}-numerator")
    response = post(numerator=2)
    assert response.status_code == 422 and "denominator too" in error_beside(response, f"{cell}-denominator")
    response = post(value=50, female=120)
    assert response.status_code == 422 and "between 0 and 100" in error_beside(response, f"{cell}-female")
    assert session.exec(select(Result).where(Result.indicator_id == pct.id)).all() == []
    response = post(numerator="2", denominator="3", female="85", male="75")
    assert response.status_code == 303, response.text
    saved = fresh(session).exec(select(Result).where(Result.indicator_id == pct.id)).one()
    assert (saved.value, saved.numerator, saved.denominator, saved.female, saved.male) == (66.67, 2, 3, 85, 75)
    again = doc(client.get(f"/results/edit?indicator_id={pct.id}&country=KGZ&period=2024Q2"))
    assert [again.get_element_by_id(f"{cell}-{k}").get("value") for k in ("value", "numerator", "denominator")] == \
        ["66.67", "2", "3"]
    detail = doc(client.get(f"/results/{saved.id}"))
    assert "2 of 3" in detail.xpath("//dt[.='Counted as']/following-sibling::dd[1]")[0].text_content()
