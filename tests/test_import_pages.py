"""The import page: templates to download (CSV and .xlsx, read back as their users read them),
an upload checked and previewed row by row, a confirmation that writes all rows or none, and
who may see what."""

from __future__ import annotations

import csv
import io
import re

import openpyxl
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from mne.imports import sheets
from mne.imports.models import ResultImport
from mne.imports.service import counts_in_words
from mne.imports.templates import COLUMNS, REFERENCE
from mne.projects.models import Project
from tests import factories
from tests.pages import doc, error_beside
from tests.progress_world import World, build_spec_example, open_periods
from tests.readers import csv_rows

QUARTERS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")


@pytest.fixture
def example(session):
    """SPEC §5's example (IM-KGZ: I1 approved in 2022Q1, Q2, Q4 and submitted in Q3; I2 approved in
    Q2 and Q4; I3 empty; IM-WB in SRB and XKX), with two drafts in KGZ for 2022Q3: D1 by sex with
    a narrative a spreadsheet would take for a formula, and a percentage P1 from its numerator."""
    open_periods(session, *QUARTERS)
    ids = build_spec_example(session, "IM")
    world = World(session)
    kgz = session.exec(select(Project).where(Project.code == "IM-KGZ")).one()
    ids["D1"] = world.indicator(kgz, "D1", {"KGZ": (0, 500)}, disaggregation="sex")
    ids["P1"] = world.indicator(kgz, "P1", {"KGZ": (10, 60)}, measure="percentage", aggregation="latest")
    world.report(ids["D1"], "KGZ", "2022Q3", 30.5, "draft", disaggregation={"female": 10.25, "male": 20.25},
                 narrative="=SUM(A1) reached, +3 on plan", means_of_verification="lists")
    world.report(ids["P1"], "KGZ", "2022Q3", None, "draft", numerator=1, denominator=3)
    session.commit()
    return ids


def officer(client, session, countries=("KGZ",)) -> str:
    """Sign in a new country officer; its CSRF token."""
    user = factories.user(session, "country_officer", countries=list(countries))
    session.commit()
    return factories.sign_in(client, user.email)


def upload(client, csrf: str, content: bytes, filename: str = "results.csv", encoding: str = "auto"):
    return client.post("/imports", data={"csrf_token": csrf, "encoding": encoding},
                       files={"file": (filename, content, "application/octet-stream")}, follow_redirects=False)


def checked(client, csrf: str, content: bytes, filename: str = "results.csv") -> int:
    """Upload a file; the id of its import (the page redirects to its preview)."""
    response = upload(client, csrf, content, filename)
    assert response.status_code == 303, response.text[:2000]
    found = re.fullmatch(r"/imports/(\d+)", response.headers["location"])
    assert found, response.headers["location"]
    return int(found[1])


def record(session, import_id: int) -> ResultImport:
    session.expire_all()
    return session.get(ResultImport, import_id)


def words(element) -> str:
    return " ".join(element.text_content().split())


def results_of(session, project: str = "IM-KGZ") -> dict[tuple[str, str], tuple]:
    session.expire_all()
    rows = session.connection().execute(text(
        "SELECT i.code, r.period_code, r.value, r.status, r.version FROM result r JOIN indicator i "
        "ON i.id = r.indicator_id JOIN project p ON p.id = i.project_id WHERE p.code = :code"), {"code": project})
    return {(code, period): (value, status, version) for code, period, value, status, version in rows}


# --- pure parts -----------------------------------------------------------------------------

@pytest.mark.parametrize(("counts", "rows", "expected"), [
    ({"create": 3, "update": 1, "refused": 2}, 6, "3 rows create a draft, 1 updates a result and 2 are refused."),
    ({"create": 1}, 1, "1 row creates a draft."),
    ({"unchanged": 2, "skipped": 1}, 3, "2 rows are unchanged and 1 is skipped (nothing filled in)."),
    ({"refused": 1, "update": 1200}, 1201, "1,200 rows update a result and 1 is refused."),
    ({}, 0, "The file has no rows."),
])
def test_counts_in_words(counts, rows, expected):
    assert counts_in_words(counts, rows) == expected


