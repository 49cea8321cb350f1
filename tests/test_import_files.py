"""Files as spreadsheets write them, and files that are not what they should be: each is either
imported correctly or refused with a clear error, never a 500 and never a partial write."""

from __future__ import annotations

import io
import zipfile

import pytest
import xlsxwriter
from sqlalchemy import text
from sqlmodel import select

from mne.projects.models import Project
from tests import factories
from tests.progress_world import World, build_spec_example, open_periods
from tests.readers import libreoffice_saved

URL = "/imports/results"
HEADER = ["project_code", "indicator_code", "country_iso3", "period", "value", "narrative"]
NARRATIVE = "Обучено 12 пограничников в Бишкеке"


@pytest.fixture
def officer(session):
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    build_spec_example(session, "EX")
    kgz = session.exec(select(Project).where(Project.code == "EX-KGZ")).one()
    World(session).indicator(kgz, "D1", {"KGZ": (0, 500)}, disaggregation="sex")
    headers = factories.token(session, "country_officer", countries=["KGZ"])
    session.commit()
    return headers


def stored(session) -> list[tuple]:
    return [tuple(r) for r in session.connection().execute(text(
        "SELECT id, value, narrative, version FROM result ORDER BY id"))]


def upload(client, headers, content: bytes, name: str = "results.csv", *, dry_run: bool = True, **params):
    query = "&".join([f"dry_run={str(dry_run).lower()}", *(f"{k}={v}" for k, v in params.items())])
    return client.post(f"{URL}?{query}", headers=headers, files={"file": (name, content, "application/octet-stream")})


def table(rows: list[list[str]], *, sep: str = ",", header: list[str] = HEADER, newline: str = "\r\n") -> str:
    return newline.join(sep.join(r) for r in [header, *rows]) + newline


ROWS = [["EX-KGZ", "I3", "KGZ", "2022Q1", "12", NARRATIVE], ["EX-KGZ", "I3", "KGZ", "2022Q2", "7.5", "Ещё 3"]]


def created(response) -> list:
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["problems"] == []
    return report


def narratives(client, headers) -> dict[str, tuple]:
    listed = client.get("/api/v1/results?project=EX-KGZ&indicator=I3", headers=headers).json()
    return {r["period"]: (r["value"], r["narrative"]) for r in listed if r["indicator_code"] == "I3"}


# --- what Excel writes, imported correctly ----------------------------------------------------

def test_csv_utf8_with_a_byte_order_mark_as_excel_writes_it(client, session, officer):
    report = created(upload(client, officer, ("\ufeff" + table(ROWS)).encode(), dry_run=False))
    assert (report["encoding"], report["counts"]["create"]) == ("utf-8", 2)
    assert narratives(client, officer) == {"2022Q1": (12, NARRATIVE), "2022Q2": (7.5, "Ещё 3")}


def test_semicolons_and_decimal_commas_as_european_excel_writes_them(client, session, officer):
    rows = [["EX-KGZ", "I3", "KGZ", "2022Q1", "1 234,5", "a, b"], ["EX-KGZ", "I3", "KGZ", "2022Q2", "7,25", ""]]
    report = created(upload(client, officer, ("\ufeff" + table(rows, sep=";")).encode(), dry_run=False))
    assert report["delimiter"] == "semicolon"
    assert narratives(client, officer) == {"2022Q1": (1234.5, "a, b"), "2022Q2": (7.25, "")}


def test_utf16_tab_separated_as_excel_saves_unicode_text(client, session, officer):
    content = table(ROWS, sep="\t").encode("utf-16")  # with its byte-order mark, little-endian
    assert content[:2] == b"\xff\xfe"
    report = created(upload(client, officer, content, "results.txt", dry_run=False))
    assert (report["encoding"], report["delimiter"]) == ("utf-16", "tab")
    assert narratives(client, officer)["2022Q1"] == (12, NARRATIVE)


