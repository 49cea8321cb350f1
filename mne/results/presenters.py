"""What the result pages show, computed once per view: a project's grid, one cell of it, one
result with the people behind each step (the review queue's rows: `mne.results.review`).

Reads go through the services (`results.service.list_results`, `to_read`, `get_result`;
`indicators.service`), so scope and data-quality flags are the API's own. The rules are asked,
never restated: why a result cannot change (`results.service.why_locked`), who may review
(`ensure_reviewer`), whose lines a caller reads and writes (`auth.scope.line_countries`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from urllib.parse import urlencode

from sqlmodel import Session, select

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import PeriodStatus, ResultStatus
from mne.due import rules as due_rules
from mne.due import service as due
from mne.errors import NotFound
from mne.filters import Filters
from mne.forms import sentence
from mne.indicators import service as indicators
from mne.indicators.schemas import IndicatorRead
from mne.projects import service as projects
from mne.projects.models import Project
from mne.projects.schemas import ProjectRead
from mne.reference import service as reference
from mne.reference.models import Period
from mne.reference.schemas import KOSOVO, CountryRead
from mne.results import service as results
from mne.results.models import Result
from mne.progress.rules import PeriodInfo, is_due
from mne.results.schemas import ResultRead
from mne.users.models import User

STATUS_LABELS = {
    "empty": "Not reported",
    ResultStatus.draft: "Draft",
    ResultStatus.submitted: "Submitted",
    ResultStatus.approved: "Approved",
    ResultStatus.returned: "Returned",
}
GRID_LIMIT = 20_000


def people(session: Session, ids) -> dict[int, str]:
    """Display names of users, by id."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.exec(select(User.id, User.name, User.email).where(User.id.in_(wanted)))
    return {uid: name or email for uid, name, email in rows}


def lock_reason(period: Period, result: ResultRead | None) -> str:
    """Why a cell cannot be edited now, as a sentence ('' when it can): the service's own refusal."""
    refusal = results.why_locked(period, result.status if result else None)
    return sentence(refusal.message) if refusal else ""


@dataclass
class Cell:
    indicator: IndicatorRead
    country: CountryRead
    period: Period
    result: ResultRead | None
    can_write: bool  # the caller logs results for this country
    due: bool = True  # a result is due in this period by the line's reporting frequency
    today: date | None = None  # the day lateness is judged on (None: not judged)

    @property
    def id(self) -> str:
        return f"cell-{self.indicator.id}-{self.country.iso3}-{self.period.code}"

    @property
    def key(self) -> str:
        """The line's key in the period entry form's field names ("12-KGZ")."""
        return f"{self.indicator.id}-{self.country.iso3}"

    @property
    def overdue(self) -> bool:
        """Due, its due date passed, and still owed (nothing, a draft or a returned result) in an
        open period: late before it is even submitted (the rule of "My reporting")."""
        return (self.today is not None and self.due and not self.period_closed
                and due_rules.is_overdue(due_rules.state_of(self.result.status if self.result else None),
                                         self.period.due_date, self.today))

    @property
    def query(self) -> str:
        return urlencode({"indicator_id": self.indicator.id, "country": self.country.iso3, "period": self.period.code})

    @property
    def label(self) -> str:
        return f"{self.indicator.code}, {self.country.name}, {self.period.code}"

    @property
    def state(self) -> str:
        return self.result.status if self.result else "empty"

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.state]

    @property
    def locked_reason(self) -> str:
        return lock_reason(self.period, self.result)

    @property
    def period_closed(self) -> bool:
        return self.period.status != PeriodStatus.open

    @property
    def editable(self) -> bool:
        return self.can_write and not self.locked_reason


@dataclass
class Line:
    indicator: IndicatorRead
    country: CountryRead
    baseline: float
    target: float
    cells: list[Cell] = field(default_factory=list)


