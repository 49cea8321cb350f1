"""Writing and reading audit events. Callers pass their session, so the event commits (or
rolls back) together with the change it records."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, SQLModel, or_, select

from mne.audit.models import AuditEvent
from mne.audit.schemas import AuditEventRead
from mne.users.models import User


def snapshot(obj: SQLModel | Mapping[str, Any] | None, exclude: Sequence[str] = ()) -> dict[str, Any] | None:
    """A JSON-safe copy of a row's fields, for `before` and `after`."""
    if obj is None:
        return None
    data = dict(obj) if isinstance(obj, Mapping) else obj.model_dump()
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key in exclude:
            continue
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        out[key] = value
    return out


def record(
    session: Session,
    *,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: object,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditEvent:
    event = AuditEvent(
        actor_id=actor_id,
        action=action,
        entity=entity,
        entity_id=str(entity_id),
        before=dict(before) if before is not None else None,
        after=dict(after) if after is not None else None,
        reason=reason,
    )
    session.add(event)
    return event


def history(session: Session, entity: str, entity_id: object) -> list[AuditEvent]:
    statement = (
        select(AuditEvent)
        .where(AuditEvent.entity == entity, AuditEvent.entity_id == str(entity_id))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return list(session.exec(statement))


def history_of(session: Session, targets: Mapping[str, Sequence[object]], limit: int = 500) -> list[AuditEventRead]:
    """Events of several entities at once (a project with its indicators and results),
    newest first, with the actor's email."""
    clauses = [
        (AuditEvent.entity == entity) & AuditEvent.entity_id.in_([str(i) for i in ids])
        for entity, ids in targets.items() if ids
    ]
    if not clauses:
        return []
    statement = (
        select(AuditEvent, User.email)
        .join(User, User.id == AuditEvent.actor_id, isouter=True)
        .where(or_(*clauses))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(limit)
    )
    return [
        AuditEventRead(id=e.id, at=e.at, actor=email, action=e.action, entity=e.entity,
                       entity_id=e.entity_id, before=e.before, after=e.after, reason=e.reason)
        for e, email in session.exec(statement)
    ]
