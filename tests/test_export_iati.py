"""``/exports/iati.xml`` through HTTP: valid against the official IATI 2.03 schema, with
hand-checked values, the caller's scope, and the periods of the asked range.

The world: KGZ-IATI (KGZ and TJK, ECHO, 2022–2023) with a sex-disaggregated flow I1 (a period
target, a submitted and a draft result), a decreasing level I2 and a percentage P1; WB-IATI
(SRB and Kosovo, USAID, running to 2030) with one line per country; GEO-PIPE, a pipeline
project of USAID's without indicators.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from lxml import etree

from mne.exports import iati
from mne.reference.schemas import KOSOVO_FOOTNOTE
from tests import factories
from tests.progress_world import World, open_periods

# The official IATI 2.03 schema, kept beside the tests (from the IATI Standard; see its LICENSE).
SCHEMA_DIR = Path(__file__).resolve().parent / "data" / "iati-2.03"
ORG = "XM-DAC-47066"
YEAR = "from=2022Q1&to=2022Q4"


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "iati-activities-schema.xsd")))


@pytest.fixture
def world(session) -> dict:
    open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
    w = World(session)
    kgz = w.project("KGZ-IATI", countries=("KGZ", "TJK"), donors=("ECHO",))
    kgz.summary = "Safer migration & <better> services"
    session.add(kgz)
    i1 = w.indicator(kgz, "I1", {"KGZ": (0, 400), "TJK": (0, 100)}, disaggregation="sex",
                     period_targets=[("KGZ", "2022Q1", 80)])
    i2 = w.indicator(kgz, "I2", {"KGZ": (40, 20), "TJK": (30, 10)}, aggregation="latest", direction="decrease",
                     level="output")
    p1 = w.indicator(kgz, "P1", {"KGZ": (20, 60), "TJK": (20, 60)}, measure="percentage", aggregation="latest")
    w.report(i1, "KGZ", "2022Q1", 50, disaggregation={"female": 30, "male": 20}, narrative="Two districts")
    w.report(i1, "KGZ", "2022Q2", 70.5)
    w.report(i1, "KGZ", "2022Q3", 30, "submitted")
    w.report(i1, "KGZ", "2022Q4", 99, "draft")
    w.report(i1, "TJK", "2022Q1", 10)
    w.report(i2, "KGZ", "2022Q2", 38)
    w.report(p1, "KGZ", "2022Q2", None, numerator=7, denominator=20)
    wb = w.project("WB-IATI", countries=("SRB", "XKX"), priorities=("SP4",), donors=("USAID",), end="2030-12-31")
    s1 = w.indicator(wb, "S1", {"SRB": (0, 100), "XKX": (0, 50)}, priority="SP4")
    w.report(s1, "XKX", "2022Q3", 0.000015)
    pipe = w.project("GEO-PIPE", countries=("GEO",), donors=("USAID",), start="2025-01-01", end="2026-12-31")
    pipe.status = "pipeline"
    session.add(pipe)
    session.commit()
    return {"I1": i1, "I2": i2, "P1": p1, "S1": s1}


@pytest.fixture
def reviewer(session):
    return factories.token(session, "regional_reviewer")


def xml(client, url: str, headers: dict, schema: etree.XMLSchema) -> etree._Element:
    """The file, checked against the schema."""
    response = client.get(url, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/xml; charset=utf-8"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<iati-activities version="2.03" ')
    doc = etree.fromstring(response.content)
    schema.assertValid(doc)
    return doc


def activities(doc) -> dict[str, etree._Element]:
    return {a.findtext("iati-identifier"): a for a in doc.findall("iati-activity")}


def line(activity, code: str, country_name: str) -> etree._Element:
    (found,) = [i for i in activity.iterfind("result/indicator") if i.find("reference").get("code") == code
                and i.findtext("title/narrative").endswith(f"({country_name})")]
    return found


def periods(indicator) -> dict[str, dict]:
    """Per period start: its end, target, total actual, comment and dimensioned actuals."""
    found = {}
    for p in indicator.iterfind("period"):
        actuals = p.findall("actual")
        total = [a for a in actuals if a.find("dimension") is None]
        found[p.find("period-start").get("iso-date")] = {
            "end": p.find("period-end").get("iso-date"),
            "target": [t.get("value") for t in p.findall("target")],
            "actual": [a.get("value") for a in total],
            "comment": [a.findtext("comment/narrative") for a in total],
            "dimensions": {(a.find("dimension").get("name"), a.find("dimension").get("value")): a.get("value")
                           for a in actuals if a.find("dimension") is not None}}
    return found


def test_the_file_validates_and_carries_the_activity(client, world, reviewer, schema):
    doc = xml(client, f"/exports/iati.xml?{YEAR}", reviewer, schema)
    assert doc.get("version") == "2.03" and doc.get("generated-datetime").endswith("Z")
    found = activities(doc)
    assert list(found) == [f"{ORG}-GEO-PIPE", f"{ORG}-KGZ-IATI", f"{ORG}-WB-IATI"]  # in project code order
    kgz = found[f"{ORG}-KGZ-IATI"]
    assert kgz.get("{http://www.w3.org/XML/1998/namespace}lang") == "en"
    reporting = kgz.find("reporting-org")
    assert (reporting.get("ref"), reporting.get("type"), reporting.findtext("narrative")) == (
        ORG, "40", "International Organization for Migration")
    assert kgz.findtext("title/narrative") == "Project KGZ-IATI"
    assert kgz.findtext("description/narrative") == "Safer migration & <better> services"
    assert [(o.get("role"), o.get("ref"), o.findtext("narrative")) for o in kgz.findall("participating-org")] == [
        ("1", None, "Donor ECHO"), ("4", ORG, "International Organization for Migration")]
    # Active, ended 2023-12-31: finalisation once its end date has passed.
    assert kgz.find("activity-status").get("code") == ("2" if date(2023, 12, 31) >= date.today() else "3")
    assert [(d.get("type"), d.get("iso-date")) for d in kgz.findall("activity-date")] == [
        ("1", "2022-01-01"), ("2", "2022-01-01"), ("3", "2023-12-31")]
    assert kgz.find("activity-scope").get("code") == "3"
    assert [c.get("code") for c in kgz.findall("recipient-country")] == ["KG", "TJ"]
    results = kgz.findall("result")
    assert [(r.get("type"), r.get("aggregation-status"), r.findtext("title/narrative")) for r in results] == [
        ("2", "1", "Indicator I1"), ("1", "1", "Indicator I2"), ("2", "0", "Indicator P1")]
    # One IATI indicator per indicator line, the country in its title.
    assert [i.findtext("title/narrative") for i in results[0].findall("indicator")] == [
        "Indicator I1 (Kyrgyzstan)", "Indicator I1 (Tajikistan)"]


def test_indicator_lines_baselines_and_periods(client, world, reviewer, schema):
    kgz = activities(xml(client, f"/exports/iati.xml?project=KGZ-IATI&{YEAR}", reviewer, schema))[f"{ORG}-KGZ-IATI"]
    i1 = line(kgz, "I1", "Kyrgyzstan")
    assert (i1.get("measure"), i1.get("ascending"), i1.get("aggregation-status")) == ("1", "1", "1")
    assert "Life-of-project target 400 (baseline 0)" in i1.findtext("description/narrative")
    assert [(b.get("year"), b.get("iso-date"), b.get("value")) for b in i1.findall("baseline")] == [
        ("2022", "2022-01-01", "0")]
    # Q1: its period target, the approved 50 with the narrative, 30 women and 20 men;
    # Q2: 70.5; Q3 submitted and Q4 a draft: neither counts, so no period.
    assert periods(i1) == {
        "2022-01-01": {"end": "2022-03-31", "target": ["80"], "actual": ["50"], "comment": ["Two districts"],
                       "dimensions": {("sex", "female"): "30", ("sex", "male"): "20"}},
        "2022-04-01": {"end": "2022-06-30", "target": [], "actual": ["70.5"], "comment": [None], "dimensions": {}}}
    assert list(periods(line(kgz, "I1", "Tajikistan"))) == ["2022-01-01"]
    i2 = line(kgz, "I2", "Kyrgyzstan")  # a decrease: not ascending
    assert (i2.get("measure"), i2.get("ascending")) == ("1", "0")
    assert i2.find("baseline").get("value") == "40"
    assert periods(i2)["2022-04-01"]["actual"] == ["38"]
    p1 = line(kgz, "P1", "Kyrgyzstan")  # a percentage, from its numerator and denominator
    assert (p1.get("measure"), p1.get("ascending"), p1.get("aggregation-status")) == ("2", "1", "0")
    assert periods(p1)["2022-04-01"]["actual"] == ["35"]
    assert periods(p1)["2022-04-01"]["comment"] == ["7 of 20."]
    assert periods(line(kgz, "P1", "Tajikistan")) == {}  # nothing reported: no period


def test_pending_results_count_only_when_asked_and_drafts_never(client, world, reviewer, schema):
    kgz = activities(xml(client, f"/exports/iati.xml?project=KGZ-IATI&{YEAR}&include_pending=true", reviewer,
                         schema))[f"{ORG}-KGZ-IATI"]
    found = periods(line(kgz, "I1", "Kyrgyzstan"))
    assert list(found) == ["2022-01-01", "2022-04-01", "2022-07-01"]  # Q3 submitted; Q4 still a draft
    assert found["2022-07-01"]["actual"] == ["30"]


def test_kosovo_pipeline_and_numbers(client, world, reviewer, schema):
    found = activities(xml(client, f"/exports/iati.xml?{YEAR}", reviewer, schema))
    wb = found[f"{ORG}-WB-IATI"]
    assert sorted(c.get("code") for c in wb.findall("recipient-country")) == ["RS", "XK"]
    assert wb.findtext("description/narrative") == f"Project WB-IATI\n\n{KOSOVO_FOOTNOTE}"
    assert wb.find("activity-status").get("code") == "2"  # active, ends in 2030
    assert periods(line(wb, "S1", "Kosovo"))["2022-07-01"]["actual"] == ["0.000015"]  # no exponent
    pipe = found[f"{ORG}-GEO-PIPE"]
    assert pipe.find("activity-status").get("code") == "1"
    assert [d.get("type") for d in pipe.findall("activity-date")] == ["1", "3"]  # no actual dates
    assert pipe.find("activity-scope").get("code") == "4"
    assert pipe.findall("result") == []  # no indicators yet: an activity all the same
    assert pipe.findtext("description/narrative") == "Project GEO-PIPE"  # no summary: its title


def test_a_donor_viewer_gets_its_donors_projects_only(client, world, session, schema):
    echo = factories.token(session, "donor_viewer", donors=["ECHO"])
    found = activities(xml(client, f"/exports/iati.xml?{YEAR}", echo, schema))
    assert list(found) == [f"{ORG}-KGZ-IATI"]
    assert len(found[f"{ORG}-KGZ-IATI"].findall("result/indicator")) == 6  # every line of its project
    assert client.get("/exports/iati.xml?donor=USAID", headers=echo).status_code == 403
    unknown = client.get("/exports/iati.xml?donor=NO-SUCH-DONOR", headers=echo)
    assert unknown.status_code == 422 and unknown.json()["error"]["details"][0]["field"] == "donor"
    assert client.get("/exports/iati.xml?project=WB-IATI", headers=echo).status_code == 403


def test_an_officer_gets_its_countries_lines_only(client, world, session, schema):
    officer = factories.token(session, "country_officer", countries=["KGZ"])
    found = activities(xml(client, f"/exports/iati.xml?{YEAR}", officer, schema))
    assert list(found) == [f"{ORG}-KGZ-IATI"]
    titles = [i.findtext("title/narrative") for i in found[f"{ORG}-KGZ-IATI"].iterfind("result/indicator")]
    assert titles == ["Indicator I1 (Kyrgyzstan)", "Indicator I2 (Kyrgyzstan)", "Indicator P1 (Kyrgyzstan)"]
    assert client.get("/exports/iati.xml?country=TJK", headers=officer).status_code == 403


def test_a_country_filter_keeps_that_countrys_lines(client, world, reviewer, schema):
    found = activities(xml(client, f"/exports/iati.xml?country=TJK&{YEAR}", reviewer, schema))
    assert list(found) == [f"{ORG}-KGZ-IATI"]
    assert all(i.findtext("title/narrative").endswith("(Tajikistan)")
               for i in found[f"{ORG}-KGZ-IATI"].iterfind("result/indicator"))


def test_the_file_name_and_nothing_to_export(client, world, reviewer, session):
    response = client.get(f"/exports/iati.xml?project=KGZ-IATI&{YEAR}", headers=reviewer)
    assert response.headers["content-disposition"].startswith(
        'attachment; filename="mne-iati-KGZ-IATI-2022Q1-2022Q4.xml"')
    whole = client.get("/exports/iati.xml", headers=reviewer)  # every period: up to the last one
    assert whole.headers["content-disposition"].startswith('attachment; filename="mne-iati-all-2024Q4.xml"')
    # No activity in scope: the schema wants at least one, so nothing is sent.
    factories.donor(session, "LONELY")
    lonely = factories.token(session, "donor_viewer", donors=["LONELY"])
    nothing = client.get("/exports/iati.xml", headers=lonely)
    assert nothing.status_code == 404 and nothing.json()["error"]["code"] == "not_found"


def test_a_period_range_limits_the_periods(client, world, reviewer, schema):
    kgz = activities(xml(client, "/exports/iati.xml?project=KGZ-IATI&from=2022Q2&to=2022Q3&include_pending=true",
                         reviewer, schema))[f"{ORG}-KGZ-IATI"]
    assert list(periods(line(kgz, "I1", "Kyrgyzstan"))) == ["2022-04-01", "2022-07-01"]
    assert periods(line(kgz, "I1", "Tajikistan")) == {}
    assert client.get("/exports/iati.xml?from=2022Q4&to=2022Q1", headers=reviewer).status_code == 422


def test_projects_are_read_in_batches(client, world, reviewer, monkeypatch):
    """One project per batch gives the same file (but for when it was made) as the default."""
    def body(response) -> bytes:
        assert response.status_code == 200, response.text
        return response.content.split(b"\n", 2)[2]  # past the declaration and the dated opening tag

    whole = body(client.get(f"/exports/iati.xml?{YEAR}", headers=reviewer))
    monkeypatch.setattr(iati, "PROJECTS_PER_BATCH", 1)
    assert body(client.get(f"/exports/iati.xml?{YEAR}", headers=reviewer)) == whole
    assert whole.count(b"<iati-activity ") == 3


@pytest.mark.parametrize(("value", "text"), [(0.0, "0"), (400.0, "400"), (70.5, "70.5"), (1.5e-05, "0.000015"),
                                             (1e16, "10000000000000000"), (12, "12"), (33.33, "33.33")])
def test_numbers_have_a_dot_and_no_exponent(value, text):
    assert iati.decimal(value) == text


@pytest.mark.parametrize(("status", "end", "code"), [
    ("pipeline", date(2030, 1, 1), "1"), ("active", date(2030, 1, 1), "2"), ("active", date(2024, 1, 1), "3"),
    ("closed", date(2024, 1, 1), "4"), ("closed", date(2030, 1, 1), "4")])
def test_activity_status(status, end, code):
    assert iati.activity_status(status, end, date(2025, 6, 30)) == code


def test_every_country_has_an_alpha2_code(session):
    from sqlmodel import select

    from mne.reference.models import Country

    assert {c: iati.iso2(c) for c in session.exec(select(Country.iso3)).all() if iati.iso2(c) is None} == {}
    assert (iati.iso2("XKX"), iati.iso2("KGZ"), iati.iso2("SRB"), iati.iso2("TUR")) == ("XK", "KG", "RS", "TR")


def test_text_xml_cannot_carry_is_dropped():
    assert iati.clean("a\x00b\x0bc\td\ne\ufffe") == "abc\td\ne"