@dataclass
class PeriodHead:
    """A period's column of the grid: its due date, how many of its lines are due and overdue,
    and what the caller can enter and submit in it."""

    period: Period
    current: bool  # the period officers report on now (``due.rules.current_period``)
    due_lines: int = 0  # lines of the grid whose result is due in it
    overdue: int = 0  # of them, still owed after the due date
    writable: int = 0  # lines the caller may enter in it

    @property
    def id(self) -> str:
        return f"period-{self.period.code}"

    @property
    def closed(self) -> bool:
        return self.period.status != PeriodStatus.open

    @property
    def can_enter(self) -> bool:
        return self.writable > 0 and not self.closed


@dataclass
class Grid:
    project: ProjectRead
    periods: list[Period]
    years: list[str]
    year: str  # the year shown, or "all"
    lines: list[Line]
    pending: dict[str, int]  # drafts and returned results the caller can submit, by period
    can_submit: bool
    kosovo: bool
    heads: list[PeriodHead] = field(default_factory=list)
    focus: str = ""  # the period to bring into view first: the one asked for, or the current one


def is_result_due(indicator: IndicatorRead, project: Project, period: Period) -> bool:
    """Whether the line's reporting frequency asks for a result in this period (the rules' own
    test); a result may still be entered in any period of the project."""
    return is_due(indicator.reporting_frequency, project.start_date, project.end_date,
                  PeriodInfo(period.code, period.start_date, period.end_date, period.due_date))


def project_periods(session: Session, project: Project) -> list[Period]:
    return [p for p in reference.periods(session) if results.in_project_dates(p, project)]


def current_period(session: Session) -> Period | None:
    """The period officers report on today (``due.rules.current_period``)."""
    periods = reference.periods(session)
    info = due_rules.current_period([PeriodInfo(p.code, p.start_date, p.end_date, p.due_date) for p in periods],
                                    due.current_date())
    return next((p for p in periods if info is not None and p.code == info.code), None)


def _focus(periods: list[Period], asked: str, current: Period | None) -> Period | None:
    """The project's period to show first: the one asked for; else the current one, or the
    project's latest before it (a project that has ended), or its first (one not yet begun)."""
    by_code = {p.code: p for p in periods}
    if asked in by_code or not periods:
        return by_code.get(asked)
    if current is None:
        return periods[-1]
    past = [p for p in periods if p.end_date <= current.end_date]
    return past[-1] if past else periods[0]


def build_grid(session: Session, principal: Principal, project: Project, year: str = "", period: str = "") -> Grid:
    """The grid a year at a time (so that it fits a laptop's width without scrolling sideways):
    ``year``, or "all", or else the year of ``period`` or of the current period."""
    read = projects.read(session, project)
    names = {c.iso3: c for c in reference.countries(session)}
    periods = project_periods(session, project)
    years = sorted({p.code[:4] for p in periods})
    current = current_period(session)
    focus = _focus(periods, period.strip().upper(), current)
    if year != "all":
        year = year if year in years else (focus.code[:4] if focus else "")
    shown = [p for p in periods if year == "all" or p.code.startswith(year)]
    today = due.current_date()
    found, _ = results.list_results(session, principal, filters=Filters(project=(project.code,)), limit=GRID_LIMIT)
    by_key = {(r.indicator_id, r.country, r.period): r for r in found}
    heads = {p.code: PeriodHead(p, current is not None and p.code == current.code) for p in shown}
    lines: list[Line] = []
    for ind in indicators.list_for_project(session, principal, project):
        for t in ind.targets:
            if not scope.can_read_line(principal, t.country):
                continue
            country = names.get(t.country) or CountryRead(iso3=t.country, name=t.country, subregion_code="")
            line = Line(indicator=ind, country=country, baseline=t.baseline, target=t.target)
            can_write = scope.can_write_line(principal, t.country)
            for p in shown:
                cell = Cell(ind, country, p, by_key.get((ind.id, t.country, p.code)), can_write,
                            is_result_due(ind, project, p), today)
                line.cells.append(cell)
                head = heads[p.code]
                head.due_lines += cell.due
                head.overdue += cell.overdue
                head.writable += can_write
            lines.append(line)
    can_submit = bool(set(read.countries) & scope.line_countries(principal, write=True))
    return Grid(project=read, periods=shown, years=years, year=year, lines=lines,
                pending=results.submittable_counts(session, principal, project), can_submit=can_submit,
                kosovo=KOSOVO in {line.country.iso3 for line in lines}, heads=list(heads.values()),
                focus=focus.code if focus is not None and focus.code in heads else "")


