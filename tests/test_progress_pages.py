"""The dashboard pages: the same numbers as the API, filters in the URL, htmx fragments,
drill-down links that lead somewhere, scope, the Kosovo footnote, and no inline script or style."""

from __future__ import annotations

import re

import pytest
from lxml import html

from tests import factories
from tests.progress_world import build_spec_example, open_periods

QUARTERS = ("2022Q1", "2022Q2", "2022Q3", "2022Q4")


@pytest.fixture
def data(session):
    """SPEC §5's example in KGZ, and a Serbian–Kosovo project with a standard indicator."""
    open_periods(session, *QUARTERS)
    built = build_spec_example(session, "PG")
    session.commit()
    return built


signed_in = factories.signed_in


def doc(response):
    assert response.status_code == 200, response.text[:2000]
    return html.fromstring(response.text)


def text_of(tree, xpath: str) -> str:
    return " ".join(" ".join(e.text_content().split()) for e in tree.xpath(xpath))


def test_home_is_the_dashboard_and_the_strategy_page_keeps_the_reference(client, session, data):
    signed_in(client, session)
    home = doc(client.get("/", follow_redirects=False))
    assert "Results dashboard" in text_of(home, "//h1")
    strategy = doc(client.get("/strategy"))
    assert "Strategic priorities" in text_of(strategy, "//h2") and "Kosovo" in text_of(strategy, "//table")


def test_dashboard_figures_agree_with_the_api(client, session, data):
    signed_in(client, session)
    token = factories.token(session, "regional_reviewer")
    page = doc(client.get("/dashboard?as_of=2022Q4&country=KGZ"))
    summary = text_of(page, "//p[@class='summary-line']")
    assert "3 indicator lines" in summary and "mean progress 38 %" in summary  # 0.375
    assert "33 % of the lines due on track" in summary  # 1 of 3
    api = client.get("/api/v1/rollup?by=country&as_of=2022Q4&country=KGZ", headers=token).json()["groups"][0]
    assert api["mean_progress"] == pytest.approx(0.375) and api["on_track_share"] == pytest.approx(1 / 3)
    # The SP1 card: I1 on track, I2 off track.
    card = page.xpath("//article[contains(@class, 'dash-card')][.//p[starts-with(normalize-space(.), 'SP1')]]")[0]
    legend = " ".join(card.xpath(".//ul[@class='status-legend']//a/text()"))
    assert "1 on track" in legend and "1 off track" in legend
    # With pending results: I1 = 230 of 400.
    page = doc(client.get("/dashboard?as_of=2022Q4&country=KGZ&include_pending=true"))
    assert "Provisional figures" in page.text_content()
    assert "mean progress 41 %" in text_of(page, "//p[@class='summary-line']")  # (0.575 + 0.25) / 2


def test_matrix_cells_have_number_colour_and_word_and_link_to_their_lines(client, session, data):
    signed_in(client, session)
    page = doc(client.get("/dashboard?as_of=2022Q4"))
    cell = page.xpath("//table[contains(@class,'matrix')]//a[starts-with(@aria-label, 'SP4 in Western Balkans')]")[0]
    td = cell.getparent()
    assert "band-" in td.get("class")
    assert cell.xpath("string(.//span[@class='cell-figure'])").strip() == "50 %"  # XKX on track, SRB at risk
    assert cell.xpath("string(.//span[@class='cell-word'])").strip() in ("on track", "at risk", "off track")
    href = cell.get("href")
    assert href.startswith("/dashboard/subregions/WB?") and "priority=SP4" in href and "as_of=2022Q4" in href
    behind = doc(client.get(href))
    lines = behind.xpath("//table[contains(@class,'lines')]/tbody/tr")
    assert len(lines) == 2 and {r.xpath("string(td[3])").strip().rstrip("*") for r in lines} == {"SRB", "XKX"}


