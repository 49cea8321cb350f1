"""Progress API: indicator lines, roll-ups and reporting completeness (SPEC §5, §6)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mne.deps import INT_MAX, CurrentUser, Offset, SessionDep
from mne.dimensions import DIMENSIONS
from mne.errors import error_responses
from mne.filters import FiltersDep
from mne.progress import service
from mne.progress.schemas import (
    CompletenessGroupRead,
    CompletenessRead,
    IndicatorLineRead,
    RollupGroup,
    RollupRead,
)
from mne.reference.periods import resolve_as_of, resolve_periods

# 403: a filter outside the caller's countries or donors.
router = APIRouter(prefix="/api/v1", tags=["progress"], responses=error_responses(401, 403, 422, 503))

AsOf = Annotated[str | None, Query(description="YYYYQn (or YYYYSn, YYYY: their last quarter); "
                                               "default: the latest period whose due date has passed")]
IncludePending = Annotated[bool, Query(description="count submitted results too (provisional figures)")]
By = Annotated[str | None, Query(description=f"{', '.join(DIMENSIONS)}, or two of them crossed, "
                                             "e.g. priority,subregion")]


@router.get("/indicator-lines", response_model=list[IndicatorLineRead])
def indicator_lines(
    response: Response, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
    as_of: AsOf = None, include_pending: IncludePending = False,
    status: Annotated[str | None, Query(description="on_track, at_risk, off_track, no_data, not_started")] = None,
    limit: Annotated[int | None, Query(ge=1, le=INT_MAX, description="at most this many lines (default: all)")] = None,
    offset: Offset = 0,
):
    """Each indicator line (indicator × country) in your scope as of a period."""
    period = resolve_as_of(session, as_of)
    statuses = tuple(s.strip() for s in status.split(",") if s.strip()) if status else ()
    rows, total = service.indicator_lines(session, principal, filters, period, include_pending,
                                          status=statuses, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    response.headers["X-As-Of"] = period.code
    return [IndicatorLineRead.of(r) for r in rows]


@router.get("/rollup", response_model=RollupRead)
def rollup(session: SessionDep, principal: CurrentUser, filters: FiltersDep, by: By = None, as_of: AsOf = None,
           include_pending: IncludePending = False):
    """Status counts, mean progress, on-track share and standard indicators per group (numbers
    summed; percentages as a ratio of numerators and denominators, or a mean, never summed)."""
    dims = service.parse_by(by)
    period = resolve_as_of(session, as_of)
    groups = service.rollup(session, principal, dims, filters, period, include_pending)
    measures = service.cached_lookups(session).standard_measures()
    return RollupRead(as_of=period.code, by=",".join(dims), groups=[RollupGroup.of(g, measures) for g in groups])


@router.get("/completeness", response_model=CompletenessRead)
def completeness(
    session: SessionDep, principal: CurrentUser, filters: FiltersDep, by: By = None,
    period: Annotated[str | None, Query(description="YYYYQn, or YYYYSn / YYYY to add their quarters up; "
                                                    "default: the latest period whose due date has passed")] = None,
):
    """Reporting completeness and timeliness per group for a period."""
    dims = service.parse_by(by, default="country")
    periods = resolve_periods(session, period, field="period")
    groups = service.completeness(session, principal, dims, periods, filters)
    label = period.strip().upper() if period and period.strip() else periods[-1].code
    return CompletenessRead(period=label, by=",".join(dims), groups=[CompletenessGroupRead.of(g) for g in groups])
