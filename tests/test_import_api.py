"""`POST /imports/results` through HTTP: counts, every problem by line and column, the workflow's
own rules, the caller's scope, all or nothing, and a round trip of an exported results.csv."""

from __future__ import annotations

import csv as csv_module
import io

import pytest
from sqlalchemy import func, text
from sqlmodel import select

from mne.audit.models import AuditEvent
from mne.imports import results as import_results
from mne.indicators.models import Indicator
from mne.projects.models import Project
from mne.results.models import Result
from tests import factories
from tests.progress_world import World, build_spec_example, open_periods
from tests.readers import csv_rows

HEADER = "project_code,indicator_code,country_iso3,period,value"
URL = "/imports/results"


@pytest.fixture
def example(session):
    """SPEC §5's example (EX-KGZ: I1 approved in 2022Q1, Q2, Q4 and submitted in Q3; I2; I3 empty;
    EX-WB in SRB and XKX), with a sex-disaggregated and a percentage indicator added in KGZ."""
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1")
    ids = build_spec_example(session, "EX")
    world = World(session)
    kgz = session.exec(select(Project).where(Project.code == "EX-KGZ")).one()
    ids["I3"] = session.exec(select(Indicator.id).where(Indicator.project_id == kgz.id, Indicator.code == "I3")).one()
    ids["D1"] = world.indicator(kgz, "D1", {"KGZ": (0, 500)}, disaggregation="sex_age")
    ids["P1"] = world.indicator(kgz, "P1", {"KGZ": (10, 60)}, measure="percentage", aggregation="latest")
    world.report(ids["D1"], "KGZ", "2022Q1", 30, "draft", disaggregation={"female": 10, "male": 20, "0-17": 30})
    world.report(ids["I2"], "KGZ", "2023Q1", 36, "draft")
    session.commit()
    return ids


@pytest.fixture
def officer(session):
    headers = factories.token(session, "country_officer", countries=["KGZ"])
    session.commit()
    return headers


def post(client, headers, body: str, *, dry_run: bool = True, **params):
    query = "&".join([f"dry_run={str(dry_run).lower()}", *(f"{k}={v}" for k, v in params.items())])
    return client.post(f"{URL}?{query}", headers={**headers, "content-type": "text/csv"}, content=body.encode())


