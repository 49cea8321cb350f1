"""Hostile input (issue 13, item 7 and the outside review): every kind gets a 4xx with the error
envelope naming the field, nothing is written, and no answer echoes an input whole or shows a
stack trace, SQL or a file path.

Bodies over the size limit get 413 (mne.limits); text is one rule for every schema (mne.text);
lists are capped by the reference data's sizes; PATCH validates as POST does.
"""

from __future__ import annotations

import copy
import json

import pytest
from fastapi import Request
from fastapi.testclient import TestClient
from sqlalchemy import text as sql
from sqlalchemy.exc import DataError
from sqlmodel import func, select

from mne.app import create_app
from mne.audit.models import AuditEvent
from mne.config import Settings
from mne.errors import Invalid
from mne.indicators.models import Indicator
from mne.limits import BodySizeLimit
from mne.projects import schemas as project_schemas
from mne.projects.models import Project
from mne.reference.models import Country, Marker, Priority, SdgTarget
from mne.results.models import Result
from mne.users import security
from mne.users import service as users
from tests import factories
from tests.conftest import TEST_SECRET
from tests.pages import fresh

LONG = "x" * 100_000
ONE_MB = 1024 * 1024


@pytest.fixture
def world(client, session, monkeypatch):
    """An officer of KGZ with a project (2024–2025) holding an indicator with a submitted result
    and another with an approved one, a reviewer, and an admin."""
    monkeypatch.setattr(security, "hash_password", lambda password: "not-a-hash")  # Argon2 is slow; unused
    factories.donor(session, "HOST")
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    reviewer = factories.token(session, "regional_reviewer")
    admin = factories.token(session, "admin")
    project = factories.project(session, "HOST-P", countries=("KGZ",), priorities=("SP1",), start="2024-01-01",
                                end="2025-12-31")
    indicator = factories.indicator(session, project, "H1")
    submitted = factories.result(session, indicator, "KGZ", "2024Q1", 5, status="submitted")
    approved = factories.result(session, factories.indicator(session, project, "H9"), "KGZ", "2024Q1", 5,
                                status="approved")
    session.commit()
    return {"officer": officer, "reviewer": reviewer, "admin": admin, "indicator": indicator.id,
            "result": submitted.id, "approved": approved.id}


def written(session) -> tuple[int, ...]:
    """Counts that any write changes (every service write records an audit event)."""
    session = fresh(session)
    return tuple(session.exec(select(func.count()).select_from(model)).one()
                 for model in (AuditEvent, Project, Indicator, Result))


def fields_of(response) -> list[str]:
    return [d["field"] for d in response.json()["error"]["details"]]


def assert_refused(response, field: str | None = None, status: int = 422):
    assert response.status_code == status, response.text
    assert set(response.json()) == {"error"}, response.text
    if field is not None:
        assert field in fields_of(response), response.text
    # Nothing is echoed whole: the biggest input here is 100,000 characters.
    assert len(response.content) < 5_000


PROJECT = {"code": "HOST-NEW", "title": "A project", "summary": "Two\nlines", "start_date": "2024-01-01",
           "end_date": "2025-12-31", "office": "IOM Bishkek", "countries": ["KGZ"], "priorities": ["SP1"],
           "donors": [{"code": "HOST", "amount_usd": 10}], "budget_usd": 5, "sdg_targets": ["10.7"],
           "gcm_objectives": [1], "markers": ["gender"]}
INDICATOR = {"code": "H2", "statement": "People reached", "priority": "SP1", "standard_indicator": "",
             "targets": [{"country": "KGZ", "baseline": 0, "target": 10}],
             "period_targets": [{"country": "KGZ", "period": "2024Q1", "target": 2}]}
RESULT = {"country": "KGZ", "period": "2024Q2", "value": 3, "narrative": "Done", "means_of_verification": "Lists"}


