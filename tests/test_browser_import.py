"""A country officer imports results from a spreadsheet in a real browser: downloads the template
of a project, uploads it filled in with a mistake, sees the row refused with its cell and reason,
uploads the fixed file, confirms, and sees it imported; the page reads at 390 px and works
without JavaScript.

The data (committed in the live server's database, shared with the other browser tests) is a
project of its own, BI-KGZ, reported in 2024Q1 (a period the seed leaves open).
"""

from __future__ import annotations

import csv
import io

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot
from tests.progress_world import World

pytestmark = pytest.mark.browser

OFFICER = "import.officer@test.example"
NO_SCRIPT_OFFICER = "import.noscript@test.example"
PERIOD = "2024Q1"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def project(live_server):
    with live_server.session() as session:
        factories.user(session, "country_officer", countries=["KGZ"], email=OFFICER)
        factories.user(session, "country_officer", countries=["KGZ"], email=NO_SCRIPT_OFFICER)
        world = World(session)
        kgz = world.project("BI-KGZ", countries=("KGZ",), start="2024-01-01", end="2025-12-31")
        world.indicator(kgz, "A", {"KGZ": (0, 100)})
        world.indicator(kgz, "B", {"KGZ": (0, 10)}, disaggregation="sex")
        world.indicator(kgz, "C", {"KGZ": (0, 50)})
        session.commit()
    return "BI-KGZ"


def no_sideways_scroll(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= page.viewport_size["width"] + 1, \
        "the page scrolls sideways"


def filled(template: str, values: dict[str, dict[str, str]]) -> bytes:
    """The template with cells filled in, by indicator code, as a spreadsheet saves it."""
    rows = list(csv.DictReader(io.StringIO(template)))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({**row, **values.get(row["indicator_code"], {})})
    return ("\ufeff" + out.getvalue()).encode()


def choose_file(page: Page, name: str, content: bytes) -> None:
    page.get_by_label("Spreadsheet file").set_input_files({"name": name, "mimeType": "text/csv", "buffer": content})


def test_an_officer_imports_a_template_fixed_after_a_refusal(page: Page, live_server, project, tmp_path):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(f"{m.text} {m.location}") if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.set_viewport_size({"width": 1366, "height": 900})
    factories.sign_in_page(page, live_server, OFFICER)

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Import").click()
    expect(page.get_by_role("heading", name="Import results from a spreadsheet")).to_be_visible()
    expect(page.get_by_label("Project")).to_have_value(project)
    page.get_by_label("Period").select_option(PERIOD)
    screenshot(page, "import-page-wide")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename == f"mne-import-template-{project}-{PERIOD}.csv"
    template = download.path().read_text(encoding="utf-8-sig")
    assert [r["indicator_code"] for r in csv.DictReader(io.StringIO(template))] == ["A", "B", "C"]

    # A mistake in B's value (row 3, column E): the file is refused, and nothing is written.
    choose_file(page, "q1.csv", filled(template, {"A": {"value": "12"}, "B": {"value": "x"}}))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("heading", name="Nothing will be imported yet")).to_be_visible()
    expect(page.locator(".import-counts")).to_have_text("1 row creates a draft, 1 is skipped (nothing filled in) "
                                                        "and 1 is refused.")
    refused = page.locator("table.import-preview tbody tr.refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("Refused")
    expect(refused).to_contain_text("E3: 'x' is not a number")
    expect(page.get_by_role("button", name="Import 1 row")).to_have_count(0)
    screenshot(page, "import-refused-wide")
    page.set_viewport_size(PHONE)
    screenshot(page, "import-refused-narrow")
    no_sideways_scroll(page)
    page.set_viewport_size({"width": 1366, "height": 900})

    # The fixed file, uploaded from the same page: then imported.
    choose_file(page, "q1-fixed.csv", filled(template, {"A": {"value": "12"},
                                                        "B": {"value": "7", "female": "3", "male": "4"}}))
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("heading", name="Ready to import")).to_be_visible()
    expect(page.locator(".import-counts")).to_have_text("2 rows create a draft and 1 is skipped (nothing filled in).")
    expect(page.locator("table.import-preview tbody tr.refused")).to_have_count(0)
    page.get_by_role("button", name="Import 2 rows").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("The file was imported on")
    screenshot(page, "import-done-wide")

    page.get_by_role("link", name=project).click()  # to the results grid: the drafts are there
    expect(page.locator("td.grid-cell").filter(has_text="12").first).to_contain_text("Draft")
    page.get_by_role("link", name="Import from a spreadsheet").click()
    expect(page.get_by_label("Project")).to_have_value(project)
    expect(page.locator("table.import-list tbody tr")).to_have_count(2)
    page.set_viewport_size(PHONE)
    screenshot(page, "import-page-narrow")
    no_sideways_scroll(page)
    assert errors == []


def test_the_import_works_without_javascript(browser, live_server, project):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    factories.sign_in_page(page, live_server, NO_SCRIPT_OFFICER)
    page.goto(live_server.url + "/imports")
    page.get_by_label("Period").select_option(PERIOD)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download Excel (.xlsx)").click()
    assert info.value.suggested_filename == f"mne-import-template-{project}-{PERIOD}.xlsx"
    body = f"project_code,indicator_code,country_iso3,period,value\n{project},C,KGZ,{PERIOD},5\n".encode()
    choose_file(page, "c.csv", body)
    page.get_by_role("button", name="Check file").click()
    expect(page.get_by_role("heading", name="Ready to import")).to_be_visible()
    page.get_by_role("button", name="Import 1 row").click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    context.close()
