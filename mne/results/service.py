"""Queries and writes over results."""

from __future__ import annotations

from sqlmodel import Session, select

from mne.audit import service as audit
from mne.audit.schemas import AuditEventRead
from mne.auth import scope
from mne.auth.principal import Principal
from mne.errors import NotFound
from mne.indicators.models import Indicator
from mne.results.models import Result


def get_result(session: Session, principal: Principal, result_id: int) -> tuple[Result, Indicator]:
    """The result and its indicator: 404 when missing, 403 when outside the caller's scope."""
    row = session.exec(
        select(Result, Indicator).join(Indicator, Indicator.id == Result.indicator_id).where(Result.id == result_id)
    ).first()
    if row is None:
        raise NotFound(f"no result with id {result_id}")
    result, indicator = row
    scope.ensure_can_read_line(session, principal, indicator.project_id, result.country_iso3)
    return result, indicator


def result_history(session: Session, principal: Principal, result_id: int) -> list[AuditEventRead]:
    get_result(session, principal, result_id)
    return list(reversed(audit.history_of(session, {"result": [result_id]})))