def endpoints(world) -> dict[str, tuple[str, str, dict, dict]]:
    """Each write of the API: method, path, a valid body and the headers of a user allowed it."""
    return {
        "project.create": ("POST", "/api/v1/projects", PROJECT, world["officer"]),
        "project.update": ("PATCH", "/api/v1/projects/HOST-P", {k: v for k, v in PROJECT.items() if k != "code"},
                           world["officer"]),
        "indicator.create": ("POST", "/api/v1/projects/HOST-P/indicators", INDICATOR, world["officer"]),
        "indicator.update": ("PATCH", f"/api/v1/indicators/{world['indicator']}", {**INDICATOR, "code": "H1", "reason": "why"},
                             world["officer"]),
        "result.put": ("PUT", "/api/v1/results", {**RESULT, "indicator_id": world["indicator"]}, world["officer"]),
        "result.return": ("POST", f"/api/v1/results/{world['result']}/return", {"note": "fix it"}, world["reviewer"]),
        "result.reopen": ("POST", f"/api/v1/results/{world['approved']}/reopen", {"reason": "why"}, world["reviewer"]),
        "project.submit": ("POST", "/api/v1/projects/HOST-P/submit", {"period": "2024Q1", "country": "KGZ"},
                           world["officer"]),
        "donor.create": ("POST", "/api/v1/donors", {"code": "HOST2", "name": "A donor"}, world["admin"]),
    }


# Every text field of every write body, by its path in the body (as the error names it).
TEXT_FIELDS = [
    ("project.create", f) for f in ("code", "title", "summary", "office", "countries.0", "priorities.0",
                                    "sdg_targets.0", "markers.0", "donors.0.code")
] + [
    ("project.update", f) for f in ("title", "summary", "office", "countries.0", "priorities.0", "sdg_targets.0",
                                    "markers.0", "donors.0.code")
] + [
    ("indicator.create", f) for f in ("code", "statement", "priority", "standard_indicator", "targets.0.country",
                                      "period_targets.0.country", "period_targets.0.period")
] + [
    ("indicator.update", f) for f in ("code", "statement", "priority", "standard_indicator", "reason",
                                      "targets.0.country", "period_targets.0.period")
] + [
    ("result.put", f) for f in ("country", "period", "narrative", "means_of_verification")
] + [("result.return", "note"), ("result.reopen", "reason"), ("project.submit", "period"),
     ("project.submit", "country"), ("donor.create", "code"), ("donor.create", "name")]


def with_value(body: dict, path: str, value) -> dict:
    body = copy.deepcopy(body)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    target = body
    for p in parents:
        target = target[p]
    target[last] = value
    return body


def send(client, endpoint, body=None, *, content=None, headers=None):
    method, path, valid, auth = endpoint
    if content is None:
        content = json.dumps(valid if body is None else body)
    return client.request(method, path, content=content,
                          headers={**auth, "content-type": "application/json", **(headers or {})})


def test_the_valid_bodies_are_accepted(client, world):
    """The bodies the other tests spoil are themselves valid: a refusal is the spoiled field's."""
    for name, endpoint in endpoints(world).items():
        response = send(client, endpoint)
        assert response.status_code in (200, 201), (name, response.text)


# 100,000 characters; NUL, bell, escape, delete, a C1 control, a lone surrogate (valid JSON: "\ud800").
HOSTILE_TEXT = [LONG, "a\x00b", "a\x07b", "a\x1bb", "a\x7fb", "a\x85b", "\ud800"]


@pytest.mark.parametrize("name, field", TEXT_FIELDS, ids=[f"{n}:{f}" for n, f in TEXT_FIELDS])
def test_every_text_field_refuses_long_text_and_control_characters(client, session, world, name, field):
    endpoint = endpoints(world)[name]
    before = written(session)
    for value in HOSTILE_TEXT:
        response = send(client, endpoint, with_value(endpoint[2], field, value))
        assert_refused(response, field)
    assert written(session) == before


@pytest.mark.parametrize("name, field", [("project.create", "summary"), ("result.put", "narrative"),
                                         ("indicator.create", "statement"), ("result.return", "note")])
def test_multi_line_text_keeps_tabs_and_line_breaks(client, world, name, field):
    endpoint = endpoints(world)[name]
    response = send(client, endpoint, with_value(endpoint[2], field, "one\ttwo\r\nthree"))
    assert response.status_code in (200, 201), response.text


def test_a_title_is_one_line(client, world):
    endpoint = endpoints(world)["project.create"]
    assert_refused(send(client, endpoint, with_value(PROJECT, "title", "one\ntwo")), "title")


@pytest.mark.parametrize("name, field", [("project.create", "budget_usd"), ("project.create", "donors.0.amount_usd"),
                                         ("result.put", "value"), ("indicator.create", "targets.0.target"),
                                         ("indicator.create", "targets.0.baseline"),
                                         ("indicator.create", "period_targets.0.target")])
