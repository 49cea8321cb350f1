"""Who may change an indicator line's targets (issue 13, finding 8), and the reason SPEC §3 rev. 2
asks for once a result is approved.

The rule (mne.indicators.service, `_ensure_can_change`): the definition and which lines exist
belong to the officers of the project's lead country; an existing line's baseline, target,
opening actual and period targets to the officers of the line's country. Reviewers and admins
define nothing. Every refusal is a 403 naming the field and the country, with nothing written.
"""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from mne.audit.models import AuditEvent
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.reference.models import Office
from tests import factories
from tests.pages import browser, doc, error_beside, fresh

KGZ = "lines.kgz@test.example"
TJK = "lines.tjk@test.example"


def bearer(session, user) -> dict[str, str]:
    _, secret = factories.users.create_token(session, user)
    session.flush()
    return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(session):
    """A project led by IOM Bishkek (Kyrgyzstan) in Kyrgyzstan, Tajikistan and Uzbekistan; its
    indicator OC1 has a Kyrgyz line (0 → 400) and a Tajik one (0 → 100, 20 due in 2024Q1) with an
    approved result in 2024Q1. Uzbekistan has no line."""
    bishkek = session.exec(select(Office).where(Office.name == "IOM Bishkek")).one()
    proj = factories.project(session, "LT-LINES", countries=("KGZ", "TJK", "UZB"), start="2024-01-01",
                             end="2024-12-31", office_id=bishkek.id)
    ind = factories.indicator(session, proj, "OC1", targets={"KGZ": (0, 400), "TJK": (0, 100)})
    session.add(PeriodTarget(indicator_id=ind.id, country_iso3="TJK", period_code="2024Q1", target=20))
    factories.result(session, ind, "TJK", "2024Q1", value=30, status="approved")
    kgz = factories.user(session, "country_officer", countries=["KGZ"], email=KGZ)
    tjk = factories.user(session, "country_officer", countries=["TJK"], email=TJK)
    reviewer = factories.user(session, "regional_reviewer")
    admin = factories.user(session, "admin")
    return {"ind": ind, "kgz": bearer(session, kgz), "tjk": bearer(session, tjk),
            "reviewer": bearer(session, reviewer), "admin": bearer(session, admin)}


TARGETS = [{"country": "KGZ", "baseline": 0, "target": 400}, {"country": "TJK", "baseline": 0, "target": 100}]
PERIOD_TARGETS = [{"country": "TJK", "period": "2024Q1", "target": 20}]


def targets(**changes: float) -> list[dict]:
    """The indicator's two lines, with the targets of some countries changed."""
    return [{**t, "target": changes.get(t["country"], t["target"])} for t in TARGETS]


def stored(session, ind) -> dict[str, float]:
    return dict(fresh(session).exec(select(IndicatorTarget.country_iso3, IndicatorTarget.target)
                                    .where(IndicatorTarget.indicator_id == ind.id)).all())


def events(session, ind) -> list[AuditEvent]:
    return list(fresh(session).exec(select(AuditEvent).where(AuditEvent.entity == "indicator",
                                                             AuditEvent.entity_id == str(ind.id))))


def forbidden(response) -> dict[str, str]:
    assert response.status_code == 403, response.text
    body = response.json()["error"]
    assert body["code"] == "forbidden"
    return {d["field"]: d["message"] for d in body["details"]}


def test_the_lead_countrys_officer_cannot_change_another_countrys_line(client, session, world):
    ind = world["ind"]
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"],
                            json={"targets": targets(TJK=50), "reason": "revised work plan"})
    found = forbidden(response)
    assert list(found) == ["targets.1.country"]
    assert found["targets.1.country"].startswith("TJK's line can only be changed by an officer of TJK")
    # Its period targets neither.
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"], json={
        "period_targets": [{**PERIOD_TARGETS[0], "target": 5}], "reason": "revised work plan"})
    assert list(forbidden(response)) == ["period_targets.0.country"]
    # Nor remove a line that has results (refused before: 422), nor its period targets (403).
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"],
                            json={"period_targets": [], "reason": "revised work plan"})
    assert list(forbidden(response)) == ["period_targets"]
    assert stored(session, ind) == {"KGZ": 400, "TJK": 100}
    assert fresh(session).exec(select(PeriodTarget.target).where(PeriodTarget.indicator_id == ind.id)).all() == [20]
    assert events(session, ind) == []


def test_the_lead_countrys_officer_changes_its_own_line_with_a_reason(client, session, world):
    ind = world["ind"]
    # A result of the indicator is approved (Tajikistan's): every line's targets now need a reason.
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"], json={"targets": targets(KGZ=450)})
    assert response.status_code == 422, response.text
    assert [d["field"] for d in response.json()["error"]["details"]] == ["reason"]
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"],
                            json={"targets": targets(KGZ=450), "reason": "   "})
    assert [d["field"] for d in response.json()["error"]["details"]] == ["reason"]
    assert stored(session, ind) == {"KGZ": 400, "TJK": 100} and events(session, ind) == []
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"],
                            json={"targets": targets(KGZ=450), "reason": "second grant in Osh"})
    assert response.status_code == 200, response.text
    assert stored(session, ind) == {"KGZ": 450, "TJK": 100}
    [event] = events(session, ind)
    assert event.reason == "second grant in Osh" and event.action == "indicator.update"
    assert [t["target"] for t in event.before["targets"]] == [400, 100]
    assert [t["target"] for t in event.after["targets"]] == [450, 100]


