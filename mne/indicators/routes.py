"""Indicators API: `/api/v1/indicators/{id}`."""

from __future__ import annotations

from fastapi import APIRouter

from mne.deps import CurrentUser, EditorUser, PathId, SessionDep
from mne.errors import error_responses
from mne.indicators import service
from mne.indicators.schemas import IndicatorRead, IndicatorUpdate

router = APIRouter(prefix="/api/v1/indicators", tags=["indicators"],
                   responses=error_responses(401, 403, 404, 422, 503))


@router.get("/{indicator_id}", response_model=IndicatorRead)
def get_indicator(indicator_id: PathId, session: SessionDep, principal: CurrentUser):
    indicator, _ = service.get(session, principal, indicator_id)
    return service.read(session, indicator)


@router.patch("/{indicator_id}", response_model=IndicatorRead, responses=error_responses(409, 413))
def update_indicator(indicator_id: PathId, body: IndicatorUpdate, session: SessionDep, principal: EditorUser):
    indicator, project = service.get(session, principal, indicator_id)
    return service.update(session, principal, indicator, project, body)
