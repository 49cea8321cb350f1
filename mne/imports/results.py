"""Importing results from a spreadsheet (SPEC §6 "Import"): every row decided by the workflow's
own rules, then all of them written in one transaction, or none.

A row becomes the body of ``PUT /api/v1/results`` (``ResultWrite``) and is decided by
``results.service.plan_write``, the function the API's single save calls, so a rule lives in one
place. What that function reads is loaded for the whole file at once (``FileKnown``), and the
writes are stored in bulk (``apply_writes``); the progress summaries settle once, at commit.

A column the file does not have leaves that field of a stored result as it is (an exported
results.csv has no age groups: importing it must not clear them); an empty cell in a column it
has clears the field. A row whose values equal the stored result is unchanged, whatever the
result's state, so importing a file exported earlier changes nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlmodel import Session, select

from mne import locks
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import Role
from mne.errors import DomainError, Forbidden, Invalid
from mne.exports.cells import unescaped
from mne.forms import field_errors
from mne.imports.sheets import Formula, Sheet
from mne.indicators.models import Indicator, IndicatorTarget
from mne.projects.models import Project
from mne.reference.models import Period
from mne.results import service
from mne.results.models import AGE_FIELDS, AGE_LABELS, SEX_FIELDS, Result
from mne.results.schemas import ResultWrite

CHUNK = 500  # keys per IN (…) list
NUMBERS = ("value", "numerator", "denominator", *SEX_FIELDS, *AGE_FIELDS)
WHOLE = ("numerator", "denominator", "version")
TEXTS = ("narrative", "means_of_verification")
CONTENT = (*NUMBERS, *TEXTS)  # a row with none of these filled in is blank
# Where the workflow's field names point in the file.
COLUMN_OF = {"indicator_id": "indicator_code", "country": "country_iso3", "period": "period", "value": "value",
             "numerator": "numerator", "denominator": "denominator", "narrative": "narrative",
             "means_of_verification": "means_of_verification", "version": "version",
             **{f"disaggregation.{k}": k for k in SEX_FIELDS},
             **{f"disaggregation.{label}": k for k, label in AGE_LABELS.items()},
             **{f"disaggregation.{k}": k for k in AGE_FIELDS}}
_RESULT = Result.__table__


@dataclass(frozen=True, slots=True)
class Problem:
    line: int
    column: str  # the header as the file writes it; "" for the whole row
    cell: str  # e.g. "E7"; "" for the whole row
    message: str


@dataclass(slots=True)
class Row:
    """One row of the file as the preview shows it."""

    line: int
    project_code: str
    indicator_code: str
    country: str
    period: str
    action: str = ""  # create, update, unchanged, skipped, refused
    value: float | None = None
    stored_value: float | None = None
    stored_status: str = ""
    problems: list[Problem] = field(default_factory=list)


@dataclass
class Outcome:
    rows: list[Row]
    writes: list[service.Write]
    sheet: Sheet

    def count(self, action: str) -> int:
        return sum(1 for r in self.rows if r.action == action)

    @property
    def problems(self) -> list[Problem]:
        return [p for r in self.rows for p in r.problems]

    @property
    def valid(self) -> bool:
        return not any(r.problems for r in self.rows)


class FileKnown:
    """What the workflow reads to decide a write, loaded once for every row of a file."""

    def __init__(self, session: Session, principal: Principal, sheet: Sheet) -> None:
        conn = session.connection()
        codes = {_text(cells[sheet.columns["project_code"]]) for _, cells in sheet.rows} - {""}
        self.projects = {p.code: p for chunk in _chunks(codes)
                         for p in session.exec(select(Project).where(Project.code.in_(chunk)))}
        ids = [p.id for p in self.projects.values()]
        self.readable = {i for chunk in _chunks(ids) for i in conn.execute(
            select(Project.__table__.c.id).where(Project.__table__.c.id.in_(chunk),
                                                scope.visible_projects(principal))).scalars()}
        self.indicators = {(i.project_id, i.code): i for chunk in _chunks(ids)
                           for i in session.exec(select(Indicator).where(Indicator.project_id.in_(chunk)))}
        self.by_id = {i.id: i for i in self.indicators.values()}
        indicator_ids = list(self.by_id)
        self.targets = {(t.indicator_id, t.country_iso3): t for chunk in _chunks(indicator_ids) for t in session.exec(
            select(IndicatorTarget).where(IndicatorTarget.indicator_id.in_(chunk)))}
        # A period cannot be closed while a file is written into it (results.service.locked_period).
        locks.period_lock(conn, session.exec(select(Period.code)).all())
        self.periods = {p.code: p for p in session.exec(select(Period).execution_options(populate_existing=True))}
        self.results = self._stored(conn, sheet)
        self.project_by_id = {p.id: p for p in self.projects.values()}

    def _stored(self, conn, sheet: Sheet) -> dict[tuple[int, str, str], object]:
        """The stored results the file's rows name, and no others: a file of new results for every
        line would otherwise load every result of every indicator it names (300,000 rows of 30
        columns for a file of 100,000). Keys are read first, whole rows only of those named."""
        column = sheet.columns
        named = set()
        for _, cells in sheet.rows:  # normalised as _RowReader.decide reads them
            project = self.projects.get(_text(cells[column["project_code"]]))
            indicator = project and self.indicators.get((project.id, _text(cells[column["indicator_code"]])))
            if indicator:
                named.add((indicator.id, _text(cells[column["country_iso3"]]).upper(),
                           _text(cells[column["period"]]).upper()))
        key = (_RESULT.c.indicator_id, _RESULT.c.country_iso3, _RESULT.c.period_code)
        ids = [rid for chunk in _chunks(self.by_id)
               for rid, *line in conn.execute(select(_RESULT.c.id, *key).where(_RESULT.c.indicator_id.in_(chunk)))
               if tuple(line) in named]
        return {(r.indicator_id, r.country_iso3, r.period_code): r for chunk in _chunks(ids)
                for r in conn.execute(select(_RESULT).where(_RESULT.c.id.in_(chunk)))}

    def indicator(self, indicator_id: int) -> Indicator | None:
        return self.by_id.get(indicator_id)

    def can_read_project(self, project_id: int) -> bool:
        return project_id in self.readable

    def target(self, indicator_id: int, country: str) -> IndicatorTarget | None:
        return self.targets.get((indicator_id, country))

    def period(self, code: str) -> Period | None:
        return self.periods.get(code)

    def project(self, project_id: int) -> Project:
        return self.project_by_id[project_id]

    def existing(self, indicator_id: int, country: str, period_code: str):
        return self.results.get((indicator_id, country, period_code))

    def current(self, existing) -> dict | None:
        return None  # a file's problems name the line; the stored result is shown beside it


def check(session: Session, principal: Principal, sheet: Sheet,
          progress: Callable[[int, int], None] | None = None) -> Outcome:
    """Decide every row of ``sheet`` by the workflow's rules; writes nothing."""
    if principal.role != Role.country_officer:
        raise Forbidden(f"a {principal.role} cannot log or edit results: results are imported by country officers")
    known = FileKnown(session, principal, sheet)
    reader = _RowReader(sheet, known, principal)
    rows, writes = [], []
    for n, (line, cells) in enumerate(sheet.rows, start=1):
        row, write = reader.decide(line, cells)
        rows.append(row)
        if write is not None:
            writes.append(write)
        if progress is not None and (n % 1000 == 0 or n == len(sheet.rows)):
            progress(n, len(sheet.rows))
    return Outcome(rows, writes, sheet)


