"""``iati.xml``: the projects as IATI 2.03 activities with their results (SPEC §6).

What goes in, and the choices made where the standard leaves room:

- **Activities.** One ``iati-activity`` per project the caller may read (``scope``) that
  matches the filters; line-level filters (country, subregion, priority, pillar) are read
  against the project's own countries and priorities, as the projects list reads them. A
  project with no indicator line in scope (no indicators yet, or none in an officer's
  countries or the filtered ones) is still an activity, without ``result`` elements: the
  donor still funds it. ``count`` says how many activities a request holds. The schema wants
  at least one activity in a file, so with none ``xml_chunks`` writes a well-formed but
  schema-invalid empty list: callers ask ``count`` first (the route answers 404).
- **Identity.** ``iati-identifier`` is ``<org_ref>-<project code>``; ``reporting-org`` and the
  implementing ``participating-org`` (role 4) are the settings' organisation, of type 40
  (multilateral); each donor of the project is a funding ``participating-org`` (role 1) named
  by its name (the app knows no IATI identifiers of donors, so none is made up).
- **Status and dates.** ``activity-status``: pipeline → 1 (pipeline/identification); active →
  2 (implementation) while its end date is not past, 3 (finalisation: work over, closure
  pending) after it; closed → 4 (closed). ``activity-date``: planned start (1) and planned end
  (3) always; actual start (2) once an active or closed project's start date has come; actual
  end (4) for a closed project whose end date has passed. "Today" is the export's own date.
- **Geography.** A ``recipient-country`` per project country, ISO 3166-1 alpha-2 (Kosovo
  ``XKX`` → ``XK``), without percentages (how a budget divides among countries is not
  known); ``activity-scope`` 4 (national) for one country, 3 (multi-national) for several.
  When Kosovo is among them, the description ends with the UN footnote. No ``sector``: the
  app keeps none and the schema does not require one.
- **Results.** One ``result`` per indicator with a line in scope: type 1 (output) or 2
  (outcome), its statement as title, ``aggregation-status`` true for numbers, false for
  percentages. Inside it **one IATI ``indicator`` per indicator line** (indicator × country),
  its title the statement with the country's name: a line has one baseline and one target,
  which IATI's indicator holds cleanly, whereas per-country values inside one indicator would
  need a ``dimension`` on every baseline, target and actual, and a total no consumer could
  tell apart. The line's indicator code is its ``reference`` (vocabulary 99, the reporting
  organisation's own), so a donor can put an indicator's lines back together. ``measure`` 1
  (unit) for numbers, 2 (percentage); ``ascending`` 1 for increase, 0 for decrease; one
  ``baseline`` (year and date of the project's start, the line's baseline); the description
  gives the life-of-project target (IATI 2.03 has no indicator-level target) and, for a
  ``sum`` line, any opening actual.
- **Periods.** One ``period`` per reporting period of the asked range (``request.periods``)
  in which the line has a period target or a counted result; a period with neither says
  nothing and is left out. ``target`` is the period target; ``actual`` the value of the
  period's counted result (approved, or submitted too with ``include_pending``; never a
  draft or a returned one), with the result's narrative (and numerator / denominator) as its
  comment. **Sex and age** (2.03 guidance): a disaggregated value is an ``actual`` of its own
  carrying one ``dimension`` — ``name="sex"`` with value ``female``, ``male`` or ``other``,
  ``name="age"`` with ``0-17``, ``18-59`` or ``60+`` — beside the undimensioned total.
- **Format.** Numbers with a dot and no exponent; dates ISO 8601; text stripped of the
  characters XML 1.0 cannot carry. Projects come from a server-side cursor, their countries,
  donors, lines, period targets and results a batch of projects at a time; each activity is
  built with ``xml.etree.ElementTree`` and sent as it is written, so the file is never whole
  in memory.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from mne.auth import scope
from mne.exports.cells import Track, untracked
from mne.exports.request import ExportRequest
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.progress.rules import PeriodInfo
from mne.projects.models import Project, ProjectCountry, ProjectDonor
from mne.reference.models import Country, Donor
from mne.reference.schemas import KOSOVO, KOSOVO_FOOTNOTE
from mne.results.models import AGE_FIELDS, AGE_LABELS, SEX_FIELDS, Result

VERSION = "2.03"
ORG_TYPE = "40"  # OrganisationType: multilateral
LANGUAGE = "en"
PROJECTS_PER_BATCH = 100
CHUNK_BYTES = 64 * 1024
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

RESULT_TYPE = {"output": "1", "outcome": "2"}  # ResultType
MEASURE = {"number": "1", "percentage": "2"}  # IndicatorMeasure: unit, percentage
FUNDING, IMPLEMENTING = "1", "4"  # OrganisationRole
PIPELINE, IMPLEMENTATION, FINALISATION, CLOSED = "1", "2", "3", "4"  # ActivityStatus
PLANNED_START, ACTUAL_START, PLANNED_END, ACTUAL_END = "1", "2", "3", "4"  # ActivityDateType
MULTI_NATIONAL, NATIONAL = "3", "4"  # ActivityScope
OWN_VOCABULARY = "99"  # IndicatorVocabulary: the reporting organisation's own

# ISO 3166-1 alpha-3 → alpha-2 (from Debian's iso-codes), and Kosovo's user-assigned codes.
_PAIRS = (
    "ABWAW AFGAF AGOAO AIAAI ALAAX ALBAL ANDAD AREAE ARGAR ARMAM ASMAS ATAAQ ATFTF ATGAG AUSAU AUTAT AZEAZ BDIBI "
    "BELBE BENBJ BESBQ BFABF BGDBD BGRBG BHRBH BHSBS BIHBA BLMBL BLRBY BLZBZ BMUBM BOLBO BRABR BRBBB BRNBN BTNBT "
    "BVTBV BWABW CAFCF CANCA CCKCC CHECH CHLCL CHNCN CIVCI CMRCM CODCD COGCG COKCK COLCO COMKM CPVCV CRICR CUBCU "
    "CUWCW CXRCX CYMKY CYPCY CZECZ DEUDE DJIDJ DMADM DNKDK DOMDO DZADZ ECUEC EGYEG ERIER ESHEH ESPES ESTEE ETHET "
    "FINFI FJIFJ FLKFK FRAFR FROFO FSMFM GABGA GBRGB GEOGE GGYGG GHAGH GIBGI GINGN GLPGP GMBGM GNBGW GNQGQ GRCGR "
    "GRDGD GRLGL GTMGT GUFGF GUMGU GUYGY HKGHK HMDHM HNDHN HRVHR HTIHT HUNHU IDNID IMNIM INDIN IOTIO IRLIE IRNIR "
    "IRQIQ ISLIS ISRIL ITAIT JAMJM JEYJE JORJO JPNJP KAZKZ KENKE KGZKG KHMKH KIRKI KNAKN KORKR KWTKW LAOLA LBNLB "
    "LBRLR LBYLY LCALC LIELI LKALK LSOLS LTULT LUXLU LVALV MACMO MAFMF MARMA MCOMC MDAMD MDGMG MDVMV MEXMX MHLMH "
    "MKDMK MLIML MLTMT MMRMM MNEME MNGMN MNPMP MOZMZ MRTMR MSRMS MTQMQ MUSMU MWIMW MYSMY MYTYT NAMNA NCLNC NERNE "
    "NFKNF NGANG NICNI NIUNU NLDNL NORNO NPLNP NRUNR NZLNZ OMNOM PAKPK PANPA PCNPN PERPE PHLPH PLWPW PNGPG POLPL "
    "PRIPR PRKKP PRTPT PRYPY PSEPS PYFPF QATQA REURE ROURO RUSRU RWARW SAUSA SDNSD SENSN SGPSG SGSGS SHNSH SJMSJ "
    "SLBSB SLESL SLVSV SMRSM SOMSO SPMPM SRBRS SSDSS STPST SURSR SVKSK SVNSI SWESE SWZSZ SXMSX SYCSC SYRSY TCATC "
    "TCDTD TGOTG THATH TJKTJ TKLTK TKMTM TLSTL TONTO TTOTT TUNTN TURTR TUVTV TWNTW TZATZ UGAUG UKRUA UMIUM URYUY "
    "USAUS UZBUZ VATVA VCTVC VENVE VGBVG VIRVI VNMVN VUTVU WLFWF WSMWS YEMYE ZAFZA ZMBZM ZWEZW XKXXK"
)
ISO2 = {pair[:3]: pair[3:] for pair in _PAIRS.split()}

# What XML 1.0 cannot carry (most control characters, lone surrogates, U+FFFE/U+FFFF).
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(value: str | None) -> str:
    return _NOT_XML.sub("", value or "")


def decimal(value: float) -> str:
    """A number as IATI reads it: a dot for decimals, no exponent, no trailing zeros."""
    text = format(Decimal(repr(value)) if isinstance(value, float) else Decimal(value), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def iso2(iso3: str) -> str | None:
    return ISO2.get(iso3.upper())


# --- what one activity holds ----------------------------------------------------------------

@dataclass
class Actual:
    """The counted result of one period of a line."""
    value: float
    breakdown: list[tuple[str, str, float]]  # (dimension name, dimension value, value)
    comment: str = ""


@dataclass
class Line:
    indicator_id: int
    code: str
    statement: str
    level: str
    measure: str
    aggregation: str
    direction: str
    country: str
    country_name: str
    baseline: float
    target: float
    opening_actual: float
    targets: dict[str, float] = field(default_factory=dict)
    actuals: dict[str, Actual] = field(default_factory=dict)


@dataclass
class Activity:
    id: int
    code: str
    title: str
    summary: str
    start: date
    end: date
    status: str
    countries: list[tuple[str, str]] = field(default_factory=list)  # (ISO3, name)
    donors: list[str] = field(default_factory=list)  # names
    lines: list[Line] = field(default_factory=list)


# --- queries ----------------------------------------------------------------------------------

def _project_conditions(request: ExportRequest) -> list:
    """The projects a request exports, over `Project`."""
    filters = request.filters
    return [scope.visible_projects(request.principal), filters.project_clause(), filters.project_tag_clause()]


def count(conn: Connection, request: ExportRequest) -> int:
    """How many activities the file holds: the projects in scope that match the filters."""
    return conn.execute(select(func.count()).select_from(Project).where(*_project_conditions(request))).scalar_one()


def _projects(request: ExportRequest):
    p = Project.__table__.c
    return (select(p.id, p.code, p.title, p.summary, p.start_date, p.end_date, p.status)
            .where(*_project_conditions(request)).order_by(p.code))


def _actual(row) -> Actual:
    breakdown = [("sex", name, getattr(row, name)) for name in SEX_FIELDS if getattr(row, name) is not None]
    breakdown += [("age", AGE_LABELS[name], getattr(row, name)) for name in AGE_FIELDS
                  if getattr(row, name) is not None]
    parts = []
    if row.numerator is not None and row.denominator is not None:
        parts.append(f"{row.numerator} of {row.denominator}.")
    if row.narrative and row.narrative.strip():
        parts.append(row.narrative.strip())
    return Actual(row.value, breakdown, " ".join(parts))


def _fill(conn: Connection, request: ExportRequest, batch: Sequence[Activity]) -> None:
    """The batch's countries, donors, lines in scope, period targets and counted results."""
    by_id = {a.id: a for a in batch}
    ids = sorted(by_id)
    for pid, iso3, name in conn.execute(
            select(ProjectCountry.project_id, ProjectCountry.country_iso3, Country.name)
            .join(Country, Country.iso3 == ProjectCountry.country_iso3)
            .where(ProjectCountry.project_id.in_(ids)).order_by(Country.position, Country.iso3)):
        by_id[pid].countries.append((iso3, name))
    for pid, name in conn.execute(
            select(ProjectDonor.project_id, Donor.name).join(Donor, Donor.code == ProjectDonor.donor_code)
            .where(ProjectDonor.project_id.in_(ids)).order_by(Donor.name, Donor.code)):
        by_id[pid].donors.append(name)

    i, t = Indicator.__table__.c, IndicatorTarget.__table__.c
    principal, periods = request.principal, request.period_codes
    lines: dict[tuple[int, str], Line] = {}
    for row in conn.execute(
            select(i.project_id, i.id, i.code, i.statement, i.level, i.measure, i.aggregation, i.direction,
                   t.country_iso3, Country.name, t.baseline, t.target, t.opening_actual)
            .select_from(IndicatorTarget)
            .join(Indicator, Indicator.id == IndicatorTarget.indicator_id)
            .join(Project, Project.id == Indicator.project_id)
            .join(Country, Country.iso3 == IndicatorTarget.country_iso3)
            .where(Indicator.project_id.in_(ids), *scope.line_clause(principal, IndicatorTarget.country_iso3),
                   request.filters.line_clause(IndicatorTarget.country_iso3))
            .order_by(i.project_id, i.position, i.code, t.country_iso3)):
        line = Line(*row[1:])
        lines[(line.indicator_id, line.country)] = line
        by_id[row[0]].lines.append(line)
    if not lines or not periods:
        return
    # By indicator alone (the leading column of both keys), sifted here: a plan that never hangs
    # on planner statistics (with none, a period-and-status index visits every result).
    indicator_ids = sorted({iid for iid, _ in lines})
    wanted, counted = set(periods), set(request.counted_statuses)
    for iid, country, period, target in conn.execute(
            select(PeriodTarget.indicator_id, PeriodTarget.country_iso3, PeriodTarget.period_code, PeriodTarget.target)
            .where(PeriodTarget.indicator_id.in_(indicator_ids))):
        if period in wanted and (line := lines.get((iid, country))) is not None:
            line.targets[period] = target
    r = Result.__table__.c
    for row in conn.execute(
            select(r.indicator_id, r.country_iso3, r.period_code, r.status, r.value, r.numerator, r.denominator,
                   r.narrative, *(r[name] for name in SEX_FIELDS + AGE_FIELDS))
            .where(Result.indicator_id.in_(indicator_ids))):
        if row.period_code in wanted and row.status in counted and \
                (line := lines.get((row.indicator_id, row.country_iso3))) is not None:
            line.actuals[row.period_code] = _actual(row)


