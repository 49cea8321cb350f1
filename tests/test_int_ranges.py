"""Integers out of range are bad input, never a 500 (issue 13, finding 8).

Python integers have no bound, the databases do: SQLite refuses anything past 2**63 - 1 with
an OverflowError before the query runs, PostgreSQL's INTEGER columns (every id) stop at
2**31 - 1 and it refuses even to compare a larger number with one. Ids (path or body), paging
numbers and counts past 2**31 - 1 are answered 404 (a page that does not exist) or 422 naming
the parameter — on the API and on the pages, on both
databases — and nothing is written. The bounds are declared once (`mne.base.Id`,
`mne.deps.PathId`, `PageNumber`, `Offset`).
"""

from __future__ import annotations

import pytest
from sqlmodel import func, select

from mne.deps import INT_MAX
from mne.results.models import Result
from tests import factories

# 2**31 (one past PostgreSQL's INTEGER), 2**63 (one past SQLite's and BIGINT), a 20-digit
# number, one far past any bound, and a negative one past the lower bound.
BIG = ["2147483648", "9223372036854775808", "10000000000000000000", "1" + "0" * 40, "-9223372036854775809"]


@pytest.fixture(autouse=True)
def quick_hashes(monkeypatch):
    """Argon2 at its cheapest: these tests make many users, and hashing is not what they test."""
    from argon2 import PasswordHasher

    from mne.users import security

    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


@pytest.fixture
def world(client, session):
    """A Kyrgyz project with one indicator and one submitted result; an officer's and a reviewer's tokens."""
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    reviewer = factories.token(session, "regional_reviewer")
    proj = factories.project(session, "INT-P", countries=("KGZ",), start="2024-01-01", end="2025-12-31")
    ind = factories.indicator(session, proj, "N1")
    result = factories.result(session, ind, "KGZ", "2024Q1", 5, status="submitted")
    session.commit()
    return {"officer": officer, "reviewer": reviewer, "project": proj.code, "indicator": ind.id, "result": result.id}


def results_count(session) -> int:
    return session.exec(select(func.count()).select_from(Result)).one()


def refused(response, field: str | None = None):
    """404, or 422 naming `field`, in the error envelope; never a 500."""
    assert response.status_code in (404, 422), (response.status_code, response.text[:300])
    body = response.json()
    assert set(body) == {"error"}
    if response.status_code == 422 and field is not None:
        assert field in {d["field"] for d in body["error"]["details"]}, body
    return body


@pytest.mark.parametrize("method, template, who, field", [
    ("GET", "/api/v1/indicators/{}", "officer", "indicator_id"),
    ("PATCH", "/api/v1/indicators/{}", "officer", "indicator_id"),
    ("POST", "/api/v1/results/{}/submit", "officer", "result_id"),
    ("POST", "/api/v1/results/{}/approve", "reviewer", "result_id"),
    ("POST", "/api/v1/results/{}/return", "reviewer", "result_id"),
    ("POST", "/api/v1/results/{}/reopen", "reviewer", "result_id"),
    ("GET", "/api/v1/results/{}/history", "reviewer", "result_id"),
])
def test_api_path_ids(client, world, method, template, who, field):
    body = {"/return": {"note": "n"}, "/reopen": {"reason": "r"}}.get(template[template.rfind("/"):])
    if method == "PATCH":
        body = {"statement": "s"}
    for big in BIG:
        refused(client.request(method, template.format(big), json=body, headers=world[who]), field)


@pytest.mark.parametrize("url, field", [
    ("/api/v1/projects?page={}", "page"),
    ("/api/v1/projects?per_page={}", "per_page"),
    ("/api/v1/results?offset={}", "offset"),
    ("/api/v1/results?limit={}", "limit"),
    ("/api/v1/indicator-lines?offset={}", "offset"),
    ("/api/v1/indicator-lines?limit={}", "limit"),
])
def test_api_paging(client, world, url, field):
    for big in BIG:
        refused(client.get(url.format(big), headers=world["reviewer"]), field)


def test_api_paging_at_the_bound_is_an_empty_page(client, world):
    # The largest offset accepted still answers: nothing is that far down the list.
    for url in (f"/api/v1/results?offset={INT_MAX}", f"/api/v1/indicator-lines?offset={INT_MAX}"):
        response = client.get(url, headers=world["reviewer"])
        assert response.status_code == 200, response.text
        assert response.json() == []
        assert response.headers["X-Total-Count"] == "1"  # the world's one line and one result
    response = client.get(f"/api/v1/projects?page={INT_MAX}&per_page=500", headers=world["reviewer"])
    assert response.status_code == 200 and response.json() == []


