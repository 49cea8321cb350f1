"""The donor exports through HTTP, read back with real readers: Python's csv, LibreOffice, openpyxl.

The IPTT's progress columns are checked against `/api/v1/indicator-lines` line for line, on
SPEC §5's two worked examples; scope is checked from outside (a donor viewer, an officer).
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mne.exports import cells
from mne.exports.results import COLUMNS
from mne.projects.models import Project
from mne.reference.schemas import KOSOVO_FOOTNOTE
from tests import factories
from tests.progress_world import (
    World,
    build_spec_example,
    build_spec_example_2,
    open_periods,
)
from tests.readers import csv_rows, libreoffice_sheet, workbook

API = "/api/v1"
SPEC_COLUMNS = ("project_code, project_title, donors, priority, pillar, subregion, country_iso3, country, "
                "indicator_code, indicator, level, measure, aggregation, direction, baseline, target, period, value, "
                "numerator, denominator, female, male, other, status, narrative, means_of_verification, "
                "submitted_at, approved_at").split(", ")


@pytest.fixture
def example(session):
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    ids = build_spec_example(session, "EX")
    session.commit()
    return ids


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


def get_ok(client, url: str, headers: dict) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    return response.content


def by_line(rows: list[dict]) -> dict[tuple[str, str, str], dict]:
    return {(r["project_code"], r["indicator_code"], r["country_iso3"]): r for r in rows}


# --- results.csv ------------------------------------------------------------------------------

def test_results_csv_has_the_spec_columns_in_order_and_one_row_per_result(client, example, reviewer):
    assert list(COLUMNS) == SPEC_COLUMNS
    content = get_ok(client, "/exports/results.csv?project=EX-KGZ", reviewer)
    assert content.startswith(cells.BOM.encode())  # Excel reads UTF-8 only with it
    rows = csv_rows(content)
    assert list(rows[0]) == SPEC_COLUMNS
    assert [(r["indicator_code"], r["period"], r["value"], r["status"]) for r in rows] == [
        ("I1", "2022Q1", "50", "approved"), ("I1", "2022Q2", "70", "approved"), ("I1", "2022Q3", "30", "submitted"),
        ("I1", "2022Q4", "80", "approved"), ("I2", "2022Q2", "38", "approved"), ("I2", "2022Q4", "35", "approved")]
    first = rows[0]
    assert (first["project_code"], first["donors"], first["priority"], first["pillar"], first["subregion"],
            first["country_iso3"], first["country"]) == ("EX-KGZ", "ECHO", "SP1", "Resilience", "CA", "KGZ", "Kyrgyzstan")
    assert (first["level"], first["measure"], first["aggregation"], first["direction"], first["baseline"],
            first["target"]) == ("outcome", "number", "sum", "increase", "0", "400")
    assert first["numerator"] == first["denominator"] == first["female"] == ""
    assert first["submitted_at"].endswith("Z") and first["approved_at"][:4].isdigit() and "T" in first["approved_at"]
    assert rows[2]["approved_at"] == ""  # submitted, not approved
    # As many rows as the results API lists for the same question.
    listed = client.get(f"{API}/results?project=EX-KGZ&limit=1", headers=reviewer)
    assert int(listed.headers["X-Total-Count"]) == len(rows)


def test_results_csv_filters_by_status_and_period_range(client, example, reviewer):
    rows = csv_rows(get_ok(client, "/exports/results.csv?project=EX-KGZ&status=submitted", reviewer))
    assert [(r["indicator_code"], r["period"]) for r in rows] == [("I1", "2022Q3")]
    rows = csv_rows(get_ok(client, "/exports/results.csv?project=EX-KGZ&from=2022Q2&to=2022S2", reviewer))
    assert {r["period"] for r in rows} == {"2022Q2", "2022Q3", "2022Q4"}
    rows = csv_rows(get_ok(client, "/exports/results.csv?subregion=WB", reviewer))
    assert {r["country_iso3"] for r in rows} == {"SRB", "XKX"}


def test_results_csv_carries_numerators_and_denominators(client, session, reviewer):
    build_spec_example_2(session)
    session.commit()
    rows = csv_rows(get_ok(client, "/exports/results.csv?project=ARM-1,GEO-1", reviewer))
    found = {(r["indicator_code"], r["period"]): (r["value"], r["numerator"], r["denominator"], r["measure"])
             for r in rows}
    assert found[("P1", "2021Q2")] == ("35", "7", "20", "percentage")
    assert found[("P1", "2022Q4")] == ("65", "26", "40", "percentage")
    assert found[("P2", "2022Q4")] == ("30", "15", "50", "percentage")
    assert found[("P3", "2022Q2")] == ("64", "", "", "number")


def test_kosovo_rows_carry_the_footnote(client, example, reviewer):
    rows = csv_rows(get_ok(client, "/exports/results.csv?country=XKX", reviewer))
    assert rows and all(KOSOVO_FOOTNOTE in r["country"] and r["country"].startswith("Kosovo") for r in rows)
    iptt = csv_rows(get_ok(client, "/exports/iptt.csv?country=SRB", reviewer))
    assert all(KOSOVO_FOOTNOTE not in r["country"] for r in iptt)


# --- cells ------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, cell", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("+1", "'+1"), ("-5 lost", "'-5 lost"),
    ("@SUM(A1)", "'@SUM(A1)"), ("\tTab", "'\tTab"), ("\rCR", "'\rCR"), ("plain", "plain"), ("", ""), (None, ""),
    ("a = b", "a = b"), ("Шкодра", "Шкодра"), ("'Safe return'", "'Safe return'"), ("'=1", "''=1"),
    ("''-2", "'''-2"),
])
def test_text_that_a_spreadsheet_would_run_is_prefixed(value, cell):
    assert cells.text(value) == cell


@pytest.mark.parametrize("value, cell", [(-3.5, -3.5), (50.0, 50), (0.1, 0.1), (None, ""), (7, 7), (1e-7, 1e-7)])
def test_numbers_stay_numbers(value, cell):
    assert cells.number(value) == cell


# --- spreadsheets as their users open them ---------------------------------------------------------

NAMES = {"title": "Проект «Миграция» — Türkiye'de göç, Shqipëria: çështje",
         "narrative": "-5 families left\nsecond line: «ç ë ğ ş ı İ»",
         "verification": "=HYPERLINK(\"http://evil.example\",\"click\")"}


@pytest.fixture
def awkward(session, example):
    """A project with Cyrillic, Turkish and Albanian names, a formula-like title and narratives
    with line breaks and formulas."""
    world = World(session)
    project = world.project("EX-NAMES", countries=("ALB",), priorities=("SP3",), donors=("ECHO",))
    project.title = NAMES["title"]
    session.add(project)
    ind = world.indicator(project, "N1", {"ALB": (0, 10.5)}, priority="SP3", disaggregation="sex")
    world.report(ind, "ALB", "2022Q1", 7.25, narrative=NAMES["narrative"],
                 means_of_verification=NAMES["verification"], disaggregation={"female": 4.25, "male": 3})
    world.report(ind, "ALB", "2022Q2", 1, narrative="@everyone +more")
    session.commit()
    return ind


def test_results_csv_survives_pythons_csv_reader(client, awkward, reviewer):
    rows = csv_rows(get_ok(client, "/exports/results.csv?project=EX-NAMES", reviewer))
    assert len(rows) == 2
    first, second = rows
    assert first["project_title"] == NAMES["title"]
    assert first["narrative"] == "'" + NAMES["narrative"]  # starts with "-": text, kept whole
    assert "\n" in first["narrative"]
    assert first["means_of_verification"] == "'" + NAMES["verification"]
    assert (first["value"], first["female"], first["male"], first["target"]) == ("7.25", "4.25", "3", "10.5")
    assert second["narrative"] == "'@everyone +more"


def test_results_csv_opens_right_in_libreoffice(client, awkward, reviewer, tmp_path):
    sheet = libreoffice_sheet(get_ok(client, "/exports/results.csv?project=EX-NAMES", reviewer), tmp_path)
    header = [c.value for c in sheet[1]]
    assert header == SPEC_COLUMNS  # the BOM did not become part of the first heading
    row = {h: c for h, c in zip(header, sheet[2])}
    assert row["project_title"].value == NAMES["title"]  # Cyrillic, Turkish and Albanian intact
    for name in ("narrative", "means_of_verification"):
        assert row[name].data_type == "s", f"{name} became {row[name].data_type}"
    assert not str(row["means_of_verification"].value).startswith("=")  # text, never a formula
    assert "\n" in row["narrative"].value
    assert row["value"].value == 7.25 and row["female"].value == 4.25 and row["male"].value == 3
    assert row["target"].value == 10.5 and row["baseline"].value == 0  # numbers, read with a dot
    assert row["period"].value == "2022Q1" and row["country"].value == "Albania"
    assert isinstance(row["submitted_at"].value, str | object)


def test_iptt_csv_opens_right_in_libreoffice(client, example, reviewer, tmp_path):
    content = get_ok(client, "/exports/iptt.csv?project=EX-KGZ&from=2022Q1&to=2022Q4", reviewer)
    sheet = libreoffice_sheet(content, tmp_path, "iptt.csv")
    header = [c.value for c in sheet[1]]
    row = {h: c.value for h, c in zip(header, sheet[2])}
    assert row["indicator_code"] == "I1" and row["2022Q1 actual"] == 50 and row["actual_to_date"] == 200
    assert row["percent_of_target"] == 50 and row["status"] == "on_track"


# --- the IPTT -----------------------------------------------------------------------------------

@pytest.mark.parametrize("as_of", ["2022Q3", "2022Q4"])
@pytest.mark.parametrize("pending", [False, True])
def test_iptt_agrees_with_the_indicator_lines_api(client, example, session, reviewer, as_of, pending):
    build_spec_example_2(session)
    session.commit()
    query = f"as_of={as_of}&include_pending={str(pending).lower()}"
    api = client.get(f"{API}/indicator-lines?{query}", headers=reviewer)
    assert api.status_code == 200
    rows = by_line(csv_rows(get_ok(client, f"/exports/iptt.csv?{query}", reviewer)))
    lines = {(line["project_code"], line["indicator_code"], line["country"]): line for line in api.json()}
    assert len(lines) == 9 and set(rows) == set(lines)
    for key, line in lines.items():
        row = rows[key]
        expected_actual = "" if line["actual"] is None else str(cells.number(line["actual"]))
        expected_percent = "" if line["progress"] is None else str(round(line["progress"] * 100, 2))
        assert (row["actual_to_date"], row["percent_of_target"], row["status"]) == \
            (expected_actual, expected_percent, line["status"]), key


def test_iptt_worked_examples_by_hand(client, example, session, reviewer):
    build_spec_example_2(session)
    session.commit()
    rows = by_line(csv_rows(get_ok(client, "/exports/iptt.csv?as_of=2022Q4&from=2022Q1&to=2022Q4", reviewer)))
    i1, i2, i3 = rows[("EX-KGZ", "I1", "KGZ")], rows[("EX-KGZ", "I2", "KGZ")], rows[("EX-KGZ", "I3", "KGZ")]
    assert (i1["actual_to_date"], i1["percent_of_target"], i1["status"]) == ("200", "50.0", "on_track")
    assert (i1["2022Q1 actual"], i1["2022Q2 actual"], i1["2022Q3 actual"], i1["2022Q4 actual"]) == ("50", "70", "", "80")
    assert (i2["baseline"], i2["target"], i2["actual_to_date"], i2["percent_of_target"], i2["status"]) == \
        ("40", "20", "35", "25.0", "off_track")
    assert (i3["actual_to_date"], i3["status"]) == ("", "no_data")
    p1, p3 = rows[("ARM-1", "P1", "ARM")], rows[("GEO-1", "P3", "GEO")]
    assert (p1["actual_to_date"], p1["percent_of_target"], p1["status"]) == ("65", "112.5", "achieved")
    assert (p3["percent_of_target"], p3["status"]) == ("32.0", "at_risk")
    pending = by_line(csv_rows(get_ok(client, "/exports/iptt.csv?as_of=2022Q4&include_pending=true", reviewer)))
    assert pending[("EX-KGZ", "I1", "KGZ")]["2022Q3 actual"] == "30"
    assert pending[("EX-KGZ", "I1", "KGZ")]["percent_of_target"] == "57.5"


def test_iptt_columns_follow_the_period_range(client, example, session, reviewer):
    world = World(session)
    project = session.get(Project, session.exec(
        __import__("sqlmodel").select(Project.id).where(Project.code == "EX-KGZ")).one())
    world.indicator(project, "I4", {"KGZ": (0, 100)}, period_targets=[("KGZ", "2022Q2", 30), ("KGZ", "2022Q4", 60)])
    session.commit()
    rows = csv_rows(get_ok(client, "/exports/iptt.csv?project=EX-KGZ&from=2022S2&to=2022Q4&as_of=2022Q4", reviewer))
    assert list(rows[0])[13:19] == ["2022Q3 target", "2022Q3 actual", "2022Q4 target", "2022Q4 actual",
                                   "actual_to_date", "percent_of_target"]
    assert by_line(rows)[("EX-KGZ", "I4", "KGZ")]["2022Q4 target"] == "60"
    assert by_line(rows)[("EX-KGZ", "I4", "KGZ")]["2022Q3 target"] == ""
    only = csv_rows(get_ok(client, "/exports/iptt.csv?project=EX-KGZ&as_of=2022Q4&status=off_track,no_data",
                           reviewer))
    assert sorted(r["indicator_code"] for r in only) == ["I2", "I3", "I4"]  # I4: no data yet


def test_iptt_workbook_is_formatted_for_excel(client, example, reviewer):
    response = client.get("/exports/iptt.xlsx?donor=ECHO&as_of=2022Q4&from=2022Q1&to=2022Q4", headers=reviewer)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="mne-iptt-ECHO-2022Q1-2022Q4.xlsx"' in response.headers["content-disposition"]
    book = workbook(response.content)
    assert book.sheetnames == ["IPTT", "About"]
    sheet = book["IPTT"]
    assert sheet.freeze_panes == "D3"  # two header rows and the codes stay in view
    assert "N1:O1" in {str(r) for r in sheet.merged_cells.ranges}  # 2022Q1 over its target and actual
    assert sheet["N1"].value == "2022Q1" and (sheet["N2"].value, sheet["O2"].value) == ("Target", "Actual")
    headings = [c.value for c in sheet[2]]
    assert headings[:3] == ["Project", "Project title", "Indicator"] and headings[-3:] == [
        "Actual to date", "% of target", "Status"]
    rows = {(r[0].value, r[2].value): r for r in sheet.iter_rows(min_row=3) if r[0].value}
    i1 = rows[("EX-KGZ", "I1")]
    assert i1[14].value == 50 and isinstance(i1[14].value, int | float)  # 2022Q1 actual, a number
    assert i1[-3].value == 200 and i1[-2].value == pytest.approx(0.5) and i1[-2].number_format == "0.0%"
    assert i1[-1].value == "on track"  # in words
    assert sheet.column_dimensions["D"].width >= 12  # the statement column is not squeezed
    about = {r[0].value: r[1].value for r in book["About"].iter_rows(min_row=3) if r[0].value}
    assert about["As of"] == "2022Q4" and about["Donor"] == "ECHO" and about["Lines"] == "3"
    assert about["Made at (UTC)"][:2] == "20"


def test_iptt_workbook_has_the_kosovo_footnote(client, example, reviewer):
    book = workbook(get_ok(client, "/exports/iptt.xlsx?project=EX-WB&as_of=2022Q4", reviewer))
    texts = [c.value for row in book["IPTT"].iter_rows() for c in row if isinstance(c.value, str)]
    assert "Kosovo*" in texts and f"* {KOSOVO_FOOTNOTE}" in texts


# --- scope --------------------------------------------------------------------------------------

def test_a_donor_viewer_exports_its_donors_reviewed_results_only(client, example, session):
    donor = factories.token(session, "donor_viewer", donors=["ECHO"])
    rows = csv_rows(get_ok(client, "/exports/results.csv", donor))
    assert {r["project_code"] for r in rows} == {"EX-KGZ"}
    assert {r["status"] for r in rows} == {"approved"}  # never a draft, nor a submission unless asked
    pending = csv_rows(get_ok(client, "/exports/results.csv?include_pending=true", donor))
    assert {r["status"] for r in pending} == {"approved", "submitted"}
    assert {r["project_code"] for r in csv_rows(get_ok(client, "/exports/iptt.csv?as_of=2022Q4", donor))} == {"EX-KGZ"}
    refused = client.get("/exports/results.csv?donor=USAID", headers=donor)
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get("/exports/iptt.xlsx?project=EX-WB", headers=donor).status_code == 403


def test_an_officer_exports_its_own_countries_lines(client, example, session):
    officer = factories.token(session, "country_officer", countries=["SRB"])
    rows = csv_rows(get_ok(client, "/exports/results.csv", officer))
    assert {(r["project_code"], r["country_iso3"]) for r in rows} == {("EX-WB", "SRB")}  # not XKX, not KGZ
    lines = csv_rows(get_ok(client, "/exports/iptt.csv?as_of=2022Q4", officer))
    assert {(r["project_code"], r["country_iso3"]) for r in lines} == {("EX-WB", "SRB")}
    refused = client.get("/exports/iptt.csv?country=KGZ", headers=officer)
    assert refused.status_code == 403


def test_exports_need_a_signed_in_user(client, example):
    response = client.get("/exports/results.csv")
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"


# --- bad input ----------------------------------------------------------------------------------

@pytest.mark.parametrize("path, field", [
    ("/exports/results.csv?donor=NOPE", "donor"),
    ("/exports/iptt.csv?country=XXX", "country"),
    ("/exports/iptt.xlsx?subregion=ZZ,WB", "subregion"),
    ("/exports/results.csv?gcm=99", "gcm"),
    ("/exports/results.csv?gcm=seven", "gcm"),
    ("/exports/results.csv?from=2022Q4&to=2022Q1", "from"),
    ("/exports/iptt.csv?from=2022Q1&to=20X2", "to"),
    ("/exports/iptt.csv?as_of=yesterday", "as_of"),
    ("/exports/results.csv?status=lost", "status"),
    ("/exports/iptt.csv?status=approved", "status"),
    ("/exports/results.json", "format"),
    ("/exports/iptt.pdf?as_of=2022Q4", "format"),
])
def test_bad_parameters_are_refused_before_any_byte(client, example, reviewer, path, field):
    response = client.get(path, headers=reviewer)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in {d["field"] for d in error["details"]}


def test_a_browser_gets_an_error_page_not_json(client, example, reviewer):
    response = client.get("/exports/results.csv?donor=NOPE", headers={**reviewer, "Accept": "text/html"})
    assert response.status_code == 422 and "text/html" in response.headers["content-type"]
    assert "unknown donor: NOPE" in response.text


def test_file_names_say_what_and_when(client, example, reviewer):
    response = client.get("/exports/results.csv?country=KGZ&from=2022Q1&to=2022Q4", headers=reviewer)
    assert 'filename="mne-results-KGZ-2022Q1-2022Q4.csv"' in response.headers["content-disposition"]
    response = client.get("/exports/iptt.csv?as_of=2022Q4", headers=reviewer)
    assert 'filename="mne-iptt-all-2022Q4.csv"' in response.headers["content-disposition"]
    response = client.get("/exports/results.csv?bom=false&project=EX-KGZ", headers=reviewer)
    assert response.content.startswith(b"project_code,")
    assert date.today().year >= 2024


# --- the SQL rules equal the Python ones -------------------------------------------------------

TEXTS = ["=1+1", "+1", "-5 lost", "@SUM(A1)", "\tTab", "\rCR", "plain", "a = b", "Шкодра", "'quoted", "x\ny", "'=1", "''-2", "'"]
NUMBERS = [0.0, 50.0, 7.25, 0.1, 10.5, 1234567.0, 2.5e-3, 1e16]


def test_text_and_numbers_read_the_same_from_sql_and_python(connection):
    from sqlalchemy import Float, literal, select

    for value in TEXTS:
        assert connection.execute(select(cells.text_sql(literal(value)))).scalar() == cells.text(value), value
    assert connection.execute(select(cells.text_sql(literal("")))).scalar() is None  # written as nothing
    for value in NUMBERS:
        found = connection.execute(select(cells.number_sql(literal(value, Float)))).scalar()
        whole = value.is_integer() and abs(value) < cells.WHOLE_LIMIT
        assert float(found) == value and found.isdigit() == whole, (value, found)
        assert float(str(cells.number(value))) == value and str(cells.number(value)).isdigit() == whole


def test_the_database_and_python_write_the_same_file(connection, awkward, session):
    from mne.exports import request as export_request
    from mne.exports import results
    from mne.filters import Filters
    from tests.progress_world import principal_of

    admin = principal_of(factories.user(session, "admin"), "admin")
    session.commit()
    asked = export_request.build(connection, admin, "results", Filters(project=("EX-NAMES", "EX-KGZ", "EX-WB")))
    by_the_database = b"".join(results.csv_chunks(connection, asked))  # COPY on PostgreSQL
    by_python = b"".join(results.csv_chunks(connection, asked, track=cells.untracked))
    assert by_the_database == by_python and by_python.count(b"\n") >= 12


@given(st.text(alphabet=st.sampled_from(["'", "=", "+", "-", "@", "\t", "a", " ", "Ш"]), max_size=6))
def test_an_import_reads_back_the_text_an_export_wrote(value):
    assert cells.unescaped(cells.text(value)) == value
