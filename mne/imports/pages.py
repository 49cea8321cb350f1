"""The import page (HTML): download a template, upload a file, see what each row would do, then
confirm it (SPEC §6 "Import").

Two steps, because a person should see what a file does before it is written: ``POST /imports``
keeps the file with its check (``service.check_upload``) and redirects to its preview,
``GET /imports/{id}``; ``POST /imports/{id}/confirm`` checks the kept file again against what is
stored by then and writes it, all rows or none (``service.confirm``). The rules are the API's
own: this module only reads forms and renders. Plain forms throughout: it works without
JavaScript.

Only country officers log results, so only they reach these pages (``EditorUser``).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlmodel import Session

from mne.auth.principal import Principal
from mne.deps import EditorUser, SessionDep
from mne.errors import Conflict, Invalid
from mne.exports.streaming import MEDIA_TYPES, disposition
from mne.forms import field_errors, parse_id, place_errors, refuse_nul, sentence
from mne.imports import service, templates
from mne.imports.models import ResultImport
from mne.imports.routes import limits, uploaded
from mne.imports.service import counts_in_words
from mne.imports.sheets import ENCODINGS
from mne.reference import service as reference
from mne.results.presenters import STATUS_LABELS
from mne.web import path_for, render

router = APIRouter(include_in_schema=False)
# Query strings and small forms are refused with a NUL in them. Not the upload's form: reading it
# here would read a file of any size before `Uploaded` has checked its length.
NO_NUL = [Depends(refuse_nul)]

TEMPLATE_FIELDS = ("project", "period")
UPLOAD_FIELDS = ("file", "encoding")
# What a row does, in words (the preview's last column); `refused` rows also list why.
ACTIONS = {"create": "Creates a draft", "update": "Updates the result", "unchanged": "Unchanged",
           "skipped": "Skipped: nothing filled in", "refused": "Refused"}


def writes(report: dict) -> int:
    """The rows a confirmation writes."""
    return report["counts"]["create"] + report["counts"]["update"]


# --- the page: a template to download, a file to upload, the recent imports ----------------

def _import_page(request: Request, session: Session, principal: Principal, *, project: str = "",
                 period: str = "", errors: dict[str, str] | None = None, encoding: str = "auto",
                 status_code: int = 200) -> Response:
    projects = templates.projects_for(session, principal)
    chosen = next((p for p in projects if p.code == project), None) or (projects[0] if projects else None)
    periods = templates.ordered_periods(reference.periods(session))
    context = {
        "projects": projects, "project": project or (chosen.code if chosen else ""), "periods": periods,
        "period": period.upper() or templates.default_period(periods, chosen, date.today()),
        "errors": errors or {}, "encodings": ENCODINGS, "encoding": encoding, "limits": limits(request),
        "recent": [_summary(request, record) for record in service.recent_imports(session, principal)],
    }
    return render(request, "imports/index.html", context, status_code=status_code)


def _summary(request: Request, record: ResultImport) -> dict[str, Any]:
    report = record.report or {}
    counts = report.get("counts") or {}
    if record.status == "imported":
        state = f"Imported {record.imported_at:%Y-%m-%d %H:%M} UTC"
    elif counts.get("refused"):
        state = "Refused rows: not imported"
    else:
        state = "Checked: waiting for you to import it"
    return {"id": record.id, "filename": record.filename, "created_at": record.created_at, "state": state,
            "refused": bool(counts.get("refused")) and record.status != "imported",
            "counts": counts_in_words(counts, report.get("rows", 0)) if counts else "",
            "href": path_for(request, "import_preview", import_id=str(record.id))}


@router.get("/imports", name="import_page", dependencies=NO_NUL)
def import_page(request: Request, session: SessionDep, principal: EditorUser, project: str = "", period: str = ""):
    """Download a template, upload a file to check, see your recent imports."""
    return _import_page(request, session, principal, project=project[:64], period=period[:8])


def _template(request: Request, session: Session, principal: Principal, project: str, period: str,
              extension: str) -> Response:
    try:
        template = templates.build(session, principal, project[:64], period[:8])
    except Invalid as exc:  # shown beside the field of the form that asked for it
        errors = place_errors(field_errors(exc), lambda f: f in TEMPLATE_FIELDS)
        return _import_page(request, session, principal, project=project[:64], period=period[:8], errors=errors,
                            status_code=exc.status_code)
    return Response(templates.file_bytes(template, extension), media_type=MEDIA_TYPES[extension],
                    headers={"Content-Disposition": disposition(template.filename(extension)),
                             "Cache-Control": "no-store"})


@router.get("/imports/template.csv", name="import_template_csv", dependencies=NO_NUL)
def template_csv(request: Request, session: SessionDep, principal: EditorUser, project: str = "", period: str = ""):
    """A project's lines in your countries for one period, to fill in and import (CSV UTF-8)."""
    return _template(request, session, principal, project, period, "csv")


