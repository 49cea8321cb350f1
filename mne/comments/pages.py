"""The comment form of the result page (HTML). The section itself is rendered with the result
page (templates/results/_conversation.html); this posts to the same service as the API."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse

from mne.comments import service
from mne.comments.schemas import TEXT_MAX
from mne.deps import CurrentUser, SessionDep
from mne.errors import Invalid
from mne.forms import FormDataDep, field_errors, parse_id, refuse_nul

# The result page renders the conversation: a refused comment shows it again with the error.
from mne.results.pages import _result_page
from mne.web import path_for

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])


@router.post("/results/{result_id}/comments", name="result_comment")
def post_comment(request: Request, result_id: str, session: SessionDep, principal: CurrentUser, form: FormDataDep):
    rid = parse_id(result_id, "result")
    # Kept a little past the limit, so a refused comment is shown again nearly whole.
    typed = str(form.get("text", ""))[: TEXT_MAX + 100]
    try:
        comment = service.post_comment(session, principal, rid, typed)
    except Invalid as exc:
        session.rollback()
        return _result_page(request, session, principal, rid, status_code=422,
                            comment_typed=typed, comment_error=field_errors(exc).get("text", exc.message))
    page = path_for(request, "result_page", result_id=rid)
    return RedirectResponse(f"{page}?notice=commented#comment-{comment.id}", status_code=303)
