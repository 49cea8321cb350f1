"""The reference API: what it lists, who may write, and the error envelope."""

from __future__ import annotations

import pytest

from tests import factories


@pytest.fixture
def officer(session):
    return factories.token(session, "country_officer", countries=["KGZ"])


@pytest.fixture
def admin(session):
    return factories.token(session, "admin")


def assert_envelope(response, status: int, code: str):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return body["error"]


def test_priorities_have_pillars(client, officer):
    body = client.get("/api/v1/priorities", headers=officer).json()
    assert [(p["code"], p["pillar"]) for p in body] == [
        ("SP1", "Resilience"), ("SP2", "Resilience"), ("SP3", "Mobility"), ("SP4", "Governance")]
    assert all(len(p["text"]) > 200 for p in body)


def test_countries_carry_subregion_and_kosovo_footnote(client, officer):
    body = client.get("/api/v1/countries", headers=officer).json()
    assert len(body) == 20
    by_code = {c["iso3"]: c for c in body}
    assert by_code["XKX"]["name"] == "Kosovo" and by_code["XKX"]["subregion_code"] == "WB"
    assert "resolution 1244 (1999)" in by_code["XKX"]["footnote"]
    assert by_code["TUR"]["name"] == "Türkiye" and by_code["TUR"]["subregion_code"] == "EM"
    assert by_code["KGZ"]["footnote"] is None


def test_subregions_map_countries(client, officer):
    body = {s["code"]: s["countries"] for s in client.get("/api/v1/subregions", headers=officer).json()}
    assert sorted(body["WB"]) == ["ALB", "BIH", "MKD", "MNE", "SRB", "XKX"]
    assert sorted(body["EE"]) == ["BLR", "MDA", "RUS", "UKR"]
    assert sorted(body["SC"]) == ["ARM", "AZE", "GEO"]
    assert sorted(body["CA"]) == ["KAZ", "KGZ", "TJK", "TKM", "UZB"]
    assert sorted(body["EM"]) == ["ISR", "TUR"]


def test_periods_have_status_and_due_date(client, officer):
    body = client.get("/api/v1/periods", headers=officer).json()
    assert len(body) == 20 and body[0]["code"] == "2020Q1" and body[-1]["code"] == "2024Q4"
    q1 = body[0]
    assert (q1["start_date"], q1["end_date"], q1["due_date"]) == ("2020-01-01", "2020-03-31", "2020-04-30")
    assert {p["status"] for p in body} <= {"open", "closed"}


def test_standard_indicators_cover_each_priority(client, officer):
    body = client.get("/api/v1/standard-indicators", headers=officer).json()
    assert {s["priority_code"] for s in body} == {"SP1", "SP2", "SP3", "SP4"}
    statements = {s["statement"] for s in body}
    assert "Number of victims of trafficking assisted" in statements
    assert "Number of government officials trained on migration governance" in statements


def test_admin_creates_donor(client, admin, officer):
    response = client.post("/api/v1/donors", json={"code": "ECHO", "name": "European Civil Protection and Humanitarian Aid"}, headers=admin)
    assert response.status_code == 201, response.text
    assert {"code": "ECHO", "name": "European Civil Protection and Humanitarian Aid"} in client.get("/api/v1/donors", headers=officer).json()
    assert_envelope(client.post("/api/v1/donors", json={"code": "ECHO", "name": "again"}, headers=admin), 409, "conflict")


def test_officer_cannot_create_donor_or_close_period(client, officer):
    assert_envelope(client.post("/api/v1/donors", json={"code": "X1", "name": "x"}, headers=officer), 403, "forbidden")
    assert_envelope(client.patch("/api/v1/periods/2024Q1", json={"status": "closed"}, headers=officer), 403, "forbidden")


def test_admin_closes_and_reopens_period_with_audit(client, admin, session):
    from mne.audit import service as audit

    response = client.patch("/api/v1/periods/2024Q1", json={"status": "closed"}, headers=admin)
    assert response.status_code == 200 and response.json()["status"] == "closed"
    response = client.patch("/api/v1/periods/2024Q1", json={"status": "open"}, headers=admin)
    assert response.json()["status"] == "open"
    actions = [e.action for e in audit.history(session, "period", "2024Q1") if e.actor_id is not None]
    assert actions == ["period.close", "period.open"]


@pytest.mark.parametrize("body, field", [
    ({"status": "archived"}, "status"),
    ({}, "status"),
    ({"status": "open", "extra": 1}, "extra"),
])
def test_bad_period_update_names_the_field(client, admin, body, field):
    error = assert_envelope(client.patch("/api/v1/periods/2024Q1", json=body, headers=admin), 422, "invalid")
    assert field in {d["field"] for d in error["details"]}


@pytest.mark.parametrize("body, field", [
    ({"code": "has space", "name": "x"}, "code"),
    ({"code": "OK1", "name": ""}, "name"),
    ({"name": "x"}, "code"),
])
def test_bad_donor_names_the_field(client, admin, body, field):
    error = assert_envelope(client.post("/api/v1/donors", json=body, headers=admin), 422, "invalid")
    assert field in {d["field"] for d in error["details"]}


def test_malformed_json_is_422_not_500(client, admin):
    response = client.post("/api/v1/donors", content=b"{not json", headers={**admin, "content-type": "application/json"})
    assert_envelope(response, 422, "invalid")


def test_unknown_period_is_404(client, admin):
    assert_envelope(client.patch("/api/v1/periods/2031Q1", json={"status": "open"}, headers=admin), 404, "not_found")


def test_unknown_api_path_is_404_envelope(client, officer):
    assert_envelope(client.get("/api/v1/nothing-here", headers=officer), 404, "not_found")


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer mne_not-a-real-token"},
    {"Authorization": "Basic dXNlcjpwYXNz"},
    {"Authorization": "Bearer "},
])
def test_api_needs_a_valid_bearer_token(client, headers):
    error = assert_envelope(client.get("/api/v1/priorities", headers=headers), 401, "unauthorized")
    assert error["message"]


def test_revoked_token_and_inactive_user_are_refused(client, session):
    from mne.users import service as users

    u = factories.user(session, "regional_reviewer")
    _, secret = users.create_token(session, u)
    session.flush()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/priorities", headers=headers).status_code == 200
    users.revoke_tokens(session, u)
    session.flush()
    assert_envelope(client.get("/api/v1/priorities", headers=headers), 401, "unauthorized")
    _, secret = users.create_token(session, u)
    u.is_active = False
    session.add(u)
    session.flush()
    assert_envelope(client.get("/api/v1/priorities", headers={"Authorization": f"Bearer {secret}"}), 401, "unauthorized")


def test_tokens_and_passwords_are_stored_hashed(session):
    from sqlmodel import select

    from mne.users import service as users
    from mne.users.models import ApiToken

    u = factories.user(session, "admin", password="Another-Long-Secret-99")
    _, secret = users.create_token(session, u)
    session.flush()
    stored = session.exec(select(ApiToken).where(ApiToken.user_id == u.id)).one()
    assert secret not in stored.token_hash and stored.token_hash != secret
    assert "Another-Long-Secret-99" not in u.password_hash and u.password_hash.startswith("$argon2")


def test_healthz_is_open(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def test_security_headers_on_every_response(client):
    for path in ("/healthz", "/login", "/api/v1/priorities"):
        headers = client.get(path).headers
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["referrer-policy"]
