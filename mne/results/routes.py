"""Results API: drafts, the review workflow, lists and history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Response

from mne.audit.schemas import AuditEventRead
from mne.deps import CurrentUser, EditorUser, Offset, PathId, ReviewerUser, SessionDep
from mne.errors import error_responses
from mne.filters import FiltersDep
from mne.results import service
from mne.results.schemas import BulkApproval, BulkApprove, NoteBody, ReasonBody, ResultRead, ResultWrite

router = APIRouter(prefix="/api/v1/results", tags=["results"], responses=error_responses(401, 403, 422, 503))

# A result named in the path: unknown (404); changing it may conflict (409).
ACTION = error_responses(404, 409)
ACTION_WITH_BODY = error_responses(404, 409, 413)


@router.put("", response_model=ResultRead, responses=error_responses(404, 409, 413))
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


# Before the routes of one result: a literal path is matched before a parameter.
@router.post("/approve", response_model=BulkApproval, responses=error_responses(409, 413))
def approve_many(body: BulkApprove, session: SessionDep, principal: ReviewerUser):
    """Approve many submitted results in one transaction, by the rules of a single approval. Not
    all or none: each id is either approved or refused with a `code` and a `message` —
    `not_found`, `forbidden`, `conflict` (not submitted, or changed meanwhile), `locked` (already
    approved, or its period is closed), `duplicate` (listed twice)."""
    return service.approve_many(session, principal, body.ids)


@router.post("/{result_id}/submit", response_model=ResultRead, responses=ACTION)
def submit(result_id: PathId, session: SessionDep, principal: EditorUser):
    return service.submit(session, principal, result_id)


@router.post("/{result_id}/approve", response_model=ResultRead, responses=ACTION)
def approve(result_id: PathId, session: SessionDep, principal: ReviewerUser):
    return service.approve(session, principal, result_id)


@router.post("/{result_id}/return", response_model=ResultRead, responses=ACTION_WITH_BODY)
def return_result(result_id: PathId, body: Annotated[NoteBody, Body()], session: SessionDep, principal: ReviewerUser):
    return service.return_(session, principal, result_id, body.note)


@router.post("/{result_id}/reopen", response_model=ResultRead, responses=ACTION_WITH_BODY)
def reopen(result_id: PathId, body: Annotated[ReasonBody, Body()], session: SessionDep, principal: ReviewerUser):
    return service.reopen(session, principal, result_id, body.reason)


@router.get("/{result_id}/history", response_model=list[AuditEventRead], responses=error_responses(404))
def result_history(result_id: PathId, session: SessionDep, principal: CurrentUser):
    """The result's audit events, oldest first: who changed what, when, and why."""
    return service.result_history(session, principal, result_id)
