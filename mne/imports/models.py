"""An uploaded file of results: kept between its preview and its confirmation (the page's two
steps may reach different workers), and afterwards as the record of what was imported."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from mne.base import UTCDateTime, utcnow


class ResultImport(SQLModel, table=True):
    __tablename__ = "result_import"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    filename: str = Field(max_length=255)
    size: int
    sha256: str = Field(max_length=64)
    encoding: str = Field(default="auto", max_length=16)
    content: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # "checked" (previewed, waiting for confirmation) or "imported".
    status: str = Field(default="checked", max_length=10)
    # The counts and the problems found by the last check, as the preview shows them.
    report: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
