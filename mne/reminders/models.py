"""The notification table: what was already sent to whom, so nothing is sent twice."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from mne.base import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    __tablename__ = "notification"
    __table_args__ = (UniqueConstraint("user_id", "kind", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True, ondelete="CASCADE")
    # "due" (an officer's line due or overdue) or "review" (a result waiting for review).
    kind: str = Field(max_length=10)
    # What was told, e.g. "<indicator id>:<country>:<period>:<state>": the same item in the
    # same state is not told again; a new state (missing -> returned) is.
    key: str = Field(max_length=200)
    sent_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
