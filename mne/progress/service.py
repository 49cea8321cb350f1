"""Progress figures for the API, the pages and the exports: one computation, many renderings.

Per-line figures come from ``line_summary`` (written by ``snapshots`` with the pure rules).
Roll-ups, completeness and trends are SQL sums of its precomputed sums: ``region_summary``
when the question involves priorities, pillars, subregions and countries only (what the
dashboard asks), else ``project_summary`` joined to the project tags and scope asked for;
the groups are then assembled here. Nothing here decides a status.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Table, func, literal, select
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import Role
from mne.errors import Invalid, NotFound
from mne import dimensions
from mne.dimensions import DIMENSIONS
from mne.filters import Filters
from mne.indicators.models import Indicator
from mne.progress import snapshots
from mne.progress.models import LineSummary, ProjectSummary, RegionSummary
from mne.progress import rules
from mne.progress.rules import STATUSES, LineProgress, PeriodInfo, evaluate_line
from mne.projects.models import Project
from mne.reference.models import Country, Priority, StandardIndicator, Subregion
from mne.reference.periods import all_periods

LS: Table = LineSummary.__table__
REGION: Table = RegionSummary.__table__
PROJECT: Table = ProjectSummary.__table__


# --- parsing ------------------------------------------------------------------------------

def parse_by(value: str | None, *, default: str = "priority") -> tuple[str, ...]:
    """One dimension, or two different ones crossed (``priority,subregion``)."""
    raw = default if value is None or not value.strip() else value
    parts = tuple(p.strip().lower() for p in raw.split(","))
    unknown = [p for p in parts if p not in DIMENSIONS]
    if unknown or not 1 <= len(parts) <= 2 or len(set(parts)) != len(parts):
        raise Invalid.field("by", f"{raw!r} is not a grouping: use one of {', '.join(DIMENSIONS)}, "
                                  "or two different ones separated by a comma (e.g. priority,subregion)")
    return parts


# --- adding up ----------------------------------------------------------------------------

# The sums a standard indicator's figure is made of (``rules.StandardSums``), by column.
STANDARD_VALUES = ("lines", "with_data", "actual_sum", "target_sum", "target_to_date_sum", "with_ratio",
                   "numerator_sum", "denominator_sum")
_PENDING_VARIES = {"with_data", "actual_sum", "with_ratio", "numerator_sum", "denominator_sum"}


@dataclass
class Tally:
    """Sums of a group's lines; every figure the API and pages show derives from these."""
    lines: int = 0
    due: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    reached: int = 0  # progress >= 1, whatever the status
    regressing: int = 0
    with_data: int = 0
    progress_sum: float = 0.0
    standard: dict[str, rules.StandardSums] = field(default_factory=dict)
    expected_lines: int = 0
    reported: int = 0
    on_time: int = 0

    def add(self, row: dict, pending: bool) -> None:
        m = row
        suffix = "_pending" if pending else ""
        code = m.get("standard_code")
        if code:
            sums = rules.StandardSums(*(m[n + suffix if n in _PENDING_VARIES else n] for n in STANDARD_VALUES))
            self.standard[code] = self.standard.get(code, rules.StandardSums()) + sums
        if m.get("standard_only"):  # standard-indicator sums read apart from the group's sums
            return
        get = m.get  # a trend reads fewer sums than a roll-up: the others stay 0
        self.lines += m["lines"]
        self.due += m["due"]
        counts = self.counts
        for s in STATUSES:
            counts[s] += get(s + suffix, 0)
        self.reached += get("reached" + suffix, 0)
        self.regressing += get("regressing" + suffix, 0)
        self.with_data += m["with_data" + suffix]
        self.progress_sum += m["progress_sum" + suffix]
        self.expected_lines += get("report_due", 0)
        self.reported += get("reported", 0)
        self.on_time += get("on_time", 0)

    @property
    def mean_progress(self) -> float | None:
        return rules.mean_progress(self.progress_sum, self.with_data)

    @property
    def on_track_share(self) -> float | None:
        return rules.on_track_share(self.counts["on_track"], self.counts["achieved"], self.due)

    @property
    def band(self) -> str | None:
        return rules.group_status(self.lines, self.due, self.with_data, self.on_track_share)

    @property
    def rate(self) -> float | None:
        return rules.share(self.reported, self.expected_lines)

    @property
    def on_time_rate(self) -> float | None:
        return rules.share(self.on_time, self.expected_lines)

    def standard_indicators(self, measures: dict[str, str]) -> list[rules.StandardFigure]:
        """Each standard indicator's figure, by its measure (numbers summed, percentages not)."""
        return [rules.standard_figure(code, measures.get(code, "number"), sums)
                for code, sums in sorted(self.standard.items())]