def write(session: Session, principal: Principal, outcome: Outcome, *, reason: str) -> None:
    """Store a valid outcome in the session's transaction (all rows or, on any failure, none)."""
    if not outcome.valid:
        raise refused(outcome)
    service.apply_writes(session, principal, [w for w in outcome.writes if w.action != service.UNCHANGED],
                         reason=reason)


def refused(outcome: Outcome) -> Invalid:
    problems = outcome.problems
    bad = outcome.count("refused")
    return Invalid(f"{bad:,} of {len(outcome.rows):,} rows are refused; nothing was written",
                   details=[{"field": p.column or "row", "line": p.line, "column": p.column, "cell": p.cell,
                             "message": p.message} for p in problems])


class _RowReader:
    def __init__(self, sheet: Sheet, known: FileKnown, principal: Principal) -> None:
        self.sheet, self.known, self.principal = sheet, known, principal
        self.seen: dict[tuple[int, str, str], int] = {}

    def problem(self, line: int, column: str, message: str) -> Problem:
        if not column or column not in self.sheet.columns:
            return Problem(line, "", "", message)
        header = self.sheet.headers[self.sheet.columns[column]] or column
        return Problem(line, header, f"{self.sheet.letter(column)}{line}", message)

    def cell(self, cells: list, column: str) -> object:
        return cells[self.sheet.columns[column]] if column in self.sheet.columns else None

    def decide(self, line: int, cells: list) -> tuple[Row, service.Write | None]:
        project_code, indicator_code = _text(self.cell(cells, "project_code")), _text(self.cell(cells, "indicator_code"))
        country, period = _text(self.cell(cells, "country_iso3")).upper(), _text(self.cell(cells, "period")).upper()
        row = Row(line, project_code, indicator_code, country, period)
        problems = row.problems
        for column, text in (("project_code", project_code), ("indicator_code", indicator_code),
                             ("country_iso3", country), ("period", period)):
            if isinstance(self.cell(cells, column), Formula):
                problems.append(self.problem(line, column, _formula_message(self.cell(cells, column))))
            elif not text:
                problems.append(self.problem(line, column, "this is required"))
        if problems:
            return _refuse(row), None
        project = self.known.projects.get(project_code)
        if project is None:
            return _refuse(row, self.problem(line, "project_code", f"no project with code {project_code!r}")), None
        if not self.known.can_read_project(project.id):
            return _refuse(row, self.problem(line, "project_code",
                                             f"project {project_code} is outside your countries")), None
        indicator = self.known.indicators.get((project.id, indicator_code))
        if indicator is None:
            return _refuse(row, self.problem(line, "indicator_code",
                                             f"project {project_code} has no indicator {indicator_code!r}")), None
        key = (indicator.id, country, period)
        if key in self.seen:
            return _refuse(row, self.problem(line, "", f"the same indicator line and period as line {self.seen[key]}: "
                                                       "keep one of the two rows")), None
        self.seen[key] = line
        existing = self.known.existing(*key)
        if existing is not None:
            row.stored_value, row.stored_status = existing.value, existing.status
        given = {c: self.cell(cells, c) for c in CONTENT if c in self.sheet.columns}
        if existing is None and all(_blank(v) for v in given.values()):
            row.action = "skipped"  # a template's line left empty
            return row, None
        body = self.body(line, indicator.id, country, period, given, cells, existing, problems)
        if problems:
            return _refuse(row), None
        try:
            planned = service.plan_write(self.known, self.principal, ResultWrite.model_validate(body),
                                         keep_equal=True)
        except ValidationError as exc:
            for name, message in field_errors(exc, ResultWrite, nested=("disaggregation",)).items():
                problems.append(self.problem(line, self.column_of(name), message))
            return _refuse(row), None
        except Invalid as exc:  # a rule of the workflow, in its words
            for detail in exc.details:
                problems.append(self.problem(line, self.column_of(detail.get("field", "")), detail["message"]))
            return _refuse(row), None
        except DomainError as exc:  # out of scope, locked, changed since: the refusal's own words
            fields = [d.get("field", "") for d in exc.details if isinstance(d, dict)]
            return _refuse(row, self.problem(line, self.column_of(fields[0] if fields else ""), exc.message)), None
        row.action, row.value = planned.action, planned.values["value"]
        return row, planned

    def body(self, line: int, indicator_id: int, country: str, period: str, given: dict, cells: list, existing,
             problems: list[Problem]) -> dict:
        """The PUT body of a row: its cells, and the stored result's fields for columns it lacks."""
        body: dict = {"indicator_id": indicator_id, "country": country, "period": period}
        parsed: dict = {}
        for column in CONTENT:
            if column not in given:
                parsed[column] = getattr(existing, column) if existing is not None else None
                continue
            try:
                parsed[column] = self.parse(column, given[column])
            except ValueError as exc:
                problems.append(self.problem(line, column, str(exc)))
        for column in TEXTS:
            body[column] = parsed.get(column) or ""
        for column in ("value", "numerator", "denominator"):
            if parsed.get(column) is not None:
                body[column] = parsed[column]
        split = {AGE_LABELS.get(k, k): parsed[k] for k in (*SEX_FIELDS, *AGE_FIELDS) if parsed.get(k) is not None}
        if split:
            body["disaggregation"] = split
        version = self.cell(cells, "version")
        if "version" in self.sheet.columns and not _blank(version):
            try:
                body["version"] = self.parse("version", version)
            except ValueError as exc:
                problems.append(self.problem(line, "version", str(exc)))
        elif existing is not None:
            body["version"] = existing.version  # the file is the user's word: it updates what is stored now
        return body

    def parse(self, column: str, value: object) -> object:
        if isinstance(value, Formula):
            raise ValueError(_formula_message(value))
        if column in TEXTS:
            return unescaped(_text(value))  # an export's formula-safe text, as stored
        number = _number(value, decimal_comma=self.sheet.decimal_comma)
        if number is not None and column in WHOLE:
            if not float(number).is_integer():
                raise ValueError(f"{_shown(value)} is not a whole number")
            return int(number)
        return number

    def column_of(self, name: str) -> str:
        if name == "disaggregation":  # the breakdown as a whole: its first column in the file
            return next((c for c in (*SEX_FIELDS, *AGE_FIELDS) if c in self.sheet.columns), "")
        return COLUMN_OF.get(name, "")


