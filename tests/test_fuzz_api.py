"""No input, however malformed, produces a 500: hypothesis throws junk at the write endpoints."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import factories

junk_scalar = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(["KGZ", "2024Q1", "\x00", "SP1", "sum", "percentage", "1e309", "-0", "ECHO"]),
)
junk = st.recursive(junk_scalar, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=5)), max_leaves=12)


def field_junk(fields: dict):
    """Bodies that mostly look right, with some fields replaced by junk or dropped."""
    return st.fixed_dictionaries({}, optional={k: st.one_of(st.just(v), junk) for k, v in fields.items()})


FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))


@pytest.fixture
def world(client, session):
    factories.donor(session, "FUZZ")
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    proj = factories.project(session, "FUZZ-P", countries=("KGZ",), start="2024-01-01", end="2025-12-31",
                             priorities=("SP1",))
    ind = factories.indicator(session, proj, "F1")
    return officer, ind.id


def send(client, method: str, url: str, body, headers):
    # json.dumps writes NaN/Infinity as bare words: not JSON, which is junk worth sending too.
    return client.request(method, url, content=json.dumps(body), headers={**headers, "content-type": "application/json"})


def check(response):
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert set(response.json()) == {"error"}


def test_results_put_never_500(client, world):
    officer, indicator_id = world

    @FUZZ
    @given(field_junk({"indicator_id": indicator_id, "country": "KGZ", "period": "2024Q1", "value": 3,
                       "disaggregation": {"female": 1, "male": 2}, "narrative": "n", "version": 1}))
    def run(body):
        check(send(client, "PUT", "/api/v1/results", body, officer))

    run()


def test_project_post_and_patch_never_500(client, world):
    officer, _ = world

    @FUZZ
    @given(field_junk({"code": "FZ-1", "title": "t", "start_date": "2024-01-01", "end_date": "2024-12-31",
                       "countries": ["KGZ"], "priorities": ["SP1"], "donors": [{"code": "FUZZ", "amount_usd": 1}],
                       "budget_usd": 5, "gcm_objectives": [1], "markers": ["gender"], "office": "IOM Bishkek"}))
    def run(body):
        check(send(client, "POST", "/api/v1/projects", body, officer))
        check(send(client, "PATCH", "/api/v1/projects/FUZZ-P", body, officer))

    run()


def test_indicator_post_never_500(client, world):
    officer, indicator_id = world

    @FUZZ
    @given(field_junk({"code": "FI", "statement": "s", "priority": "SP1", "measure": "number",
                       "aggregation": "sum", "direction": "increase", "disaggregation": "sex",
                       "targets": [{"country": "KGZ", "baseline": 0, "target": 10}],
                       "period_targets": [{"country": "KGZ", "period": "2024Q1", "target": 1}]}))
    def run(body):
        check(send(client, "POST", "/api/v1/projects/FUZZ-P/indicators", body, officer))
        check(send(client, "PATCH", f"/api/v1/indicators/{indicator_id}", body, officer))

    run()


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(path=st.text(max_size=30), query=st.text(max_size=30))
def test_paths_and_queries_never_500(client, world, path, query):
    officer, _ = world
    from urllib.parse import quote

    for url in (f"/api/v1/projects/{quote(path, safe='')}", f"/api/v1/results?period={quote(query)}&status={quote(path)}",
                f"/api/v1/projects?q={quote(query)}&gcm={quote(path)}"):
        check(client.get(url, headers=officer))
