"""The regional dashboard and its drill-down pages: priority → subregion → country → project →
indicator line. Every page keeps its filters in the URL (a plain GET form, bookmarkable, working
without JavaScript); htmx swaps only the page body when a filter changes. The figures come from
``service`` — the same computation as the JSON API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request

from mne.auth import scope
from mne.base import Role
from mne.deps import CurrentUser, PageNumber, PathId, SessionDep
from mne.errors import Invalid, NotFound
from mne.filters import Filters, FiltersDep
from mne.formatting import pct
from mne.htmx import htmx
from mne.progress import charts, service
from mne.progress.rules import AT_RISK_MIN, FINAL_STATUSES, ON_TRACK_MIN, STATUSES, PeriodInfo
from mne.projects import service as projects
from mne.projects.models import PROJECT_CODE_PATTERN
from mne.dimensions import FORM_DIMENSIONS
from mne.reference.periods import all_periods, resolve_as_of
from mne.reference.schemas import KOSOVO
from mne.web import STATUS_WORDS, render

router = APIRouter(include_in_schema=False)

LINES_PER_PAGE = 50
GROUPS_SHOWN = 100  # rows of a drill-down table (a country can have thousands of projects)
REASONS = {"draft": "a draft, not submitted", "returned": "returned for correction",
           "after_period": "for a period after the as-of period", "pending": "submitted, awaiting approval"}


@dataclass(frozen=True)
class View:
    """What the page is looking at: as-of period, pending or not, filters (all in the URL)."""
    as_of: PeriodInfo
    as_of_given: str
    include_pending: bool
    filters: Filters
    status: tuple[str, ...] = ()
    page: int = 1

    def params(self, **overrides: Any) -> dict[str, str]:
        values: dict[str, Any] = {"as_of": self.as_of_given, "include_pending": "true" if self.include_pending else ""}
        values.update({k: ",".join(v) for k, v in self.filters.active.items()})
        if self.status:
            values["status"] = ",".join(self.status)
        for key, value in overrides.items():
            values[key] = ",".join(value) if isinstance(value, tuple | list) else value
        return {k: str(v) for k, v in values.items() if v not in (None, "")}

    def query(self, **overrides: Any) -> str:
        params = self.params(**overrides)
        return "?" + urlencode(params) if params else ""


def _view(session, filters: Filters, as_of: str | None, include_pending: str | bool | None,
          status: str | None = None, page: int = 1) -> View:
    include_pending = include_pending if isinstance(include_pending, bool) else _pending(include_pending)
    period = resolve_as_of(session, as_of)
    statuses = tuple(s for s in (status or "").split(",") if s in STATUSES)
    return View(as_of=period, as_of_given=(as_of or "").strip(), include_pending=include_pending, filters=filters,
                status=statuses, page=max(1, page))


AsOf = Annotated[str | None, Query()]
# Pages read the checkbox leniently: absent or empty is "no" (the API insists on a boolean).
Pending = Annotated[str | None, Query()]


def _pending(value: str | None) -> bool:
    if value is None or value.strip().lower() in ("", "0", "false", "off", "no"):
        return False
    if value.strip().lower() in ("1", "true", "on", "yes"):
        return True
    raise Invalid.field("include_pending", "say true or false")


def _options(session, principal) -> dict[str, Any]:
    """Choices of the filter form, per dimension the registry offers there; an officer chooses
    among its own countries, a donor viewer among its own donors."""
    return {
        "periods": list(reversed(all_periods(session))),
        "dimensions": FORM_DIMENSIONS,
        "choices": {d.name: d.choices(session, principal) for d in FORM_DIMENSIONS},
    }


def _scope_text(session, principal) -> str:
    if principal.region_wide:
        return "You see the whole region."
    if principal.role == Role.country_officer:
        lookups = service.cached_lookups(session)
        names = [lookups.countries[c].name + ("*" if c == KOSOVO else "") for c in sorted(principal.countries)
                 if c in lookups.countries]
        return "Your countries: " + (", ".join(names) or "none") + "."
    return "Your donors: " + (", ".join(sorted(principal.donors)) or "none") + "."


def _page(request: Request, session, principal, template: str, view: View, context: dict[str, Any]):
    options = _options(session, principal)
    base = {"view": view, "options": options, "scope_text": _scope_text(session, principal),
            "form_action": request.url.path, "KOSOVO": KOSOVO, "extra_params": {}, "fixed_filters": []}
    context = {**base, **context}
    # Kosovo is listed in the country filter (and maybe in the figures): its footnote goes with it.
    context["kosovo_note"] = context.get("lists_kosovo") or any(code == KOSOVO for code, _ in options["choices"]["country"])
    response = render(request, template, context, block="page_body")
    # The address bar shows the tidy URL of what is on screen (no empty parameters).
    return htmx(request).push_url(response, request.url.path + view.query(**context["extra_params"]))


def _lines(session, principal, view: View, **kwargs) -> dict[str, Any]:
    rows, total = service.indicator_lines(session, principal, view.filters, view.as_of, view.include_pending,
                                          status=view.status, limit=LINES_PER_PAGE,
                                          offset=(view.page - 1) * LINES_PER_PAGE, **kwargs)
    pages = max(1, -(-total // LINES_PER_PAGE))
    return {"lines": rows, "lines_total": total, "lines_pages": pages}


def _trend_chart(points: list[service.TrendPoint]) -> charts.Chart:
    codes = [p.period for p in points]
    return charts.share_trend(codes, [
        ("mean progress", "series-progress", [p.tally.mean_progress for p in points]),
        ("on-track share", "series-on-track", [p.tally.on_track_share for p in points]),
    ])


# --- the dashboard --------------------------------------------------------------------------

def _dashboard(request: Request, session, principal, filters: Filters, as_of: str | None, include_pending: bool):
    view = _view(session, filters, as_of, include_pending)
    data = service.dashboard(session, principal, filters, view.as_of, view.include_pending)
    return _page(request, session, principal, "dashboard/index.html", view, {
        "data": data, "trend_chart": _trend_chart(data.trend),
        "lists_kosovo": any(g.key == KOSOVO for g in data.countries),
    })


@router.get("/", name="home")
def home(request: Request, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
         as_of: AsOf = None, include_pending: Pending = None):
    """Signed-in users land on the dashboard."""
    return _dashboard(request, session, principal, filters, as_of, include_pending)


@router.get("/dashboard", name="dashboard")
def dashboard(request: Request, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
              as_of: AsOf = None, include_pending: Pending = None):
    return _dashboard(request, session, principal, filters, as_of, include_pending)


# --- drill-down pages -----------------------------------------------------------------------

def _drill(request: Request, session, principal, view: View, *, level: str, title: str, heading: str,
           next_dim: str | None, next_route: str | None, crumbs: list[tuple[str, str]]):
    lookups = service.cached_lookups(session)
    overall = service.rollup(session, principal, (level,), view.filters, view.as_of, view.include_pending, lookups)
    groups = (service.rollup(session, principal, (next_dim,), view.filters, view.as_of, view.include_pending, lookups)
              if next_dim else [])
    if next_dim == "subregion":
        order = {code: i for i, code in enumerate(lookups.subregions)}
        groups.sort(key=lambda g: order.get(g.key, 99))
    elif next_dim == "country":
        groups.sort(key=lambda g: lookups.countries[g.key].position if g.key in lookups.countries else 999)
    tally = overall[0].tally if overall else service.Tally()
    return _page(request, session, principal, "dashboard/drill.html", view, {
        "fixed_filters": [level], "title": title, "heading": heading, "tally": tally,
        "standard_measures": lookups.standard_measures(),
        "groups": groups[:GROUPS_SHOWN], "groups_total": len(groups), "next_dim": next_dim,
        "next_route": next_route, "crumbs": crumbs,
        "lists_kosovo": view.filters.country == (KOSOVO,) or any(g.key == KOSOVO for g in groups),
        **_lines(session, principal, view),
    })


def _crumbs(request: Request, view: View, session) -> list[tuple[str, str]]:
    """The drill path so far, from the filters in the URL."""
    lookups = service.cached_lookups(session)
    out = [("Dashboard", request.app.url_path_for("dashboard") + view.query(priority="", subregion="", country="",
                                                                          project=""))]
    f = view.filters
    if len(f.priority) == 1:
        out.append((f.priority[0], request.app.url_path_for("dashboard_priority", code=f.priority[0])
                    + view.query(priority="", subregion="", country="", project="")))
    if len(f.subregion) == 1 and f.subregion[0] in lookups.subregions:
        out.append((lookups.subregions[f.subregion[0]].name,
                    request.app.url_path_for("dashboard_subregion", code=f.subregion[0])
                    + view.query(subregion="", country="", project="")))
    if len(f.country) == 1 and f.country[0] in lookups.countries:
        out.append((lookups.countries[f.country[0]].name,
                    request.app.url_path_for("dashboard_country", iso3=f.country[0]) + view.query(country="", project="")))
    return out


@router.get("/dashboard/priorities/{code}", name="dashboard_priority")
def priority_page(request: Request, code: str, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
                  as_of: AsOf = None, include_pending: Pending = None, status: str | None = None, page: PageNumber = 1):
    lookups = service.cached_lookups(session)
    code = code.upper()
    if code not in lookups.priorities:
        raise NotFound(f"no strategic priority {code!r}")
    view = _view(session, filters.replace(priority=(code,)), as_of, include_pending, status, page)
    p = lookups.priorities[code]
    return _drill(request, session, principal, view, level="priority", title=f"{code} · {p.pillar}",
                  heading=p.title, next_dim="subregion", next_route="dashboard_subregion",
                  crumbs=_crumbs(request, view, session)[:-1])


@router.get("/dashboard/subregions/{code}", name="dashboard_subregion")
def subregion_page(request: Request, code: str, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
                   as_of: AsOf = None, include_pending: Pending = None, status: str | None = None, page: PageNumber = 1):
    lookups = service.cached_lookups(session)
    code = code.upper()
    if code not in lookups.subregions:
        raise NotFound(f"no subregion {code!r}")
    view = _view(session, filters.replace(subregion=(code,)), as_of, include_pending, status, page)
    name = lookups.subregions[code].name
    prefix = f"{view.filters.priority[0]} in " if len(view.filters.priority) == 1 else ""
    return _drill(request, session, principal, view, level="subregion", title=f"{prefix}{name}", heading="",
                  next_dim="country", next_route="dashboard_country", crumbs=_crumbs(request, view, session)[:-1])


@router.get("/dashboard/countries/{iso3}", name="dashboard_country")
def country_page(request: Request, iso3: str, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
                 as_of: AsOf = None, include_pending: Pending = None, status: str | None = None, page: PageNumber = 1):
    lookups = service.cached_lookups(session)
    iso3 = iso3.upper()
    if iso3 not in lookups.countries:
        raise NotFound(f"no country {iso3!r}")
    view = _view(session, filters.replace(country=(iso3,)), as_of, include_pending, status, page)
    name = lookups.countries[iso3].name + ("*" if iso3 == KOSOVO else "")
    prefix = f"{view.filters.priority[0]} in " if len(view.filters.priority) == 1 else ""
    return _drill(request, session, principal, view, level="country", title=f"{prefix}{name}", heading="",
                  next_dim="project", next_route="dashboard_project", crumbs=_crumbs(request, view, session)[:-1])


@router.get("/dashboard/lines", name="dashboard_lines")
def lines_page(request: Request, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
               as_of: AsOf = None, include_pending: Pending = None, status: str | None = None, page: PageNumber = 1,
               standard: str | None = None):
    view = _view(session, filters, as_of, include_pending, status, page)
    statements = service.cached_lookups(session).standard_statements()
    return _page(request, session, principal, "dashboard/lines.html", view, {
        "crumbs": _crumbs(request, view, session), "standard": standard,
        "standard_statement": statements.get(standard or ""),
        "extra_params": {"standard": standard} if standard else {},
        **_lines(session, principal, view, standard=standard),
    })


@router.get("/dashboard/projects/{code}", name="dashboard_project")
def project_page(request: Request, code: str, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
                 as_of: AsOf = None, include_pending: Pending = None, status: str | None = None):
    if not re.fullmatch(PROJECT_CODE_PATTERN, code):
        raise NotFound(f"no project with code {code!r}")
    project = scope.get_project_by_code(session, principal, code)
    view = _view(session, filters.replace(project=(project.code,)), as_of, include_pending, status)
    rows, total = service.indicator_lines(session, principal, view.filters, view.as_of, view.include_pending,
                                          status=view.status)
    read = projects.read(session, project)
    lookups = service.cached_lookups(session)
    tally = service.rollup(session, principal, ("project",), view.filters, view.as_of, view.include_pending, lookups)
    return _page(request, session, principal, "dashboard/project.html", view, {
        "project": read, "lines": rows, "lines_total": total, "lines_pages": 1,
        "tally": tally[0].tally if tally else service.Tally(), "crumbs": _crumbs(request, view, session),
        "country_names": {c: lookups.countries[c].name for c in read.countries if c in lookups.countries},
        "lists_kosovo": KOSOVO in read.countries,
    })


@router.get("/dashboard/indicators/{id}/{iso3}", name="dashboard_line")
def line_page(request: Request, id: PathId, iso3: str, session: SessionDep, principal: CurrentUser,
              filters: FiltersDep, as_of: AsOf = None, include_pending: Pending = None):
    view = _view(session, filters, as_of, include_pending)
    detail = service.line_detail(session, principal, id, iso3, view.as_of, view.include_pending)
    lp = detail.evaluated
    line = lp.line

    def value_at(share: float | None) -> float | None:
        """A share of the way from baseline (0 for sums) to target, in the indicator's unit."""
        if share is None:
            return None
        start = line.baseline if line.aggregation == "latest" else 0.0
        return start + share * (line.target - start)

    history = [(p, h) for p, h in detail.history if h.expected > 0 or h.actual is not None]
    chart = charts.line_history([p.code for p, _ in history], [h.actual for _, h in history],
                                [value_at(h.expected) for _, h in history], line.target,
                                line.baseline if line.aggregation == "latest" else 0.0)
    lookups = service.cached_lookups(session)
    return _page(request, session, principal, "dashboard/line.html", view, {
        "detail": detail, "lp": lp, "line": line, "chart": chart, "history": history,
        "value_at": value_at, "results_by_period": {r.period.code: r for r in line.results},
        "country_name": lookups.countries[line.country].name if line.country in lookups.countries else line.country,
        "priority": lookups.priorities.get(detail.indicator.priority_code), "reasons": REASONS,
        "band": _band_text(lp), "crumbs": _crumbs(request, view, session),
        "lists_kosovo": line.country == KOSOVO,
    })


def _band_text(lp) -> str:
    """Why the line has its status, in words."""
    if lp.status == "not_started":
        return "Nothing was due yet (no due period has ended, so expected progress is 0): the line has not started."
    if lp.status == "no_data":
        return "Something is expected by now, but no result is counted yet."
    if lp.status in FINAL_STATUSES:
        reached = "reached" if lp.status == "achieved" else "did not reach"
        return (f"The project ended on {lp.line.project_end}, so the status is final: the line {reached} its "
                f"target ({pct(lp.progress)} of it) — {STATUS_WORDS[lp.status]}.")
    high, low = pct(ON_TRACK_MIN), pct(AT_RISK_MIN)
    bands = {"on_track": f"at least {high} of the expected progress: on track",
             "at_risk": f"between {low} and {high} of the expected progress: at risk",
             "off_track": f"below {low} of the expected progress: off track"}
    return f"Progress is {pct(lp.ratio)} of what is expected by now — {bands[lp.status]}."