def test_a_template_has_the_columns_the_import_reads_then_columns_it_ignores():
    known = set(sheets.REQUIRED + sheets.OPTIONAL)
    assert set(sheets.REQUIRED) <= set(COLUMNS) <= known
    assert not {sheets.canonical(name) for name in REFERENCE} & known


# --- the page -------------------------------------------------------------------------------

def test_the_page_offers_an_officers_projects_periods_and_an_upload_form(client, session, example):
    officer(client, session)
    page = doc(client.get("/imports"))
    assert words(page.xpath("//h1")[0]) == "Import results from a spreadsheet"
    assert page.xpath("//nav[@aria-label='Main']//a[@href='/imports'][@aria-current='page']")
    # Its projects with lines in its countries (not IM-WB), and the periods, open ones first.
    assert page.xpath("//select[@id='template-project']/option/@value") == ["IM-KGZ"]
    groups = page.xpath("//select[@id='template-period']/optgroup")
    assert [g.get("label") for g in groups] == ["Open for reporting", "Closed"]
    assert groups[0].xpath("option/@value")[:4] == ["2024Q4", "2024Q3", "2024Q2", "2024Q1"]
    assert set(QUARTERS) <= set(groups[0].xpath("option/@value"))
    # The default: the latest open period that has begun, within the project's dates (2022–2023).
    assert page.xpath("//select[@id='template-period']//option[@selected]/@value") == ["2022Q4"]
    template = page.xpath("//form[@aria-label='Template']")[0]
    assert template.get("method") == "get" and template.get("action") == "/imports/template.xlsx"
    assert template.xpath(".//button/@formaction") == ["/imports/template.csv"]
    form = page.xpath("//form[@action='/imports']")[0]
    assert form.get("method") == "post" and form.get("enctype") == "multipart/form-data"
    assert form.xpath(".//input[@name='csrf_token']/@value")[0]
    assert form.xpath(".//select[@name='encoding']/option/@value") == list(sheets.ENCODINGS)
    assert form.xpath(".//select[@name='encoding']/option[@selected]/@value") == ["auto"]
    for control in page.xpath("//select | //input[not(@type='hidden')]"):
        assert page.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    assert words(form.xpath(".//button")[0]) == "Check file"
    assert "not uploaded a file yet" in words(page)


@pytest.mark.parametrize("role, scope", [("regional_reviewer", {}), ("admin", {}),
                                         ("donor_viewer", {"donors": ["ECHO"]})])
def test_only_country_officers_reach_the_import_pages(client, session, example, role, scope):
    factories.signed_in(client, session, role, **scope)
    for path in ("/imports", "/imports/template.csv?project=IM-KGZ&period=2022Q3", "/imports/1"):
        response = client.get(path)
        assert response.status_code == 403, path
        assert "You do not have access" in response.text
    home = doc(client.get("/"))
    assert not home.xpath("//nav[@aria-label='Main']//a[@href='/imports']")


def test_a_form_without_its_csrf_token_is_refused(client, session, example):
    officer(client, session)
    response = client.post("/imports", files={"file": ("a.csv", b"x", "text/csv")}, follow_redirects=False)
    assert response.status_code == 403
    assert session.exec(select(func.count()).select_from(ResultImport)).one() == 0


# --- templates ------------------------------------------------------------------------------

