"""Results API."""

from __future__ import annotations

from fastapi import APIRouter

from mne.audit.schemas import AuditEventRead
from mne.deps import CurrentUser, SessionDep
from mne.results import service

router = APIRouter(prefix="/api/v1/results", tags=["results"])


@router.get("/{result_id}/history", response_model=list[AuditEventRead])
def result_history(result_id: int, session: SessionDep, principal: CurrentUser):
    """The result's audit events, oldest first: who changed what, when, and why."""
    return service.result_history(session, principal, result_id)
