"""Evidence files API: `/api/v1/results/{id}/files` (list, attach) and `/api/v1/files/{id}`
(download, remove)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from mne.deps import CurrentUser, EditorUser, PathId, SessionDep
from mne.errors import Invalid, error_response, error_responses
from mne.evidence import content, service
from mne.evidence.models import EvidenceFile
from mne.evidence.schemas import EvidenceFileRead

router = APIRouter(prefix="/api/v1", tags=["evidence"], responses=error_responses(401, 403, 404, 422, 503))

# Form fields besides the file that a page's upload carries (the CSRF token).
MAX_FIELDS = 5


async def uploaded(request: Request) -> UploadFile:
    """The multipart field `file`. Starlette spools it to a temporary file past 1 MB while it
    arrives (awaited: no thread, no database turn held); the body size limit (`mne.limits`) has
    already refused a body far over MNE_MAX_FILE_BYTES, and the service counts the file itself."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Invalid.field("file", "send the file as multipart/form-data, in the field 'file'")
    try:
        form = await request.form(max_files=1, max_fields=MAX_FIELDS)
    except HTTPException as exc:
        if exc.status_code != 400:  # 413 from the body size limit passes on as it is
            raise
        raise Invalid.field("file", f"the multipart body cannot be read ({exc.detail})") from None
    upload = form.get("file")
    # A browser's form sent with no file chosen holds an empty part without a name.
    if not isinstance(upload, UploadFile) or (not upload.filename and not upload.size):
        raise Invalid.field("file", "choose a file to upload")
    return upload


Uploaded = Annotated[UploadFile, Depends(uploaded)]

# The body is read by `uploaded`, not by a parameter: declared here for the API's readers.
REQUEST_BODY = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "PDF, image (PNG, JPEG, GIF, WebP, TIFF, HEIC), office document "
                                           "(docx, xlsx, pptx, odt, ods, odp, doc, xls, ppt), CSV or text; "
                                           "the type is decided from the content"}}}}}}}


def download(row: EvidenceFile, path) -> FileResponse:
    """The stored bytes as an attachment, never shown inline: with the type decided at upload
    and `nosniff`, a browser cannot be talked into running them."""
    fallback = "".join(ch if ch.isascii() and ch.isprintable() and ch not in '"\\;' else "_" for ch in row.name)
    return FileResponse(path, media_type=row.content_type, headers={
        "Content-Disposition": f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(row.name, safe='')}",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-cache",
    })


@router.get("/results/{result_id}/files", response_model=list[EvidenceFileRead])
def list_files(result_id: PathId, session: SessionDep, principal: CurrentUser):
    """The files attached to the result, oldest first."""
    return service.list_files(session, principal, result_id)


# The upload first: no database turn is held while the body arrives (a browser session's CSRF
# check reads the form too; Starlette parses it once).
@router.post("/results/{result_id}/files", response_model=EvidenceFileRead, status_code=201,
             openapi_extra=REQUEST_BODY, responses={
                 403: error_response(403, "only an officer of the result's country attaches files"),
                 409: error_response(409, "the result is approved (its files are locked with it) or its period "
                                          "is closed: nothing was stored"),
                 413: error_response(413, "the file is over MNE_MAX_FILE_BYTES (field `file`): nothing was stored"),
                 422: error_response(422, "no file, or a file of a kind that is not accepted (field `file`), "
                                          "judged by its content: nothing was stored")})
def add_file(upload: Uploaded, result_id: PathId, request: Request, session: SessionDep, principal: EditorUser):
    """Attach a file (multipart field `file`) to the result. Equal files are stored once."""
    settings = request.app.state.settings
    return service.add_file(session, principal, result_id, upload.file, upload.filename,
                            files_dir=settings.files_dir, max_bytes=settings.max_file_bytes)


@router.get("/files/{id}", response_class=FileResponse, responses={
    200: {"content": {kind: {"schema": {"type": "string", "format": "binary"}} for kind in content.ACCEPTED_TYPES},
          "description": "the file's bytes, with the content type decided at upload, "
                         "`Content-Disposition: attachment` and `X-Content-Type-Options: nosniff`"}})
def get_file(id: PathId, request: Request, session: SessionDep, principal: CurrentUser):
    """Download the file."""
    row, path = service.open_file(session, principal, id, request.app.state.settings.files_dir)
    return download(row, path)


@router.delete("/files/{id}", status_code=204, response_class=Response, responses={
    403: error_response(403, "only an officer of the result's country removes files"),
    409: error_response(409, "the result is submitted (returned results and drafts only), approved (its files are "
                             "locked with it) or its period is closed: nothing was removed")})
def delete_file(id: PathId, request: Request, session: SessionDep, principal: EditorUser):
    """Remove the file from its result (its bytes go when no other result holds the same file)."""
    service.delete_file(session, principal, id, files_dir=request.app.state.settings.files_dir)
    return Response(status_code=204)