def test_the_csv_template_lists_the_lines_with_their_stored_results(client, session, example):
    officer(client, session)
    response = client.get("/imports/template.csv?project=IM-KGZ&period=2022Q3")
    assert response.status_code == 200, response.text[:2000]
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="mne-import-template-IM-KGZ-2022Q3.csv"' in response.headers["content-disposition"]
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = csv_rows(response.content)
    assert list(rows[0]) == [*COLUMNS, *REFERENCE]
    by_code = {r["indicator_code"]: r for r in rows}
    assert list(by_code) == ["I1", "I2", "I3", "D1", "P1"]
    assert {(r["project_code"], r["country_iso3"], r["period"]) for r in rows} == {("IM-KGZ", "KGZ", "2022Q3")}
    i1 = by_code["I1"]
    assert (i1["value"], i1["version"], i1["status"], i1["target"], i1["country"]) == (
        "30", "2", "Submitted", "400", "Kyrgyzstan")
    assert (by_code["I2"]["value"], by_code["I2"]["version"], by_code["I2"]["status"]) == ("", "", "Not reported")
    d1 = by_code["D1"]
    assert (d1["value"], d1["female"], d1["male"], d1["other"]) == ("30.5", "10.25", "20.25", "")
    assert d1["narrative"] == "'=SUM(A1) reached, +3 on plan"  # shown as text, never run as a formula
    assert (d1["disaggregation"], d1["status"], d1["version"]) == ("by sex", "Draft", "1")
    p1 = by_code["P1"]
    assert (p1["value"], p1["numerator"], p1["denominator"], p1["measure"]) == ("33.33", "1", "3", "percentage")
    assert by_code["I3"]["indicator"] == "Indicator I3" and by_code["I3"]["due"] == "yes"


