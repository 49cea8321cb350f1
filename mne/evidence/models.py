"""The evidence_file table: one row per file attached to a result; the bytes live on disk."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from mne.base import UTCDateTime, utcnow


class EvidenceFile(SQLModel, table=True):
    __tablename__ = "evidence_file"

    id: int | None = Field(default=None, primary_key=True)
    result_id: int = Field(foreign_key="result.id", index=True, ondelete="CASCADE")
    # The name the uploader gave, shown and offered on download; never used as a path.
    name: str = Field(max_length=255)
    size: int
    # Decided from the bytes, not from the name or the browser's claim.
    content_type: str = Field(max_length=100)
    # The stored file's name under MNE_FILES_DIR: equal files are stored once.
    sha256: str = Field(max_length=64, index=True)
    uploaded_by_id: int | None = Field(default=None, foreign_key="user.id", ondelete="SET NULL")
    uploaded_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