def test_utf16_without_a_byte_order_mark(client, session, officer):
    report = created(upload(client, officer, table(ROWS, sep="\t").encode("utf-16-le")))
    assert report["counts"]["create"] == 2


def test_windows_1251_is_refused_with_what_to_do_then_read_when_named(client, session, officer):
    content = table(ROWS, sep=";").encode("windows-1251")
    response = upload(client, officer, content, dry_run=False)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["details"][0]["field"] == "file"
    assert "not UTF-8 (line 2)" in error["message"] and "Windows-1251 (Cyrillic)" in error["message"]
    assert "CSV UTF-8" in error["message"]
    report = created(upload(client, officer, content, dry_run=False, encoding="windows-1251"))
    assert report["encoding"] == "windows-1251"
    assert narratives(client, officer)["2022Q1"] == (12, NARRATIVE)


def test_a_charset_in_the_content_type_of_a_raw_body_is_used(client, session, officer):
    response = client.post(f"{URL}", headers={**officer, "content-type": "text/csv; charset=windows-1251"},
                           content=table(ROWS).encode("windows-1251"))
    assert created(response)["encoding"] == "windows-1251"


def test_quoted_line_breaks_keep_the_spreadsheets_row_numbers(client, session, officer):
    rows = [["EX-KGZ", "I3", "KGZ", "2022Q1", "1", '"two\nlines"'], ["EX-KGZ", "I3", "KGZ", "2022Q2", "x", ""]]
    [problem] = upload(client, officer, table(rows, newline="\n").encode()).json()["problems"]
    assert (problem["line"], problem["cell"]) == (3, "E3")


def test_an_xlsx_workbook_with_typed_cells(client, session, officer):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("Results")
    sheet.write_row(0, 0, ["Project_Code", "Indicator_Code", "Country_ISO3", "Period", "Value", "Female", "Male",
                           "Narrative", "Note"])
    sheet.write_row(1, 0, ["EX-KGZ", "I3", "KGZ", "2022Q1", 12, None, None, NARRATIVE, "ignored"])
    sheet.write_row(2, 0, ["EX-KGZ", "D1", "KGZ", "2022Q1", 30, 10, 20])
    sheet.write_row(4, 0, ["EX-KGZ", "I3", "KGZ", "2022Q2", "7.5"])  # a blank row 4 before it
    book.close()
    report = created(upload(client, officer, buffer.getvalue(), "results.xlsx", dry_run=False))
    assert (report["format"], report["counts"]["create"], report["ignored_columns"]) == ("xlsx", 3, ["Note"])
    assert narratives(client, officer) == {"2022Q1": (12, NARRATIVE), "2022Q2": (7.5, "")}


def test_an_xlsx_error_names_the_spreadsheets_own_row(client, session, officer):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(2, 0, HEADER)  # the header on row 3, after two empty rows
    sheet.write_row(3, 0, ["EX-KGZ", "I3", "KGZ", "2022Q1", "many"])
    book.close()
    [problem] = upload(client, officer, buffer.getvalue(), "r.xlsx").json()["problems"]
    assert (problem["line"], problem["cell"], problem["message"]) == (4, "E4", "'many' is not a number")


# --- formulas ---------------------------------------------------------------------------------

def test_a_formula_in_a_csv_number_is_refused_and_in_a_text_it_is_text(client, session, officer):
    rows = [["EX-KGZ", "I3", "KGZ", "2022Q1", "=SUM(E3:E4)", ""],
            ["EX-KGZ", "I3", "KGZ", "2022Q2", "1", '"=HYPERLINK(""http://x"")"'],
            ["EX-KGZ", "I3", "KGZ", "2022Q3", "1", "'=1+1"]]  # as an export writes it
    response = upload(client, officer, table(rows).encode())
    [problem] = response.json()["problems"]
    assert (problem["cell"], problem["column"]) == ("E2", "value")
    assert problem["message"].startswith("'=SUM(E3:E4)' is a formula, not a number")
    created(upload(client, officer, table(rows[1:]).encode(), dry_run=False))
    assert {p: n for p, (_, n) in narratives(client, officer).items()} == {
        "2022Q2": '=HYPERLINK("http://x")', "2022Q3": "=1+1"}


