"""Admin pages (users, reference data, periods) and every user's API tokens page, through a
browser-like client: forms with CSRF tokens, 303 after success, errors beside their fields."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import func, select

from mne.audit import service as audit
from mne.reference.models import Country, Donor, Period, StandardIndicator
from mne.users.models import ApiToken, User, UserCountry
from tests import factories
from tests.pages import browser, doc, error_beside, fresh

ADMIN_EMAIL = "pages.admin@test.example"
NEW_PASSWORD = "Seven-Long-Rivers-2025"


# --- helpers ------------------------------------------------------------------------------

@pytest.fixture
def admin(client, session):
    """The client signed in as an admin; answers its CSRF token."""
    factories.user(session, "admin", email=ADMIN_EMAIL)
    return factories.sign_in(client, ADMIN_EMAIL)


def admin_id(session) -> int:
    return session.exec(select(User.id).where(User.email == ADMIN_EMAIL)).one()


def count(session, model) -> int:
    return fresh(session).exec(select(func.count()).select_from(model)).one()


def events(session, entity: str, entity_id, action: str):
    return [e for e in audit.history(fresh(session), entity, entity_id) if e.action == action]


def new_user_form(csrf, **overrides) -> dict:
    form = {"csrf_token": csrf, "email": "new.officer@test.example", "name": "Aida Bekova",
            "role": "country_officer", "countries": ["KGZ", "TJK"], "password": NEW_PASSWORD}
    form.update(overrides)
    return form


# --- users --------------------------------------------------------------------------------

def test_admin_creates_an_officer_who_can_sign_in(client, session, admin):
    response = client.get("/admin/users/new")
    assert response.status_code == 200
    page = doc(response)
    # Countries are checkboxes grouped by subregion, each group a fieldset with a legend.
    legends = [el.text_content().strip() for el in page.xpath('//fieldset[contains(@class, "choice-group")]/legend')]
    assert "Western Balkans" in legends and "Central Asia" in legends
    assert page.xpath('//input[@type="checkbox"][@name="countries"][@value="XKX"]')

    response = client.post("/admin/users/new", data=new_user_form(admin), follow_redirects=False)
    assert response.status_code == 303, response.text
    user = fresh(session).exec(select(User).where(User.email == "new.officer@test.example")).one()
    assert response.headers["location"] == f"/admin/users/{user.id}?notice=created"
    assert (user.role, user.name, user.is_active) == ("country_officer", "Aida Bekova", True)
    scopes = session.exec(select(UserCountry.country_iso3).where(UserCountry.user_id == user.id)).all()
    assert sorted(scopes) == ["KGZ", "TJK"]
    [created] = events(session, "user", user.id, "user.create")
    assert created.actor_id == admin_id(session) and created.after["countries"] == ["KGZ", "TJK"]
    assert "password_hash" not in created.after

    listing = client.get("/admin/users")
    assert "new.officer@test.example" in listing.text and "Active" in listing.text

    other = browser(client)
    factories.sign_in(other, "new.officer@test.example", NEW_PASSWORD)
    home = other.get("/")
    assert "Kyrgyzstan" in home.text and "Tajikistan" in home.text and "country officer" in home.text


@pytest.mark.parametrize("overrides, field, message", [
    ({"password": "short"}, "password", "at least 12 characters"),
    ({"password": "password1234"}, "password", "too common"),
    ({"role": "superuser"}, "role", "unknown role"),
    ({"role": ""}, "role", "choose a role"),
    ({"email": "not-an-email"}, "email", ""),
    ({"email": ADMIN_EMAIL}, "email", "already exists"),
    ({"countries": []}, "countries", "at least one country"),
    ({"countries": ["KGZ", "XXX"]}, "countries", "unknown country"),
    ({"role": "regional_reviewer"}, "countries", "not scoped by country"),
    ({"role": "donor_viewer", "countries": []}, "donors", "at least one donor"),
])
def test_bad_new_user_is_refused_beside_the_field(client, session, admin, overrides, field, message):
    users_before = count(session, User)
    form = new_user_form(admin, **overrides)
    response = client.post("/admin/users/new", data=form, follow_redirects=False)
    assert response.status_code == 422, response.text
    assert message in error_beside(response, field).lower()
    assert count(session, User) == users_before
    # What the admin typed is kept (except the password, which is never sent back).
    page = doc(response)
    assert page.get_element_by_id("email").get("value") == form["email"]
    assert page.get_element_by_id("name").get("value") == "Aida Bekova"
    assert not page.get_element_by_id("password").get("value")
    checked = {el.get("value") for el in page.xpath('//input[@name="countries"][@checked]')}
    assert checked == set(form["countries"]) - {"XXX"}  # an unknown code has no box to tick


def test_several_errors_are_shown_at_once(client, session, admin):
    response = client.post("/admin/users/new", data=new_user_form(admin, email="bad", password="x"))
    assert response.status_code == 422
    assert error_beside(response, "email") and error_beside(response, "password")


def test_admin_edits_role_and_scopes_with_audit(client, session, admin):
    factories.donor(session, "PAGES-DONOR")
    officer = factories.user(session, "country_officer", countries=["KGZ"], email="edit.me@test.example")
    page = client.get(f"/admin/users/{officer.id}")
    assert page.status_code == 200 and "edit.me@test.example" in page.text
    assert doc(page).xpath('//input[@name="countries"][@value="KGZ"][@checked]')

    response = client.post(f"/admin/users/{officer.id}", follow_redirects=False, data={
        "csrf_token": admin, "name": "Edited Name", "role": "country_officer", "countries": ["SRB", "MNE"]})
    assert response.status_code == 303 and response.headers["location"].endswith("notice=saved")
    [event] = events(session, "user", officer.id, "user.update")
    assert event.actor_id == admin_id(session)
    assert event.before["countries"] == ["KGZ"] and event.after["countries"] == ["MNE", "SRB"]
    assert event.before["name"] == "" and event.after["name"] == "Edited Name"

    response = client.post(f"/admin/users/{officer.id}", follow_redirects=False, data={
        "csrf_token": admin, "name": "Edited Name", "role": "donor_viewer", "donors": ["PAGES-DONOR"]})
    assert response.status_code == 303
    user = fresh(session).get(User, officer.id)
    assert user.role == "donor_viewer"
    [_, second] = events(session, "user", officer.id, "user.update")
    assert second.before["role"] == "country_officer" and second.after == {**second.after, "role": "donor_viewer",
                                                                           "countries": [], "donors": ["PAGES-DONOR"]}

    # A bad change is refused beside its field, and nothing changes.
    response = client.post(f"/admin/users/{officer.id}", data={
        "csrf_token": admin, "name": "Other", "role": "donor_viewer", "countries": ["KGZ"], "donors": ["PAGES-DONOR"]})
    assert response.status_code == 422
    assert "not scoped by country" in error_beside(response, "countries")
    assert doc(response).get_element_by_id("name").get("value") == "Other"
    assert fresh(session).get(User, officer.id).name == "Edited Name"
    assert len(events(session, "user", officer.id, "user.update")) == 2


def test_admin_cannot_demote_or_deactivate_itself(client, session, admin):
    me = admin_id(session)
    response = client.post(f"/admin/users/{me}", data={"csrf_token": admin, "name": "", "role": "regional_reviewer"})
    assert response.status_code == 422 and "yourself" in error_beside(response, "role")
    response = client.post(f"/admin/users/{me}/deactivate", data={"csrf_token": admin})
    assert response.status_code == 422 and "your own account" in response.text
    user = fresh(session).get(User, me)
    assert user.role == "admin" and user.is_active


def test_deactivating_ends_sessions_and_stops_tokens(client, session, admin):
    officer = factories.user(session, "country_officer", countries=["KGZ"], email="leaving@test.example")
    from mne.users import service as users

    _, secret = users.create_token(session, officer, "script")
    session.flush()
    bearer = {"Authorization": f"Bearer {secret}"}
    other = browser(client)
    factories.sign_in(other, officer.email)
    assert other.get("/", follow_redirects=False).status_code == 200
    assert client.get("/api/v1/priorities", headers=bearer).status_code == 200

    response = client.post(f"/admin/users/{officer.id}/deactivate", follow_redirects=False,
                           data={"csrf_token": admin, "reason": "left the organisation"})
    assert response.status_code == 303
    assert other.get("/", follow_redirects=False).status_code == 303  # back to the sign-in page
    assert client.get("/api/v1/priorities", headers=bearer).status_code == 401
    [event] = events(session, "user", officer.id, "user.deactivate")
    assert event.reason == "left the organisation" and event.after == {"is_active": False}
    listing = client.get("/admin/users", params={"state": "inactive"})
    assert "leaving@test.example" in listing.text and "Deactivated" in listing.text
    # Nor can it sign in again.
    assert other.post("/login", follow_redirects=False, data={
        "email": officer.email, "password": factories.PASSWORD,
        "csrf_token": doc(other.get("/login")).xpath('//input[@name="csrf_token"]')[0].get("value"),
    }).status_code == 401

    response = client.post(f"/admin/users/{officer.id}/reactivate", follow_redirects=False, data={"csrf_token": admin})
    assert response.status_code == 303
    assert client.get("/api/v1/priorities", headers=bearer).status_code == 200
    assert events(session, "user", officer.id, "user.reactivate")


def test_users_list_searches_by_email_and_filters_by_role(client, session, admin):
    factories.user(session, "regional_reviewer", email="findme.reviewer@test.example")
    factories.user(session, "country_officer", countries=["ARM"], email="findme.officer@test.example")
    def results(**params) -> str:
        return doc(client.get("/admin/users", params=params)).get_element_by_id("user-results").text_content()

    body = results(q="FINDME")
    assert "findme.reviewer@" in body and "findme.officer@" in body and ADMIN_EMAIL not in body
    body = results(q="findme", role="country_officer")
    assert "findme.officer@" in body and "findme.reviewer@" not in body and "ARM" in body
    # Odd filter values are ignored rather than failing.
    assert client.get("/admin/users", params={"role": "nope", "state": "nope", "q": "%_"}).status_code == 200
    # htmx asks for the results only: a fragment, not the page.
    fragment = client.get("/admin/users", params={"q": "findme"}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "<html" not in fragment.text and 'id="user-results"' in fragment.text
    assert fragment.headers["vary"] == "HX-Request"


def test_admin_sees_and_revokes_a_users_tokens(client, session, admin):
    from mne.users import service as users

    reviewer = factories.user(session, "regional_reviewer", email="tokens.reviewer@test.example")
    token, secret = users.create_token(session, reviewer, "nightly export")
    session.flush()
    page = client.get(f"/admin/users/{reviewer.id}")
    assert "nightly export" in page.text and token.prefix in page.text and secret not in page.text
    response = client.post(f"/admin/users/{reviewer.id}/tokens/{token.id}/revoke", follow_redirects=False,
                           data={"csrf_token": admin})
    assert response.status_code == 303
    assert client.get("/api/v1/priorities", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert "Revoked" in client.get(f"/admin/users/{reviewer.id}").text
    # A token of another user through this user's page: not found.
    other_token, _ = users.create_token(session, factories.user(session, "admin"), "x")
    session.flush()
    response = client.post(f"/admin/users/{reviewer.id}/tokens/{other_token.id}/revoke", data={"csrf_token": admin})
    assert response.status_code == 404
    assert fresh(session).get(ApiToken, other_token.id).revoked_at is None


# --- every user's own tokens ------------------------------------------------------------------

def test_token_is_shown_once_works_and_can_be_revoked(client, session):
    factories.user(session, "donor_viewer", donors=[factories.donor(session, "TOKDONOR").code],
                   email="token.owner@test.example")
    csrf = factories.sign_in(client, "token.owner@test.example")
    assert "You have no API tokens yet" in client.get("/account/tokens").text

    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "Power BI"})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    secret = doc(response).get_element_by_id("new-token").get("value")
    assert secret.startswith("mne_") and "shown only this once" in response.text
    again = client.get("/account/tokens")
    assert secret not in again.text and "Power BI" in again.text and secret[:10] in again.text

    bearer = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/priorities", headers=bearer).status_code == 200
    assert "Never" not in client.get("/account/tokens").text  # last used is now recorded

    token = fresh(session).exec(select(ApiToken).where(ApiToken.prefix == secret[:10])).one()
    response = client.post(f"/account/tokens/{token.id}/revoke", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert client.get("/api/v1/priorities", headers=bearer).status_code == 401
    assert "Revoked" in client.get("/account/tokens").text


def test_tokens_page_refuses_bad_input_and_other_users_tokens(client, session):
    from mne.users import service as users

    factories.user(session, "regional_reviewer", email="token.reviewer@test.example")
    csrf = factories.sign_in(client, "token.reviewer@test.example")
    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "  "})
    assert response.status_code == 422 and "name" in error_beside(response, "token-name").lower()
    response = client.post("/account/tokens", data={"csrf_token": csrf, "name": "x" * 81})
    assert response.status_code == 422 and "80" in error_beside(response, "token-name")
    assert count(session, ApiToken) == 0

    stranger_token, stranger_secret = users.create_token(session, factories.user(session, "admin"), "theirs")
    session.flush()
    for token_id in (str(stranger_token.id), "999999", "abc"):
        response = client.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf})
        assert response.status_code == 404, token_id
    assert client.get("/api/v1/priorities", headers={"Authorization": f"Bearer {stranger_secret}"}).status_code == 200
    # A token cannot mint more tokens.
    response = client.post("/account/tokens", data={"name": "more"},
                           headers={"Authorization": f"Bearer {stranger_secret}"})
    assert response.status_code == 403


# --- reporting periods ----------------------------------------------------------------------

def test_admin_adds_a_period_with_the_default_due_date(client, session, admin):
    page = client.get("/admin/periods")
    assert page.status_code == 200
    assert doc(page).get_element_by_id("code").get("value") == "2025Q1"  # the next quarter is suggested
    response = client.post("/admin/periods", follow_redirects=False, data={
        "csrf_token": admin, "code": "2025q1", "start_date": "", "end_date": "", "due_date": ""})
    assert response.status_code == 303, response.text
    period = fresh(session).get(Period, "2025Q1")
    assert (period.start_date, period.end_date, period.due_date, period.status) == (
        date(2025, 1, 1), date(2025, 3, 31), date(2025, 4, 30), "open")
    [event] = events(session, "period", "2025Q1", "period.create")
    assert event.actor_id == admin_id(session) and event.after["due_date"] == "2025-04-30"
    assert "2025Q1" in client.get("/admin/periods").text
    assert doc(client.get("/admin/periods")).get_element_by_id("code").get("value") == "2025Q2"
    # Explicit dates are kept.
    response = client.post("/admin/periods", follow_redirects=False, data={
        "csrf_token": admin, "code": "2025Q2", "start_date": "2025-04-01", "end_date": "2025-06-30",
        "due_date": "2025-07-15"})
    assert response.status_code == 303 and fresh(session).get(Period, "2025Q2").due_date == date(2025, 7, 15)


@pytest.mark.parametrize("form, field, message", [
    ({"code": "2025Q5"}, "code", "yyyyqn"),
    ({"code": "25Q1"}, "code", "yyyyqn"),
    ({"code": "2025-Q1"}, "code", "yyyyqn"),
    # Year 0 has no dates and 9999Q4's due date overflows: both once answered 500.
    ({"code": "0000Q1"}, "code", "from 1900 to 2199"),
    ({"code": "9999Q4"}, "code", "from 1900 to 2199"),
    ({"code": "2025Q1", "due_date": "9999-12-31"}, "due_date", "less than or equal to 2199-12-31"),
    ({"code": "2025Q1", "start_date": "0001-01-01"}, "start_date", "greater than or equal to 1900-01-01"),
    ({"code": ""}, "code", ""),
    ({"code": "2024Q4"}, "code", "already exists"),
    ({"code": "2025Q1", "start_date": "2025-02-10", "end_date": "2025-02-01"}, "end_date", "before the start"),
    ({"code": "2025Q1", "end_date": "2025-03-31", "due_date": "2025-03-01"}, "due_date", "before the end"),
    ({"code": "2025Q1", "start_date": "2024-12-01"}, "start_date", "within 2025q1"),
    ({"code": "2025Q1", "start_date": "31/01/2025"}, "start_date", "yyyy-mm-dd"),
])
def test_bad_periods_are_refused_beside_the_field(client, session, admin, form, field, message):
    before = count(session, Period)
    data = {"csrf_token": admin, "start_date": "", "end_date": "", "due_date": "", **form}
    response = client.post("/admin/periods", data=data)
    assert response.status_code == 422, response.text
    assert message in error_beside(response, field).lower()
    assert doc(response).get_element_by_id("code").get("value") == form["code"]
    assert count(session, Period) == before


def test_periods_never_overlap(client, session, admin):
    session.add(Period(code="2025Q1", start_date=date(2025, 1, 1), end_date=date(2025, 4, 15),
                       due_date=date(2025, 5, 15)))
    session.flush()
    response = client.post("/admin/periods", data={"csrf_token": admin, "code": "2025Q2", "start_date": "",
                                                   "end_date": "", "due_date": ""})
    assert response.status_code == 422 and "overlap period 2025q1" in error_beside(response, "start_date").lower()
    assert fresh(session).get(Period, "2025Q2") is None


def test_admin_closes_and_reopens_a_period_with_a_reason(client, session, admin):
    response = client.post("/admin/periods/2024Q3/close", follow_redirects=False,
                           data={"csrf_token": admin, "reason": "reporting round finished"})
    assert response.status_code == 303
    assert fresh(session).get(Period, "2024Q3").status == "closed"
    [event] = events(session, "period", "2024Q3", "period.close")
    assert event.reason == "reporting round finished" and event.actor_id == admin_id(session)
    row = doc(client.get("/admin/periods")).xpath('//tr[th[normalize-space()="2024Q3"]]')[0]
    assert "Closed" in row.text_content() and "Reopen" in row.text_content()

    response = client.post("/admin/periods/2024Q3/open", follow_redirects=False, data={"csrf_token": admin})
    assert response.status_code == 303 and fresh(session).get(Period, "2024Q3").status == "open"
    assert events(session, "period", "2024Q3", "period.open")
    assert client.post("/admin/periods/2031Q1/close", data={"csrf_token": admin}).status_code == 404


# --- reference data -----------------------------------------------------------------------

def test_subregion_mapping_change_shows_in_the_api(client, session, admin):
    page = client.get("/admin/reference")
    assert page.status_code == 200 and "resolution 1244 (1999)" in page.text
    response = client.post("/admin/reference/countries/TUR", follow_redirects=False,
                           data={"csrf_token": admin, "subregion_code": "SC"})
    assert response.status_code == 303
    bearer = factories.token(session, "regional_reviewer")
    countries = {c["iso3"]: c for c in client.get("/api/v1/countries", headers=bearer).json()}
    assert countries["TUR"]["subregion_code"] == "SC"
    subregions = {s["code"]: s["countries"] for s in client.get("/api/v1/subregions", headers=bearer).json()}
    assert "TUR" in subregions["SC"] and "TUR" not in subregions["EM"]
    [event] = events(session, "country", "TUR", "country.subregion")
    assert event.before["subregion_code"] == "EM" and event.after["subregion_code"] == "SC"
    selected = doc(client.get("/admin/reference")).get_element_by_id("subregion-TUR").xpath('.//option[@selected]')
    assert selected[0].get("value") == "SC"

    response = client.post("/admin/reference/countries/TUR", data={"csrf_token": admin, "subregion_code": "ZZ"})
    assert response.status_code == 422 and "unknown subregion" in error_beside(response, "subregion-TUR").lower()
    assert client.post("/admin/reference/countries/XYZ", data={"csrf_token": admin,
                                                               "subregion_code": "SC"}).status_code == 404
    assert fresh(session).get(Country, "TUR").subregion_code == "SC"


def test_admin_adds_and_renames_donors(client, session, admin):
    response = client.post("/admin/reference/donors", follow_redirects=False,
                           data={"csrf_token": admin, "code": "ECHO", "name": "ECHO"})
    assert response.status_code == 303
    response = client.post("/admin/reference/donors/ECHO", follow_redirects=False, data={
        "csrf_token": admin, "name": "European Civil Protection and Humanitarian Aid Operations"})
    assert response.status_code == 303
    bearer = factories.token(session, "regional_reviewer")
    donors = {d["code"]: d["name"] for d in client.get("/api/v1/donors", headers=bearer).json()}
    assert donors["ECHO"] == "European Civil Protection and Humanitarian Aid Operations"
    [event] = events(session, "donor", "ECHO", "donor.rename")
    assert event.before["name"] == "ECHO" and event.actor_id == admin_id(session)

    before = count(session, Donor)
    response = client.post("/admin/reference/donors", data={"csrf_token": admin, "code": "has space", "name": "x"})
    assert response.status_code == 422 and "letters, digits" in error_beside(response, "donor-code")
    assert doc(response).get_element_by_id("donor-code").get("value") == "has space"
    response = client.post("/admin/reference/donors", data={"csrf_token": admin, "code": "ECHO", "name": "again"})
    assert response.status_code == 422 and "already exists" in error_beside(response, "donor-code").lower()
    response = client.post("/admin/reference/donors", data={"csrf_token": admin, "code": "NEW1", "name": " "})
    assert response.status_code == 422 and "required" in error_beside(response, "donor-name").lower()
    assert count(session, Donor) == before

    response = client.post("/admin/reference/donors/ECHO", data={"csrf_token": admin, "name": ""})
    assert response.status_code == 422
    row_input = [el for el in doc(response).xpath('//input[@name="name"][@aria-invalid="true"]')]
    assert len(row_input) == 1 and "empty" in doc(response).get_element_by_id(
        row_input[0].get("aria-describedby")).text_content()
    assert client.post("/admin/reference/donors/NOPE", data={"csrf_token": admin, "name": "x"}).status_code == 404
    assert fresh(session).get(Donor, "ECHO").name == "European Civil Protection and Humanitarian Aid Operations"


def test_admin_adds_and_edits_standard_indicators(client, session, admin):
    response = client.post("/admin/reference/standard-indicators", follow_redirects=False, data={
        "csrf_token": admin, "code": "SP1.9", "priority_code": "SP1", "statement": "Number of shelters supported",
        "measure": "number", "aggregation": "sum", "disaggregation": "none"})
    assert response.status_code == 303, response.text
    assert [e.after["statement"] for e in events(session, "standard_indicator", "SP1.9", "standard_indicator.create")] \
        == ["Number of shelters supported"]

    page = client.get("/admin/reference/standard-indicators/SP1.9")
    assert page.status_code == 200 and "Number of shelters supported" in page.text
    response = client.post("/admin/reference/standard-indicators/SP1.9", follow_redirects=False, data={
        "csrf_token": admin, "statement": "Number of shelters supported by IOM", "measure": "number",
        "aggregation": "sum", "disaggregation": "sex"})
    assert response.status_code == 303
    indicator = fresh(session).get(StandardIndicator, "SP1.9")
    assert (indicator.statement, indicator.disaggregation) == ("Number of shelters supported by IOM", "sex")
    [event] = events(session, "standard_indicator", "SP1.9", "standard_indicator.update")
    assert event.before["disaggregation"] == "none" and event.after["disaggregation"] == "sex"

    response = client.post("/admin/reference/standard-indicators/SP1.9", data={
        "csrf_token": admin, "statement": "Share of shelters", "measure": "percentage", "aggregation": "sum"})
    assert response.status_code == 422 and "latest" in error_beside(response, "edit-aggregation")
    assert doc(response).get_element_by_id("edit-statement").text_content() == "Share of shelters"
    response = client.post("/admin/reference/standard-indicators", data={
        "csrf_token": admin, "code": "SP1.1", "priority_code": "SP1", "statement": "dup", "measure": "number",
        "aggregation": "sum"})
    assert response.status_code == 422 and "already exists" in error_beside(response, "si-code").lower()
    response = client.post("/admin/reference/standard-indicators", data={
        "csrf_token": admin, "code": "SP9.1", "priority_code": "SP9", "statement": "x", "measure": "count",
        "aggregation": "sum"})
    assert response.status_code == 422 and error_beside(response, "si-measure")
    assert client.get("/admin/reference/standard-indicators/NOPE").status_code == 404
    assert fresh(session).get(StandardIndicator, "SP1.9").statement == "Number of shelters supported by IOM"


# --- who may do what ----------------------------------------------------------------------

ADMIN_GETS = ["/admin/users", "/admin/users/new", "/admin/users/{uid}", "/admin/periods", "/admin/reference",
              "/admin/reference/standard-indicators/SP1.1"]


def admin_posts(uid: int) -> list[tuple[str, dict]]:
    return [
        ("/admin/users/new", {"email": "intruder@test.example", "role": "admin", "password": NEW_PASSWORD}),
        (f"/admin/users/{uid}", {"name": "x", "role": "admin"}),
        (f"/admin/users/{uid}/deactivate", {}),
        (f"/admin/users/{uid}/reactivate", {}),
        (f"/admin/users/{uid}/tokens/1/revoke", {}),
        ("/admin/periods", {"code": "2025Q1"}),
        ("/admin/periods/2024Q2/close", {}),
        ("/admin/periods/2020Q1/open", {}),
        ("/admin/reference/donors", {"code": "INTRUDER", "name": "x"}),
        ("/admin/reference/donors/PERMDONOR", {"name": "renamed"}),
        ("/admin/reference/countries/TUR", {"subregion_code": "WB"}),
        ("/admin/reference/standard-indicators", {"code": "SP1.8", "priority_code": "SP1", "statement": "x",
                                                  "measure": "number", "aggregation": "sum"}),
        ("/admin/reference/standard-indicators/SP1.1", {"statement": "x", "measure": "number", "aggregation": "sum"}),
    ]


def state(session) -> tuple:
    fresh(session)
    return (count(session, User), count(session, Donor), count(session, Period), count(session, StandardIndicator),
            [(u.role, u.name, u.is_active) for u in session.exec(select(User).order_by(User.id))],
            session.get(Period, "2024Q2").status, session.get(Period, "2020Q1").status,
            session.get(Donor, "PERMDONOR").name, session.get(Country, "TUR").subregion_code,
            session.get(StandardIndicator, "SP1.1").statement)


@pytest.mark.parametrize("role, kwargs", [
    ("country_officer", {"countries": ["KGZ"]}),
    ("regional_reviewer", {}),
    ("donor_viewer", {"donors": ["PERMDONOR"]}),
])
def test_non_admins_get_403_on_every_admin_page(client, session, role, kwargs):
    factories.donor(session, "PERMDONOR")
    target = factories.user(session, "country_officer", countries=["ARM"])
    factories.user(session, role, email=f"not.admin.{role}@test.example", **kwargs)
    csrf = factories.sign_in(client, f"not.admin.{role}@test.example")
    before = state(session)
    for path in ADMIN_GETS:
        response = client.get(path.format(uid=target.id))
        assert response.status_code == 403, path
        assert "You do not have access" in response.text and "intruder" not in response.text
    for path, data in admin_posts(target.id):
        response = client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)
        assert response.status_code == 403, path
    assert state(session) == before
    # The menu shows none of the admin pages, but the tokens page.
    nav = {a.text_content() for a in doc(client.get("/")).xpath('//nav[@aria-label="Main"]//a')}
    assert not nav & {"Users", "Periods", "Reference data"} and "API tokens" in nav


def test_admin_menu_links_the_admin_pages(client, admin):
    nav = {a.text_content(): a.get("href") for a in doc(client.get("/")).xpath('//nav[@aria-label="Main"]//a')}
    assert nav["Users"] == "/admin/users" and nav["Periods"] == "/admin/periods"
    assert nav["Reference data"] == "/admin/reference" and nav["API tokens"] == "/account/tokens"


@pytest.mark.parametrize("csrf_field", [None, "", "forged-token-value"])
def test_post_without_the_right_csrf_token_is_refused(client, session, admin, csrf_field):
    factories.donor(session, "PERMDONOR")
    target = factories.user(session, "country_officer", countries=["ARM"])
    before = state(session)
    for path, data in admin_posts(target.id) + [("/account/tokens", {"name": "sneaky"})]:
        if csrf_field is not None:
            data = {**data, "csrf_token": csrf_field}
        response = client.post(path, data=data, follow_redirects=False)
        assert response.status_code == 403, path
        assert "did not come from this site" in response.text
    assert state(session) == before and count(session, ApiToken) == 0


@pytest.mark.parametrize("path", [
    "/admin/users/abc", "/admin/users/999999", "/admin/users/-1", "/admin/users/1e3",
    "/admin/reference/standard-indicators/NOPE",
])
def test_unknown_ids_are_a_404_page(client, admin, path):
    response = client.get(path)
    assert response.status_code == 404 and "Not found" in response.text


def test_admin_pages_are_accessible_and_need_no_inline_code(client, session, admin):
    officer = factories.user(session, "country_officer", countries=["KGZ"])
    from mne.users import service as users

    users.create_token(session, officer, "x")
    session.flush()
    client.post("/account/tokens", data={"csrf_token": admin, "name": "mine"})
    for path in ["/admin/users", "/admin/users/new", f"/admin/users/{officer.id}", "/admin/periods",
                 "/admin/reference", "/admin/reference/standard-indicators/SP1.1", "/account/tokens"]:
        response = client.get(path)
        assert response.status_code == 200, path
        page = doc(response)
        labelled = {el.get("for") for el in page.xpath('//label[@for]')}
        for field in page.xpath('//input | //select | //textarea'):
            if field.get("type") == "hidden":
                continue
            assert field.get("id") in labelled, f"{path}: {field.get('name')} has no label"
        ids = [el.get("id") for el in page.xpath('//*[@id]')]
        assert len(ids) == len(set(ids)), f"{path}: duplicate ids"
        assert not page.xpath('//*[@style]') and not page.xpath('//style'), path
        assert all(s.get("src") for s in page.xpath('//script')), f"{path}: inline script"
        for table in page.xpath('//table'):
            assert "table-wrap" in table.getparent().get("class", ""), f"{path}: table not in .table-wrap"
        for checkbox_group in page.xpath('//input[@type="checkbox"]'):
            assert any(a.tag == "fieldset" for a in checkbox_group.iterancestors()), path


# --- the services behind the pages --------------------------------------------------------

@pytest.mark.parametrize("code, start, end", [
    ("2025Q1", date(2025, 1, 1), date(2025, 3, 31)),
    ("2024Q1", date(2024, 1, 1), date(2024, 3, 31)),
    ("2025Q2", date(2025, 4, 1), date(2025, 6, 30)),
    ("2025Q3", date(2025, 7, 1), date(2025, 9, 30)),
    ("2025Q4", date(2025, 10, 1), date(2025, 12, 31)),
])
def test_quarter_bounds(code, start, end):
    from mne.reference.service import quarter_bounds

    assert quarter_bounds(code) == (start, end)


def test_the_last_active_admin_stays_an_active_admin(session):
    from mne.errors import Invalid
    from mne.users import service as users

    admins = fresh(session).exec(select(User).where(User.role == "admin", User.is_active.is_(True))).all()
    for other in admins:  # whatever earlier tests left: only ours counts
        other.is_active = False
        session.add(other)
    only = factories.user(session, "admin", email="only.admin@test.example")
    with pytest.raises(Invalid) as raised:
        users.set_active(session, only, False, actor_id=None)
    assert raised.value.details[0]["field"] == "is_active"
    with pytest.raises(Invalid) as raised:
        users.update_user(session, only, name="", role="regional_reviewer", actor_id=None)
    assert raised.value.details[0]["field"] == "role"
    second = factories.user(session, "admin")
    users.update_user(session, only, name="", role="regional_reviewer", actor_id=second.id)
    assert only.role == "regional_reviewer"


def test_standard_indicator_in_use_keeps_its_measure(session):
    from mne.errors import Invalid
    from mne.reference import service
    from mne.reference.schemas import StandardIndicatorUpdate

    ind = factories.indicator(session, factories.project(session), code="LINKED")
    ind.standard_indicator_code = "SP4.1"
    session.add(ind)
    session.flush()
    change = StandardIndicatorUpdate(statement="Officials trained", measure="percentage", aggregation="latest")
    with pytest.raises(Invalid) as raised:
        service.upsert_standard_indicator(session, "SP4.1", change, actor_id=None)
    assert raised.value.details[0]["field"] == "measure"
    kept = StandardIndicatorUpdate(statement="Officials trained", measure="number", aggregation="sum",
                                   disaggregation="sex")
    assert service.upsert_standard_indicator(session, "SP4.1", kept, actor_id=None).statement == "Officials trained"