def activities(conn: Connection, request: ExportRequest) -> Iterator[Activity]:
    """The activities in code order, read from a server-side cursor, filled a batch at a time."""
    # Options of this statement alone: `Connection.execution_options` would set them on the
    # connection for good, and every later statement on it would open a server-side cursor.
    result = conn.execute(_projects(request),
                          execution_options={"stream_results": True, "yield_per": PROJECTS_PER_BATCH})
    try:
        for partition in result.partitions():
            batch = [Activity(*row) for row in partition]
            _fill(conn, request, batch)
            yield from batch
    finally:
        result.close()


# --- XML ------------------------------------------------------------------------------------

def _sub(parent: ET.Element, tag: str, **attributes: str) -> ET.Element:
    return ET.SubElement(parent, tag, {k.replace("_", "-"): v for k, v in attributes.items()})


def _narrative(parent: ET.Element, tag: str, text: str, **attributes: str) -> ET.Element:
    """``<tag ...><narrative>text</narrative></tag>`` under ``parent``."""
    holder = _sub(parent, tag, **attributes)
    ET.SubElement(holder, "narrative").text = clean(text)
    return holder


def activity_status(status: str, end: date, today: date) -> str:
    if status == "pipeline":
        return PIPELINE
    if status == "closed":
        return CLOSED
    return IMPLEMENTATION if end >= today else FINALISATION