@dataclass
class Group:
    """A roll-up group: ``key`` is a code, or a tuple of two codes for a crossed ``by``."""
    key: str | tuple[str, ...]
    label: str
    tally: Tally


class Lookups:
    """Reference names and mappings, read once per request."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.priorities = {p.code: p for p in session.execute(select(Priority).order_by(Priority.position)).scalars()}
        self.countries = {c.iso3: c for c in session.execute(select(Country).order_by(Country.position)).scalars()}
        self.subregions = {s.code: s for s in session.execute(select(Subregion).order_by(Subregion.position)).scalars()}
        self._via: dict[str, dict[str, str]] = {}

    def names(self, dim: str, codes: Iterable[str]) -> dict[str, str]:
        return DIMENSIONS[dim].labels(self.session, codes)

    def key_of(self, dim: str, code: str) -> str:
        """A line-level dimension's code for a line's own priority or country code."""
        via = DIMENSIONS[dim].via
        if via is None:
            return code
        if dim not in self._via:
            self._via[dim] = {str(k): str(v) for k, v in self.session.execute(select(*via))}
        return self._via[dim].get(code, "")

    def standard_statements(self) -> dict[str, str]:
        return dict(self.session.execute(select(StandardIndicator.code, StandardIndicator.statement)).all())

    def standard_measures(self) -> dict[str, str]:
        return dict(self.session.execute(select(StandardIndicator.code, StandardIndicator.measure)).all())


_LOOKUPS = "mne.progress.lookups"


def cached_lookups(session: Session) -> Lookups:
    """The reference lookups of this transaction (one request): read once, shared by its parts.
    Kept with the transaction they were read in: the next one may see other reference data."""
    transaction = session.get_transaction()
    found = session.info.get(_LOOKUPS)
    if found is None or found[0] is not transaction:
        found = session.info[_LOOKUPS] = (transaction, Lookups(session))
    return found[1]


def _uses_regions(principal: Principal, filters: Filters, dims: Iterable[str]) -> bool:
    """Whether region_summary can answer: no project-level filter, grouping or scope."""
    scoped_by_country = principal.region_wide or principal.role == Role.country_officer
    return scoped_by_country and not filters.at(dimensions.PROJECT).active and set(dims) <= dimensions.LINE_DIMENSIONS


def _country_clause(column, principal: Principal) -> list[ColumnElement[bool]]:
    """An officer sees the lines of its own countries only (of projects it may read)."""
    return scope.line_clause(principal, column)


def _line_level(filters: Filters, table: Table, principal: Principal) -> list[ColumnElement[bool]]:
    """Filters on a line's own priority and country, and an officer's countries."""
    own = filters.at(dimensions.LINE)
    return [own.line_clause(table.c.country_iso3, table.c.priority_code), *_country_clause(table.c.country_iso3, principal)]


def _project_clause(column, principal: Principal, filters: Filters) -> list[ColumnElement[bool]]:
    """The projects the caller may read that match the project-level filters (none to check
    for a region-wide caller without such filters: every project)."""
    if principal.region_wide and not filters.at(dimensions.PROJECT).active:
        return []
    return [column.in_(select(Project.id).where(scope.visible_projects(principal), filters.project_clause()))]


def _base_columns(dims: Iterable[str]) -> tuple[bool, bool]:
    """Whether a grouping needs the line's priority and its country (pillar and subregion
    follow from them, looked up in Python so an edited subregion mapping applies at once)."""
    follows = {DIMENSIONS[dim].line_column for dim in dims}
    return "priority_code" in follows, "country_iso3" in follows


# What a trend point shows (mean progress, on-track share, lines): fewer sums, faster.
TREND_VALUES = ("lines", "due", "on_track", "on_track_pending", "achieved", "achieved_pending", "with_data",
                "with_data_pending", "progress_sum", "progress_sum_pending")


def _rows(session: Session, principal: Principal, filters: Filters, period_codes: Sequence[str],
          dims: Sequence[str] = (), *, per_period: bool = False, standard: bool = False,
          values: Sequence[str] = snapshots.CELL_VALUES) -> list:
    """Sums in scope grouped by (period?, priority?, country?, standard indicator?, other dims)."""
    by_priority, by_country = _base_columns(dims)
    regions = _uses_regions(principal, filters, dims)

    def keys_of(t: Table, with_standard: bool) -> list:
        keys = [t.c.period_code] if per_period else []
        keys += [t.c.priority_code] if by_priority else []
        keys += [t.c.country_iso3] if by_country else []
        return keys + ([t.c.standard_code] if with_standard else [])

    def grouped(query, keys) -> list[dict]:
        # Plain dicts: a dashboard reads every row four times, and a missing key is cheap.
        return [dict(r) for r in session.execute(query.group_by(*keys) if keys else query).mappings()]

    periods = list(period_codes)
    if regions:
        keys = keys_of(REGION, standard)
        sums = [func.sum(REGION.c[name]).label(name) for name in values]
        return grouped(select(*keys, *sums).where(REGION.c.period_code.in_(periods),
                                                  *_line_level(filters, REGION, principal)), keys)

    def by_project(t: Table, aggregates: list, with_standard: bool) -> list:
        keys, source, joined = keys_of(t, with_standard), t, set()
        conditions = [t.c.period_code.in_(periods), *_project_clause(t.c.project_id, principal, filters),
                      *_line_level(filters, t, principal)]
        for dim in dims:
            d = DIMENSIONS[dim]
            if d.level != dimensions.PROJECT:
                continue
            if d.table not in joined:  # a line with no such tag is in no group of it
                source = source.join(d.table, d.project_key == t.c.project_id)
                joined.add(d.table)
            keys.append(d.column.label(dim))
        if with_standard:
            conditions.append(t.c.standard_code != "")
        return grouped(select(*keys, *aggregates).select_from(source).where(*conditions), keys)

    rows = by_project(PROJECT, [func.sum(PROJECT.c[n]).label(n) for n in values], False)
    if standard:  # project sums hold no standard indicator: read those lines themselves
        wanted = {n + s for n in STANDARD_VALUES for s in ("", "_pending")}
        sums = [c for c in snapshots.cell_aggregates(LS) if c.name in wanted]
        rows += by_project(LS, [*sums, literal(True).label("standard_only")], True)
    return rows


def _key_of(row, dim: str, lookups: Lookups) -> str:
    d = DIMENSIONS[dim]
    if d.level == dimensions.LINE:
        return lookups.key_of(dim, row[d.line_column])
    return str(row[dim])


def _group(rows, by: Sequence[str], lookups: Lookups, pending: bool) -> list[Group]:
    tallies: dict[str | tuple[str, ...], Tally] = {}
    for row in rows:
        parts = tuple(_key_of(row, dim, lookups) for dim in by)
        key = parts[0] if len(by) == 1 else parts
        tallies.setdefault(key, Tally()).add(row, pending)
    names = [lookups.names(dim, {(k if len(by) == 1 else k[i]) for k in tallies}) for i, dim in enumerate(by)]

    def label(key) -> str:
        parts = (key,) if len(by) == 1 else key
        return " × ".join(names[i][p] for i, p in enumerate(parts))

    return [Group(key, label(key), tallies[key]) for key in sorted(tallies)]


# --- the questions ------------------------------------------------------------------------

def rollup(session: Session, principal: Principal, by: Sequence[str], filters: Filters, as_of: PeriodInfo,
           include_pending: bool = False, lookups: Lookups | None = None) -> list[Group]:
    """SPEC §5 roll-up of the caller's lines as of a period, by one dimension or two."""
    rows = _rows(session, principal, filters, [as_of.code], by, standard=True)
    return _group(rows, by, lookups or cached_lookups(session), include_pending)