def test_the_xlsx_template_has_a_results_sheet_with_numbers_and_an_about_sheet(client, session, example):
    officer(client, session)
    response = client.get("/imports/template.xlsx?project=IM-KGZ&period=2022Q3")
    assert response.status_code == 200, response.text[:2000]
    assert 'filename="mne-import-template-IM-KGZ-2022Q3.xlsx"' in response.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["Results", "About"]
    sheet = book["Results"]
    header = [c.value for c in sheet[1]]
    assert header == [*COLUMNS, *REFERENCE]
    assert all(c.font.bold for c in sheet[1]) and sheet.freeze_panes == "A2"
    assert sheet.column_dimensions["L"].width > 10  # narrative: room to type
    rows = {r[1]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert (rows["I1"]["value"], rows["I1"]["version"], rows["I1"]["target"]) == (30, 2, 400)
    assert isinstance(rows["D1"]["female"], float) and rows["D1"]["female"] == 10.25
    assert rows["D1"]["narrative"] == "=SUM(A1) reached, +3 on plan"  # a string cell, not a formula
    assert sheet.cell(row=5, column=header.index("narrative") + 1).data_type == "s"
    assert rows["I2"]["value"] is None and rows["I2"]["status"] == "Not reported"
    about = " ".join(str(c) for r in book["About"].iter_rows(values_only=True) for c in r if c)
    assert "IM-KGZ" in about and "2022Q3" in about and "version" in about


@pytest.mark.parametrize("extension", ["csv", "xlsx"])
def test_a_template_imported_back_unchanged_refuses_nothing(client, session, example, extension):
    csrf = officer(client, session)
    for period in ("2022Q3", "2022Q4", "2023Q1"):
        content = client.get(f"/imports/template.{extension}?project=IM-KGZ&period={period}").content
        import_id = checked(client, csrf, content, f"template.{extension}")
        counts = record(session, import_id).report["counts"]
        assert counts["refused"] == 0 and counts["create"] == counts["update"] == 0, (period, counts)
        assert counts["unchanged"] + counts["skipped"] == 5
    page = doc(client.get(f"/imports/{import_id}"))
    assert "Nothing to import" in words(page) and not page.xpath("//form[contains(@action, '/confirm')]")


@pytest.mark.parametrize(("query", "field", "message", "status"), [
    ("project=IM-NOPE&period=2022Q3", "template-project", "Unknown project: IM-NOPE.", 422),
    ("project=IM-KGZ&period=2031Q1", "template-period", "Unknown reporting period '2031Q1'.", 422),
    ("project=IM-KGZ&period=2020Q1", "template-period",
     "2020Q1 is outside the project's dates (2022-01-01 to 2023-12-31).", 422),
    ("project=IM-KGZ&period=", "template-period", "Choose a period.", 422),
])
def test_a_template_that_cannot_be_made_says_why_beside_its_field(client, session, example, query, field, message,
                                                                  status):
    officer(client, session)
    for extension in ("csv", "xlsx"):
        response = client.get(f"/imports/template.{extension}?{query}")
        assert response.status_code == status
        assert error_beside(response, field) == message


def test_a_template_of_a_project_outside_the_officers_countries_is_forbidden(client, session, example):
    officer(client, session)
    response = client.get("/imports/template.csv?project=IM-WB&period=2022Q3")
    assert response.status_code == 403 and "IM-WB" in response.text and "S1" not in response.text


# --- upload, preview, confirm ---------------------------------------------------------------

HEADER = "project_code,indicator_code,country_iso3,period,value"


def test_a_refused_row_is_shown_with_its_reason_and_nothing_can_be_confirmed(client, session, example):
    csrf = officer(client, session)
    before = results_of(session)
    import_id = checked(client, csrf, f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\nIM-KGZ,I2,KGZ,2022Q3,x\n".encode())
    page = doc(client.get(f"/imports/{import_id}"))
    assert words(page.xpath("//p[@class='import-counts']")[0]) == "1 row creates a draft and 1 is refused."
    [bad] = page.xpath("//table[contains(@class,'import-preview')]//tr[contains(@class,'refused')]")
    assert words(bad.xpath("th")[0]) == "Row 3"
    assert "Refused" in words(bad) and "E3: 'x' is not a number" in words(bad)
    good = page.xpath("//table[contains(@class,'import-preview')]/tbody/tr[not(contains(@class,'refused'))]")
    assert [words(r.xpath("td")[-1]) for r in good] == ["Creates a draft"]
    table = page.xpath("//table[contains(@class,'import-preview')]")[0]
    assert table.xpath("caption") and all(th.get("scope") == "col" for th in table.xpath("thead//th"))
    assert "Nothing will be written until the file is fixed" in words(page)
    assert not page.xpath("//form[contains(@action, '/confirm')]")
    assert page.xpath("//form[@action='/imports']//input[@type='file']")  # upload the fixed file here

    response = client.post(f"/imports/{import_id}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 422
    assert "Nothing was imported" in words(doc(response))
    assert results_of(session) == before and record(session, import_id).status == "checked"


def test_a_fixed_file_is_confirmed_once_and_its_results_stored(client, session, example):
    csrf = officer(client, session)
    checked(client, csrf, f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\nIM-KGZ,I2,KGZ,2022Q3,x\n".encode())
    fixed = f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\nIM-KGZ,I2,KGZ,2022Q3,37\nIM-KGZ,D1,KGZ,2022Q3,30.5\n"
    import_id = checked(client, csrf, fixed.encode(), "fixed.csv")
    page = doc(client.get(f"/imports/{import_id}"))
    assert words(page.xpath("//p[@class='import-counts']")[0]) == "2 rows create a draft and 1 is unchanged."
    [confirm] = page.xpath("//form[contains(@action, '/confirm')]")
    assert confirm.get("method") == "post" and confirm.xpath(".//input[@name='csrf_token']")
    assert words(confirm.xpath(".//button")[0]) == "Import 2 rows"

    response = client.post(f"/imports/{import_id}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == f"/imports/{import_id}"
    stored = results_of(session)
    assert stored[("I3", "2022Q3")] == (5, "draft", 1) and stored[("I2", "2022Q3")] == (37, "draft", 1)
    assert stored[("D1", "2022Q3")] == (30.5, "draft", 1)
    assert record(session, import_id).status == "imported"
    page = doc(client.get(f"/imports/{import_id}"))
    assert words(page.xpath("//h2[@id='h-outcome']")[0]) == "Imported"
    assert re.search(r"The file was imported on \d{4}-\d\d-\d\d at \d\d:\d\d UTC: 2 results created as drafts\. "
                     r"Submit them", words(page))
    assert page.xpath("//a[@href='/projects/IM-KGZ/results']")
    assert not page.xpath("//form[contains(@action, '/confirm')]")

    again = client.post(f"/imports/{import_id}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert again.status_code == 422 and "already imported" in words(doc(again))
    assert results_of(session) == stored

    listed = doc(client.get("/imports"))
    rows = listed.xpath("//table[contains(@class,'import-list')]/tbody/tr")
    assert [words(r.xpath("th")[0]) for r in rows] == ["fixed.csv", "results.csv"]
    assert words(rows[0]).count("Imported") == 1 and "Refused rows" in words(rows[1])
    assert rows[0].xpath("th/a/@href") == [f"/imports/{import_id}"]


def test_confirming_writes_nothing_when_a_row_is_refused_by_then(client, session, example):
    csrf = officer(client, session)
    import_id = checked(client, csrf, f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\nIM-KGZ,D1,KGZ,2022Q3,31\n".encode())
    assert record(session, import_id).report["counts"]["refused"] == 1  # D1's breakdown no longer adds up
    fine = checked(client, csrf, f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\n".encode())
    session.connection().execute(text("UPDATE period SET status = 'closed' WHERE code = '2022Q3'"))
    session.commit()
    response = client.post(f"/imports/{fine}/confirm", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 422
    assert "1 row is refused" in words(doc(response))
    assert ("I3", "2022Q3") not in results_of(session) and record(session, fine).status == "checked"
    assert "period 2022Q3 is closed" in words(doc(client.get(f"/imports/{fine}")))  # the preview as checked now


def test_another_officer_cannot_see_or_confirm_someone_elses_import(client, session, example):
    csrf = officer(client, session)
    import_id = checked(client, csrf, f"{HEADER}\nIM-KGZ,I3,KGZ,2022Q3,5\n".encode())
    client.cookies.clear()
    other = officer(client, session)
    response = client.get(f"/imports/{import_id}")
    assert response.status_code == 403 and "I3" not in response.text
    response = client.post(f"/imports/{import_id}/confirm", data={"csrf_token": other}, follow_redirects=False)
    assert response.status_code == 403
    assert record(session, import_id).status == "checked" and ("I3", "2022Q3") not in results_of(session)
    assert client.get("/imports/999999").status_code == 404
    assert client.get("/imports/results").status_code in (404, 405)


@pytest.mark.parametrize(("content", "filename", "expected"), [
    (b"", "", "Choose a file to upload."),
    (b"%PDF-1.4 not a sheet", "scan.pdf", "This is not a spreadsheet: upload a CSV or .xlsx file."),
    (b"name,amount\nx,1\n", "other.csv", "The header (row 1) lacks the columns project_code"),
    ("project_code;indicator_code;country_iso3;period;value\nIM-KGZ;I3;KGZ;2022Q3;Ош\n".encode("windows-1251"),
     "cp.csv", "The file is not UTF-8 (line 2); it looks like Windows-1251 (Cyrillic)"),
])
def test_a_file_that_cannot_be_read_is_refused_beside_the_file_field_and_not_kept(client, session, example,
                                                                                 content, filename, expected):
    csrf = officer(client, session)
    response = upload(client, csrf, content, filename)
    assert response.status_code == 422
    assert error_beside(response, "import-file").startswith(expected)
    assert session.exec(select(func.count()).select_from(ResultImport)).one() == 0
    page = doc(response)
    assert page.xpath("//form[@action='/imports']//input[@type='file']")  # the page again, to choose another


def test_a_form_without_a_file_or_with_an_unknown_encoding_is_refused_beside_its_field(client, session, example):
    csrf = officer(client, session)
    # What a browser sends when no file was chosen: an empty part with an empty file name.
    boundary = "b0undary"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{csrf}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename=""\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n\r\n--{boundary}--\r\n").encode()
    response = client.post("/imports", content=body, follow_redirects=False,
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})
    assert response.status_code == 422 and error_beside(response, "import-file") == "Choose a file to upload."
    response = client.post("/imports", data={"csrf_token": csrf, "encoding": "koi8-r"}, follow_redirects=False,
                           files={"file": ("a.csv", f"{HEADER}\n".encode(), "text/csv")})
    assert response.status_code == 422
    assert error_beside(response, "import-encoding").startswith("Unknown encoding 'koi8-r'")
    assert session.exec(select(func.count()).select_from(ResultImport)).one() == 0


def test_a_code_page_is_read_when_chosen(client, session, example):
    csrf = officer(client, session)
    body = "project_code;indicator_code;country_iso3;period;value;narrative\nIM-KGZ;I3;KGZ;2022Q3;5;Ош\n"
    response = upload(client, csrf, body.encode("windows-1251"), "cp.csv", encoding="windows-1251")
    assert response.status_code == 303
    report = record(session, int(response.headers["location"].rsplit("/", 1)[1])).report
    assert (report["encoding"], report["delimiter"], report["counts"]["create"]) == ("windows-1251", "semicolon", 1)


def test_a_large_file_says_its_preview_lists_part_of_it(client, session, example, monkeypatch):
    from mne.imports import service

    monkeypatch.setattr(service, "PREVIEW_ROWS", 2)
    csrf = officer(client, session)
    rows = "".join(f"IM-KGZ,I3,KGZ,{p},{n}\n" for n, p in enumerate(QUARTERS, start=1))
    import_id = checked(client, csrf, f"{HEADER}\n{rows}IM-KGZ,I9,KGZ,2022Q1,1\n".encode())
    page = doc(client.get(f"/imports/{import_id}"))
    assert "this list shows 3 of its 5 rows" in words(page)
    assert len(page.xpath("//table[contains(@class,'import-preview')]/tbody/tr")) == 3


def test_a_template_carries_a_breakdown_by_age_and_takes_a_new_one(client, session, example):
    """A line disaggregated by sex and age: the template shows its stored groups, and a new value
    with new groups that add up imports as an update."""
    kgz = session.exec(select(Project).where(Project.code == "IM-KGZ")).one()
    world = World(session)
    age = world.indicator(kgz, "A1", {"KGZ": (0, 900)}, disaggregation="sex_age")
    world.report(age, "KGZ", "2022Q3", 30, "draft", disaggregation={"female": 10, "male": 20, "0-17": 5,
                                                                     "18-59": 25})
    csrf = officer(client, session)
    rows = csv_rows(client.get("/imports/template.csv?project=IM-KGZ&period=2022Q3").content)
    row = next(r for r in rows if r["indicator_code"] == "A1")
    assert (row["age_0_17"], row["age_18_59"], row["age_60_plus"]) == ("5", "25", "")
    row.update(value="40", female="15", male="25", age_0_17="10", age_18_59="20", age_60_plus="10")
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows([row])
    import_id = checked(client, csrf, buffer.getvalue().encode())
    assert record(session, import_id).report["counts"]["update"] == 1
    assert client.post(f"/imports/{import_id}/confirm", data={"csrf_token": csrf}).status_code == 200
    stored = session.connection().execute(text(
        f"SELECT value, female, male, age_0_17, age_18_59, age_60_plus FROM result WHERE indicator_id = {age}")).one()
    assert tuple(stored) == (40, 15, 25, 10, 20, 10)


def test_an_import_made_through_the_api_shows_its_rows_on_its_page(client, session, example):
    csrf = officer(client, session)
    response = client.post("/imports/results?dry_run=false", headers={"X-CSRF-Token": csrf},
                           files={"file": ("api.csv", b"project_code,indicator_code,country_iso3,period,value\n"
                                                      b"IM-KGZ,I3,KGZ,2022Q3,4\n")})
    assert response.status_code == 200, response.text
    page = doc(client.get(f"/imports/{response.json()['import_id']}"))
    text_of_page = words(page)
    assert "Imported" in text_of_page and "Creates a draft" in text_of_page and "The file is large" not in text_of_page
