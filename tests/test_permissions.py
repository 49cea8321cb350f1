"""Access control from the outside: every route declares a permission, and each role is
refused what it may not see or do — with 403 (API) or the forbidden page, never the data."""

from __future__ import annotations

import pytest
from fastapi.routing import APIRoute
from starlette.routing import Mount

from tests import factories
from tests.routes import iter_routes, permissions_of

# Open to anyone by design (SPEC §1): the login page, health check, static files, API docs.
PUBLIC_PATHS = {"/login", "/healthz", "/openapi.json", "/docs"}


def test_every_route_declares_a_permission(app):
    missing = []
    for path, route in iter_routes(app.routes):
        if isinstance(route, Mount):
            assert path == "/static", f"unexpected mount {path}"
            continue
        if not isinstance(route, APIRoute):
            assert path in PUBLIC_PATHS, f"{path} is not an APIRoute and not a known public path"
            continue
        declared = permissions_of(route)
        if not declared:
            missing.append(f"{sorted(route.methods)} {path}")
        elif "public" in declared:
            assert path in PUBLIC_PATHS, f"{path} is public but not in the list of public paths"
    assert not missing, "routes without a declared permission: " + ", ".join(missing)


def test_signed_out_visitor_gets_the_login_page_not_data(client, app):
    for path, route in iter_routes(app.routes):
        if not isinstance(route, APIRoute) or "GET" not in route.methods or path in PUBLIC_PATHS:
            continue
        concrete = path.replace("{result_id}", "1").replace("{code}", "X").replace("{id}", "1")
        concrete = concrete.replace("{user_id}", "1").replace("{iso3}", "KGZ").replace("{token_id}", "1")
        concrete = concrete.replace("{indicator_id}", "1")
        response = client.get(concrete, follow_redirects=False)
        is_file = path.startswith("/exports/")  # a download: a program gets 401, a browser the login page
        if path.startswith("/api/") or is_file:
            assert response.status_code == 401, (path, response.status_code)
            assert response.json()["error"]["code"] == "unauthorized"
        else:
            assert response.status_code == 303, (path, response.status_code)
            assert response.headers["location"].startswith("/login?next=")
        if is_file:
            browser = client.get(concrete, follow_redirects=False, headers={"Accept": "text/html"})
            assert browser.status_code == 303 and browser.headers["location"].startswith("/login?next=")


def test_signed_out_post_changes_nothing(client, session):
    from mne.reference.models import Period

    response = client.patch("/api/v1/periods/2024Q1", json={"status": "closed"})
    assert response.status_code == 401
    assert session.get(Period, "2024Q1").status == "open"


@pytest.mark.parametrize("role, kwargs", [
    ("country_officer", {"countries": ["KGZ"]}),
    ("regional_reviewer", {}),
    ("donor_viewer", {"donors": ["PERMTEST"]}),
])
def test_non_admins_cannot_use_admin_api(client, session, role, kwargs):
    from mne.reference.models import Donor, Period

    factories.donor(session, "PERMTEST")
    headers = factories.token(session, role, **kwargs)
    assert client.post("/api/v1/donors", json={"code": "NEWDONOR", "name": "x"}, headers=headers).status_code == 403
    assert client.patch("/api/v1/periods/2024Q2", json={"status": "closed"}, headers=headers).status_code == 403
    assert session.get(Donor, "NEWDONOR") is None
    assert session.get(Period, "2024Q2").status == "open"


@pytest.fixture
def two_country_project(session):
    """A Kyrgyz–Tajik project funded by ECHO, with one result in each country."""
    proj = factories.project(session, "PERM-KGZ-TJK", countries=("KGZ", "TJK"), donors=("ECHO",),
                             start="2024-01-01", end="2025-12-31")
    ind = factories.indicator(session, proj)
    return (proj, factories.result(session, ind, "KGZ", period="2024Q1"),
            factories.result(session, ind, "TJK", period="2024Q1"))


