"""Evidence file read shape: one item of GET /api/v1/results/{id}/files."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class EvidenceFileRead(BaseModel):
    id: int
    result_id: int
    name: str = Field(description="the name the uploader gave (for display and download only)")
    size: int = Field(description="bytes")
    content_type: str = Field(description="decided from the file's content, not its name")
    sha256: str = Field(description="hex SHA-256 of the content; equal files are stored once")
    uploaded_by: str | None = Field(description="the uploader's name, or email when unnamed; null if deleted")
    uploaded_at: datetime

    @property
    def size_in_words(self) -> str:
        return size_in_words(self.size)


def size_in_words(n: int) -> str:
    """'800 bytes', '12 KB', '3.4 MB' (binary units, as file managers count)."""
    if n < 1024:
        return f"{n} byte{'' if n == 1 else 's'}"
    if n < 1024 * 1024:
        return f"{round(n / 1024)} KB"
    megabytes = f"{n / 1024 / 1024:.1f}".removesuffix(".0")
    return f"{megabytes} MB"