@dataclass
class CellContext:
    project: Project
    indicator: IndicatorRead
    cell: Cell
    row: Result | None  # the stored result, for who changed it and when
    baseline: float
    target: float


def load_cell(session: Session, principal: Principal, indicator_id: int, country: str, period_code: str,
              *, for_edit: bool = False) -> CellContext:
    """One cell: 404 for a line or period that does not exist, 403 outside the caller's scope."""
    indicator, project = indicators.get(session, principal, indicator_id)
    country = (country or "").strip().upper()
    read = indicators.read(session, indicator)
    target = next((t for t in read.targets if t.country == country), None)
    if target is None:
        raise NotFound(f"indicator {read.code} has no line for {country or 'that country'}")
    scope.ensure_can_read_line(session, principal, project.id, country)
    period = session.get(Period, (period_code or "").strip().upper())
    if period is None or not results.in_project_dates(period, project):
        raise NotFound(f"no reporting period {period_code!r} in this project's dates")
    if for_edit:
        scope.ensure_can_write_line(principal, country)
    row = session.exec(select(Result).where(Result.indicator_id == indicator.id, Result.country_iso3 == country,
                                            Result.period_code == period.code)).first()
    result = results.to_read(session, [row])[0] if row is not None else None
    names = {c.iso3: c for c in reference.countries(session)}
    cell = Cell(read, names[country], period, result, scope.can_write_line(principal, country),
                is_result_due(read, project, period), due.current_date())
    return CellContext(project=project, indicator=read, cell=cell, row=row, baseline=target.baseline,
                       target=target.target)


def saved_cell(session: Session, ctx: CellContext, saved: ResultRead) -> CellContext:
    """The cell just saved, from the service's own read of it: no second load of the cell."""
    return replace(ctx, cell=replace(ctx.cell, result=saved), row=session.get(Result, saved.id))


# --- a period's lines as one form -------------------------------------------------------------

@dataclass
class EntryLine:
    """One line of the period entry form, with what the form shows in it."""

    cell: Cell
    baseline: float
    target: float
    form: dict = field(default_factory=dict)  # field → text: as stored, or as typed
    version: str = ""  # of the stored result the form was filled in against
    errors: dict = field(default_factory=dict)  # field → message ('' for the line as a whole)
    conflict: str = ""  # the line was changed or locked by someone else meanwhile, in words
    posted: bool = False  # the line was sent with the form (it was editable when shown)

    @property
    def key(self) -> str:
        return self.cell.key

    @property
    def open(self) -> bool:
        """Whether its breakdown and narrative are shown open: something is typed or wrong there."""
        extra = {k: v for k, v in self.form.items() if k not in ("value", "numerator", "denominator")}
        if self.cell.indicator.measure == "percentage":
            # A percentage typed as such (not computed from its counts) is kept inside.
            given = not (self.form.get("numerator") or self.form.get("denominator"))
            extra["value"] = self.form.get("value", "") if given else ""
        return any(extra.values()) or any(k not in ("", "value", "numerator", "denominator") for k in self.errors) \
            or (self.cell.indicator.measure == "percentage" and "value" in self.errors)


@dataclass
class PeriodEntry:
    project: Project
    read: ProjectRead
    period: Period
    lines: list[EntryLine]
    others: set[str]  # keys of the project's lines in this period that the caller may not write
    pending: int  # what the period's Submit would send now
    kosovo: bool

    @property
    def editable(self) -> list[EntryLine]:
        return [line for line in self.lines if line.cell.editable]


