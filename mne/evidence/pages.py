"""Evidence file pages (HTML): attach and remove from the result page, and the download for
browsers (the API's needs a token; this one the session cookie). Each calls the service the API
calls; a refused upload shows the result page again with the reason beside the form."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from starlette.datastructures import UploadFile

from mne.deps import CurrentUser, EditorUser, SessionDep
from mne.errors import Conflict, Invalid, PayloadTooLarge
from mne.evidence import service
from mne.evidence.routes import download, uploaded
from mne.forms import parse_id, refuse_nul, sentence
from mne.results.pages import _result_page
from mne.web import path_for

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])


def _back(request: Request, result_id: int, done: str):
    return RedirectResponse(f"{path_for(request, 'result_page', result_id=result_id)}?file={done}#evidence",
                            status_code=303)


def _refused(request: Request, session, principal, result_id: int, exc: Invalid | Conflict | PayloadTooLarge,
             nothing: str):
    session.rollback()
    message = exc.details[0]["message"] if isinstance(exc, Invalid) and exc.details else exc.message
    return _result_page(request, session, principal, result_id, status_code=exc.status_code,
                        file_error=f"{nothing}: {sentence(message.removeprefix('file: '))}")


async def upload_or_refusal(request: Request) -> UploadFile | Invalid:
    """The form's file, or why there is none (shown beside the form, not on an error page)."""
    try:
        return await uploaded(request)
    except Invalid as exc:
        return exc


# The upload first, as in the API: the body arrives before a database turn is taken.
@router.post("/results/{result_id}/files", name="file_add_page")
def add_file(upload: Annotated[UploadFile | Invalid, Depends(upload_or_refusal)], request: Request, result_id: str,
             session: SessionDep, principal: EditorUser):
    rid = parse_id(result_id, "result")
    settings = request.app.state.settings
    try:
        if isinstance(upload, Invalid):
            raise upload
        service.add_file(session, principal, rid, upload.file, upload.filename,
                         files_dir=settings.files_dir, max_bytes=settings.max_file_bytes)
    except (Invalid, Conflict, PayloadTooLarge) as exc:
        return _refused(request, session, principal, rid, exc, "Nothing was attached")
    return _back(request, rid, "added")


@router.post("/files/{id}/delete", name="file_delete_page")
def delete_file(id: str, request: Request, session: SessionDep, principal: EditorUser):
    row = service.get_file(session, principal, parse_id(id, "file"))
    result_id = row.result_id
    try:
        service.delete_file(session, principal, row.id, files_dir=request.app.state.settings.files_dir)
    except Conflict as exc:
        return _refused(request, session, principal, result_id, exc, "Nothing was removed")
    return _back(request, result_id, "deleted")


@router.get("/files/{id}", name="file_download")
def download_file(id: str, request: Request, session: SessionDep, principal: CurrentUser):
    row, path = service.open_file(session, principal, parse_id(id, "file"), request.app.state.settings.files_dir)
    return download(row, path)