def completeness(session: Session, principal: Principal, by: Sequence[str], periods: Sequence[PeriodInfo],
                 filters: Filters, lookups: Lookups | None = None) -> list[Group]:
    """Reporting completeness for a period (or the quarters of a half year or year, added up)."""
    rows = _rows(session, principal, filters, [p.code for p in periods], by)
    return _group(rows, by, lookups or cached_lookups(session), False)


@dataclass
class TrendPoint:
    period: str
    tally: Tally


def trend(session: Session, principal: Principal, filters: Filters, until: PeriodInfo,
          include_pending: bool = False) -> list[TrendPoint]:
    """Mean progress and on-track share as of each period up to ``until``."""
    codes = [p.code for p in all_periods(session) if p.end <= until.end]
    points = {code: Tally() for code in codes}
    for row in _rows(session, principal, filters, codes, per_period=True, values=TREND_VALUES):
        points[row["period_code"]].add(row, include_pending)
    return [TrendPoint(code, points[code]) for code in codes]


@dataclass
class LineRow:
    """One indicator line as of a period, as the API and the line lists show it."""
    indicator_id: int
    indicator_code: str
    statement: str
    project_code: str
    project_title: str
    country: str
    priority: str
    standard_indicator: str | None
    baseline: float
    target: float
    actual: float | None
    progress: float | None
    expected: float
    status: str
    achieved: bool


