"""What is due, as JSON: `GET /api/v1/due`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from mne.deps import CurrentUser, SessionDep
from mne.due import service
from mne.due.schemas import DueRead
from mne.errors import error_responses
from mne.filters import FiltersDep

router = APIRouter(prefix="/api/v1/due", tags=["due"], responses=error_responses(401, 403, 422, 503))


@router.get("", response_model=list[DueRead])
def list_due(
    response: Response, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
    period: Annotated[str | None, Query(description="YYYYQn (or YYYYSn, YYYY for their quarters); "
                                                    "left out, the current reporting period")] = None,
):
    """One item per indicator line in your scope whose result is due in the period (by its
    reporting frequency and its project's dates), with its state. The period used is in `X-Period`."""
    periods, items = service.due_for(session, principal, period, filters=filters)
    response.headers["X-Period"] = ",".join(p.code for p in periods)
    return [DueRead.of(i) for i in items]
