"""The exports page and the Download menus: the page for every role, its row counts, its
Download link carrying what was chosen, refusals beside their field, and the menus of the
dashboard, its drill-down pages and the project pages carrying each page's own filters."""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from lxml import html
from starlette.routing import NoMatchFound

from mne.exports.pages import FORMATS, available, download_links
from mne.filters import Filters
from tests import factories
from tests.pages import error_beside
from tests.progress_world import World, open_periods

FILE_PATHS = {"results_csv": "/exports/results.csv", "iptt_csv": "/exports/iptt.csv",
              "iptt_xlsx": "/exports/iptt.xlsx", "iati_xml": "/exports/iati.xml"}


@pytest.fixture
def world(session):
    """Two projects: EX-KGZ (ECHO; lines A and B in Kyrgyzstan) and EX-WB (USAID; line C in
    Serbia and Kosovo). Results: A 2022Q1 approved, A 2022Q2 submitted, B 2022Q1 a draft;
    C in Serbia 2022Q1 approved, C in Kosovo 2022Q2 returned. 4 lines, 5 results."""
    open_periods(session, "2022Q1", "2022Q2")
    w = World(session)
    kgz = w.project("EX-KGZ", countries=("KGZ",), donors=("ECHO",))
    a = w.indicator(kgz, "A", {"KGZ": (0, 100)})
    b = w.indicator(kgz, "B", {"KGZ": (0, 10)})
    w.report(a, "KGZ", "2022Q1", 40)
    w.report(a, "KGZ", "2022Q2", 20, "submitted")
    w.report(b, "KGZ", "2022Q1", 3, "draft")
    wb = w.project("EX-WB", countries=("SRB", "XKX"), priorities=("SP4",), donors=("USAID",))
    c = w.indicator(wb, "C", {"SRB": (0, 50), "XKX": (0, 50)}, priority="SP4")
    w.report(c, "SRB", "2022Q1", 10)
    w.report(c, "XKX", "2022Q2", 5, "returned")
    session.commit()
    return w


signed_in = factories.signed_in


def tree(response, status=200):
    assert response.status_code == status, response.text[:2000]
    return html.fromstring(response.text)


def words(element) -> str:
    return " ".join(element.text_content().split())