def line_conditions(principal: Principal, filters: Filters, as_of: PeriodInfo, include_pending: bool = False, *,
                    status: Sequence[str] = (), standard: str | None = None) -> list[ColumnElement[bool]]:
    """Which rows of ``line_summary`` are the caller's lines as of a period (the API's line list
    and the IPTT export select with this)."""
    suffix = "_pending" if include_pending else ""
    conditions = [LS.c.period_code == as_of.code, *_project_clause(LS.c.project_id, principal, filters),
                  *_line_level(filters, LS, principal)]
    if status:
        unknown = [s for s in status if s not in STATUSES]
        if unknown:
            raise Invalid.field("status", f"unknown status {', '.join(unknown)}; one of {', '.join(STATUSES)}")
        conditions.append(LS.c["status" + suffix].in_(list(status)))
    if standard:
        conditions.append(LS.c.standard_code == standard)
    return conditions


def line_figures(include_pending: bool = False) -> list:
    """A line's figures as of the period: actual, progress, expected, status, achieved."""
    suffix = "_pending" if include_pending else ""
    return [LS.c["actual" + suffix], LS.c["progress" + suffix], LS.c.expected, LS.c["status" + suffix],
            LS.c["achieved" + suffix]]


def line_order() -> list:
    i = Indicator.__table__.c
    return [Project.code, i.position, i.code, LS.c.country_iso3]


def indicator_lines(session: Session, principal: Principal, filters: Filters, as_of: PeriodInfo,
                    include_pending: bool = False, *, status: Sequence[str] = (), limit: int | None = None,
                    offset: int = 0, standard: str | None = None) -> tuple[list[LineRow], int]:
    """The caller's indicator lines as of a period (and how many there are in all)."""
    i = Indicator.__table__.c
    conditions = line_conditions(principal, filters, as_of, include_pending, status=status, standard=standard)
    source = LS.join(Indicator.__table__, i.id == LS.c.indicator_id).join(Project.__table__, Project.id == LS.c.project_id)
    query = (select(LS.c.indicator_id, i.code, i.statement, Project.code, Project.title, LS.c.country_iso3,
                    LS.c.priority_code, LS.c.standard_code, LS.c.baseline, LS.c.target, *line_figures(include_pending))
             .select_from(source).where(*conditions).order_by(*line_order()))
    paged = limit is not None or offset > 0  # an offset without a limit skips lines too
    if paged:
        total = session.execute(select(func.count()).select_from(LS).where(*conditions)).scalar_one()
        query = query.limit(limit).offset(offset)
    rows = [LineRow(iid, code, statement, pcode, ptitle, country, priority, standard or None, baseline, target,
                    actual, progress, expected, status_, bool(achieved))
            for (iid, code, statement, pcode, ptitle, country, priority, standard, baseline, target, actual,
                 progress, expected, status_, achieved) in session.execute(query)]
    return rows, (total if paged else len(rows))