def activity_dates(status: str, start: date, end: date, today: date) -> list[tuple[str, date]]:
    dates = [(PLANNED_START, start)]
    if status != "pipeline" and start <= today:
        dates.append((ACTUAL_START, start))
    dates.append((PLANNED_END, end))
    if status == "closed" and end <= today:
        dates.append((ACTUAL_END, end))
    return dates


def _description(activity: Activity) -> str:
    text = clean(activity.summary).strip() or clean(activity.title)
    if any(iso3 == KOSOVO for iso3, _ in activity.countries):
        text = f"{text}\n\n{KOSOVO_FOOTNOTE}"
    return text


def _line_description(line: Line) -> str:
    unit = "%" if line.measure == "percentage" else ""
    parts = [(f"{line.code}, {line.country_name} ({line.country}). Life-of-project target "
              f"{decimal(line.target)}{unit} (baseline {decimal(line.baseline)}{unit}).")]
    if line.aggregation == "sum":
        parts.append("Period actuals are flows; the actual to date is their sum.")
        if line.opening_actual:
            parts.append(f"Achieved before reporting began (not in any period): {decimal(line.opening_actual)}.")
    else:
        parts.append("Period actuals are levels; the actual to date is the latest.")
    return " ".join(parts)


def _indicator(result: ET.Element, line: Line, start: date, periods: Sequence[PeriodInfo]) -> None:
    element = _sub(result, "indicator", measure=MEASURE[line.measure],
                   ascending="1" if line.direction == "increase" else "0",
                   aggregation_status="1" if line.measure == "number" else "0")
    _narrative(element, "title", f"{line.statement} ({line.country_name})")
    _narrative(element, "description", _line_description(line))
    _sub(element, "reference", vocabulary=OWN_VOCABULARY, code=clean(line.code))
    _sub(element, "baseline", year=str(start.year), iso_date=start.isoformat(), value=decimal(line.baseline))
    for period in periods:
        target, actual = line.targets.get(period.code), line.actuals.get(period.code)
        if target is None and actual is None:
            continue
        p = _sub(element, "period")
        _sub(p, "period-start", iso_date=period.start.isoformat())
        _sub(p, "period-end", iso_date=period.end.isoformat())
        if target is not None:
            _sub(p, "target", value=decimal(target))
        if actual is not None:
            total = _sub(p, "actual", value=decimal(actual.value))
            if actual.comment:
                _narrative(total, "comment", actual.comment)
            for name, value, number in actual.breakdown:
                _sub(_sub(p, "actual", value=decimal(number)), "dimension", name=name, value=value)