def csv(*rows: str, header: str = HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def stored(session) -> list[tuple]:
    """Every result as stored: what an import that changes nothing must leave as it is."""
    session.expire_all()
    return [tuple(r) for r in session.connection().execute(text(
        "SELECT id, indicator_id, country_iso3, period_code, value, female, male, other, age_0_17, numerator, "
        "denominator, narrative, means_of_verification, status, version FROM result ORDER BY id"))]


def events(session) -> int:
    return session.exec(select(func.count()).select_from(AuditEvent)).one()


# --- counts and the rows' fates ------------------------------------------------------------

def test_a_dry_run_counts_what_each_row_would_do_and_writes_nothing(client, session, example, officer):
    before, audit_before = stored(session), events(session)
    body = csv("EX-KGZ,I3,KGZ,2022Q1,5",       # no result yet: create
               "EX-KGZ,D1,KGZ,2022Q1,30",      # the draft, same value, breakdown kept: unchanged
               "EX-KGZ,I1,KGZ,2022Q1,50",      # approved, same value: unchanged
               "EX-KGZ,I3,KGZ,2022Q2,",        # nothing filled in: skipped
               "EX-KGZ,I1,KGZ,2022Q2,71")      # approved, another value: refused
    response = post(client, officer, body)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["counts"] == {"create": 1, "update": 0, "unchanged": 2, "skipped": 1, "refused": 1}
    assert (report["rows"], report["dry_run"], report["written"], report["format"], report["delimiter"]) == (
        5, True, False, "csv", "comma")
    assert report["problems"] == [{"line": 6, "column": "", "cell": "",
                                   "message": "approved and locked: a reviewer must reopen it before it can change"}]
    assert stored(session) == before and events(session) == audit_before


def test_a_write_creates_and_updates_drafts_in_one_go_with_an_audit_event_each(client, session, example, officer):
    body = csv("EX-KGZ,I3,KGZ,2022Q1,5", "EX-KGZ,I3,KGZ,2022Q2,7", "EX-KGZ,I2,KGZ,2023Q1,34")
    response = post(client, officer, body, dry_run=False, filename="q1.csv")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["counts"] == {"create": 2, "update": 1, "unchanged": 0, "skipped": 0, "refused": 0}
    assert report["written"] is True and report["import_id"] is not None
    listed = client.get("/api/v1/results?project=EX-KGZ&status=draft", headers=officer).json()
    values = {(r["indicator_code"], r["period"]): (r["value"], r["version"]) for r in listed}
    assert values[("I3", "2022Q1")] == (5, 1) and values[("I3", "2022Q2")] == (7, 1)
    assert values[("I2", "2023Q1")] == (34, 2)
    updated = next(r for r in listed if r["indicator_code"] == "I2")
    history = client.get(f"/api/v1/results/{updated['id']}/history", headers=officer).json()
    assert [e["action"] for e in history] == ["result.create", "result.update"]
    assert history[-1]["reason"] == f"imported from q1.csv (import {report['import_id']})"
    assert (history[-1]["before"]["value"], history[-1]["after"]["value"], history[-1]["after"]["version"]) == (
        36, 34, 2)


def test_columns_a_file_lacks_keep_the_stored_fields(client, session, example, officer):
    """D1's draft has a breakdown by sex and age; a file without those columns keeps it, so a
    new value that no longer matches it is refused by the breakdown rule."""
    report = post(client, officer, csv("EX-KGZ,D1,KGZ,2022Q1,33")).json()
    [problem] = report["problems"]
    assert problem["message"] == "values by sex (10 + 20 = 30) must add up to the value 33"
    assert post(client, officer, csv("EX-KGZ,D1,KGZ,2022Q1,30")).json()["counts"]["unchanged"] == 1


def test_any_refused_row_means_nothing_is_written_and_every_problem_is_listed(client, session, example, officer):
    before, audit_before = stored(session), events(session)
    body = csv("EX-KGZ,I3,KGZ,2022Q1,5",
               "EX-KGZ,I3,KGZ,2022Q2,abc",
               "EX-KGZ,I9,KGZ,2022Q2,1",
               "EX-NOPE,I1,KGZ,2022Q2,1",
               "EX-KGZ,I3,KGZ,2031Q1,1",
               "EX-KGZ,I3,UZB,2022Q3,1",
               "EX-KGZ,I3,KGZ,2022Q1,6")
    response = post(client, officer, body, dry_run=False)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["message"] == "6 of 7 rows are refused; nothing was written"
    assert [(d["line"], d["cell"], d["message"]) for d in error["details"]] == [
        (3, "E3", "'abc' is not a number"),
        (4, "B4", "project EX-KGZ has no indicator 'I9'"),
        (5, "A5", "no project with code 'EX-NOPE'"),
        (6, "D6", "unknown reporting period '2031Q1'"),
        (7, "C7", "UZB is outside your countries"),
        (8, "", "the same indicator line and period as line 2: keep one of the two rows")]
    assert {d["field"] for d in error["details"]} == {"value", "indicator_code", "project_code", "period",
                                                      "country_iso3", "row"}
    assert stored(session) == before and events(session) == audit_before


def test_approved_results_and_closed_periods_are_refused_with_that_reason(client, session, example, officer):
    session.connection().execute(text("UPDATE period SET status = 'closed' WHERE code = '2023Q1'"))
    session.commit()
    body = csv("EX-KGZ,I1,KGZ,2022Q1,99", "EX-KGZ,I1,KGZ,2022Q3,31", "EX-KGZ,I3,KGZ,2023Q1,4")
    problems = post(client, officer, body).json()["problems"]
    assert [(p["line"], p["message"]) for p in problems] == [
        (2, "approved and locked: a reviewer must reopen it before it can change"),
        (3, "submitted for review: it can change again only if a reviewer returns it"),
        (4, "period 2023Q1 is closed: an admin must reopen it before its results change")]
    assert problems[2]["column"] == "period"


# --- the workflow's own rules ------------------------------------------------------------------

@pytest.mark.parametrize(("cells", "put_body"), [
    ("EX-KGZ,P1,KGZ,2022Q2,120,,", {"value": 120}),
    ("EX-KGZ,P1,KGZ,2022Q2,,5,4", {"numerator": 5, "denominator": 4}),
    ("EX-KGZ,P1,KGZ,2022Q2,40,1,4", {"value": 40, "numerator": 1, "denominator": 4}),
    ("EX-KGZ,I3,KGZ,2022Q2,4,1,4", {"value": 4, "numerator": 1, "denominator": 4}),
    ("EX-KGZ,I3,KGZ,2022Q2,-4,,", {"value": -4}),
])
def test_a_row_is_refused_in_the_words_of_put_results(client, session, example, officer, cells, put_body):
    """The same body through PUT and through an import: one rule, one message."""
    indicator = example[cells.split(",")[1]]
    put = client.put("/api/v1/results", headers=officer, json={
        "indicator_id": indicator, "country": "KGZ", "period": "2022Q2", **put_body})
    assert put.status_code == 422
    expected = put.json()["error"]["details"][0]
    response = post(client, officer, csv(cells, header=HEADER + ",numerator,denominator"))
    [problem] = response.json()["problems"]
    assert problem["column"] == expected["field"]
    assert problem["message"].rstrip(".").lower() == expected["message"].rstrip(".").lower()


def test_a_percentage_from_numerator_and_denominator_and_a_breakdown(client, session, example, officer):
    body = csv("EX-KGZ,P1,KGZ,2022Q2,,3,8,,,", "EX-KGZ,D1,KGZ,2022Q2,30,,,10,20,0",
               header=HEADER + ",numerator,denominator,female,male,other")
    response = post(client, officer, body, dry_run=False)
    assert response.status_code == 200, response.text
    listed = {r["indicator_code"]: r for r in
              client.get("/api/v1/results?project=EX-KGZ&period=2022Q2", headers=officer).json()}
    assert (listed["P1"]["value"], listed["P1"]["numerator"], listed["P1"]["denominator"]) == (37.5, 3, 8)
    assert listed["D1"]["disaggregation"] == {"female": 10, "male": 20, "other": 0,
                                              "0-17": None, "18-59": None, "60+": None}
    bad = csv("EX-KGZ,D1,KGZ,2022Q3,30,,,10,25,", header=HEADER + ",numerator,denominator,female,male,other")
    [problem] = post(client, officer, bad).json()["problems"]
    assert (problem["column"], problem["cell"]) == ("female", "H2")
    assert "must add up to the value 30" in problem["message"]


def test_headers_match_without_case_or_spaces_and_extra_columns_are_ignored(client, session, example, officer):
    body = csv(" EX-KGZ , I3 ,kgz, 2022q1 , 5 ,whatever",
               header=" Project_Code ,INDICATOR_CODE,Country ISO3,  period,Value ,Comment")
    report = post(client, officer, body).json()
    assert report["counts"]["create"] == 1 and report["problems"] == []
    assert report["ignored_columns"] == ["Comment"]


def test_a_stale_version_column_is_refused(client, session, example, officer):
    body = csv("EX-KGZ,I2,KGZ,2023Q1,31,7", header=HEADER + ",version")
    [problem] = post(client, officer, body).json()["problems"]
    assert (problem["column"], problem["cell"]) == ("version", "F2")
    assert problem["message"].startswith("someone else changed this result (you had version 7, it is now 1)")
    body = csv("EX-KGZ,I2,KGZ,2023Q1,31,1", header=HEADER + ",version")
    assert post(client, officer, body).json()["counts"]["update"] == 1


# --- scope -----------------------------------------------------------------------------------------

def test_only_the_officers_own_lines_are_written(client, session, example):
    srb = factories.token(session, "country_officer", countries=["SRB"])
    reviewer = factories.token(session, "regional_reviewer")
    session.commit()
    body = csv("EX-WB,S1,SRB,2022Q3,61", "EX-WB,S1,XKX,2022Q2,12", "EX-KGZ,I3,KGZ,2022Q1,5")
    problems = post(client, srb, body).json()["problems"]
    assert [(p["line"], p["column"], p["message"]) for p in problems] == [
        (3, "country_iso3", "XKX is outside your countries"),
        (4, "project_code", "project EX-KGZ is outside your countries")]
    assert post(client, reviewer, body).status_code == 403
    assert client.post(URL, content=body, headers={"content-type": "text/csv"}).status_code == 401


# --- round trip ---------------------------------------------------------------------------------

def test_reimporting_an_exported_results_csv_changes_nothing(client, session, example, officer):
    """The officer's own export, with approved, submitted, returned results, Kosovo's footnote,
    a narrative a spreadsheet would take for a formula, and an age breakdown the file lacks."""
    session.connection().execute(text(
        "UPDATE result SET narrative = '=HYPERLINK(\"http://x\")' || char(10) || 'Ünïcödé, \"quoted\"; Кыргызстан' "
        "WHERE id = (SELECT min(id) FROM result)"
        if session.bind.dialect.name == "sqlite" else
        "UPDATE result SET narrative = '=HYPERLINK(\"http://x\")' || chr(10) || 'Ünïcödé, \"quoted\"; Кыргызстан' "
        "WHERE id = (SELECT min(id) FROM result)"))
    session.connection().execute(text(  # text that starts with an apostrophe, then like a formula
        "UPDATE result SET means_of_verification = '''-5 on plan' WHERE id = (SELECT max(id) FROM result)"))
    session.commit()
    exported = client.get("/exports/results.csv", headers=officer)
    assert exported.status_code == 200
    assert len(csv_rows(exported.content)) == 8
    before, audit_before = stored(session), events(session)
    response = client.post(f"{URL}?dry_run=false", headers=officer,
                           files={"file": ("results.csv", exported.content, "text/csv")})
    assert response.status_code == 200, response.text
    assert response.json()["counts"] == {"create": 0, "update": 0, "unchanged": 8, "skipped": 0, "refused": 0}
    assert stored(session) == before and events(session) == audit_before


def test_the_export_of_a_returned_result_imports_as_an_update_once_changed(client, session, example):
    xkx = factories.token(session, "country_officer", countries=["XKX"])
    session.commit()
    rows = csv_rows(client.get("/exports/results.csv", headers=xkx).content)
    next(r for r in rows if r["status"] == "returned")["value"] = "6"
    buffer = io.StringIO()
    writer = csv_module.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    report = post(client, xkx, buffer.getvalue(), dry_run=False).json()
    assert report["counts"] == {"create": 0, "update": 1, "unchanged": 1, "skipped": 0, "refused": 0}


# --- all or nothing --------------------------------------------------------------------------------

def test_a_failure_halfway_through_the_write_leaves_nothing(client, session, example, officer, monkeypatch):
    """A draft changed by someone else between the check and the write: the creates already
    inserted go too, and the answer is a 409."""
    original = import_results.check

    def check_then_someone_saves(*args, **kwargs):
        outcome = original(*args, **kwargs)
        session.connection().execute(text(f"UPDATE result SET version = version + 1 WHERE indicator_id = {example['I2']} "
                                          "AND period_code = '2023Q1'"))
        return outcome

    monkeypatch.setattr(import_results, "check", check_then_someone_saves)
    before, audit_before = stored(session), events(session)
    body = csv("EX-KGZ,I3,KGZ,2022Q1,5", "EX-KGZ,I3,KGZ,2022Q2,7", "EX-KGZ,I2,KGZ,2023Q1,33")
    response = post(client, officer, body, dry_run=False)
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "conflict"
    after = stored(session)
    assert len(after) == len(before) and events(session) == audit_before
    assert session.exec(select(func.count()).select_from(Result).where(Result.indicator_id == example["I3"])).one() == 0