@dataclass
class LineDetail:
    """One line explained: the figures as of the period and as of every period of the project."""
    evaluated: LineProgress
    history: list[tuple[PeriodInfo, LineProgress]]  # as of each period of the project
    indicator: Indicator
    project: Project
    statement: str
    project_id: int


def line_detail(session: Session, principal: Principal, indicator_id: int, country: str, as_of: PeriodInfo,
                include_pending: bool = False) -> LineDetail:
    """Evaluate one line with the rules directly: what was counted, what was not, and why."""
    country = country.upper()
    indicator = session.get(Indicator, indicator_id)
    if indicator is None:
        raise NotFound(f"no indicator with id {indicator_id}")
    scope.ensure_can_read_line(session, principal, indicator.project_id, country)
    periods = all_periods(session)
    loaded = snapshots.load_lines(session.connection(), [indicator_id], periods,
                                  countries={(indicator_id, country)}, with_keys=True)
    if not loaded:
        raise NotFound(f"indicator {indicator.code} has no line in {country}")
    line = loaded[0].line
    project = session.get(Project, indicator.project_id)
    shown = [p for p in periods if p.end >= project.start_date and p.start <= project.end_date] or periods
    return LineDetail(
        evaluated=evaluate_line(line, as_of, include_pending, periods),
        history=[(p, evaluate_line(line, p, include_pending, periods)) for p in shown],
        indicator=indicator, project=project, statement=indicator.statement, project_id=project.id,
    )


@dataclass
class Dashboard:
    """Everything the regional dashboard shows, computed once from one slice and one trend."""
    as_of: PeriodInfo
    include_pending: bool
    overall: Tally
    priorities: list[Group]  # every priority, empty ones too
    matrix: dict[tuple[str, str], Tally]  # (priority, subregion)
    subregions: list[str]
    countries: list[Group]  # completeness and figures per country, for the as-of period
    standard: list[tuple[str, rules.StandardFigure]]  # (statement, figure)
    trend: list[TrendPoint]
    lookups: Lookups


def dashboard(session: Session, principal: Principal, filters: Filters, as_of: PeriodInfo,
              include_pending: bool = False) -> Dashboard:
    lookups = cached_lookups(session)
    rows = _rows(session, principal, filters, [as_of.code], ("priority", "country"), standard=True)
    overall = Tally()
    for row in rows:
        overall.add(row, include_pending)
    by_priority = {g.key: g for g in _group(rows, ("priority",), lookups, include_pending)}
    priorities = [by_priority.get(code) or Group(code, lookups.names("priority", [code])[code], Tally())
                  for code in lookups.priorities]
    matrix = {g.key: g.tally for g in _group(rows, ("priority", "subregion"), lookups, include_pending)}
    countries = sorted(_group(rows, ("country",), lookups, include_pending),
                       key=lambda g: lookups.countries[g.key].position if g.key in lookups.countries else 999)
    statements = lookups.standard_statements()
    standard = [(statements.get(f.code, f.code), f) for f in overall.standard_indicators(lookups.standard_measures())]
    return Dashboard(as_of=as_of, include_pending=include_pending, overall=overall, priorities=priorities,
                     matrix=matrix, subregions=list(lookups.subregions), countries=countries, standard=standard,
                     trend=trend(session, principal, filters, as_of, include_pending), lookups=lookups)
