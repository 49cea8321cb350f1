"""Results API: drafts, the review workflow, lists and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from mne.audit.schemas import AuditEventRead
from mne.deps import CurrentUser, EditorUser, Offset, PathId, ReviewerUser, SessionDep
from mne.filters import FiltersDep
from mne.results import service
from mne.results.schemas import NoteBody, ReasonBody, ResultRead, ResultWrite

router = APIRouter(prefix="/api/v1/results", tags=["results"])


@router.put("", response_model=ResultRead)
def put_result(body: ResultWrite, session: SessionDep, principal: EditorUser):
    """Create a draft, or update a draft or returned result (send its `version`)."""
    return service.put_result(session, principal, body)


@router.get("", response_model=list[ResultRead])
def list_results(
    response: Response, session: SessionDep, principal: CurrentUser, filters: FiltersDep,
    period: Annotated[str | None, Query(description="YYYYQn, YYYYSn or YYYY")] = None,
    status: Annotated[str | None, Query(description="draft, submitted, approved, returned")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Offset = 0,
):
    items, total = service.list_results(session, principal, filters=filters, period=period, status=status,
                                        limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return items


@router.post("/{result_id}/submit", response_model=ResultRead)
def submit(result_id: PathId, session: SessionDep, principal: EditorUser):
    return service.submit(session, principal, result_id)


@router.post("/{result_id}/approve", response_model=ResultRead)
def approve(result_id: PathId, session: SessionDep, principal: ReviewerUser):
    return service.approve(session, principal, result_id)


@router.post("/{result_id}/return", response_model=ResultRead)
def return_result(result_id: PathId, body: Annotated[NoteBody, Body()], session: SessionDep, principal: ReviewerUser):
    return service.return_(session, principal, result_id, body.note)


@router.post("/{result_id}/reopen", response_model=ResultRead)
def reopen(result_id: PathId, body: Annotated[ReasonBody, Body()], session: SessionDep, principal: ReviewerUser):
    return service.reopen(session, principal, result_id, body.reason)


@router.get("/{result_id}/history", response_model=list[AuditEventRead])
def result_history(result_id: PathId, session: SessionDep, principal: CurrentUser):
    """The result's audit events, oldest first: who changed what, when, and why."""
    return service.result_history(session, principal, result_id)
