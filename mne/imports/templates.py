"""Templates to fill in and import: a project's indicator lines for one period, as CSV or .xlsx.

A template holds the lines an officer may log results for (``scope.line_countries(…, write=True)``)
in the columns the import reads, in the order of ``COLUMNS``, and then columns for reference
that it ignores (``REFERENCE``: the statement, the country's name, the target…). A line
already reported carries its result as stored, with its version, so that a template filled in
and imported back changes only what was typed into it: an untouched row is ``unchanged`` (a
reported line) or ``skipped`` (an empty one), and an edited row updates the version it was
edited from, or is refused if someone changed the result meanwhile.

CSV cells go through ``mne.exports.cells`` (a byte-order mark for Excel, text that cannot
become a formula, numbers without ``.0``), exactly as the exports write them, because the
import reads files written that way back unchanged. A template is one project's lines, small
enough to be built whole before it is sent.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime

import xlsxwriter
from sqlalchemy import and_, exists, select
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import PeriodStatus, utcnow
from mne.errors import Forbidden, Invalid
from mne.exports import cells
from mne.indicators.models import Indicator, IndicatorTarget
from mne.progress.rules import PeriodInfo, is_due
from mne.projects.models import Project
from mne.reference.models import Country, Period
from mne.results import service as results
from mne.results.models import AGE_FIELDS, SEX_FIELDS, Result
from mne.results.presenters import STATUS_LABELS
from mne.web import FREQUENCY_WORDS

# What the import reads (`sheets.REQUIRED` and most of `sheets.OPTIONAL`: a test holds them to it).
COLUMNS = ("project_code", "indicator_code", "country_iso3", "period", "value", "numerator", "denominator",
           *SEX_FIELDS, *AGE_FIELDS, "narrative", "means_of_verification", "version")
# For the person filling it in; the import ignores them (their names are none of the above).
REFERENCE = ("indicator", "country", "measure", "disaggregation", "baseline", "target", "due", "status")
NUMBERS = ("value", "numerator", "denominator", *SEX_FIELDS, *AGE_FIELDS, "version", "baseline", "target")
DISAGGREGATION_WORDS = {"none": "none", "sex": "by sex", "sex_age": "by sex and age"}


@dataclass(frozen=True)
class Line:
    """One row of a template: the import's columns and the reference columns, by name."""

    values: dict[str, object]


@dataclass(frozen=True)
class Template:
    project: Project
    period: Period
    lines: list[Line]
    principal: Principal
    made_at: datetime

    def filename(self, extension: str) -> str:
        code = re.sub(r"[^A-Za-z0-9._-]+", "_", self.project.code)
        return f"mne-import-template-{code}-{self.period.code}.{extension}"


# --- what an officer may choose ------------------------------------------------------------

@dataclass(frozen=True)
class ProjectChoice:
    code: str
    title: str
    start_date: date
    end_date: date


def projects_for(session: Session, principal: Principal) -> list[ProjectChoice]:
    """The projects with at least one indicator line the caller logs results for."""
    countries = sorted(scope.line_countries(principal, write=True))
    if not countries:
        return []
    has_line = exists().where(Indicator.project_id == Project.id, IndicatorTarget.indicator_id == Indicator.id,
                              IndicatorTarget.country_iso3.in_(countries))
    rows = session.execute(select(Project.code, Project.title, Project.start_date, Project.end_date)
                           .where(scope.visible_projects(principal), has_line).order_by(Project.code))
    return [ProjectChoice(*row) for row in rows]


def ordered_periods(periods: list[Period]) -> list[Period]:
    """Open periods first (where results are logged), then closed ones; the latest first in each."""
    return sorted(periods, key=lambda p: (p.status != PeriodStatus.open, -p.end_date.toordinal(), p.code))


def default_period(periods: list[Period], project: ProjectChoice | None, today: date) -> str:
    """The period an officer most likely reports now: the latest open one that has begun (within
    the project's dates when a project is chosen), else the first open one, else the latest begun."""
    if project is not None:
        periods = [p for p in periods if p.end_date >= project.start_date and p.start_date <= project.end_date]
    begun = [p for p in periods if p.start_date <= today]
    open_ = [p for p in periods if p.status == PeriodStatus.open]
    for pool, pick in (([p for p in open_ if p in begun], max), (open_, min), (begun, max), (periods, max)):
        if pool:
            return pick(pool, key=lambda p: (p.end_date, p.code)).code
    return ""