def _refuse(row: Row, *problems: Problem) -> Row:
    row.problems.extend(problems)
    row.action = "refused"
    return row


def _text(value: object) -> str:
    if value is None or isinstance(value, Formula):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed as a number in a workbook
    return str(value).strip()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _shown(value: object) -> str:
    text = str(value)
    return repr(text if len(text) <= 40 else text[:37] + "…")


def _number(value: object, *, decimal_comma: bool) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(f"{value} is not a number")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        text = str(value).strip()
        if not text:
            return None
        if text.startswith(("=", "+=", "@")):
            raise ValueError(f"{_shown(text)} is a formula, not a number: a CSV keeps a formula's text, not its "
                             "result; save the values")
        plain = text.replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
        if decimal_comma and "," in plain:
            plain = plain.replace(".", "").replace(",", ".")
        elif "," in plain:
            raise ValueError(f"{_shown(text)} is not a number: write decimals with a dot and no thousands separator")
        try:
            number = float(plain)
        except ValueError:
            raise ValueError(f"{_shown(text)} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{_shown(value)} is not a number")
    return number


def _formula_message(formula: Formula) -> str:
    return (f"holds a formula ({formula.text[:40]}): the import reads values only; copy the cells and paste them "
            "as values")


def _chunks(items: Iterable) -> Iterable[list]:
    items = sorted(items)
    for start in range(0, len(items), CHUNK):
        yield items[start:start + CHUNK]