def test_htmx_gets_only_the_body_and_a_tidy_url(client, session, data):
    signed_in(client, session)
    response = client.get("/dashboard?as_of=2022Q4&donor=&subregion=&include_pending=", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text and "<form" not in response.text
    assert "summary-line" in response.text
    assert response.headers["HX-Push-Url"] == "/dashboard?as_of=2022Q4"
    assert response.headers["Vary"] == "HX-Request"
    full = client.get("/dashboard?as_of=2022Q4")
    assert 'hx-get="/dashboard"' in full.text and 'hx-target="#page-body"' in full.text


def test_drill_down_from_priority_to_line(client, session, data):
    signed_in(client, session)
    page = doc(client.get("/dashboard?as_of=2022Q4"))
    priority = page.xpath("//article[contains(@class,'dash-card')]//h3/a")[0].get("href")
    assert priority.startswith("/dashboard/priorities/SP1")
    page = doc(client.get(priority))
    subregion = page.xpath("//table[contains(@class,'groups')]//th/a")[0].get("href")
    assert subregion.startswith("/dashboard/subregions/CA?") and "priority=SP1" in subregion
    page = doc(client.get(subregion))
    country = page.xpath("//table[contains(@class,'groups')]//th/a")[0].get("href")
    assert country.startswith("/dashboard/countries/KGZ?")
    page = doc(client.get(country))
    assert "SP1 in Kyrgyzstan" in text_of(page, "//h1")
    project = page.xpath("//table[contains(@class,'groups')]//th/a")[0].get("href")
    assert project.startswith("/dashboard/projects/PG-KGZ?")
    page = doc(client.get(project))
    line = page.xpath("//table[contains(@class,'lines')]//a[strong='I1']")[0].get("href")
    assert line.startswith(f"/dashboard/indicators/{data['I1']}/KGZ")
    page = doc(client.get(line))
    figures = dict(zip(page.xpath("//section[contains(@class,'line-status')]//dt/text()"),
                       [d.text_content().strip() for d in page.xpath("//section[contains(@class,'line-status')]//dd")],
                       strict=True))
    assert figures == {"Actual": "200", "Progress": "50.0 %", "Expected by now": "50.0 %",
                       "Progress ÷ expected": "100 %"}
    assert "on track" in text_of(page, "//section[contains(@class,'line-status')]//h2")
    reasons = text_of(page, "//td[@class='counted-no']")
    assert "not counted: submitted, awaiting approval" in reasons  # 2022Q3
    assert page.xpath("//svg[contains(@class,'line-svg')]/@role") == ["img"]
    assert "2022Q4" in text_of(page, "//section[@aria-labelledby='h-history']//table")
    # Every link on these pages leads somewhere.
    for href in set(page.xpath("//a/@href")) | {priority, subregion, country, project}:
        if href.startswith("/dashboard") or href.startswith("/results/"):
            assert client.get(href).status_code == 200, href


def test_line_page_explains_each_status(client, session, data):
    signed_in(client, session)
    page = doc(client.get(f"/dashboard/indicators/{data['I2']}/KGZ?as_of=2022Q4"))
    explanation = text_of(page, "//section[contains(@class,'line-status')]")
    assert "off track" in explanation and "50 % of what is expected" in explanation  # r = 0.25 / 0.5
    assert "(35 − 40) ÷ (20 − 40)" in explanation
    page = doc(client.get(f"/dashboard/indicators/{data['S1']}/XKX?as_of=2022Q4"))
    assert "not counted: returned for correction" in text_of(page, "//td[@class='counted-no']")
    assert page.xpath("//p[@id='fn-kosovo']")


def test_lines_list_filters_by_status_and_standard(client, session, data):
    signed_in(client, session)
    page = doc(client.get("/dashboard/lines?as_of=2022Q4&status=off_track"))
    codes = [a.text_content() for a in page.xpath("//table[contains(@class,'lines')]//td[1]/a/strong")]
    assert codes == ["I2"]
    page = doc(client.get("/dashboard/lines?as_of=2022Q4&standard=SP4.1"))
    assert len(page.xpath("//table[contains(@class,'lines')]/tbody/tr")) == 2


def test_kosovo_footnote_wherever_kosovo_is_listed(client, session, data):
    signed_in(client, session)
    for path in ("/dashboard?as_of=2022Q4", "/dashboard/subregions/WB?as_of=2022Q4", "/dashboard/countries/XKX",
                 "/dashboard/projects/PG-WB"):
        page = doc(client.get(path))
        assert "Kosovo" in page.text_content(), path
        assert "Security Council resolution 1244 (1999)" in text_of(page, "//p[@id='fn-kosovo']"), path


def test_pages_respect_scope(client, session, data):
    signed_in(client, session, "country_officer", countries=["SRB"])
    page = doc(client.get("/dashboard?as_of=2022Q4"))
    assert "1 indicator lines" in text_of(page, "//p[@class='summary-line']")  # S1 in Serbia only
    assert client.get("/dashboard/projects/PG-KGZ").status_code == 403
    assert client.get(f"/dashboard/indicators/{data['S1']}/XKX").status_code == 403  # same project, other country
    assert client.get(f"/dashboard/indicators/{data['S1']}/SRB").status_code == 200
    client.cookies.clear()
    signed_in(client, session, "donor_viewer", donors=["USAID"])
    page = doc(client.get("/dashboard?as_of=2022Q4"))
    assert "2 indicator lines" in text_of(page, "//p[@class='summary-line']")
    donors = page.xpath("//select[@name='donor']/option/@value")
    assert donors == ["", "USAID"]
    assert client.get("/dashboard/projects/PG-KGZ").status_code == 403


@pytest.mark.parametrize("path", [
    "/dashboard?as_of=2022Q9", "/dashboard?country=%00", "/dashboard/priorities/SP9", "/dashboard/subregions/XX",
    "/dashboard/countries/ZZZ", "/dashboard/projects/%00", "/dashboard/projects/NOPE", "/dashboard/indicators/999999/KGZ",
    "/dashboard/lines?page=0", "/dashboard/lines?status=maybe",
])
def test_bad_addresses_are_not_a_crash(client, session, path):
    signed_in(client, session)
    response = client.get(path)
    assert response.status_code in (200, 400, 404, 422), (path, response.status_code)


def test_no_inline_script_or_style(client, session, data):
    signed_in(client, session)
    for path in ("/dashboard?as_of=2022Q4", "/dashboard/priorities/SP1", "/dashboard/projects/PG-KGZ",
                 f"/dashboard/indicators/{data['I1']}/KGZ", "/dashboard/lines"):
        text = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path
        assert " style=" not in text and "<style" not in text, path


def test_tables_have_captions_and_header_scopes(client, session, data):
    signed_in(client, session)
    page = doc(client.get("/dashboard?as_of=2022Q4"))
    for table in page.xpath("//table"):
        assert table.xpath("./caption"), html.tostring(table)[:200]
        assert all(th.get("scope") in ("col", "row") for th in table.xpath(".//th"))
    for select in page.xpath("//form[contains(@class,'filters')]//select | //form[contains(@class,'filters')]//input[@type='checkbox']"):
        assert page.xpath(f"//label[@for='{select.get('id')}']"), select.get("name")


# --- SPEC rev. 2 on the pages (worked example 2) ------------------------------------------------

@pytest.fixture
def example_2(session):
    from tests.progress_world import build_spec_example_2
    ids = build_spec_example_2(session)
    session.commit()
    return ids


def test_dashboard_shows_a_percentage_standard_indicator_as_a_ratio(client, session, example_2):
    signed_in(client, session)
    page = doc(client.get("/dashboard?as_of=2022Q4&priority=SP4"))
    row = page.xpath("//table[contains(@class,'standard')]//tr[th//strong='SP4.3']")[0]
    cells = [td.text_content().strip() for td in row.xpath("td")]
    assert cells[0] == "45.56 %"  # 100 x (26 + 15) / (40 + 50), never 95
    assert cells[2] == "55 %"  # the mean of the targets 60 and 50
    assert "ratio of 2 lines" in cells[4]
    overview = text_of(page, "//section[@aria-labelledby='h-overview']")
    assert "on track or achieved" in overview


def test_line_page_explains_a_final_status_and_a_due_period(client, session, example_2):
    signed_in(client, session)
    p1 = text_of(doc(client.get(f"/dashboard/indicators/{example_2['P1']}/ARM?as_of=2022Q4")),
                 "//section[contains(@class,'line-status')]")
    assert "achieved" in p1 and "status is final" in p1 and "26 of 40" in p1
    p3 = text_of(doc(client.get(f"/dashboard/indicators/{example_2['P3']}/GEO?as_of=2022Q3")),
                 "//section[contains(@class,'line-status')]")
    assert "latest due period by 2022Q3 is 2022Q2" in p3 and "not behind between its reports" in p3
    s1 = text_of(doc(client.get(f"/dashboard/indicators/{example_2['S1']}/SRB?as_of=2020Q1")),
                 "//section[contains(@class,'line-status')]")
    assert "opening actual + counted values = 120 + 30 = 150" in s1


def test_results_grid_marks_the_periods_a_result_is_due_in(client, session, example_2):
    from tests import factories as f
    user = f.user(session, "country_officer", countries=["GEO"], email="geo.grid@test.example")
    open_periods(session, "2022Q3")
    session.commit()
    f.sign_in(client, user.email)
    tree = doc(client.get("/projects/GEO-1/results?year=2022"))
    q2, q3 = (tree.xpath(f"//td[@id='cell-{example_2['P3']}-GEO-2022{q}']")[0] for q in ("Q2", "Q3"))
    assert "Due" in q2.text_content() and "Not due (optional)" in q3.text_content()
    assert q3.xpath(".//a[contains(@class,'cell-action')]")  # not due, still enterable