def test_numbers_beyond_json_or_reason_are_refused(client, session, world, name, field):
    endpoint = endpoints(world)[name]
    before = written(session)
    for raw in ("1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1e16"):
        # json.dumps cannot write these; a marker is replaced by the raw token.
        content = json.dumps(with_value(endpoint[2], field, "@@")).replace('"@@"', raw)
        assert_refused(send(client, endpoint, content=content), field)
    assert written(session) == before


@pytest.mark.parametrize("field, value", [("numerator", 10**20), ("denominator", 2**31), ("version", 2**31),
                                          ("indicator_id", 9223372036854775808)])
def test_integers_beyond_their_columns_are_refused(client, world, field, value):
    body = {**RESULT, "indicator_id": world["indicator"], field: value}
    assert_refused(send(client, endpoints(world)["result.put"], body), field)


def test_minus_zero_is_stored_as_zero(client, world):
    body = {**RESULT, "indicator_id": world["indicator"]}
    content = json.dumps(body).replace('"value": 3', '"value": -0')
    response = send(client, endpoints(world)["result.put"], content=content)
    assert response.status_code == 200, response.text
    assert response.json()["value"] == 0 and json.dumps(response.json()["value"]) == "0.0"
    content = json.dumps(PROJECT).replace('"budget_usd": 5', '"budget_usd": -0.0')
    assert json.dumps(send(client, endpoints(world)["project.create"], content=content).json()["budget_usd"]) == "0.0"


@pytest.mark.parametrize("name", ["project.create", "project.update"])
def test_dates_far_from_any_project_are_refused(client, session, world, name):
    endpoint = endpoints(world)[name]
    before = written(session)
    for field, value in [("start_date", "0001-01-01"), ("end_date", "9999-12-31"), ("start_date", "1899-12-31"),
                         ("end_date", "2200-01-01")]:
        assert_refused(send(client, endpoint, with_value(endpoint[2], field, value)), field)
    assert written(session) == before


@pytest.mark.parametrize("content", [
    "[" * 10_000 + "]" * 10_000,  # deeper than Python's recursion limit
    '{"title": ' + "[" * 10_000 + "]" * 10_000 + "}",
    b'{"title": "\xff\xfe caf\xe9"}',  # not UTF-8
    '{"title": "unterminated',
    "",
], ids=["nested", "nested-field", "not-utf8", "broken", "empty"])
def test_unreadable_json_is_refused_naming_the_body(client, session, world, content):
    before = written(session)
    response = send(client, endpoints(world)["project.create"], content=content)
    assert_refused(response, "body")
    assert written(session) == before


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None,
                                          "application/xml", "multipart/form-data; boundary=x"])
