"""The registry of dimensions (`mne.dimensions`) is what the API, the service and the dashboard
read: every dimension is a documented filter and a grouping, and the lead office — added as
one registry entry — works as the others do."""

from __future__ import annotations

import pytest
from sqlmodel import select

from mne.dimensions import DIMENSIONS
from mne.reference.models import Office
from tests import factories
from tests.pages import doc
from tests.progress_world import World, open_periods

API = "/api/v1"


def test_every_dimension_is_a_documented_filter_and_grouping(client):
    schema = client.get("/openapi.json").json()
    for path in ("/api/v1/indicator-lines", "/api/v1/rollup", "/api/v1/completeness", "/api/v1/projects"):
        params = {p["name"]: p for p in schema["paths"][path]["get"]["parameters"]}
        for name, dimension in DIMENSIONS.items():
            assert params[name]["description"].startswith(dimension.description), (path, name)
    by = next(p for p in schema["paths"]["/api/v1/rollup"]["get"]["parameters"] if p["name"] == "by")
    assert all(name in by["description"] for name in DIMENSIONS)


@pytest.fixture
def offices(session):
    """Two projects led from Bishkek, one from Tirana, one with no lead office."""
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    world = World(session)
    led = {}
    for code, country, office in (("OFF-BSK1", "KGZ", "IOM Bishkek"), ("OFF-BSK2", "KGZ", "IOM Bishkek"),
                                  ("OFF-TIA", "ALB", "IOM Tirana"), ("OFF-NONE", "KGZ", None)):
        project = world.project(code, countries=(country,))
        project.office_id = session.exec(select(Office.id).where(Office.name == office)).one() if office else None
        session.add(project)
        indicator = world.indicator(project, "O1", {country: (0, 100)})
        world.report(indicator, country, "2022Q4", 90 if office == "IOM Tirana" else 20)
        led[code] = indicator
    session.commit()
    return led


def test_lines_filter_and_roll_up_by_lead_office(client, session, offices):
    reviewer = factories.token(session, "regional_reviewer")
    projects = "project=OFF-BSK1,OFF-BSK2,OFF-TIA,OFF-NONE"
    lines = client.get(f"{API}/indicator-lines?as_of=2022Q4&{projects}&office=IOM Bishkek", headers=reviewer)
    assert lines.status_code == 200, lines.text
    assert sorted(line["project_code"] for line in lines.json()) == ["OFF-BSK1", "OFF-BSK2"]
    body = client.get(f"{API}/rollup?by=office&as_of=2022Q4&{projects}", headers=reviewer).json()
    groups = {g["key"]: g for g in body["groups"]}
    assert set(groups) == {"IOM Bishkek", "IOM Tirana"}  # a project with no lead office is in no group
    assert groups["IOM Bishkek"]["lines"] == 2 and groups["IOM Bishkek"]["label"] == "IOM Bishkek"
    # 20 of 100 each, all of 2022 elapsed of a two-year project: expected 0.5, r = 0.4 off track.
    assert groups["IOM Bishkek"]["status_counts"]["off_track"] == 2
    assert groups["IOM Bishkek"]["mean_progress"] == pytest.approx(0.2)
    assert groups["IOM Tirana"]["mean_progress"] == pytest.approx(0.9)
    crossed = client.get(f"{API}/rollup?by=office,country&as_of=2022Q4&{projects}", headers=reviewer).json()
    assert {tuple(g["key"]): g["lines"] for g in crossed["groups"]} == {("IOM Bishkek", "KGZ"): 2,
                                                                        ("IOM Tirana", "ALB"): 1}
    listed = client.get(f"{API}/projects?office=IOM Tirana&q=OFF-", headers=reviewer).json()
    assert [p["code"] for p in listed] == ["OFF-TIA"]


def test_the_dashboard_offers_the_lead_office(client, session, offices):
    factories.user(session, "regional_reviewer", email="office.reviewer@test.example")
    factories.sign_in(client, "office.reviewer@test.example")
    page = client.get("/dashboard?as_of=2022Q4&office=IOM Tirana")
    assert page.status_code == 200
    select_ = doc(page).get_element_by_id("f-office")
    assert select_.xpath("preceding::label[@for='f-office']")[0].text_content() == "Lead office"
    assert select_.xpath("option[@selected]")[0].get("value") == "IOM Tirana"


@pytest.mark.parametrize("path", ["/indicator-lines", "/rollup", "/completeness", "/projects"])
@pytest.mark.parametrize("query, field", [("gcm=seven", "gcm"), ("office=IOM%00Bishkek", "office"),
                                          ("gcm=%C2%B9", "gcm"), ("gcm=99999999999999999999", "gcm")])
def test_a_bad_filter_is_refused_naming_it(client, session, path, query, field):
    reviewer = factories.token(session, "regional_reviewer")
    response = client.get(f"{API}{path}?{query}", headers=reviewer)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == field


def test_an_office_that_leads_nothing_gives_an_empty_answer(client, session, offices):
    reviewer = factories.token(session, "regional_reviewer")
    response = client.get(f"{API}/indicator-lines?as_of=2022Q4&office=Nowhere", headers=reviewer)
    assert response.status_code == 200 and response.json() == []
