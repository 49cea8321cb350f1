"""A project's dates cannot shrink past its results, nor its countries drop one that has results
(issue 13, finding 8): the API and the edit page refuse it (422 naming the field and the periods)
and nothing is written — as a result cannot be saved in a period outside the dates."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from mne.audit.models import AuditEvent
from mne.projects.models import Project, ProjectCountry
from tests import factories
from tests.pages import doc, error_beside, fresh

KGZ = "dates.kgz@test.example"


@pytest.fixture
def world(session):
    """A 2022–2023 Kyrgyz–Tajik project: approved results in 2022Q1–Q2, a submitted one in
    2022Q3, a draft in 2023Q4 (Kyrgyzstan), a returned one in 2022Q2 (Tajikistan)."""
    officer = factories.user(session, "country_officer", countries=["KGZ"], email=KGZ)
    proj = factories.project(session, "PD-DATES", countries=("KGZ", "TJK"), start="2022-01-01", end="2023-12-31")
    ind = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 400), "TJK": (0, 100)})
    factories.result(session, ind, "KGZ", "2022Q1", status="approved")
    factories.result(session, ind, "KGZ", "2022Q2", status="approved")
    factories.result(session, ind, "KGZ", "2022Q3", status="submitted")
    factories.result(session, ind, "KGZ", "2023Q4", status="draft")
    factories.result(session, ind, "TJK", "2022Q2", status="returned")
    _, secret = factories.users.create_token(session, officer)
    session.flush()
    return proj, {"Authorization": f"Bearer {secret}"}


def details(response) -> dict[str, str]:
    assert response.status_code == 422, response.text
    return {d["field"]: d["message"] for d in response.json()["error"]["details"]}


def audit_count(session) -> int:
    return fresh(session).exec(select(func.count()).select_from(AuditEvent)).one()


def stored_dates(session) -> tuple[date, date]:
    return fresh(session).exec(select(Project.start_date, Project.end_date).where(Project.code == "PD-DATES")).one()


def test_start_date_past_approved_results_is_refused_naming_the_periods(client, session, world):
    _, headers = world
    events = audit_count(session)
    response = client.patch("/api/v1/projects/PD-DATES", json={"start_date": "2022-07-01"}, headers=headers)
    found = details(response)
    assert set(found) == {"start_date"}
    # 2022Q1: 1 approved; 2022Q2: 1 approved (KGZ) + 1 returned (TJK) → 3 results in 2022Q1–2022Q2.
    assert found["start_date"].startswith("2022Q1–2022Q2: 3 results (2 approved, 1 returned)")
    assert response.json()["error"]["code"] == "invalid"
    assert stored_dates(session) == (date(2022, 1, 1), date(2023, 12, 31))
    assert audit_count(session) == events


def test_end_date_before_a_draft_is_refused(client, session, world):
    _, headers = world
    found = details(client.patch("/api/v1/projects/PD-DATES", json={"end_date": "2023-09-30"}, headers=headers))
    assert set(found) == {"end_date"}
    assert found["end_date"].startswith("2023Q4: 1 result (1 draft) would fall after this end date")
    assert stored_dates(session) == (date(2022, 1, 1), date(2023, 12, 31))


def test_both_dates_are_named_at_once(client, session, world):
    _, headers = world
    found = details(client.patch("/api/v1/projects/PD-DATES", json={"start_date": "2022-10-01",
                                                                    "end_date": "2023-06-30"}, headers=headers))
    assert set(found) == {"start_date", "end_date"}
    assert found["start_date"].startswith("2022Q1–2022Q3: 4 results (2 approved, 1 returned, 1 submitted)")
    assert found["end_date"].startswith("2023Q4: 1 result (1 draft)")


def test_dates_that_still_overlap_every_reported_period_are_saved(client, session, world):
    _, headers = world
    # 2022Q1 (to 31 March) still overlaps a start on 15 March; 2023Q4 (from 1 October) an end on 1 October.
    response = client.patch("/api/v1/projects/PD-DATES", json={"start_date": "2022-03-15", "end_date": "2023-10-01"},
                            headers=headers)
    assert response.status_code == 200, response.text
    assert stored_dates(session) == (date(2022, 3, 15), date(2023, 10, 1))
    # Growing the dates is always fine.
    response = client.patch("/api/v1/projects/PD-DATES", json={"start_date": "2021-01-01", "end_date": "2024-12-31"},
                            headers=headers)
    assert response.status_code == 200, response.text


def test_a_country_with_results_cannot_be_removed(client, session, world):
    _, headers = world
    found = details(client.patch("/api/v1/projects/PD-DATES", json={"countries": ["KGZ"]}, headers=headers))
    assert set(found) == {"countries"} and "TJK" in found["countries"]
    countries = fresh(session).exec(select(ProjectCountry.country_iso3).join(Project)
                                    .where(Project.code == "PD-DATES")).all()
    assert sorted(countries) == ["KGZ", "TJK"]


def edit_form(csrf: str, **overrides) -> dict:
    form = {"csrf_token": csrf, "title": "Project PD-DATES", "summary": "", "start_date": "2022-01-01",
            "end_date": "2023-12-31", "status": "active", "office": "", "budget_usd": "",
            "primary_priority": "SP1", "countries": ["KGZ", "TJK"], "action": "save"}
    form.update(overrides)
    return form


def test_the_edit_page_refuses_it_beside_the_date(client, session, world):
    session.commit()
    csrf = factories.sign_in(client, KGZ)
    events = audit_count(session)
    response = client.post("/projects/PD-DATES/edit", data=edit_form(csrf, start_date="2022-07-01"),
                           follow_redirects=False)
    assert response.status_code == 422, response.text
    assert error_beside(response, "start_date").startswith("2022Q1–2022Q2: 3 results (2 approved, 1 returned)")
    assert doc(response).get_element_by_id("start_date").get("value") == "2022-07-01"  # as typed
    assert stored_dates(session) == (date(2022, 1, 1), date(2023, 12, 31))
    assert audit_count(session) == events
    response = client.post("/projects/PD-DATES/edit", data=edit_form(csrf, start_date="2022-03-15"),
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    assert stored_dates(session) == (date(2022, 3, 15), date(2023, 12, 31))