def test_a_formula_in_an_xlsx_cell_is_refused_with_its_cell(client, session, officer):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, HEADER)
    sheet.write_row(1, 0, ["EX-KGZ", "I3", "KGZ", "2022Q1"])
    sheet.write_formula(1, 4, "=2*6", None, 12)
    book.close()
    [problem] = upload(client, officer, buffer.getvalue(), "r.xlsx").json()["problems"]
    assert (problem["line"], problem["cell"]) == (2, "E2")
    assert problem["message"].startswith("holds a formula (=2*6): the import reads values only")


# --- refused files: a clear error, a 4xx, nothing written -------------------------------------------

def _xls() -> bytes:
    return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512)


def _zip(name: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr(name, "x")
    return buffer.getvalue()


BAD_FILES = {
    "empty": (b"", 422, "the file is empty"),
    "blank lines": (b"\r\n\r\n  \r\n", 422, "the file is empty"),
    "header only": (b"project_code,indicator_code,country_iso3,period,value\r\n", 422,
                    "the file has a header but no rows"),
    "missing columns": (b"project,indicator,value\n1,2,3\n", 422,
                        "the header (row 1) lacks the columns project_code, indicator_code, country_iso3, period"),
    "twice a column": (b"project_code,indicator_code,country_iso3,period,value,Value\nA,B,C,D,1,2\n", 422,
                       "the column value appears twice"),
    "pdf": (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", 422, "this is not a spreadsheet"),
    "png": (b"\x89PNG\r\n\x1a\n" + bytes(64), 422, "this is not a spreadsheet"),
    "binary": (bytes(range(256)) * 4, 422, "not a text file"),
    "xls": (_xls(), 422, "Excel 97-2003 workbook (.xls): save it as .xlsx"),
    "ods": (_zip("content.xml"), 422, "OpenDocument spreadsheet (.ods)"),
    "zip": (_zip("readme.txt"), 422, "a zip archive, not a workbook"),
    "broken zip": (b"PK\x03\x04" + bytes(100), 422, "damaged or not an .xlsx workbook"),
    "latin-1": ("project_code,indicator_code,country_iso3,period,value,narrative\nEX-KGZ,I3,KGZ,2022Q1,1,Réunion\n"
                .encode("latin-1"), 422, "the file is not UTF-8 (line 2)"),
}


@pytest.mark.parametrize("name", list(BAD_FILES))
def test_a_bad_file_is_refused_clearly_and_writes_nothing(client, session, officer, name):
    content, status, message = BAD_FILES[name]
    before = stored(session)
    for dry_run in (True, False):
        response = upload(client, officer, content, dry_run=dry_run)
        assert response.status_code == status, response.text
        error = response.json()["error"]
        assert message in error["message"], error["message"]
        assert error["details"][0]["field"] == "file"
    assert stored(session) == before


def test_duplicate_rows_for_one_line_and_period_are_refused(client, session, officer):
    rows = [["EX-KGZ", "I3", "KGZ", "2022Q1", "1", ""], ["EX-KGZ", "I3", "kgz", "2022q1", "2", ""],
            ["EX-KGZ", "I3", "KGZ", "2022Q2", "3", ""]]
    response = upload(client, officer, table(rows).encode(), dry_run=False)
    assert response.status_code == 422
    [detail] = response.json()["error"]["details"]
    assert (detail["line"], detail["message"]) == (
        3, "the same indicator line and period as line 2: keep one of the two rows")


def test_the_row_limit(client, session, officer, app, monkeypatch):
    monkeypatch.setattr(app.state.settings, "import_max_rows", 2)
    rows = [["EX-KGZ", "I3", "KGZ", f"2022Q{q}", "1", ""] for q in (1, 2, 3)]
    response = upload(client, officer, table(rows).encode(), dry_run=False)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "file: the file has more than 2 rows: split it into several files"
    assert upload(client, officer, table(rows[:2]).encode()).status_code == 200


def test_the_size_limit(client, session, officer, app, monkeypatch):
    monkeypatch.setattr(app.state.settings, "import_max_bytes", 2048)
    small = table(ROWS).encode()
    padded = small + b"EX-KGZ,I3,KGZ,2022Q3,1," + b"x" * 3000 + b"\r\n"
    response = upload(client, officer, padded)
    assert response.status_code == 422
    assert "over the limit of 2 KB" in response.json()["error"]["message"]
    huge = padded + b"y" * 100_000
    response = client.post(URL, headers={**officer, "content-type": "text/csv"}, content=huge)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"
    assert upload(client, officer, small).status_code == 200


def test_wrong_requests_get_a_4xx_with_the_envelope(client, session, officer):
    answer = client.post(URL, headers={**officer, "content-type": "application/json"}, content=b'{"a": 1}')
    assert (answer.status_code, answer.json()["error"]["code"]) == (415, "unsupported_media_type")
    answer = client.post(URL, headers=officer, files={"other": ("a.csv", b"x")})
    assert (answer.status_code, answer.json()["error"]["details"][0]["field"]) == (422, "file")
    answer = upload(client, officer, table(ROWS).encode(), encoding="ebcdic")
    assert (answer.status_code, answer.json()["error"]["details"][0]["field"]) == (422, "encoding")

    def chunks():
        yield table(ROWS).encode()

    answer = client.post(URL, headers={**officer, "content-type": "text/csv"}, content=chunks())
    assert (answer.status_code, answer.json()["error"]["code"]) == (411, "length_required")


# --- files a spreadsheet program saved: an export opened, then saved again ------------------------

def _exported(client, session, officer) -> bytes:
    """The officer's results.csv, with a narrative in Cyrillic and one a spreadsheet would take for
    a formula, and a breakdown by sex."""
    created(upload(client, officer, table([["EX-KGZ", "I3", "KGZ", "2022Q1", "12.5", NARRATIVE],
                                           ["EX-KGZ", "I3", "KGZ", "2022Q2", "7", "'-3 since Q1"]]).encode(),
                   dry_run=False))
    created(upload(client, officer, b"project_code,indicator_code,country_iso3,period,value,female,male\n"
                                    b"EX-KGZ,D1,KGZ,2022Q1,30,10,20\n", dry_run=False))
    content = client.get("/exports/results.csv", headers=officer).content
    assert content.count(b"\n") == 10  # the header and nine results
    return content


@pytest.mark.parametrize(("convert_to", "suffix", "encoding"), [
    ("xlsx", ".xlsx", "auto"),
    ("csv:Text - txt - csv (StarCalc):59,34,34", ".csv", "windows-1251"),  # semicolons, Windows-1251
    ("csv:Text - txt - csv (StarCalc):9,34,65535", ".csv", "auto"),  # tabs, UTF-16 (Unicode)
])
def test_an_export_saved_again_by_libreoffice_imports_unchanged(client, session, officer, tmp_path, convert_to,
                                                               suffix, encoding):
    saved = libreoffice_saved(_exported(client, session, officer), tmp_path, "results.csv", convert_to, suffix)
    if encoding == "windows-1251":
        assert NARRATIVE.encode("windows-1251") in saved and b";" in saved.split(b"\n")[0]
    elif suffix == ".csv":
        assert saved.decode("utf-16").split("\n")[0].count("\t") > 20
    before = stored(session)
    response = upload(client, officer, saved, f"results{suffix}", dry_run=False, encoding=encoding)
    report = created(response)
    assert report["counts"] == {"create": 0, "update": 0, "unchanged": 9, "skipped": 0, "refused": 0}
    assert stored(session) == before
