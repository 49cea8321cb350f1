"""Comment schemas: the body of POST /api/v1/results/{id}/comments and the read shape."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from mne.text import InputModel, text

# Long enough for a careful reply; the same bound as a return note.
TEXT_MAX = 5_000


class CommentWrite(InputModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: text(TEXT_MAX, min_length=1)


class CommentRead(BaseModel):
    id: int
    result_id: int
    # comment; returned or reopened: a reviewer's note that opens a new round
    kind: str
    text: str
    author: str  # the author's name, or email when unnamed ("" once the user is deleted)
    author_id: int | None
    created_at: datetime