def test_result_history_respects_country_scope(client, session, two_country_project):
    _, kgz, tjk = two_country_project
    kgz_officer = factories.token(session, "country_officer", countries=["KGZ"])
    srb_officer = factories.token(session, "country_officer", countries=["SRB"])
    reviewer = factories.token(session, "regional_reviewer")
    assert client.get(f"/api/v1/results/{kgz.id}/history", headers=kgz_officer).status_code == 200
    # Same project, but the other country's line: refused.
    response = client.get(f"/api/v1/results/{tjk.id}/history", headers=kgz_officer)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    response = client.get(f"/api/v1/results/{kgz.id}/history", headers=srb_officer)
    assert response.status_code == 403 and "data" not in response.text.lower().replace("error", "")
    assert client.get(f"/api/v1/results/{tjk.id}/history", headers=reviewer).status_code == 200
    assert client.get("/api/v1/results/999999/history", headers=reviewer).status_code == 404


def test_donor_viewer_sees_only_its_donors_projects(client, session, two_country_project):
    _, kgz, _ = two_country_project
    factories.donor(session, "USAID")
    echo = factories.token(session, "donor_viewer", donors=["ECHO"])
    usaid = factories.token(session, "donor_viewer", donors=["USAID"])
    assert client.get(f"/api/v1/results/{kgz.id}/history", headers=echo).status_code == 200
    assert client.get(f"/api/v1/results/{kgz.id}/history", headers=usaid).status_code == 403


def test_project_history_page_is_forbidden_outside_scope(client, session, two_country_project):
    factories.user(session, "country_officer", countries=["SRB"], email="srb.officer@test.example")
    factories.user(session, "country_officer", countries=["KGZ"], email="kgz.officer@test.example")
    factories.sign_in(client, "srb.officer@test.example")
    response = client.get("/projects/PERM-KGZ-TJK/history")
    assert response.status_code == 403
    assert "You do not have access" in response.text and "PERM-KGZ-TJK" not in response.text
    client.cookies.clear()
    factories.sign_in(client, "kgz.officer@test.example")
    response = client.get("/projects/PERM-KGZ-TJK/history")
    assert response.status_code == 200 and "History of project PERM-KGZ-TJK" in response.text


@pytest.mark.parametrize("role, kwargs", [
    ("regional_reviewer", {}),
    ("admin", {}),
    ("donor_viewer", {"donors": ["ECHO"]}),
    ("country_officer", {"countries": ["SRB"]}),
])
def test_only_the_lines_officer_writes_results(client, session, two_country_project, role, kwargs):
    from mne.results.models import Result

    _, kgz, _ = two_country_project
    headers = factories.token(session, role, **kwargs)
    body = {"indicator_id": kgz.indicator_id, "country": "KGZ", "period": "2024Q1", "value": 5}
    response = client.put("/api/v1/results", json=body, headers=headers)
    assert response.status_code == 403 and set(response.json()) == {"error"}
    assert client.post(f"/api/v1/results/{kgz.id}/submit", headers=headers).status_code == 403
    session.expire_all()
    assert session.get(Result, kgz.id).value == 10 and session.get(Result, kgz.id).status == "draft"


def test_reviewer_reviews_but_officer_and_donor_do_not(client, session, two_country_project):
    _, kgz, _ = two_country_project
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    donor = factories.token(session, "donor_viewer", donors=["ECHO"])
    assert client.post(f"/api/v1/results/{kgz.id}/submit", headers=officer).status_code == 200
    for headers in (officer, donor):
        assert client.post(f"/api/v1/results/{kgz.id}/approve", headers=headers).status_code == 403
        assert client.post(f"/api/v1/results/{kgz.id}/return", json={"note": "x"}, headers=headers).status_code == 403
    reviewer = factories.token(session, "regional_reviewer")
    assert client.post(f"/api/v1/results/{kgz.id}/approve", headers=reviewer).json()["status"] == "approved"