def period_entry(session: Session, principal: Principal, project: Project, period_code: str) -> PeriodEntry:
    """Every line of a project's period that the caller logs (indicator × country), each with its
    result: 404 for a period that does not exist or is outside the project's dates."""
    period = session.get(Period, (period_code or "").strip().upper()[:8])
    if period is None or not results.in_project_dates(period, project):
        raise NotFound(f"no reporting period {period_code[:20]!r} in this project's dates")
    names = {c.iso3: c for c in reference.countries(session)}
    found, _ = results.list_results(session, principal, filters=Filters(project=(project.code,)), period=period.code,
                                    limit=GRID_LIMIT)
    by_key = {(r.indicator_id, r.country): r for r in found}
    today = due.current_date()
    lines: list[EntryLine] = []
    others: set[str] = set()
    for ind in indicators.list_for_project(session, principal, project):
        for t in ind.targets:
            if not scope.can_write_line(principal, t.country):
                others.add(f"{ind.id}-{t.country}")
                continue
            country = names.get(t.country) or CountryRead(iso3=t.country, name=t.country, subregion_code="")
            result = by_key.get((ind.id, t.country))
            cell = Cell(ind, country, period, result, True, is_result_due(ind, project, period), today)
            lines.append(EntryLine(cell, t.baseline, t.target, version=str(result.version) if result else ""))
    pending = results.submittable_counts(session, principal, project, period.code).get(period.code, 0)
    return PeriodEntry(project=project, read=projects.read(session, project), period=period, lines=lines,
                       others=others, pending=pending, kosovo=any(line.cell.country.iso3 == KOSOVO for line in lines))


@dataclass
class Step:
    label: str
    who: str | None
    when: datetime | None


@dataclass
class ResultDetail:
    result: ResultRead
    indicator: IndicatorRead
    project: ProjectRead
    country: CountryRead
    period: Period
    steps: list[Step]
    baseline: float
    target: float
    can_write: bool
    can_review: bool
    locked_reason: str

    @property
    def editable(self) -> bool:
        return self.can_write and not self.locked_reason

    @property
    def edit_query(self) -> str:
        return urlencode({"indicator_id": self.result.indicator_id, "country": self.result.country,
                          "period": self.result.period})


def result_detail(session: Session, principal: Principal, result_id: int) -> ResultDetail:
    row, indicator = results.get_result(session, principal, result_id)
    read = results.to_read(session, [row])[0]
    ind = indicators.read(session, indicator)
    project = projects.read(session, session.get(Project, indicator.project_id))
    period = session.get(Period, row.period_code)
    names = people(session, [row.created_by_id, row.updated_by_id, row.submitted_by_id, row.reviewed_by_id,
                             row.approved_by_id])
    steps = [Step("Created", names.get(row.created_by_id), row.created_at),
             Step("Last changed", names.get(row.updated_by_id), row.updated_at),
             Step("Submitted", names.get(row.submitted_by_id), row.submitted_at)]
    if row.reviewed_at and row.status != ResultStatus.approved:
        steps.append(Step("Returned" if row.status == ResultStatus.returned else "Reviewed",
                          names.get(row.reviewed_by_id), row.reviewed_at))
    steps.append(Step("Approved", names.get(row.approved_by_id), row.approved_at))
    target = next((t for t in ind.targets if t.country == row.country_iso3), None)
    country = {c.iso3: c for c in reference.countries(session)}[row.country_iso3]
    return ResultDetail(result=read, indicator=ind, project=project, country=country, period=period, steps=steps,
                        baseline=target.baseline if target else 0, target=target.target if target else 0,
                        can_write=scope.can_write_line(principal, row.country_iso3), can_review=principal.can_review,
                        locked_reason=lock_reason(period, read))
