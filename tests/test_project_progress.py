"""A project's page shows how each of its lines is doing (issue 14, part 7): actual, progress,
expected and status as of the default period — the dashboard's own figures — with the status
in words and a link to the line's explanation; an officer sees its own countries' lines."""

from __future__ import annotations

import pytest

from tests import factories
from tests.progress_world import World, open_periods
from tests.pages import doc

QUARTERS = ("2024Q1", "2024Q2", "2024Q3", "2024Q4")


@pytest.fixture
def small(session):
    """PP-1, Kyrgyzstan and Tajikistan, 2024-01-01 to 2025-12-31 (731 days), quarterly lines:
    OC1 a sum (KGZ 0 → 400, TJK 0 → 100), OC2 a percentage (KGZ 20 → 60, TJK 10 → 50)."""
    open_periods(session, *QUARTERS)
    world = World(session)
    project = world.project("PP-1", countries=("KGZ", "TJK"), start="2024-01-01", end="2025-12-31")
    oc1 = world.indicator(project, "OC1", {"KGZ": (0, 400), "TJK": (0, 100)})
    oc2 = world.indicator(project, "OC2", {"KGZ": (20, 60), "TJK": (10, 50)}, measure="percentage",
                          aggregation="latest")
    world.report(oc1, "KGZ", "2024Q1", 100)
    world.report(oc1, "KGZ", "2024Q2", 100)
    world.report(oc1, "KGZ", "2024Q3", 50, "submitted")  # not approved: not counted
    world.report(oc1, "TJK", "2024Q1", 20)
    world.report(oc2, "KGZ", "2024Q3", 35)
    session.commit()
    return {"OC1": oc1, "OC2": oc2}


# As of 2024Q4 — the latest period whose due date has passed (the seed's last one) — every line is
# due each quarter, so D = 2024Q4 and expected = (2024-12-31 − 2024-01-01 + 1 day) / 731 days =
# 366 / 731 = 0.5007 ("50 %").
#   OC1 KGZ: actual 100 + 100 = 200 (the submitted 50 is not counted), progress 200/400 = 0.5,
#            r = 0.5 / 0.5007 = 0.999 ≥ 0.85: on track.
#   OC1 TJK: actual 20, progress 0.2, r = 0.399 < 0.60: off track.
#   OC2 KGZ: actual 35 %, progress (35 − 20) / (60 − 20) = 0.375, r = 0.749: at risk.
#   OC2 TJK: nothing counted: no data.
EXPECTED = {
    ("OC1", "Kyrgyzstan"): ["0", "400", "200", "50 %", "50 %", "On track"],
    ("OC1", "Tajikistan"): ["0", "100", "20", "20 %", "50 %", "Off track"],
    ("OC2", "Kyrgyzstan"): ["20 %", "60 %", "35 %", "38 %", "50 %", "At risk"],
    ("OC2", "Tajikistan"): ["10 %", "50 %", "none yet", "—", "50 %", "No data"],
}


def rows(page) -> dict[tuple[str, str], list]:
    """Each line of the project page: (indicator code, country) → its cells."""
    found = {}
    for card in page.xpath("//article[contains(@class, 'indicator-card')]"):
        code = card.xpath(".//span[@class='code']")[0].text_content()
        for row in card.xpath(".//table//tbody/tr"):
            found[(code, row.xpath("./th")[0].text_content().strip())] = row.xpath("./td")
    return found


def visible(cell) -> str:
    """A cell's text as seen (without the words for screen readers only)."""
    hidden = "".join(e.text_content() for e in cell.xpath(".//*[contains(@class, 'visually-hidden')]"))
    return " ".join(cell.text_content().replace(hidden, "").split()) if hidden else " ".join(cell.text_content().split())


def test_each_line_shows_its_progress_as_of_the_default_period(client, session, small):
    factories.signed_in(client, session)  # a regional reviewer: every line
    page = doc(client.get("/projects/PP-1"))
    assert "as of 2024Q4" in " ".join(page.xpath("//p[contains(@class, 'progress-note')]")[0].text_content().split())
    lines = rows(page)
    assert {key: [visible(c) for c in cells] for key, cells in lines.items()} == EXPECTED
    # The status is a word with its colour, and links to the line's explanation.
    for (code, country), cells in lines.items():
        link = cells[-1].xpath(".//a")[0]
        iso3 = "KGZ" if country == "Kyrgyzstan" else "TJK"
        assert link.get("href") == f"/dashboard/indicators/{small[code]}/{iso3}"
        assert link.text_content().endswith(f"how {code} in {country} is computed")
        assert cells[-1].xpath(".//span[starts-with(@class, 'status status-')]")
    status = {key: cells[-1].xpath(".//span[starts-with(@class, 'status ')]")[0].get("class") for key, cells in lines.items()}
    assert status[("OC1", "Kyrgyzstan")] == "status status-on_track"
    assert status[("OC2", "Tajikistan")] == "status status-no_data"
    # Headers and a caption name the columns for a screen reader.
    table = page.xpath("//article[contains(@class, 'indicator-card')]//table")[0]
    assert [th.text_content() for th in table.xpath(".//thead//th")] == [
        "Country", "Baseline", "Target", "Actual", "Progress", "Expected", "Status"]
    assert "as of 2024Q4" in table.xpath("./caption")[0].text_content()


def test_the_figures_are_the_dashboards(client, session, small):
    """The same rows as the dashboard's project page, figure for figure."""
    factories.signed_in(client, session)
    mine = {key: [visible(c) for c in cells][2:] for key, cells in rows(doc(client.get("/projects/PP-1"))).items()}
    dashboard = doc(client.get("/dashboard/projects/PP-1"))
    names = {"KGZ": "Kyrgyzstan", "TJK": "Tajikistan"}
    theirs = {}
    for row in dashboard.xpath("//table[contains(@class, 'lines')]/tbody/tr"):
        cells = [" ".join(td.text_content().split()) for td in row.xpath("./td")]
        code = row.xpath("./td[1]//strong")[0].text_content()
        actual = cells[4] if cells[4] != "—" else "none yet"
        theirs[(code, names[cells[1]])] = [actual, cells[5], cells[6], cells[7].capitalize()]
    for key, figures in mine.items():
        unit = " %" if key[0] == "OC2" and figures[0] != "none yet" else ""
        assert [figures[0].removesuffix(unit), *figures[1:]] == theirs[key], key


def test_an_officer_sees_the_progress_of_its_own_countries_lines(client, session, small):
    factories.signed_in(client, session, "country_officer", countries=["KGZ"])
    page = doc(client.get("/projects/PP-1"))
    lines = rows(page)
    assert [visible(c) for c in lines[("OC1", "Kyrgyzstan")]][-1] == "On track"
    tajik = lines[("OC1", "Tajikistan")]
    assert [visible(c) for c in tajik][:2] == ["0", "100"]  # the definition is the project's
    assert "Outside your countries" in visible(tajik[2]) and tajik[2].get("colspan") == "4"
    assert not tajik[2].xpath(".//a")  # no link to an explanation it may not open
    assert client.get(f"/dashboard/indicators/{small['OC1']}/TJK").status_code == 403


def test_a_project_without_indicators_says_so(client, session):
    proj = factories.project(session, "PP-EMPTY", countries=("KGZ",))
    assert proj.id
    factories.signed_in(client, session)
    page = doc(client.get("/projects/PP-EMPTY"))
    assert "No indicators yet" in page.text_content()
    assert page.xpath("//p[contains(@class, 'progress-note')]") == []