def query(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


def download(page):
    links = page.xpath("//section[contains(@class,'export-outcome')]//a[@download]")
    return links[0] if links else None


def count_text(page) -> str:
    return words(page.xpath("//p[@class='export-count']")[0])


def offered(client) -> set[str]:
    """The files this app serves (IATI XML only once its route is mounted)."""
    found = set()
    for key, path in FILE_PATHS.items():
        try:
            assert client.app.url_path_for(key) == path
        except NoMatchFound:
            continue
        found.add(key)
    return found


# --- the page -----------------------------------------------------------------------------

@pytest.mark.parametrize("role, scope", [
    ("regional_reviewer", {}), ("admin", {}), ("country_officer", {"countries": ["KGZ"]}),
    ("donor_viewer", {"donors": ["ECHO"]}),
])
def test_the_page_renders_for_every_role_with_a_label_on_every_control(client, session, world, role, scope):
    signed_in(client, session, role, **scope)
    page = tree(client.get("/exports"))
    assert words(page.xpath("//h1")[0]) == "Exports"
    assert page.xpath("//nav[@aria-label='Main']//a[@href='/exports'][@aria-current='page']")
    form = page.xpath("//form[@id='export-form']")[0]
    assert form.get("method") == "get" and form.get("action") == "/exports" and form.get("hx-get") == "/exports"
    assert set(form.xpath(".//input[@name='format']/@value")) == offered(client)
    for control in form.xpath(".//select | .//input[not(@type='hidden')]"):
        assert page.xpath(f"//label[@for='{control.get('id')}']"), control.get("name")
    assert download(page) is not None  # the default choice counts at once
    if role == "donor_viewer":
        assert form.xpath(".//select[@name='donor']/option/@value") == ["", "ECHO"]
    if role == "country_officer":
        assert form.xpath(".//select[@name='country']/option/@value") == ["", "KGZ"]


def test_counts_are_the_rows_of_the_file(client, session, world):
    signed_in(client, session)
    page = tree(client.get("/exports"))
    assert count_text(page) == "5 results" and facts(page)["Results"] == "every status"
    page = tree(client.get("/exports?format=iptt_csv&as_of=2022Q2&include_pending=true&status=on_track"))
    assert facts(page) == {"As of": "2022Q2", "Periods": "2020Q1 to 2022Q2", "Filters": "none: everything you can see",
                           "Counted": "approved and submitted results (provisional)", "Lines": "on track"}
    assert count_text(tree(client.get("/exports?format=results_csv&donor=ECHO"))) == "3 results"
    assert count_text(tree(client.get("/exports?format=results_csv&status=approved"))) == "2 results"
    assert count_text(tree(client.get("/exports?format=results_csv&from=2022Q2&to=2022Q2"))) == "2 results"
    assert count_text(tree(client.get("/exports?format=iptt_csv"))) == "4 indicator lines"
    assert count_text(tree(client.get("/exports?format=iptt_xlsx&country=XKX"))) == "1 indicator line"
    # Each count is what the file holds.
    for url in ("/exports?format=results_csv&donor=ECHO", "/exports?format=iptt_csv&subregion=WB&as_of=2022Q2"):
        page = tree(client.get(url))
        rows = int(count_text(page).split()[0])
        file = client.get(download(page).get("href"))
        assert file.status_code == 200
        assert len(file.content.decode("utf-8-sig").strip().splitlines()) == rows + 1, url


def facts(page) -> dict[str, str]:
    dl = page.xpath("//dl[contains(@class,'export-facts')]")[0]
    return dict(zip([words(d) for d in dl.xpath("dt")], [words(d) for d in dl.xpath("dd")], strict=True))


def test_a_donor_viewer_counts_reviewed_results_only(client, session, world):
    signed_in(client, session, "donor_viewer", donors=["ECHO"])
    page = tree(client.get("/exports?format=results_csv"))
    assert count_text(page) == "1 result" and facts(page)["Results"] == "approved"  # A 2022Q1
    page = tree(client.get("/exports?format=results_csv&include_pending=true"))
    assert count_text(page) == "2 results" and facts(page)["Results"] == "approved, submitted"
    assert count_text(tree(client.get("/exports?format=iptt_csv"))) == "2 indicator lines"


def test_the_download_link_carries_every_choice(client, session, world):
    signed_in(client, session)
    page = tree(client.get("/exports?format=iptt_xlsx&donor=ECHO&from=2022Q1&to=2022Q2&as_of=2022Q2"
                           "&include_pending=true&status=on_track,off_track&project="))
    link = download(page)
    href = link.get("href")
    assert href.startswith("/exports/iptt.xlsx?") and link.get("download", None) is not None
    assert query(href) == {"donor": "ECHO", "from": "2022Q1", "to": "2022Q2", "as_of": "2022Q2",
                           "include_pending": "true", "status": "on_track,off_track"}
    assert page.xpath("//select[@id='export-donor']/option[@selected]/@value") == ["ECHO"]
    assert page.xpath("//input[@id='export-format-iptt_xlsx']/@checked")
    assert "mne-iptt-ECHO-2022Q1-2022Q2.xlsx" in words(page.xpath("//p[contains(@class,'export-filename')]")[0])
    file = client.get(href)
    assert file.status_code == 200 and 'filename="mne-iptt-ECHO-2022Q1-2022Q2.xlsx"' in file.headers["content-disposition"]
    # The results file takes no as-of period: the link leaves it out, the form keeps it.
    page = tree(client.get("/exports?format=results_csv&donor=ECHO&as_of=2022Q2"))
    assert query(download(page).get("href")) == {"donor": "ECHO"}
    assert page.xpath("//select[@id='export-as_of']/option[@selected]/@value") == ["2022Q2"]
    # The chosen file's statuses come first in the status select.
    groups = page.xpath("//select[@id='export-status']/optgroup/@label")
    assert groups == ["Result status (results file)", "Line status (IPTT)"]
    groups = tree(client.get("/exports?format=iptt_csv")).xpath("//select[@id='export-status']/optgroup/@label")
    assert groups == ["Line status (IPTT)", "Result status (results file)"]


def test_htmx_gets_the_form_alone_and_a_tidy_address(client, session, world):
    signed_in(client, session)
    response = client.get("/exports?format=iptt_csv&donor=ECHO&country=&from=&to=&as_of=&status=",
                          headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.text
    assert response.text.lstrip().startswith("<form") and 'id="export-form"' in response.text
    assert response.headers["HX-Push-Url"] == "/exports?format=iptt_csv&donor=ECHO"
    assert response.headers["Vary"] == "HX-Request"
    assert "2 indicator lines in the file" in response.text  # announced to screen readers


def test_another_country_is_refused_beside_its_field(client, session, world):
    signed_in(client, session, "country_officer", countries=["KGZ"])
    response = client.get("/exports?format=iptt_xlsx&country=SRB")
    page = tree(response, 403)
    assert "SRB is outside your countries" in error_beside(response, "export-country")
    assert download(page) is None
    assert page.xpath("//select[@id='export-country']/option[@selected]/@value") == ["SRB"]
    # htmx swaps only 2xx answers in: the refusal comes as the form, beside its field.
    fragment = client.get("/exports?format=iptt_xlsx&country=SRB", headers={"HX-Request": "true"})
    assert fragment.status_code == 200 and "SRB is outside your countries" in fragment.text
    # A project the officer cannot read, and a donor outside a donor viewer's own.
    response = client.get("/exports?project=EX-WB")
    assert response.status_code == 403 and "EX-WB" in error_beside(response, "export-project")
    client.cookies.clear()
    signed_in(client, session, "donor_viewer", donors=["ECHO"])
    response = client.get("/exports?donor=USAID")
    assert response.status_code == 403 and "USAID is outside your donors" in error_beside(response, "export-donor")


@pytest.mark.parametrize("params, field, message", [
    ("from=2022Q2&to=2022Q1", "export-from", "backwards"),
    ("from=2022Q9", "export-from", "not a period"),
    ("format=iptt_csv&as_of=1999Q1", "export-as_of", "no reporting period"),
    ("gcm=abc", "export-gcm", "GCM objectives are numbers"),
    ("country=ZZZ", "export-country", "unknown country"),
    ("format=results_csv&status=maybe", "export-status", "unknown status maybe"),
    ("include_pending=perhaps", "export-include_pending", "say true or false"),
    ("format=pdf", "export-format", "choose one of the files"),
    ("project=%00", "export-project", "control character"),
])
def test_bad_choices_are_shown_beside_their_field(client, session, world, params, field, message):
    signed_in(client, session)
    response = client.get(f"/exports?{params}")
    assert response.status_code == 422
    assert message in error_beside(response, field)
    assert download(tree(response, 422)) is None


def test_a_status_of_the_other_file_is_left_out_and_said_so(client, session, world):
    signed_in(client, session)
    page = tree(client.get("/exports?format=results_csv&status=on_track"))
    assert "not a status the Results (CSV) takes" in words(page.xpath("//p[@id='export-status-note']")[0])
    assert "status" not in query(download(page).get("href"))
    assert count_text(page) == "5 results"


def test_iati_counts_activities_and_offers_no_empty_file(client, session, world):
    if "iati_xml" not in offered(client):
        pytest.skip("the IATI route is not mounted")
    signed_in(client, session)
    page = tree(client.get("/exports?format=iati_xml&donor=ECHO"))
    assert count_text(page) == "1 activity"
    assert query(download(page).get("href")) == {"donor": "ECHO"}
    assert client.get(download(page).get("href")).status_code == 200
    page = tree(client.get("/exports?format=iati_xml&sdg=10.7"))  # no project has that target
    assert download(page) is None
    assert "needs at least one activity" in words(page.xpath("//section[contains(@class,'export-outcome')]")[0])
    # A status (of the results or the lines) is no IATI choice: left out, and said so.
    page = tree(client.get("/exports?format=iati_xml&status=approved"))
    assert "not a status the IATI XML takes" in words(page.xpath("//p[@id='export-status-note']")[0])
    assert count_text(page) == "2 activities"


def test_no_inline_script_or_style(client, session, world):
    signed_in(client, session)
    text = client.get("/exports?format=iptt_xlsx&country=ZZZ").text
    assert not re.search(r"<script(?![^>]*\bsrc=)", text)
    assert " style=" not in text and "<style" not in text


# --- the Download menus ---------------------------------------------------------------------

def menu(page) -> dict[str, str]:
    """The Download menu's links: label -> href."""
    found = page.xpath("//details[contains(@class,'download-menu')]")
    assert len(found) == 1, "one Download menu"
    assert words(found[0].xpath("./summary")[0]) == "Download"
    return {words(a): a.get("href") for a in found[0].xpath(".//a")}


def check_menu(client, links: dict[str, str], expected: dict[str, str], **per_file: dict[str, str]) -> None:
    """Each file of the app is in the menu with the filters `expected` (and per-file extras),
    and "More options…" opens the exports page with them all."""
    labels = {f.key: f.label for f in FORMATS}
    assert set(links) == {labels[k] for k in offered(client)} | {"More options…"}
    for key in offered(client):
        href = links[labels[key]]
        assert href.startswith(FILE_PATHS[key]), href
        assert query(href) == {**expected, **per_file.get(key, {})}, (key, href)
    more = links["More options…"]
    assert more.startswith("/exports?") or more == "/exports"
    merged = {**expected}
    for extra in per_file.values():
        merged.update(extra)
    assert query(more) == merged
    for href in links.values():  # every link answers
        assert client.get(href).status_code == 200, href


def test_the_dashboard_menu_carries_its_filters(client, session, world):
    signed_in(client, session)
    page = tree(client.get("/dashboard?donor=ECHO&as_of=2022Q2&include_pending=true"))
    iptt = {"as_of": "2022Q2"}
    check_menu(client, menu(page), {"donor": "ECHO", "include_pending": "true"}, iptt_csv=iptt, iptt_xlsx=iptt)
    # The menu is in the part htmx swaps: it follows a change of filters.
    fragment = tree(client.get("/dashboard?country=KGZ", headers={"HX-Request": "true"}))
    assert query(menu(fragment)["IPTT (Excel)"]) == {"country": "KGZ"}


def test_drill_down_menus_carry_the_page_itself(client, session, world):
    signed_in(client, session)
    check_menu(client, menu(tree(client.get("/dashboard/countries/KGZ?as_of=2022Q2"))), {"country": "KGZ"},
               iptt_csv={"as_of": "2022Q2"}, iptt_xlsx={"as_of": "2022Q2"})
    check_menu(client, menu(tree(client.get("/dashboard/priorities/SP4?donor=USAID"))),
               {"priority": "SP4", "donor": "USAID"})
    check_menu(client, menu(tree(client.get("/dashboard/subregions/WB"))), {"subregion": "WB"})
    check_menu(client, menu(tree(client.get("/dashboard/projects/EX-KGZ"))), {"project": "EX-KGZ"})
    # A line status is the IPTT's; the results file has statuses of its own and gets none.
    links = menu(tree(client.get("/dashboard/lines?status=on_track&subregion=CA")))
    check_menu(client, links, {"subregion": "CA"}, iptt_csv={"status": "on_track"}, iptt_xlsx={"status": "on_track"})


def test_project_list_and_project_page_menus(client, session, world):
    signed_in(client, session)
    page = tree(client.get("/projects?donor=ECHO&country=KGZ&q=EX&status=active"))
    check_menu(client, menu(page), {"donor": "ECHO", "country": "KGZ"})
    fragment = tree(client.get("/projects?subregion=WB", headers={"HX-Request": "true"}))
    assert query(menu(fragment)["Results (CSV)"]) == {"subregion": "WB"}
    page = tree(client.get("/projects/EX-WB"))
    check_menu(client, menu(page), {"project": "EX-WB"})
    # The exports page opened from it keeps the project, in the form and in its link.
    page = tree(client.get(menu(page)["More options…"]))
    assert page.xpath("//input[@id='export-project']/@value") == ["EX-WB"]
    assert page.xpath("//details[contains(@class,'more-filters')]/@open")
    assert query(download(page).get("href")) == {"project": "EX-WB"}
    assert count_text(page) == "2 results"


def test_a_menu_offers_iati_only_when_its_route_is_mounted():
    def app(missing):
        def url_path_for(name, **params):
            if name in missing:
                raise NoMatchFound(name, params)
            return {"exports_page": "/exports", **FILE_PATHS}[name]
        return SimpleNamespace(app=SimpleNamespace(url_path_for=url_path_for))

    without = app({"iati_xml"})
    assert [f.key for f in available(without)] == ["results_csv", "iptt_csv", "iptt_xlsx"]
    links = download_links(without, Filters(donor=("ECHO",)), as_of="2022Q4", status=("approved",))
    assert [link.label for link in links] == ["Results (CSV)", "IPTT (CSV)", "IPTT (Excel)", "More options…"]
    assert links.files[0].href == "/exports/results.csv?donor=ECHO&status=approved"
    assert links.files[1].href == "/exports/iptt.csv?donor=ECHO&as_of=2022Q4"
    assert links.more.href == "/exports?donor=ECHO&as_of=2022Q4&status=approved"
    with_iati = download_links(app(set()), project="EX-1", include_pending=True)
    assert [link.label for link in with_iati][-2:] == ["IATI XML", "More options…"]
    assert with_iati.files[-1].href == "/exports/iati.xml?project=EX-1&include_pending=true"
    assert with_iati.chosen == ["Project: EX-1", "pending results included"]
