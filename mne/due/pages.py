"""The two homes after sign-in: an officer's "My reporting" (what is due in the current period
and what is overdue, by period and project, with one link per project and period to its entry
form) and a reviewer's overview of the review queue by country. Both read ``mne.due.service``,
as `GET /api/v1/due` does."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request

from mne.base import utcnow
from mne.deps import EditorUser, ReviewerUser, SessionDep
from mne.due import service
from mne.due.rules import OUTSTANDING, DueItem, describe_age, describe_due
from mne.forms import refuse_nul
from mne.reference import service as reference
from mne.reference.schemas import CountryRead
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

STATE_WORDS = {"missing": "Missing", "draft": "Draft", "submitted": "Submitted", "returned": "Returned",
               "approved": "Approved"}
# The result badges' colours (templates/results/_macros.html); "missing" is the grid's empty cell.
STATE_BADGES = {"missing": "result-empty", "draft": "result-draft", "submitted": "result-submitted",
                "returned": "result-returned", "approved": "result-approved"}


@dataclass
class Row:
    item: DueItem
    country: CountryRead
    state: str  # in words
    badge: str
    due: str  # "due in 5 days", "3 days overdue"; empty once reported (the date alone then)
    overdue: bool


@dataclass
class ProjectGroup:
    code: str
    title: str
    action_url: str
    rows: list[Row] = field(default_factory=list)

    @property
    def owed(self) -> list[Row]:
        """The lines still to report (missing, draft, returned)."""
        return [r for r in self.rows if r.item.state in OUTSTANDING]

    @property
    def reported(self) -> list[Row]:
        """The lines submitted or approved."""
        return [r for r in self.rows if r.item.state not in OUTSTANDING]

    @property
    def to_do(self) -> int:
        return len(self.owed)

    @property
    def counts(self) -> str:
        """"2 missing, 1 draft" — the states of its lines in words."""
        found = [(s, sum(r.item.state == s for r in self.rows)) for s in STATE_WORDS]
        return ", ".join(f"{n} {s}" for s, n in found if n)


@dataclass
class PeriodGroup:
    period: service.ReportingPeriod
    current: bool
    due: str
    projects: list[ProjectGroup] = field(default_factory=list)

    @property
    def lines(self) -> int:
        return sum(len(p.rows) for p in self.projects)


def _grouped(request: Request, report: service.Reporting, countries: dict[str, CountryRead],
             periods: dict[str, service.ReportingPeriod]) -> list[PeriodGroup]:
    today = report.today
    groups: dict[str, PeriodGroup] = {}
    for item in report.items:
        days = item.days_left(today)
        group = groups.get(item.period)
        if group is None:
            group = groups[item.period] = PeriodGroup(
                periods[item.period], item.period == report.current.code,
                describe_due(days) if days >= 0 else f"due date passed {describe_age(-days)} ago")
        if not group.projects or group.projects[-1].code != item.project_code:
            grid = path_for(request, "results_grid", code=item.project_code)
            group.projects.append(ProjectGroup(item.project_code, item.project_title,
                                               f"{grid}/period/{quote(item.period, safe='')}"))
        overdue = item.is_overdue(today)
        owed = item.state in OUTSTANDING
        country = countries.get(item.country) or CountryRead(iso3=item.country, name=item.country, subregion_code="")
        group.projects[-1].rows.append(Row(
            item, country, STATE_WORDS[item.state], STATE_BADGES[item.state],
            describe_due(days) if owed else "", overdue))
    return list(groups.values())


@router.get("/reporting", name="my_reporting")
def my_reporting(request: Request, session: SessionDep, principal: EditorUser):
    """The officer's home: what its countries have to report now, and what is overdue."""
    report = service.reporting(session, principal, service.current_date())
    countries = {c.iso3: c for c in reference.countries(session)}
    periods = {p.code: p for p in service.reporting_periods(session)}
    groups = _grouped(request, report, countries, periods) if report.current else []
    mine = [countries[c] for c in sorted(principal.countries) if c in countries]
    return render(request, "reporting/mine.html", {
        "report": report, "groups": groups, "my_countries": mine,
        "due_count": len(report.items), "overdue_count": len(report.overdue), "to_do_count": len(report.to_do),
        "kosovo_note": any(c.footnote for c in mine),
    })


@dataclass
class QueueRow:
    country: CountryRead
    waiting: int
    oldest_days: int
    oldest_words: str
    oldest_at: date | None
    url: str


@router.get("/review/overview", name="review_overview")
def review_overview(request: Request, session: SessionDep, principal: ReviewerUser):
    """The reviewer's home: how many results wait for review in each country, and since when."""
    now = utcnow()
    countries = {c.iso3: c for c in reference.countries(session)}
    queue = path_for(request, "review_queue")
    rows = []
    for q in service.waiting_for_review(session, principal):
        days = q.oldest_days(now)
        rows.append(QueueRow(
            countries.get(q.country) or CountryRead(iso3=q.country, name=q.country, subregion_code=""),
            q.waiting, days, describe_age(days), q.oldest_submitted_at.date() if q.oldest_submitted_at else None,
            f"{queue}?country={quote(q.country, safe='')}"))
    oldest = max(rows, key=lambda r: r.oldest_days, default=None)
    return render(request, "reporting/review_overview.html", {
        "rows": rows, "total": sum(r.waiting for r in rows), "oldest": oldest, "queue_url": queue,
        "kosovo_note": any(r.country.footnote for r in rows),
    })