def test_api_path_id_at_the_bound_is_not_found(client, world):
    # Ids are INTEGER columns: 2**31 - 1 is the largest any row can have, on either database.
    response = client.get(f"/api/v1/indicators/{INT_MAX}", headers=world["officer"])
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"
    response = client.get(f"/api/v1/indicators/{INT_MAX + 1}", headers=world["officer"])
    assert response.status_code == 422, response.text
    assert response.json()["error"]["details"][0]["field"] == "indicator_id"


@pytest.mark.parametrize("field", ["indicator_id", "version", "numerator", "denominator"])
def test_api_body_integers(client, session, world, field):
    before = results_count(session)
    for big in BIG:
        body = {"indicator_id": world["indicator"], "country": "KGZ", "period": "2024Q2", "value": 1}
        body[field] = int(big)
        if field in ("numerator", "denominator"):  # both or neither; the other one small
            body.pop("value")
            body.setdefault("numerator", 1)
            body.setdefault("denominator", 2)
        response = client.put("/api/v1/results", json=body, headers=world["officer"])
        refused(response, field)
    assert results_count(session) == before


@pytest.mark.parametrize("big", BIG)
def test_api_project_gcm_objectives(client, world, big):
    for method, url in (("POST", "/api/v1/projects"), ("PATCH", f"/api/v1/projects/{world['project']}")):
        body = {"gcm_objectives": [int(big)]}
        if method == "POST":
            body.update(code="INT-Q", title="t", start_date="2024-01-01", end_date="2024-12-31",
                        countries=["KGZ"], priorities=["SP1"])
        response = client.request(method, url, json=body, headers=world["officer"])
        assert response.status_code == 422, response.text
        assert response.json()["error"]["details"][0]["field"].startswith("gcm_objectives")


# --- pages --------------------------------------------------------------------------------

@pytest.fixture
def signed_in_reviewer(client, session, world):
    factories.signed_in(client, session, "regional_reviewer")
    return client


@pytest.fixture
def signed_in_admin(client, session, world):
    factories.signed_in(client, session, "admin")
    return client


@pytest.fixture
def signed_in_officer(client, session, world):
    created = factories.user(session, "country_officer", countries=["KGZ"])
    session.commit()
    return factories.sign_in(client, created.email)


def page_refused(response):
    assert response.status_code in (404, 422), (response.status_code, response.text[:300])
    assert "text/html" in response.headers["content-type"]
    assert "Traceback" not in response.text


@pytest.mark.parametrize("url", [
    "/results/{}", "/results/{}/history", "/dashboard/indicators/{}/KGZ", "/dashboard?page={}",
    "/dashboard/lines?page={}", "/dashboard/priorities/SP1?page={}", "/dashboard/countries/KGZ?page={}",
    "/dashboard/subregions/CA?page={}", "/review?page={}", "/projects?page={}",
])
def test_pages_as_reviewer(signed_in_reviewer, url):
    for big in BIG:
        response = signed_in_reviewer.get(url.format(big))
        if "page=" in url and response.status_code == 200:
            continue  # a page number past the end may show the last page or an empty one: not a 500
        page_refused(response)


@pytest.mark.parametrize("url", ["/admin/users/{}"])
def test_pages_as_admin(signed_in_admin, url):
    for big in BIG:
        page_refused(signed_in_admin.get(url.format(big)))


@pytest.mark.parametrize("url", ["/indicators/{}/edit", "/imports/{}", "/results/edit?indicator_id={}&country=KGZ&period=2024Q1",
                                 "/results/cell?indicator_id={}&country=KGZ&period=2024Q1"])
def test_pages_as_officer(client, signed_in_officer, url):
    for big in BIG:
        page_refused(client.get(url.format(big)))


@pytest.mark.parametrize("url, form", [
    ("/results/{}/submit", {}),
    ("/indicators/{}/edit", {}),
    ("/imports/{}/confirm", {}),
    ("/account/tokens/{}/revoke", {}),
    ("/results/edit", {"indicator_id": "{}", "country": "KGZ", "period": "2024Q1", "value": "1"}),
])
def test_page_forms_as_officer(client, session, signed_in_officer, url, form):
    before = results_count(session)
    for big in BIG:
        data = {k: v.format(big) for k, v in form.items()}
        page_refused(client.post(url.format(big), data=data, headers={"X-CSRF-Token": signed_in_officer}))
    assert results_count(session) == before


def test_cell_form_version(client, session, world, signed_in_officer):
    """A hidden `version` field past any bound is refused or read as absent, never a 500."""
    for big in BIG:
        data = {"indicator_id": str(world["indicator"]), "country": "KGZ", "period": "2024Q2", "value": "1",
                "version": big}
        response = client.post("/results/edit", data=data, headers={"X-CSRF-Token": signed_in_officer})
        assert response.status_code < 500, response.text[:300]