def test_the_lead_countrys_officer_adds_a_line_for_another_country(client, session, world):
    ind = world["ind"]
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["kgz"], json={
        "targets": [*TARGETS, {"country": "UZB", "baseline": 0, "target": 60}], "reason": "Uzbekistan joins"})
    assert response.status_code == 200, response.text
    assert stored(session, ind) == {"KGZ": 400, "TJK": 100, "UZB": 60}


def test_the_lines_own_officer_changes_it_and_nothing_else(client, session, world):
    ind = world["ind"]
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["tjk"],
                            json={"targets": targets(TJK=120)})
    assert [d["field"] for d in response.json()["error"]["details"]] == ["reason"]
    response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["tjk"], json={
        "targets": targets(TJK=120), "period_targets": [{**PERIOD_TARGETS[0], "target": 25}],
        "reason": "the ministry doubled the caseload"})
    assert response.status_code == 200, response.text
    assert stored(session, ind) == {"KGZ": 400, "TJK": 120}
    assert fresh(session).exec(select(PeriodTarget.target).where(PeriodTarget.indicator_id == ind.id)).all() == [25]
    [event] = events(session, ind)
    assert event.reason == "the ministry doubled the caseload"
    # Not the Kyrgyz line, not the definition, not a new line of another country.
    for body, field in (({"targets": targets(KGZ=1, TJK=120)}, "targets.0.country"),
                        ({"statement": "Renamed"}, "statement"),
                        ({"targets": [*targets(TJK=120), {"country": "UZB", "target": 5}]}, "targets.2.country")):
        response = client.patch(f"/api/v1/indicators/{ind.id}", headers=world["tjk"],
                                json={**body, "reason": "trying"})
        assert list(forbidden(response)) == [field], body
    assert fresh(session).get(Indicator, ind.id).statement == "Indicator OC1"
    assert stored(session, ind) == {"KGZ": 400, "TJK": 120} and len(events(session, ind)) == 1


def test_reviewers_admins_and_officers_without_a_line_change_nothing(client, session, world):
    ind = world["ind"]
    uzb = bearer(session, factories.user(session, "country_officer", countries=["UZB"]))
    srb = bearer(session, factories.user(session, "country_officer", countries=["SRB"]))
    for headers in (world["reviewer"], world["admin"], uzb, srb):
        response = client.patch(f"/api/v1/indicators/{ind.id}", headers=headers,
                                json={"targets": targets(TJK=1, KGZ=1), "reason": "trying"})
        assert response.status_code == 403, response.text
    assert stored(session, ind) == {"KGZ": 400, "TJK": 100} and events(session, ind) == []


def test_the_edit_page_offers_each_officer_what_it_may_change(client, session, world):
    ind = world["ind"]
    session.commit()
    tjk = browser(client)
    csrf = factories.sign_in(tjk, TJK)
    page = tjk.get(f"/indicators/{ind.id}/edit")
    assert page.status_code == 200
    tree = doc(page)
    assert tree.get_element_by_id("statement").get("disabled") is not None  # the definition is not theirs
    assert tree.get_element_by_id("target-KGZ").get("readonly") is not None  # nor Kyrgyzstan's line
    assert tree.get_element_by_id("target-TJK").get("readonly") is None
    assert tree.get_element_by_id("reason") is not None  # a result is approved: say why
    assert "changed by the officers of the project's lead country" in tree.get_element_by_id("others-note").text
    # The project page offers the Tajik officer the form of the indicator its line belongs to.
    assert f'href="/indicators/{ind.id}/edit"' in tjk.get("/projects/LT-LINES").text
    form = {"csrf_token": csrf, "code": "OC1", "statement": "Indicator OC1", "level": "outcome", "priority": "SP1",
            "measure": "number", "aggregation": "sum", "direction": "increase", "disaggregation": "none",
            "reporting_frequency": "quarterly", "standard_indicator": "", "baseline-KGZ": "0", "target-KGZ": "400",
            "baseline-TJK": "0", "target-TJK": "130", "pt-TJK-2024Q1": "20"}
    response = tjk.post(f"/indicators/{ind.id}/edit", data=form, follow_redirects=False)
    assert response.status_code == 422 and error_beside(response, "reason").startswith("Say why")
    response = tjk.post(f"/indicators/{ind.id}/edit", data={**form, "reason": "new caseload"},
                        follow_redirects=False)
    assert response.status_code == 303, response.text
    assert stored(session, ind) == {"KGZ": 400, "TJK": 130}
    assert events(session, ind)[-1].reason == "new caseload"
    assert "new caseload" in tjk.get("/projects/LT-LINES/history").text
    # The Kyrgyz (lead) officer posting a changed Tajik target: 403, beside the Tajik target, nothing saved.
    count = fresh(session).exec(select(func.count()).select_from(AuditEvent)).one()
    kgz_csrf = factories.sign_in(client, KGZ)
    response = client.post(f"/indicators/{ind.id}/edit", follow_redirects=False,
                           data={**form, "csrf_token": kgz_csrf, "target-TJK": "10", "reason": "trying"})
    assert response.status_code == 403, response.text
    assert "only be changed by an officer of TJK" in error_beside(response, "target-TJK")
    assert "Nothing has been saved" in response.text
    assert stored(session, ind) == {"KGZ": 400, "TJK": 130}
    assert fresh(session).exec(select(func.count()).select_from(AuditEvent)).one() == count
