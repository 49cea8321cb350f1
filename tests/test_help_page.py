"""The help page /help/progress: open to every signed-in role, its figures computed by the rules
(not typed in), its thresholds read from the rules, its anchors there for other pages to link."""

from __future__ import annotations

import pytest
from lxml import html

from mne.formatting import pct
from mne.help import pages as help_pages
from mne.progress import rules
from tests import factories

ANCHORS = ("as-of", "counted", "actual", "progress", "due", "expected", "status", "groups", "standard",
           "completeness", "example", "example-semiannual", "opening-actual", "band", "on-time")
ROLES = [("country_officer", {"countries": ["KGZ"]}), ("regional_reviewer", {}), ("admin", {}),
         ("donor_viewer", {"donors": ["ECHO"]})]


def signed_in(client, session, role="country_officer", **scope) -> None:
    if role == "country_officer":
        scope.setdefault("countries", ["KGZ"])
    user = factories.user(session, role, **scope)
    session.commit()
    factories.sign_in(client, user.email)


def help_page(client) -> html.HtmlElement:
    response = client.get("/help/progress")
    assert response.status_code == 200, response.text[:2000]
    return html.fromstring(response.text)


def text(element) -> str:
    return " ".join(" ".join(element.itertext()).split())


def row(tree, css_class: str) -> str:
    (tr,) = tree.xpath(f"//tr[@class='{css_class}']")
    return text(tr)


@pytest.mark.parametrize("role, scope", ROLES, ids=[r for r, _ in ROLES])
def test_every_role_reads_the_page(client, session, role, scope):
    if role == "donor_viewer":
        factories.donor(session, "ECHO")
    signed_in(client, session, role, **scope)
    tree = help_page(client)
    assert text(tree.xpath("//h1")[0]) == "How every figure is computed"