def test_a_json_endpoint_refuses_other_content_types(client, session, world, content_type):
    before = written(session)
    headers = {**world["officer"]}
    if content_type:
        headers["content-type"] = content_type
    body = json.dumps(PROJECT) if content_type != "application/x-www-form-urlencoded" else "code=HOST-NEW&title=x"
    response = client.post("/api/v1/projects", content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert fields_of(response) == ["body"]
    assert written(session) == before


@pytest.mark.parametrize("address, field", [
    ("/api/v1/projects?q=a%00b", "q"), ("/api/v1/projects?q=%07", "q"), ("/api/v1/results?period=2024Q1%00", "period"),
    ("/api/v1/rollup?as_of=%1b", "as_of"), ("/api/v1/projects/HOST%00P", "path"), ("/api/v1/projects?%00=1", "query"),
])
def test_control_characters_in_an_api_address_are_refused_naming_the_parameter(client, world, address, field):
    """PostgreSQL cannot compare NUL: a search for it once answered 'the database refused a value'."""
    assert_refused(client.get(address, headers=world["officer"]), field)


def test_a_period_that_is_not_one_is_echoed_clipped(client, world):
    response = client.get("/api/v1/results", params={"period": "x" * 60_000}, headers=world["officer"])
    assert_refused(response, "period")
    assert len(response.json()["error"]["message"]) < 200


# --- the body size limit ----------------------------------------------------------------------

def test_a_json_body_over_the_limit_is_413_before_it_is_read(client, session, world):
    before = written(session)
    body = json.dumps({**PROJECT, "summary": "x" * ONE_MB})
    response = send(client, endpoints(world)["project.create"], content=body)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert response.json()["error"]["details"] == [{"field": "body", "message": "at most 1.0 MB"}]
    assert response.headers["x-content-type-options"] == "nosniff"  # the security headers too
    assert written(session) == before


def test_a_chunked_body_over_the_limit_is_counted_and_refused(client, session, world):
    before = written(session)

    def chunks():  # no Content-Length: httpx sends it chunked
        yield b'{"summary": "'
        for _ in range(11):
            yield b"x" * 100_000
        yield b'"}'

    response = client.post("/api/v1/projects", content=chunks(),
                           headers={**world["officer"], "content-type": "application/json"})
    assert "content-length" not in response.request.headers
    assert (response.status_code, response.json()["error"]["code"]) == (413, "too_large")
    assert written(session) == before


def test_a_body_at_the_limit_passes_the_middleware(client, world):
    """One byte under the limit reaches the route, which answers for its content (422 here)."""
    filler = ONE_MB - len(json.dumps({**PROJECT, "summary": ""}))
    body = json.dumps({**PROJECT, "summary": "x" * filler})
    assert len(body) == ONE_MB
    response = send(client, endpoints(world)["project.create"], content=body)
    assert_refused(response, "summary")  # over the summary's 20,000 characters, not over the body limit


def test_a_form_over_the_limit_gets_the_error_page(client, session):
    factories.signed_in(client, session, "country_officer", countries=["KGZ"])
    before = written(session)
    response = client.post("/projects/new", data={"title": "x" * ONE_MB}, headers={"accept": "text/html"})
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("text/html")
    assert "1.0 MB" in response.text and "Traceback" not in response.text
    assert written(session) == before


def test_an_upload_of_results_has_the_larger_import_limit(client, session, world):
    """1.5 MB of CSV is over the generic limit but within MNE_IMPORT_MAX_BYTES (20 MB): the import
    route reads and checks it (dry run: nothing written)."""
    header = "project_code,indicator_code,country,period,value\n"
    content = (header + "HOST-P,H1,KGZ,2024Q2,1\n" * 70_000).encode()
    assert len(content) > 1.5 * ONE_MB
    before = written(session)
    response = client.post("/imports/results?dry_run=true&filename=big.csv", content=content,
                           headers={**world["officer"], "content-type": "text/csv"})
    assert response.status_code != 413, response.text[:300]
    assert response.status_code < 500
    assert written(session) == before


def _toy_app(read_whole_body: bool):
    """An app that reads the body and, like FastAPI's body parser, turns any error into its own 400."""
    async def app(scope, receive, send):
        size = 0
        try:
            while True:
                message = await receive()
                size += len(message.get("body", b""))
                if not message.get("more_body") or not read_whole_body:
                    break
            status, text = 200, str(size).encode()
        except Exception:
            status, text = 400, b"There was an error parsing the body"
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": text})
    return app


def _limited(limit: int) -> TestClient:
    def respond(request, limit):
        from starlette.responses import PlainTextResponse
        return PlainTextResponse(f"over {limit}", status_code=413)
    return TestClient(BodySizeLimit(_toy_app(True), max_bytes=limit, import_max_bytes=10 * limit,
                                    import_paths=frozenset({"/imports"}), respond=respond))


def test_the_limit_counts_streamed_bytes_exactly_and_overrides_the_apps_answer():
    client = _limited(1000)
    assert (client.post("/x", content=b"a" * 1000).status_code, client.post("/x", content=b"a" * 1000).text) == (
        200, "1000")
    assert client.post("/x", content=b"a" * 1001).status_code == 413  # by its Content-Length

    def chunks(n):
        for _ in range(n):
            yield b"a" * 100

    assert client.post("/x", content=chunks(10)).text == "1000"
    refused = client.post("/x", content=chunks(11))
    # The app caught the error and answered 400; the middleware's 413 replaces that answer.
    assert (refused.status_code, refused.text) == (413, "over 1000")
    # The upload path has its own limit (plus room for a form's fields).
    assert client.post("/imports", content=b"a" * 5000).text == "5000"


# --- lists: capped by the reference data, checked in one pass ---------------------------------

def test_list_caps_are_the_sizes_of_the_reference_lists(session):
    count = lambda model: session.exec(select(func.count()).select_from(model)).one()  # noqa: E731
    assert project_schemas.MAX_COUNTRIES == count(Country) == 20
    assert project_schemas.MAX_PRIORITIES == count(Priority) == 4
    assert project_schemas.MAX_SDG_TARGETS == count(SdgTarget)
    assert project_schemas.MAX_MARKERS == count(Marker)
    assert project_schemas.MAX_GCM_OBJECTIVES == 23


HUGE_LISTS = {
    "countries": [f"{i:03d}" for i in range(20_000)],
    "priorities": [f"P{i}" for i in range(20_000)],
    "sdg_targets": [f"{i}.1" for i in range(20_000)],
    "markers": [f"m{i}" for i in range(20_000)],
    "gcm_objectives": list(range(20_000)),
    "donors": [{"code": f"D{i}"} for i in range(20_000)],
}


@pytest.mark.parametrize("name", ["project.create", "project.update"])
def test_twenty_thousand_codes_are_refused_by_the_lists_cap(client, session, world, name):
    """The outside review's body that took 9 s: now refused by its length, naming the list."""
    endpoint = endpoints(world)[name]
    before = written(session)
    for field, values in HUGE_LISTS.items():
        response = send(client, endpoint, {**endpoint[2], field: values})
        assert_refused(response, field)
        assert "at most" in response.json()["error"]["details"][0]["message"]
    assert written(session) == before


def test_all_twenty_countries_fit(client, session, world):
    every = list(fresh(session).exec(select(Country.iso3)))
    response = send(client, endpoints(world)["project.create"], {**PROJECT, "countries": every})
    assert response.status_code == 201, response.text
    assert sorted(response.json()["countries"]) == sorted(every) and len(every) == 20


def test_indicator_lists_are_capped(client, world):
    endpoint = endpoints(world)["indicator.create"]
    targets = [{"country": f"{i:03d}", "target": 1} for i in range(21)]
    assert_refused(send(client, endpoint, {**INDICATOR, "targets": targets}), "targets")
    period_targets = [{"country": "KGZ", "period": "2024Q1", "target": 1}] * 1601
    assert_refused(send(client, endpoint, {**INDICATOR, "period_targets": period_targets}), "period_targets")


# --- PATCH validates as POST does -------------------------------------------------------------

@pytest.mark.parametrize("change, field", [
    ({"countries": ["KGZ", "KGZ"]}, "countries"),
    ({"countries": ["KGZ", "kgz"]}, "countries"),  # the same once upper-cased
    ({"gcm_objectives": [99]}, "gcm_objectives"),
    ({"gcm_objectives": [1, 1]}, "gcm_objectives"),
    ({"priorities": ["SP1", "SP1"]}, "priorities"),
    ({"donors": [{"code": "HOST"}, {"code": "HOST"}]}, "donors"),
    ({"countries": []}, "countries"),
])
def test_patch_refuses_what_post_refuses(client, session, world, change, field):
    before = written(session)
    for name in ("project.create", "project.update"):
        endpoint = endpoints(world)[name]
        response = send(client, endpoint, {**endpoint[2], **change})
        assert_refused(response, field)  # once 409 or 403 on PATCH
    assert written(session) == before


def test_patch_upper_cases_country_codes_as_post_does(client, world):
    for name in ("project.create", "project.update"):
        endpoint = endpoints(world)[name]
        response = send(client, endpoint, {**endpoint[2], "countries": ["kgz", "Kaz"]})
        assert response.status_code in (200, 201), response.text
        assert response.json()["countries"] == ["KAZ", "KGZ"]


def test_update_fields_have_the_create_fields_rules():
    """One rule for both: each PATCH field is the POST field's type, or null."""
    create = project_schemas.ProjectCreate.model_json_schema()
    update = project_schemas.ProjectUpdate.model_json_schema()
    defs = {**create.get("$defs", {}), **update.get("$defs", {})}
    for field, spec in update["properties"].items():
        expected = {k: v for k, v in create["properties"][field].items() if k not in ("default", "title")}
        if "anyOf" in expected:  # optional on create too (the office, the budget)
            expected = {**next(b for b in expected.pop("anyOf") if b != {"type": "null"}), **expected}
        branches = [b for b in spec.get("anyOf", []) if b != {"type": "null"}]
        assert len(branches) == 1, field
        got = {**branches[0], **{k: v for k, v in spec.items() if k not in ("anyOf", "default", "title")}}
        if "$ref" in expected:  # an enumeration: the same definition
            assert got["$ref"] == expected["$ref"] and expected["$ref"].split("/")[-1] in defs, field
        else:
            assert got == expected, field


# --- names outside the schemas: users and tokens ----------------------------------------------

@pytest.mark.parametrize("name", ["a\x00b", "tab\there", "a\x1bb"])
def test_user_and_token_names_refuse_control_characters(session, name):
    user = factories.user(session, "admin")
    with pytest.raises(Invalid) as refused:
        users.create_token(session, user, name)
    assert refused.value.details[0]["field"] == "name"
    with pytest.raises(Invalid) as refused:
        users.create_user(session, email="nul.name@test.example", password=factories.PASSWORD, role="admin",
                          name=name)
    assert refused.value.details[0]["field"] == "name"


def test_the_forms_use_the_same_rule(client, session):
    factories.signed_in(client, session, "country_officer", countries=["KGZ"])
    before = written(session)
    page = client.get("/projects/new")
    csrf = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    response = client.post("/projects/new", data={"csrf_token": csrf, "code": "FORM-1", "title": "a\x07b"})
    assert response.status_code == 400, response.text[:300]
    assert "control character" in response.text and "\\x07" in response.text
    assert written(session) == before


# --- what errors may show -----------------------------------------------------------------------

def test_a_validation_error_echoes_neither_a_huge_key_nor_thousands_of_problems(client, world):
    endpoint = endpoints(world)["project.create"]
    response = send(client, endpoint, {**PROJECT, LONG: 1})
    assert_refused(response)
    assert LONG[:1000] not in response.text
    # Each unknown field would be an error of its own (100,000 took pydantic 8 s): refused whole.
    many = {**PROJECT, **{f"unknown{i}": 1 for i in range(50_000)}}
    response = send(client, endpoint, many)
    assert_refused(response)
    assert response.json()["error"]["details"] == [{"field": "body", "message": "50000 unknown fields, such as unknown0"}]
    few = {**PROJECT, **{f"unknown{i}": 1 for i in range(10)}}  # a few are named one by one
    assert fields_of(send(client, endpoint, few)) == [f"unknown{i}" for i in range(10)]
    # At most 20 problems are listed, then how many more.
    response = send(client, endpoint, {**PROJECT, "donors": [{"code": ""}] * 50})
    details = response.json()["error"]["details"]
    assert [d["field"] for d in details[:20]] == [f"donors.{i}.code" for i in range(20)]
    assert details[20:] == [{"field": "", "message": "and 30 more problems"}]


@pytest.fixture
def bare_app(db_url):
    """A fresh app with routes that fail the way a database or a bug would."""
    app = create_app(Settings(database_url=db_url, secret_key=TEST_SECRET))
    secret_sql = "SELECT secret_column FROM hidden_table WHERE token = %(token)s"

    @app.get("/api/v1/test/data-error")
    def data_error():
        raise DataError(secret_sql, {"token": "param-value-123"},
                        Exception(f'invalid input syntax for type integer: "param-value-123"\nLINE 1: {secret_sql}'))

    @app.get("/api/v1/test/real-data-error")
    def real_data_error(request: Request):
        with request.app.state.engine.connect() as conn:  # PostgreSQL refuses the cast, quoting the value
            conn.execute(sql("SELECT CAST(:v AS INTEGER)"), {"v": "param-value-123"})
        return {}

    @app.get("/api/v1/test/bug")
    @app.get("/test/bug")
    def bug():
        raise RuntimeError(f"/work/main/mne/secret.py: {secret_sql}")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _shows_nothing_inside(response):
    for leak in ("SELECT", "hidden_table", "param-value-123", "secret.py", "/work/", "Traceback", "File \""):
        assert leak not in response.text, leak


def test_a_database_refusal_shows_no_sql_or_parameters(bare_app, backend):
    response = bare_app.get("/api/v1/test/data-error")
    assert response.status_code == 422 and response.json()["error"]["code"] == "invalid"
    _shows_nothing_inside(response)
    if backend == "postgresql":
        response = bare_app.get("/api/v1/test/real-data-error")
        assert response.status_code == 422, response.text
        _shows_nothing_inside(response)


def test_an_unexpected_error_shows_no_trace_or_path(bare_app):
    response = bare_app.get("/api/v1/test/bug")
    assert (response.status_code, response.json()["error"]["code"]) == (500, "internal")
    _shows_nothing_inside(response)
    page = bare_app.get("/test/bug", headers={"accept": "text/html"})
    assert page.status_code == 500 and page.headers["content-type"].startswith("text/html")
    _shows_nothing_inside(page)


def test_pydantic_messages_never_carry_the_input(client, world):
    """A value error quotes at most a clipped value (here a duplicated 3-letter code)."""
    endpoint = endpoints(world)["project.create"]
    response = send(client, endpoint, {**PROJECT, "markers": ["m" * 32, "m" * 32]})
    assert_refused(response, "markers")
    assert response.json()["error"]["details"][0]["message"].endswith("is listed twice")
    assert len(response.json()["error"]["details"][0]["message"]) < 100


