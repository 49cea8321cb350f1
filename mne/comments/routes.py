"""Comments API: the conversation on a result (issue 14)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body

from mne.comments import service
from mne.comments.schemas import CommentRead, CommentWrite
from mne.deps import CurrentUser, PathId, SessionDep
from mne.errors import error_responses

router = APIRouter(prefix="/api/v1/results", tags=["comments"], responses=error_responses(401, 403, 404, 422, 503))


@router.get("/{result_id}/comments", response_model=list[CommentRead])
def list_comments(result_id: PathId, session: SessionDep, principal: CurrentUser):
    """The result's conversation, oldest first. A `returned` or `reopened` comment is a reviewer's
    note that opens a new round."""
    return service.list_comments(session, principal, result_id)


# 409: a write racing another (the app answers an integrity error so), like every body-taking operation.
@router.post("/{result_id}/comments", response_model=CommentRead, status_code=201,
             responses=error_responses(409, 413))
def post_comment(result_id: PathId, body: Annotated[CommentWrite, Body()], session: SessionDep,
                 principal: CurrentUser):
    """Add a comment, in any status of the result. The officers of its country and the reviewers
    may comment; donor viewers read only (403)."""
    return service.post_comment(session, principal, result_id, body.text)