def activity_element(activity: Activity, *, org_ref: str, org_name: str, today: date,
                     periods: Sequence[PeriodInfo]) -> ET.Element:
    """One ``iati-activity``, its elements in the schema's order."""
    root = ET.Element("iati-activity", {XML_LANG: LANGUAGE})
    ET.SubElement(root, "iati-identifier").text = clean(f"{org_ref}-{activity.code}")
    _narrative(root, "reporting-org", org_name, ref=org_ref, type=ORG_TYPE)
    _narrative(root, "title", activity.title)
    _narrative(root, "description", _description(activity), type="1")
    for donor in activity.donors:
        _narrative(root, "participating-org", donor, role=FUNDING)
    _narrative(root, "participating-org", org_name, ref=org_ref, type=ORG_TYPE, role=IMPLEMENTING)
    _sub(root, "activity-status", code=activity_status(activity.status, activity.end, today))
    for kind, day in activity_dates(activity.status, activity.start, activity.end, today):
        _sub(root, "activity-date", type=kind, iso_date=day.isoformat())
    codes = [code for code in (iso2(iso3) for iso3, _ in activity.countries) if code]
    if codes:
        _sub(root, "activity-scope", code=NATIONAL if len(codes) == 1 else MULTI_NATIONAL)
    for code in codes:
        _sub(root, "recipient-country", code=code)
    by_indicator: dict[int, list[Line]] = defaultdict(list)
    for line in activity.lines:  # in indicator order, then country
        by_indicator[line.indicator_id].append(line)
    for lines in by_indicator.values():
        first = lines[0]
        result = _sub(root, "result", type=RESULT_TYPE[first.level],
                      aggregation_status="1" if first.measure == "number" else "0")
        _narrative(result, "title", first.statement)
        for line in lines:
            _indicator(result, line, activity.start, periods)
    return root


def header(request: ExportRequest) -> bytes:
    made = request.made_at.astimezone(UTC).replace(microsecond=0, tzinfo=None).isoformat() + "Z"
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<iati-activities version="{VERSION}" generated-datetime="{made}">\n').encode()


FOOTER = b"</iati-activities>\n"


def xml_chunks(conn: Connection, request: ExportRequest, *, org_ref: str, org_name: str,
               track: Track = untracked) -> Iterator[bytes]:
    """The file in chunks of about ``CHUNK_BYTES``: the declaration and the opening tag first,
    each activity as soon as it is written, then the closing tag."""
    yield header(request)
    today = request.made_at.date()
    buffer: list[bytes] = []
    size = 0
    for activity in track(activities(conn, request)):
        element = activity_element(activity, org_ref=org_ref, org_name=org_name, today=today,
                                   periods=request.periods)
        ET.indent(element, space="  ", level=1)
        chunk = b"  " + ET.tostring(element, encoding="unicode").encode("utf-8") + b"\n"
        buffer.append(chunk)
        size += len(chunk)
        if size >= CHUNK_BYTES:
            yield b"".join(buffer)
            buffer, size = [], 0
    buffer.append(FOOTER)
    yield b"".join(buffer)
