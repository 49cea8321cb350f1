"""What is due, for whom: the queries behind the officer's "My reporting" page, the reviewer's
overview, `GET /api/v1/due` and the reminders. The rules (the current period, overdue, the
states) are in ``mne.due.rules``; whether a line is due in a period is
``mne.progress.rules.is_due``, the same test as the grid's marks and the completeness figures.

Each listing costs two queries whatever the number of lines: one for the lines in scope (with
their indicator and project), one for their results in the periods asked for.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import ColumnElement, func, select
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import PeriodStatus, ResultStatus, Role
from mne.due.rules import (
    OUTSTANDING,
    DueItem,
    current_period,
    state_of,
)
from mne.errors import Invalid
from mne.filters import Filters
from mne.indicators.models import Indicator, IndicatorTarget
from mne.progress.rules import PeriodInfo, is_due
from mne.projects.models import Project
from mne.reference.models import Period
from mne.reference.periods import matching
from mne.results.models import Result
from mne.text import clip
from mne.users import service as users
from mne.users.models import User

NO_FILTERS = Filters()


def current_date() -> date:
    """The day reports are judged on (one function, so that tests can set the calendar)."""
    return date.today()


@dataclass(frozen=True)
class ReportingPeriod(PeriodInfo):
    """A period with its open/closed status: a closed period takes no results until reopened."""

    status: str = PeriodStatus.open

    @property
    def is_open(self) -> bool:
        return self.status == PeriodStatus.open


def reporting_periods(session: Session) -> list[ReportingPeriod]:
    """Every reporting period with its status, oldest first."""
    p = Period.__table__.c
    return [ReportingPeriod(code, start, end, due, status) for code, start, end, due, status in session.execute(
        select(p.code, p.start_date, p.end_date, p.due_date, p.status).order_by(p.end_date, p.code))]


def principal_for(session: Session, user: User) -> Principal:
    """The scope of a user outside a request (the reminders run from cron, not from a browser)."""
    countries, donors = users.user_scopes(session, user)
    return Principal(id=user.id, email=user.email, name=user.name, role=Role(user.role),
                     countries=frozenset(countries), donors=frozenset(donors), via="cli")


def _in_scope(principal: Principal, filters: Filters, country: ColumnElement[str]) -> list[ColumnElement[bool]]:
    """WHERE conditions over Indicator + Project and a line's country column: the lines the caller
    may read (``mne.auth.scope``), narrowed by the filters."""
    return [scope.visible_projects(principal), *scope.line_clause(principal, country), filters.line_clause(country)]


def due_in(session: Session, principal: Principal, periods: Sequence[PeriodInfo], *,
           filters: Filters = NO_FILTERS) -> list[DueItem]:
    """Every line in the caller's scope whose result is due in one of ``periods``, with its state.

    Due means ``progress.rules.is_due``: the period overlaps the project's dates and fits the
    line's reporting frequency (quarterly; semiannual in Q2 and Q4; annual in Q4; endline in the
    period holding the project's end). A project's status (pipeline, closed) does not matter, as in
    the completeness figures. The state is the status of the line's result for that period, or
    ``missing``. Ordered by period, then project, indicator and country. Two queries in all.
    """
    if not periods:
        return []
    first, last = min(p.start for p in periods), max(p.end for p in periods)
    lines = session.execute(
        select(Indicator.id, Indicator.code, Indicator.statement, Indicator.reporting_frequency,
               Project.code, Project.title, Project.start_date, Project.end_date, IndicatorTarget.country_iso3)
        .select_from(IndicatorTarget)
        .join(Indicator, Indicator.id == IndicatorTarget.indicator_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(Project.start_date <= last, Project.end_date >= first,
               *_in_scope(principal, filters, IndicatorTarget.country_iso3))
        .order_by(Project.code, Indicator.position, Indicator.code, IndicatorTarget.country_iso3)
    ).all()
    if not lines:
        return []
    results = {(indicator_id, country, period): (result_id, status) for result_id, indicator_id, country, period, status
               in session.execute(
                   select(Result.id, Result.indicator_id, Result.country_iso3, Result.period_code, Result.status)
                   .join(Indicator, Indicator.id == Result.indicator_id)
                   .join(Project, Project.id == Indicator.project_id)
                   .where(Result.period_code.in_(sorted({p.code for p in periods})),
                          *_in_scope(principal, filters, Result.country_iso3)))}
    items: list[DueItem] = []
    for period in sorted(periods, key=lambda p: (p.end, p.code)):
        for indicator_id, code, statement, frequency, project_code, title, start, end, country in lines:
            if not is_due(frequency, start, end, period):
                continue
            result_id, status = results.get((indicator_id, country, period.code), (None, None))
            items.append(DueItem(indicator_id=indicator_id, indicator_code=code, indicator_name=statement,
                                 project_code=project_code, project_title=title, country=country,
                                 period=period.code, due_date=period.due_date, state=state_of(status),
                                 result_id=result_id))
    return items


def due_items(session: Session, principal: Principal, periods: Iterable[str], *,
              filters: Filters = NO_FILTERS) -> list[DueItem]:
    """``due_in`` for period codes (``2024Q1``); an unknown code is a 422 naming ``period``."""
    known = {p.code: p for p in reporting_periods(session)}
    chosen = []
    for code in periods:
        if code not in known:
            raise Invalid.field("period", f"no reporting period {clip(code, 40)!r}")
        chosen.append(known[code])
    return due_in(session, principal, chosen, filters=filters)


def due_for(session: Session, principal: Principal, period: str | None, *, filters: Filters = NO_FILTERS,
            today: date | None = None) -> tuple[list[ReportingPeriod], list[DueItem]]:
    """``due_in`` for a period as a query names it: ``YYYYQn``, or ``YYYYSn`` / ``YYYY`` for their
    quarters; left out, the current reporting period as of ``today``. Answers the periods used
    and the items. A code that is not a period, or names none, is a 422 naming ``period``."""
    periods = reporting_periods(session)
    if period is None or not period.strip():
        current = current_period(periods, today or current_date())
        if current is None:
            raise Invalid.field("period", "there are no reporting periods yet")
        chosen = [current]
    else:
        chosen = matching(periods, period, field="period")
    return chosen, due_in(session, principal, chosen, filters=filters)


@dataclass
class Reporting:
    """What an officer has to report as of ``today``: every line due in the current period
    (whatever its state) and, in earlier open periods, the lines that are overdue."""

    today: date
    current: ReportingPeriod | None
    items: list[DueItem] = field(default_factory=list)

    @property
    def overdue(self) -> list[DueItem]:
        return [i for i in self.items if i.is_overdue(self.today)]

    @property
    def overdue_periods(self) -> list[str]:
        """The periods with at least one overdue line, oldest first (the current one too once its
        due date has passed)."""
        return list(dict.fromkeys(i.period for i in self.overdue))

    @property
    def to_do(self) -> list[DueItem]:
        """The lines still owed: missing, draft or returned."""
        return [i for i in self.items if i.state in OUTSTANDING]


def reporting(session: Session, principal: Principal, today: date | None = None) -> Reporting:
    """The current period (``rules.current_period``) and the overdue lines of the earlier periods.

    Closed periods are left out of the overdue ones: nothing can be entered in them until an admin
    reopens them. The current period is listed even when closed, so its state is seen."""
    today = today or current_date()
    periods = reporting_periods(session)
    current = current_period(periods, today)
    if current is None:
        return Reporting(today, None)
    earlier = [p for p in periods if p.is_open and p.due_date < today and p.end < current.end]
    items = [i for i in due_in(session, principal, [*earlier, current])
             if i.period == current.code or i.is_overdue(today)]
    return Reporting(today, current, items)


def open_periods(session: Session, *, due_by: date) -> list[ReportingPeriod]:
    """The open periods whose due date is on or before ``due_by``, oldest first."""
    return [p for p in reporting_periods(session) if p.is_open and p.due_date <= due_by]


def outstanding(session: Session, principal: Principal, today: date | None = None, *,
                within_days: int = 7) -> list[DueItem]:
    """For reminders: the lines in the principal's scope still owed (missing, draft, returned) in
    open periods whose due date is at most ``within_days`` after ``today`` — due soon, or overdue
    (``item.is_overdue(today)`` tells which). Oldest period first."""
    today = today or current_date()
    periods = open_periods(session, due_by=date.fromordinal(today.toordinal() + within_days))
    return [i for i in due_in(session, principal, periods) if i.state in OUTSTANDING]


def outstanding_for_countries(session: Session, countries: Iterable[str], today: date | None = None, *,
                              within_days: int = 7) -> list[DueItem]:
    """``outstanding`` for the lines of these countries, as an officer of them would see them."""
    officer = Principal(id=0, email="", name="", role=Role.country_officer, countries=frozenset(countries),
                        via="cli")
    return outstanding(session, officer, today, within_days=within_days)


# --- what waits for review -------------------------------------------------------------------

@dataclass(frozen=True)
class CountryQueue:
    """The submitted results of one country that wait for a review."""

    country: str
    waiting: int
    oldest_submitted_at: datetime | None

    def oldest_days(self, now: datetime) -> int:
        """Whole days the oldest has waited (0 when submitted within the last 24 hours)."""
        return max((now - self.oldest_submitted_at).days, 0) if self.oldest_submitted_at else 0


def waiting_for_review(session: Session, principal: Principal, *, filters: Filters = NO_FILTERS) -> list[CountryQueue]:
    """The review queue's size by country in the caller's scope, with when its oldest result was
    submitted (``submitted_at``, its latest submission: a resubmitted result waits from then).
    Most waiting first, then by country code. One query."""
    rows = session.execute(
        select(Result.country_iso3, func.count(Result.id), func.min(Result.submitted_at))
        .join(Indicator, Indicator.id == Result.indicator_id)
        .join(Project, Project.id == Indicator.project_id)
        .where(Result.status == ResultStatus.submitted, *_in_scope(principal, filters, Result.country_iso3))
        .group_by(Result.country_iso3)
    ).all()
    queues = [CountryQueue(country, waiting, oldest) for country, waiting, oldest in rows]
    return sorted(queues, key=lambda q: (-q.waiting, q.country))