# --- the template's lines -----------------------------------------------------------------

def build(session: Session, principal: Principal, project_code: str, period_code: str) -> Template:
    """The template of a project and period; 422 naming ``project`` or ``period`` when either is
    unknown or the period is outside the project's dates, 403 for a project outside the caller's scope."""
    project_code, period_code = project_code.strip(), period_code.strip().upper()
    problems = []
    project = session.execute(select(Project).where(Project.code == project_code)).scalars().first() \
        if project_code else None
    if not project_code:
        problems.append({"field": "project", "message": "choose a project"})
    elif project is None:
        problems.append({"field": "project", "message": f"unknown project: {project_code}"})
    period = session.get(Period, period_code) if period_code else None
    if not period_code:
        problems.append({"field": "period", "message": "choose a period"})
    elif period is None:
        problems.append({"field": "period", "message": f"unknown reporting period {period_code!r}"})
    if project is not None and not scope.can_read_project(session, principal, project.id):
        raise Forbidden(f"project {project.code} is outside your scope")
    if project is not None and period is not None and not results.in_project_dates(period, project):
        problems.append({"field": "period", "message": f"{period.code} is outside the project's dates "
                                                       f"({project.start_date} to {project.end_date})"})
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)
    return Template(project, period, _lines(session, principal, project, period), principal, utcnow())


def _lines(session: Session, principal: Principal, project: Project, period: Period) -> list[Line]:
    countries = sorted(scope.line_countries(principal, write=True))
    stored = and_(Result.indicator_id == Indicator.id, Result.country_iso3 == IndicatorTarget.country_iso3,
                  Result.period_code == period.code)
    rows = session.execute(
        select(Indicator, IndicatorTarget, Country.name, Result)
        .join(IndicatorTarget, IndicatorTarget.indicator_id == Indicator.id)
        .join(Country, Country.iso3 == IndicatorTarget.country_iso3)
        .outerjoin(Result, stored)
        .where(Indicator.project_id == project.id, IndicatorTarget.country_iso3.in_(countries))
        .order_by(Indicator.position, Indicator.code, Country.position))
    info = PeriodInfo(period.code, period.start_date, period.end_date, period.due_date)
    lines = []
    for indicator, target, country_name, result in rows:
        due = is_due(indicator.reporting_frequency, project.start_date, project.end_date, info)
        values: dict[str, object] = {
            "project_code": project.code, "indicator_code": indicator.code, "country_iso3": target.country_iso3,
            "period": period.code,
            "indicator": indicator.statement, "country": cells.country_name(target.country_iso3, country_name),
            "measure": indicator.measure, "disaggregation": DISAGGREGATION_WORDS.get(indicator.disaggregation,
                                                                                     indicator.disaggregation),
            "baseline": target.baseline, "target": target.target,
            "due": "yes" if due else f"no: reported {FREQUENCY_WORDS.get(indicator.reporting_frequency, '')}",
            "status": STATUS_LABELS[result.status if result else "empty"],
        }
        if result is not None:  # the result as stored: imported back untouched, it changes nothing
            values.update({name: getattr(result, name) for name in COLUMNS[4:]})
        lines.append(Line(values))
    return lines


# --- the files ----------------------------------------------------------------------------

HEADER = (*COLUMNS, *REFERENCE)


def _csv_cell(name: str, value: object) -> object:
    if value is None:
        return ""
    return cells.number(value) if name in NUMBERS else cells.text(str(value))


def csv_bytes(template: Template) -> bytes:
    """UTF-8 with a byte-order mark, as the exports write (Excel then reads it as UTF-8)."""
    rows = ([_csv_cell(name, line.values.get(name)) for name in HEADER] for line in template.lines)
    return b"".join(cells.csv_chunks(HEADER, rows))