def test_signed_out_visitors_are_sent_to_sign_in(client):
    response = client.get("/help/progress", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/help/progress"


def test_every_anchor_exists_once_and_the_headings_are_in_order(client, session):
    signed_in(client, session)
    tree = help_page(client)
    for anchor in (*ANCHORS, *help_pages.ANCHORS):
        assert len(tree.xpath(f"//*[@id='{anchor}']")) == 1, anchor
    levels = [int(h.tag[1]) for h in tree.xpath("//main//*[self::h1 or self::h2 or self::h3 or self::h4]")]
    assert levels[0] == 1 and levels.count(1) == 1
    assert all(b <= a + 1 for a, b in zip(levels, levels[1:])), levels  # no level skipped
    for th in tree.xpath("//table//th"):
        assert th.get("scope") in ("col", "row"), text(th)
    # Scrolled tables are labelled regions a keyboard can reach.
    for wrap in tree.xpath("//div[contains(@class, 'table-wrap')]"):
        assert wrap.get("role") == "region" and wrap.get("tabindex") == "0"
        assert tree.xpath(f"//*[@id='{wrap.get('aria-labelledby')}']")
    assert not tree.xpath("//main//script") and "<style" not in html.tostring(tree, encoding=str)


def test_worked_example_1_is_computed_by_the_rules(client, session):
    signed_in(client, session)
    tree = help_page(client)
    i1 = row(tree, "example-I1")
    assert "50 + 70 + 80 = 200" in i1 and "200 ÷ 400 = 50.0 %" in i1 and "365 of 730 days = 50.0 %" in i1
    assert "100 %" in i1 and i1.endswith("on track")
    pending = row(tree, "example-I1-pending")
    assert "50 + 70 + 30 + 80 = 230" in pending and "57.5 %" in pending and "provisional" in pending
    i2 = row(tree, "example-I2")
    assert "(35 − 40) ÷ (20 − 40) = 25.0 %" in i2 and " 50 % " in f" {i2} " and i2.endswith("off track")
    i3 = row(tree, "example-I3")
    assert "nothing counted" in i3 and i3.endswith("no data")
    group = text(tree.get_element_by_id("example-kgz-group"))
    assert "3: 1 on track, 1 off track, 1 no data" in group
    assert "(50.0 % + 25.0 %) ÷ 2 = 37.5 %" in group  # mean progress 0.375
    assert "1 of 3 due = 33 %" in group and "Band off track" in group  # on-track share 1/3


def test_the_semiannual_line_is_computed_as_of_two_periods(client, session):
    signed_in(client, session)
    tree = help_page(client)
    q3 = row(tree, "example-semiannual-2022Q3")
    assert "D = 2022Q2: 181 of 730 days = 24.8 %" in q3 and "64 ÷ 200 = 32.0 %" in q3
    assert "129 %" in q3 and q3.endswith("on track")
    q4 = row(tree, "example-semiannual-2022Q4")
    assert "D = 2022Q4: 365 of 730 days = 50.0 %" in q4 and "64 %" in q4 and q4.endswith("at risk")


def test_the_page_agrees_with_the_rules_line_by_line(client, session):
    """Whatever the page prints for a line is what evaluate_line says about it."""
    signed_in(client, session)
    tree = help_page(client)
    q4 = help_pages.quarter("2022Q4")
    for line in help_pages.kgz_lines():
        lp = rules.evaluate_line(line, q4)
        shown = row(tree, f"example-{line.indicator_code}")
        assert shown.endswith(help_pages.status_words()[lp.status])
        assert pct(lp.progress, 1) in shown if lp.progress is not None else "—" in shown


def test_standard_indicator_and_completeness_examples(client, session):
    signed_in(client, session)
    standard = text(help_page(client).get_element_by_id("standard"))
    assert "SP4.3 is 45.56 % by ratio" in standard and "never 95 %" in standard and "target is 55 %" in standard
    completeness = text(help_page(client).get_element_by_id("completeness"))
    assert "2022Q3 1 (P2) 0 0" in completeness and "2022Q4 2 (P2, P3) 1 (P2) 1 (P2)" in completeness


def test_thresholds_and_constants_come_from_the_rules(client, session, monkeypatch):
    signed_in(client, session)
    status = text(help_page(client).get_element_by_id("status"))
    assert f"r is {pct(rules.ON_TRACK_MIN)} or more" in status and f"below {pct(rules.AT_RISK_MIN)}" in status
    monkeypatch.setattr(rules, "ON_TRACK_MIN", 0.9)
    monkeypatch.setattr(rules, "AT_RISK_MIN", 0.55)
    monkeypatch.setattr(rules, "GROUP_ON_TRACK_MIN", 0.8)
    monkeypatch.setattr(rules, "DUE_AFTER_DAYS", 45)
    monkeypatch.setattr(rules, "PROGRESS_CAP", 1.5)
    tree = help_page(client)
    thresholds = [text(t) for t in tree.xpath("//section[@id='status']//span[@class='threshold']")]
    assert thresholds == ["90 %", "55 %"]
    assert "from 80 % of its due lines" in text(tree.get_element_by_id("groups"))
    assert "due 45 days after the period ends" in text(tree.get_element_by_id("as-of"))
    assert "between 0 % and 150 %" in text(tree.get_element_by_id("groups"))
    assert "2023-02-14" in text(tree.get_element_by_id("as-of"))  # 2022Q4's due date, 45 days on


def test_every_frequency_and_status_is_explained(client, session, monkeypatch):
    signed_in(client, session)
    tree = help_page(client)
    due = {text(tr.xpath("th")[0]): text(tr) for tr in tree.xpath("//section[@id='due']//tbody/tr")}
    assert list(due) == list(rules.FREQUENCIES)
    assert due["semiannual"].endswith("2022Q2, 2022Q4, 2023Q2, 2023Q4")
    assert due["annual"].endswith("2022Q4, 2023Q4") and due["endline"].endswith("2023Q4")
    status = text(tree.get_element_by_id("status"))
    for word in help_pages.status_words().values():
        assert word in status
    assert "not achieved" in status and "not_" not in status  # in words, not codes


@pytest.mark.browser
def test_the_page_reads_on_a_phone_without_sideways_scrolling(page, live_server):
    from tests.conftest import screenshot

    with live_server.session() as session:
        user = factories.user(session, "country_officer", countries=["KGZ"], email="help.reader@test.example")
        session.commit()
        email = user.email
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(live_server.url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(factories.PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto(live_server.url + "/help/progress#status")
    assert page.get_by_role("heading", name="How every figure is computed").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path="/tmp/help.png", full_page=True)
    screenshot(page, "help-progress-phone")
