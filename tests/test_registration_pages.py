"""Registering a project and its indicators without friction (issue 14, part 1): the form
pre-ticks all the officer's countries, the next step after registering is "Add an indicator",
"Save and add another" comes back to an empty form, every error of the indicator form shows
in one round with a summary that links to its fields, and messages say words, not field names."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mne.indicators.models import Indicator
from mne.projects.models import Project
from tests import factories
from tests.pages import doc, error_beside

OFFICER = "reg.two@test.example"
HX = {"HX-Request": "true"}


@pytest.fixture
def officer(client, session):
    """The client signed in as an officer of Kyrgyzstan and Tajikistan; answers its CSRF token."""
    factories.user(session, "country_officer", countries=["KGZ", "TJK"], email=OFFICER)
    return factories.sign_in(client, OFFICER)


@pytest.fixture
def project(session, officer):
    """A Kyrgyz–Tajik project of 2024–2025 that the officer may define indicators for."""
    proj = factories.project(session, "REG-1", countries=("KGZ", "TJK"), priorities=("SP1", "SP2"),
                             start="2024-01-01", end="2025-12-31")
    session.flush()
    return proj


def indicator_form(csrf: str, **overrides: str) -> dict[str, str]:
    """The indicator form as a browser posts it, filled in right."""
    fields = {"csrf_token": csrf, "code": "OC1", "statement": "Returnees assisted", "level": "outcome",
              "priority": "SP1", "measure": "number", "aggregation": "", "direction": "increase",
              "disaggregation": "none", "reporting_frequency": "quarterly", "standard_indicator": "",
              "baseline-KGZ": "", "target-KGZ": "400", "baseline-TJK": "", "target-TJK": "100"}
    fields.update(overrides)
    return fields


def action_bar(response):
    return doc(response).xpath("//nav[@aria-label='Project actions']//a")


# --- the project form ---------------------------------------------------------------------

def test_the_project_form_preticks_all_the_officers_countries(client, officer):
    page = doc(client.get("/projects/new"))
    ticked = sorted(box.get("value") for box in page.xpath("//input[@name='countries'][@checked]"))
    assert ticked == ["KGZ", "TJK"]


def test_after_registering_a_project_the_next_step_is_to_add_an_indicator(client, session, officer):
    pairs = {"csrf_token": officer, "code": "REG-NEW", "title": "Reintegration in Osh", "summary": "",
             "start_date": "2024-01-01", "end_date": "2025-12-31", "status": "active", "office": "",
             "budget_usd": "", "primary_priority": "SP2", "action": "save", "countries": ["KGZ", "TJK"]}
    response = client.post("/projects/new", data=pairs, follow_redirects=False)
    assert response.status_code == 303, response.text
    shown = client.get(response.headers["location"])
    assert "Define its indicators next" in shown.text
    links = action_bar(shown)
    assert links[0].text_content().strip() == "Add an indicator"
    assert links[0].get("href") == "/projects/REG-NEW/indicators/new"
    assert "primary" in links[0].get("class").split()
    grid = next(a for a in links if a.text_content().strip() == "Results grid")
    assert "primary" not in grid.get("class").split()
    assert len(doc(shown).xpath("//a[normalize-space()='Add an indicator']")) == 1  # one next step, not two

    # Once there are indicators, logging results is the main thing to do.
    response = client.post("/projects/REG-NEW/indicators/new", data=indicator_form(officer, priority="SP2"),
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    shown = client.get("/projects/REG-NEW")
    links = action_bar(shown)
    assert links[0].text_content().strip() == "Results grid" and "primary" in links[0].get("class").split()
    assert [a.get("href") for a in doc(shown).xpath("//a[normalize-space()='Add an indicator']")] == [
        "/projects/REG-NEW/indicators/new"]


def test_the_project_form_lists_its_errors_at_the_top_too(client, session, officer):
    pairs = {"csrf_token": officer, "code": "x y", "title": "Reintegration in Osh", "summary": "",
             "start_date": "2024-01-01", "end_date": "2025-12-31", "status": "active", "office": "",
             "budget_usd": "lots", "primary_priority": "", "action": "save",
             "donor_code": ["", ""], "donor_amount": ["", "-5"]}
    response = client.post("/projects/new", data=pairs, follow_redirects=False)
    assert response.status_code == 422
    summary = doc(response).xpath("//div[contains(@class, 'error-summary')]")[0]
    assert summary.get("autofocus") is not None
    links = [(a.get("href"), a.text_content().split(":")[0]) for a in summary.xpath(".//a")]
    assert links == [("#code", "Code"), ("#budget_usd", "Budget (USD)"), ("#countries", "Countries and territories"),
                     ("#primary_priority", "Strategic priorities"), ("#donor-code-1", "Donor 2"),
                     ("#donor-amount-1", "Amount (USD) of donor 2")]
    assert error_beside(response, "donor-amount-1").startswith("Input should be greater than or equal to 0")


# --- save and add another -----------------------------------------------------------------

def test_save_and_add_another_returns_to_an_empty_form_with_a_notice(client, session, officer, project):
    response = client.post("/projects/REG-1/indicators/new", data={**indicator_form(officer), "then": "another"},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    saved = session.exec(select(Indicator).where(Indicator.project_id == project.id)).one()
    assert response.headers["location"] == f"/projects/REG-1/indicators/new?added={saved.id}"
    page = doc(client.get(response.headers["location"]))
    assert page.xpath("//p[@role='status']")[0].text_content().startswith("Indicator OC1 saved.")
    code = page.get_element_by_id("code")
    assert code.get("value") == "" and code.get("autofocus") is not None  # the next one starts here
    assert page.get_element_by_id("target-KGZ").get("value") == ""
    assert page.xpath("//button[@name='then'][@value='another']")[0].text_content() == "Save and add another"

    # The other button still goes back to the project; a second indicator is added from the empty form.
    response = client.post("/projects/REG-1/indicators/new", data=indicator_form(officer, code="OC2"),
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/projects/REG-1?notice=indicator-added")
    assert [i.code for i in session.exec(select(Indicator).where(Indicator.project_id == project.id)
                                         .order_by(Indicator.position))] == ["OC1", "OC2"]


def test_the_saved_notice_names_only_an_indicator_of_this_project(client, session, officer, project):
    other = factories.project(session, "REG-2", countries=("KGZ",), priorities=("SP1",))
    elsewhere = factories.indicator(session, other, "ELSEWHERE")
    for added in (str(elsewhere.id), "999999999", "abc", "-1"):
        page = client.get(f"/projects/REG-1/indicators/new?added={added}")
        assert page.status_code == 200
        assert doc(page).xpath("//p[@role='status']") == []
        assert "ELSEWHERE" not in page.text
        assert doc(page).get_element_by_id("code").get("autofocus") is None


def test_save_and_add_another_with_errors_keeps_the_form(client, session, officer, project):
    response = client.post("/projects/REG-1/indicators/new",
                           data={**indicator_form(officer, statement=""), "then": "another"}, follow_redirects=False)
    assert response.status_code == 422
    assert error_beside(response, "statement") == "This is required."
    assert doc(response).get_element_by_id("code").get("value") == "OC1"
    assert session.exec(select(Indicator).where(Indicator.project_id == project.id)).first() is None


# --- every error in one round -------------------------------------------------------------

def test_one_submit_shows_every_error_with_a_summary_that_links_to_them(client, session, officer, project):
    # Three wrong fields: two the schema refuses (a code with a space, a target that is not a
    # number) and one the rules refuse (a sum target of 0) — reported together, not in rounds.
    form = indicator_form(officer, code="O C1", **{"target-KGZ": "lots", "target-TJK": "0"})
    response = client.post("/projects/REG-1/indicators/new", data=form, follow_redirects=False)
    assert response.status_code == 422
    assert "letters, digits" in error_beside(response, "code")
    assert error_beside(response, "target-KGZ") == "Write a number."
    assert error_beside(response, "target-TJK") == "A sum target must be greater than 0."
    page = doc(response)
    summary = page.xpath("//div[contains(@class, 'error-summary')]")[0]
    assert summary.get("autofocus") is not None and summary.get("tabindex") == "-1"  # focused on load
    assert summary.get("role") == "alert"
    assert "There are 3 problems" in summary.text_content()
    links = [(a.get("href"), a.text_content()) for a in summary.xpath(".//a")]
    assert [href for href, _ in links] == ["#code", "#target-KGZ", "#target-TJK"]  # in the form's order
    assert links[1][1] == "Target for Kyrgyzstan: Write a number."
    assert links[2][1] == "Target for Tajikistan: A sum target must be greater than 0."
    for href, _ in links:
        assert page.get_element_by_id(href[1:]) is not None
    # What was typed is kept, and nothing was saved.
    assert page.get_element_by_id("target-KGZ").get("value") == "lots"
    assert session.exec(select(Indicator).where(Indicator.project_id == project.id)).first() is None


def test_the_rules_are_checked_beside_every_kind_of_schema_error(client, session, officer, project):
    # A blank statement (schema) with a decreasing sum (rule) and a priority the project lacks (rule).
    form = indicator_form(officer, statement="", direction="decrease", priority="SP3")
    response = client.post("/projects/REG-1/indicators/new", data=form, follow_redirects=False)
    assert response.status_code == 422
    assert error_beside(response, "statement") == "This is required."
    assert "must be 'increase'" in error_beside(response, "direction")
    assert "SP1, SP2" in error_beside(response, "priority")
    # A refused field's own rules are skipped rather than reported twice or wrongly: the target
    # is not a number, so "a sum target must be greater than 0" is not said about it.
    form = indicator_form(officer, **{"target-KGZ": "-", "target-TJK": "0"}, aggregation="")
    response = client.post("/projects/REG-1/indicators/new", data=form, follow_redirects=False)
    assert error_beside(response, "target-KGZ") == "Write a number."
    assert error_beside(response, "target-TJK") == "A sum target must be greater than 0."


def test_two_problems_of_one_field_are_shown_together(client, session, officer, project):
    form = indicator_form(officer, measure="percentage", **{"baseline-KGZ": "150", "target-KGZ": "120",
                                                            "baseline-TJK": "10", "target-TJK": "50"})
    response = client.post("/projects/REG-1/indicators/new", data=form, follow_redirects=False)
    assert response.status_code == 422
    message = error_beside(response, "target-KGZ")
    assert "A percentage is between 0 and 100." in message
    assert "An increasing indicator's target must be above its baseline." in message


def test_the_edit_form_shows_schema_and_rule_errors_together(client, session, officer, project):
    response = client.post("/projects/REG-1/indicators/new", data=indicator_form(officer), follow_redirects=False)
    ind = session.exec(select(Indicator).where(Indicator.project_id == project.id)).one()
    url = f"/indicators/{ind.id}/edit"
    form = {k: v for k, v in indicator_form(officer, statement="", **{"target-TJK": "0"}).items()}
    response = client.post(url, data=form, follow_redirects=False)
    assert response.status_code == 422
    assert error_beside(response, "statement") == "This is required."
    assert error_beside(response, "target-TJK") == "A sum target must be greater than 0."


# --- messages in words --------------------------------------------------------------------

def test_messages_say_words_and_the_api_keeps_its_field_keys(client, session, officer):
    pairs = {"csrf_token": officer, "code": "REG-DATES", "title": "Dates the wrong way round", "summary": "",
             "start_date": "2024-06-01", "end_date": "2024-01-31", "status": "active", "office": "",
             "budget_usd": "", "primary_priority": "SP1", "action": "save", "countries": ["KGZ"]}
    response = client.post("/projects/new", data=pairs, follow_redirects=False)
    assert response.status_code == 422
    assert error_beside(response, "end_date") == "Must be on or after the start date."
    assert "start_date" not in doc(response).xpath("//main")[0].text_content()

    headers = factories.token(session, "country_officer", countries=["KGZ"])
    body = {"code": "REG-API", "title": "API dates", "start_date": "2024-06-01", "end_date": "2024-01-31",
            "countries": ["KGZ"], "priorities": ["SP1"]}
    error = client.post("/api/v1/projects", json=body, headers=headers).json()["error"]
    assert error["details"] == [{"field": "end_date", "message": "must be on or after the start date"}]
    assert session.exec(select(Project).where(Project.code.in_(["REG-DATES", "REG-API"]))).all() == []


def test_a_refused_line_of_another_country_is_explained_without_field_paths(client, session):
    """The lead officer changing another country's target: the top message is in words, where it
    once read "targets.1.country: TJK's line can only be changed…"."""
    factories.user(session, "country_officer", countries=["KGZ"], email="reg.kgz@test.example")
    proj = factories.project(session, "REG-LEAD", countries=("KGZ", "TJK"), start="2024-01-01", end="2025-12-31")
    ind = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 400), "TJK": (0, 100)})
    session.flush()
    csrf = factories.sign_in(client, "reg.kgz@test.example")
    response = client.post(f"/indicators/{ind.id}/edit", follow_redirects=False,
                           data=indicator_form(csrf, **{"target-TJK": "150"}))
    assert response.status_code == 403
    alert = doc(response).xpath("//p[@role='alert']")[0].text_content()
    assert alert.startswith("Nothing has been saved: TJK's line can only be changed by an officer of TJK")
    assert "targets." not in alert
    assert "only be changed by an officer of TJK" in error_beside(response, "target-TJK")


def test_a_locked_definition_is_refused_in_words(client, session):
    """The definitions lock's message names the fields in words; its details keep the keys."""
    headers = factories.token(session, "country_officer", countries=["KGZ"])
    proj = factories.project(session, "REG-LOCK", countries=("KGZ",), start="2022-01-01", end="2023-12-31")
    ind = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 400)})
    factories.result(session, ind, "KGZ", "2022Q1", 10, status="approved")
    response = client.patch(f"/api/v1/indicators/{ind.id}", json={"reporting_frequency": "annual"}, headers=headers)
    assert response.status_code == 409, response.text
    error = response.json()["error"]
    assert error["message"].startswith("reporting frequency cannot change: this indicator has approved results")
    assert [d["field"] for d in error["details"]] == ["reporting_frequency"]
