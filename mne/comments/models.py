"""The result_comment table: what officers and reviewers wrote about a result, in order."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import Column, Index, Text
from sqlmodel import Field, SQLModel

from mne.base import UTCDateTime, one_of, utcnow


class CommentKind(StrEnum):
    comment = "comment"
    # A reviewer's return note: it opens a new round of the conversation.
    returned = "returned"
    # A reviewer's reason for reopening an approved result.
    reopened = "reopened"


class ResultComment(SQLModel, table=True):
    __tablename__ = "result_comment"
    __table_args__ = (
        one_of("kind", CommentKind),
        Index("ix_result_comment_result_at", "result_id", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="result.id", ondelete="CASCADE")
    kind: str = Field(max_length=10, default=CommentKind.comment)
    text: str = Field(sa_column=Column(Text, nullable=False))
    author_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
