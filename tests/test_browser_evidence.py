"""Evidence files in a real browser: the officer attaches a file on the result page with the
keyboard-reachable form (no JavaScript needed), sees it listed with its kind and size in words,
downloads it, and a refused file says why beside the form. Screenshotted wide and at 390 px."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.conftest import screenshot

pytestmark = pytest.mark.browser

OFFICER = "evidence.browser@test.example"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def result_id(live_server) -> int:
    with live_server.session() as session:
        factories.user(session, "country_officer", countries=["KGZ"], email=OFFICER)
        proj = factories.project(session, "EV-BROWSER", start="2024-01-01", end="2024-12-31")
        ind = factories.indicator(session, proj, "EVB1", targets={"KGZ": (0, 100)})
        rid = factories.result(session, ind, "KGZ", "2024Q1", 12).id
        session.commit()
    return rid


def test_the_officer_attaches_downloads_and_removes_a_file(page: Page, live_server, result_id, tmp_path):
    factories.sign_in_page(page, live_server, OFFICER)
    page.goto(f"{live_server.url}/results/{result_id}")
    section = page.locator("section#evidence")
    expect(section.get_by_text("No files attached.")).to_be_visible()

    scan = tmp_path / "Attendance list, Osh – March.pdf"
    scan.write_bytes(PDF)
    section.get_by_label("Attach a file").set_input_files(scan)
    section.get_by_role("button", name="Attach the file").click()
    expect(section.get_by_role("status")).to_have_text("The file has been attached.")
    link = section.get_by_role("link", name="Attendance list, Osh – March.pdf")
    expect(link).to_be_visible()
    expect(section.get_by_text(f"PDF, {len(PDF)} bytes")).to_be_visible()

    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "Attendance list, Osh – March.pdf"
    assert Path(download.path()).read_bytes() == PDF

    page_html = tmp_path / "report.pdf"
    page_html.write_bytes(b"<html><body>not a report</body></html>")
    section.get_by_label("Attach a file").set_input_files(page_html)
    section.get_by_role("button", name="Attach the file").click()
    expect(section.get_by_role("alert")).to_contain_text("It is markup")
    expect(section.get_by_label("Attach a file")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "evidence-result-page-wide")
    page.set_viewport_size(PHONE)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(page, "evidence-result-page-390")

    section.get_by_role("button", name="Remove Attendance list, Osh – March.pdf").click()
    expect(section.get_by_role("status")).to_have_text("The file has been removed.")
    expect(section.get_by_text("No files attached.")).to_be_visible()