@router.get("/imports/template.xlsx", name="import_template_xlsx", dependencies=NO_NUL)
def template_xlsx(request: Request, session: SessionDep, principal: EditorUser, project: str = "",
                  period: str = ""):
    """The same template as an Excel workbook, with a sheet saying how to fill it in."""
    return _template(request, session, principal, project, period, "xlsx")


async def page_upload(request: Request) -> service.Upload | Invalid:
    """``routes.uploaded``, except that a refusal of the form's fields (no file chosen, an unknown
    encoding) is handed to the page, to show beside them. It only awaits the body, as
    ``uploaded`` does; what that refuses before reading the body (too large) is still an error page."""
    try:
        return await uploaded(request)
    except Invalid as exc:
        return exc


PageUpload = Annotated[service.Upload | Invalid, Depends(page_upload)]


# The upload before the permission: `uploaded` refuses a body over the size limit before anything
# reads it, and the CSRF check then finds the form already read.
@router.post("/imports", name="import_check")
def check_file(request: Request, upload: PageUpload, session: SessionDep, principal: EditorUser):
    """Check an uploaded file and keep it for its preview; nothing is written to the results."""
    try:
        if isinstance(upload, Invalid):
            raise upload
        if not upload.content:  # a browser sends an empty part when no file was chosen
            raise Invalid.field("file", "choose a file to upload" if upload.filename == "upload"
                                else f"{upload.filename} is empty: choose the file you filled in")
        record = service.check_upload(session, principal, upload, limits(request))
    except Invalid as exc:  # the file cannot be read at all: nothing is kept
        errors = place_errors(field_errors(exc), lambda f: f in UPLOAD_FIELDS)
        encoding = "auto" if isinstance(upload, Invalid) else upload.encoding
        return _import_page(request, session, principal, errors=errors, encoding=encoding,
                            status_code=exc.status_code)
    return RedirectResponse(path_for(request, "import_preview", import_id=str(record.id)), status_code=303)


# --- one import: its preview, and its confirmation ------------------------------------------

def _preview_page(request: Request, session: Session, principal: Principal, record: ResultImport, *,
                  error: str = "", errors: dict[str, str] | None = None, encoding: str = "auto",
                  status_code: int = 200) -> Response:
    report = record.report or {}
    rows = report.get("preview", [])
    projects = sorted({r["project_code"] for r in rows if r["action"] in ("create", "update", "unchanged")})
    context = {
        "record": record, "report": report, "rows": rows, "summary": counts_in_words(report["counts"], report["rows"]),
        "writes": writes(report), "refused": report["counts"]["refused"], "partial": len(rows) < report["rows"],
        "preview_rows": service.PREVIEW_ROWS, "preview_refused": service.PREVIEW_REFUSED,
        "actions": ACTIONS, "statuses": STATUS_LABELS, "error": error, "errors": errors or {},
        "encodings": ENCODINGS, "encoding": encoding, "limits": limits(request),
        "grids": [(code, path_for(request, "results_grid", code=code)) for code in projects[:10]],
    }
    return render(request, "imports/preview.html", context, status_code=status_code)


@router.get("/imports/{import_id}", name="import_preview", dependencies=NO_NUL)
def import_preview(request: Request, import_id: str, session: SessionDep, principal: EditorUser):
    """What each row of an uploaded file does; confirm it here when no row is refused."""
    record = service.get_import(session, principal, parse_id(import_id, "import"))
    return _preview_page(request, session, principal, record)


@router.post("/imports/{import_id}/confirm", name="import_confirm", dependencies=NO_NUL)
def confirm_import(request: Request, import_id: str, session: SessionDep, principal: EditorUser):
    """Write the rows of a checked file, checked once more against what is stored now: all, or none."""
    rid = parse_id(import_id, "import")
    record = service.get_import(session, principal, rid)
    try:
        report = service.confirm(session, principal, record, limits(request))
    except (Invalid, Conflict) as exc:  # imported already; a result changed at the same moment
        session.rollback()
        record = service.get_import(session, principal, rid)
        return _preview_page(request, session, principal, record, error=f"Nothing was imported: "
                             f"{sentence(exc.message.removeprefix('import: '))}", status_code=exc.status_code)
    if not report.written:  # a row is refused now (a result submitted since the check, say)
        return _preview_page(request, session, principal, record, status_code=422, error=(
            "Nothing was imported: checked again against the results stored now, "
            f"{report.counts.refused:,} row{'' if report.counts.refused == 1 else 's'} "
            f"{'is' if report.counts.refused == 1 else 'are'} refused. Fix the file and upload it again."))
    return RedirectResponse(path_for(request, "import_preview", import_id=str(record.id)), status_code=303)