ABOUT = (
    ("What this is", ("A template for importing results: one row per indicator line of your countries in "
                      "this project, for one reporting period.")),
    ("1. Fill in", ("Type each line's value, and where they apply its numerator and denominator (percentage "
                    "indicators: the value may then be left empty), its values by sex and, for indicators "
                    "disaggregated by age, by age group (each adds up to the value), a narrative and the means "
                    "of verification.")),
    ("2. Leave as they are", ("project_code, indicator_code, country_iso3, period and version say which result "
                              "a row is. The version is the one you downloaded: if someone changes the result "
                              "before you import, the row is refused instead of overwriting their change.")),
    ("3. Empty rows", "A row whose value cells are all empty is skipped: leave the lines you do not report."),
    ("4. Reported results", ("Rows already reported show the stored values and their status. Submitted and "
                             "approved results cannot change: leave those rows as they are (an unchanged "
                             "row is accepted).")),
    ("5. Values only", "Type or paste values: the import does not read formulas."),
    ("6. Reference columns", ("The grey columns after version (indicator, country, measure, …) are there to "
                              "help you; the import ignores them.")),
    ("7. Import", ("Save the file as .xlsx (or CSV UTF-8) and upload it on the Import page of mne. You see "
                   "what each row would do, and nothing is written until you confirm; if a row is refused, "
                   "nothing is written at all.")),
)
MAX_WIDTH = {"indicator": 60, "narrative": 50, "means_of_verification": 40, "country": 24}


def xlsx_bytes(template: Template) -> bytes:
    """The template as a workbook: the sheet "Results" (the import reads the first sheet) and
    "About", saying how to fill it in."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
                                     "strings_to_numbers": False})
    head = book.add_format({"bold": True, "bg_color": "#E8EEF4", "border": 1})
    reference_head = book.add_format({"bold": True, "bg_color": "#EEEEEE", "font_color": "#555555", "border": 1})
    plain = book.add_format({"valign": "top"})
    wrapped = book.add_format({"valign": "top", "text_wrap": True})
    reference = book.add_format({"valign": "top", "font_color": "#555555", "bg_color": "#F5F5F5"})

    sheet = book.add_worksheet("Results")
    widths = [len(name) for name in HEADER]
    for col, name in enumerate(HEADER):
        sheet.write_string(0, col, name, reference_head if name in REFERENCE else head)
    for row, line in enumerate(template.lines, start=1):
        for col, name in enumerate(HEADER):
            value = line.values.get(name)
            if value is None or value == "":
                continue
            if name in NUMBERS:
                sheet.write_number(row, col, value, reference if name in REFERENCE else plain)
                shown = f"{value:g}" if isinstance(value, float) else str(value)
            else:
                text = str(value)
                style = reference if name in REFERENCE else wrapped if name in ("narrative",
                                                                                "means_of_verification") else plain
                sheet.write_string(row, col, text, style)
                shown = text
            widths[col] = max(widths[col], len(shown))
    for col, name in enumerate(HEADER):
        sheet.set_column(col, col, min(widths[col], MAX_WIDTH.get(name, 30)) + 2)
    sheet.freeze_panes(1, 0)
    _validate_numbers(sheet, len(template.lines))

    about = book.add_worksheet("About")
    bold = book.add_format({"bold": True, "valign": "top"})
    text_format = book.add_format({"text_wrap": True, "valign": "top"})
    about.write_string(0, 0, "Import template", bold)
    facts = [("Project", f"{template.project.code}: {template.project.title}"),
             ("Period", template.period.code + ("" if template.period.status == PeriodStatus.open
                                                else " (closed: its results cannot change)")),
             ("Lines", str(len(template.lines))),
             ("Made for", template.principal.email),
             ("Made at (UTC)", template.made_at.strftime("%Y-%m-%d %H:%M:%S")),
             ("", ""), *ABOUT]
    for n, (label, value) in enumerate(facts, start=2):
        if label:
            about.write_string(n, 0, label, bold)
            about.write_string(n, 1, value, text_format)
    about.set_column(0, 0, 22)
    about.set_column(1, 1, 90)
    book.close()
    return out.getvalue()


def _validate_numbers(sheet, rows: int) -> None:
    """Excel's own check as a value is typed: numbers of at least 0, whole ones where they must be."""
    if not rows:
        return
    for name in ("value", *SEX_FIELDS, *AGE_FIELDS, "numerator", "denominator"):
        col = HEADER.index(name)
        whole = name in ("numerator", "denominator")
        sheet.data_validation(1, col, rows, col, {
            "validate": "integer" if whole else "decimal", "criteria": ">=", "value": 0, "ignore_blank": True,
            "error_title": f"{name}: a number", "error_message": "Type a number of at least 0"
                                                               + (", a whole one." if whole else ".")})


def file_bytes(template: Template, extension: str) -> bytes:
    return csv_bytes(template) if extension == "csv" else xlsx_bytes(template)

