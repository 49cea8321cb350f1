"""``POST /imports/results`` (SPEC §6): a file of results, checked and, unless it is a dry run,
written all or nothing."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from mne.deps import EditorUser, SessionDep
from mne.errors import (
    Invalid,
    LengthRequired,
    PayloadTooLarge,
    UnsupportedMediaType,
    error_response,
    error_responses,
)
from mne.imports import service
from mne.imports.schemas import ImportReport
from mne.imports.sheets import ENCODINGS

router = APIRouter(prefix="/imports", tags=["imports"], responses=error_responses(401, 503))

RAW_TYPES = ("text/csv", "text/plain", "application/csv", "application/octet-stream",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "application/vnd.ms-excel")


def limits(request: Request) -> service.Limits:
    settings = request.app.state.settings
    return service.Limits(max_bytes=settings.import_max_bytes, max_rows=settings.import_max_rows)


async def uploaded(request: Request) -> service.Upload:
    """The file of a request: the multipart field ``file`` (a form's upload), or the body itself
    (``text/csv``, or an .xlsx). It only awaits the body, whose size is checked before it is read."""
    limit = limits(request).max_bytes
    length = request.headers.get("content-length")
    if length is None:
        raise LengthRequired("send the file with a Content-Length header")
    if not length.isdigit() or int(length) > limit + 64 * 1024:  # room for a form's other fields
        raise PayloadTooLarge(f"the upload is over the limit of {limit / 1024 / 1024:.0f} MB: split the file",
                              details=[{"field": "file", "message": "too large"}])
    content_type = request.headers.get("content-type", "")
    encoding = request.query_params.get("encoding", "auto")
    if content_type.startswith("multipart/form-data"):
        try:
            form = await request.form(max_files=1, max_fields=20)
        except HTTPException as exc:
            if exc.status_code != 400:  # 413 from the body size limit passes on as it is
                raise
            raise Invalid.field("file", f"the multipart body cannot be read ({exc.detail})") from None
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise Invalid.field("file", "choose a file to upload")
        encoding = str(form.get("encoding") or encoding)
        content, filename = await upload.read(), upload.filename or "upload"
    else:
        media, _, params = content_type.partition(";")
        if media.strip().lower() not in RAW_TYPES:
            raise UnsupportedMediaType(f"send the file as multipart/form-data (field 'file') or as text/csv, not "
                                  f"{media.strip() or 'no content type'}")
        charset = next((p.split("=", 1)[1].strip().strip('"').lower() for p in params.split(";")
                        if p.strip().lower().startswith("charset=")), None)
        if charset and encoding == "auto" and charset not in ("utf-8", "utf8"):
            encoding = charset
        content = await request.body()
        filename = request.query_params.get("filename") or "upload.csv"
    if encoding not in ENCODINGS:
        raise Invalid.field("encoding", f"unknown encoding {encoding!r}: one of {', '.join(ENCODINGS)}")
    return service.Upload(content, filename, encoding)


Uploaded = Annotated[service.Upload, Depends(uploaded)]


# The body is read by `uploaded`, not by a parameter: declared here for the API's readers.
REQUEST_BODY = {"requestBody": {"required": True, "content": {
    "multipart/form-data": {"schema": {
        "type": "object", "required": ["file"],
        "properties": {"file": {"type": "string", "format": "binary", "description": "a CSV or .xlsx file"},
                       "encoding": {"type": "string", "enum": list(ENCODINGS), "default": "auto"}}}},
    "text/csv": {"schema": {"type": "string", "description": "the CSV itself (a charset parameter is used)"}},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
        "schema": {"type": "string", "format": "binary"}}}}}


# The upload first: `uploaded` refuses a body over the size limit before anything reads it (a
# browser session's CSRF check reads the form), and no database turn is held while it arrives.
@router.post("/results", response_model=ImportReport, openapi_extra=REQUEST_BODY, responses={
    403: error_response(403, "a country officer imports results; another role is refused"),
    411: error_response(411, "the upload has no Content-Length"),
    413: error_response(413, "the file is over the size limit (MNE_IMPORT_MAX_BYTES)"),
    415: error_response(415, "neither a multipart upload nor a CSV or .xlsx body"),
    422: error_response(422, "the file cannot be read (field `file`), or, with dry_run=false, rows are refused: `details` "
                "lists each with its `line`, `column`, `cell` and `message`; nothing was written")})
def import_results(upload: Uploaded, principal: EditorUser, session: SessionDep, request: Request,
                   dry_run: Annotated[bool, Query(description="check and report only (the default); "
                                                          "false writes the rows, all or none")] = True,
                   encoding: Annotated[str, Query(description="the CSV's text encoding: "
                                                            + ", ".join(ENCODINGS))] = "auto",
                   filename: Annotated[str | None, Query(description="the file's name, for a raw body")] = None):
    """Import results from a CSV or .xlsx file with the columns `project_code, indicator_code,
    country_iso3, period, value` (and optionally `numerator, denominator, female, male, other,
    narrative, means_of_verification, version`); an exported results.csv is accepted as is.
    Each row is checked as `PUT /api/v1/results` checks a body, in your countries."""
    return service.import_results(session, principal, upload, limits(request), dry_run=dry_run)
