"""Result pages (HTML): a project's results grid with its inline cell form, one result with
its review actions (the reviewers' queue is `mne.results.review`).

Every write goes through `mne.results.service` (the API's own functions) and every body is
validated by `ResultWrite`; a fragment is a block of its page's template, rendered alone when
htmx asks for it, so each view also works as a plain page without JavaScript.
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.comments import service as comments
from mne.deps import CurrentUser, EditorUser, ReviewerUser, SessionDep
from mne.errors import Conflict, Invalid
from mne.evidence import presenters as evidence
from mne.forms import (FormDataDep, field_errors, parse_id, parse_version, place_errors, refuse_nul,
                       sentence)
from mne.formatting import input_number, num
from mne.htmx import htmx
from mne.results import presenters
from mne.results import service as results
from mne.results.models import AGE_FIELDS, AGE_LABELS, SEX_FIELDS
from mne.results.schemas import ResultWrite
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

RATIO_FIELDS = ("numerator", "denominator")
VALUE_FIELDS = ("value", *RATIO_FIELDS, *SEX_FIELDS, *AGE_FIELDS, "narrative", "means_of_verification")
AGE_BY_LABEL = {label: name for name, label in AGE_LABELS.items()}
RESULT_NOTICES = {
    "submitted": "The result has been submitted for review.",
    "approved": "The result has been approved. It is now locked.",
    "returned": "The result has been returned to the officer with your note.",
    "reopened": "The result has been reopened: it is back with the officer, with your reason as its note.",
    "commented": "Your comment has been added to the conversation.",
}


def _when(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "an unknown time"


# --- the grid -----------------------------------------------------------------------------

def _grid_page(request: Request, session: Session, principal: Principal, project, *, year: str = "",
               period: str = "", notice: str = "", error: str = "", status_code: int = 200):
    return render(request, "results/grid.html", {
        "grid": presenters.build_grid(session, principal, project, year, period), "notice": notice, "error": error,
        "statuses": presenters.STATUS_LABELS,
    }, status_code=status_code)


def grid_url(request: Request, code: str, period: str = "", **query: str) -> str:
    """The grid showing ``period`` (its year), scrolled to its column: where a saved cell or a
    submitted period returns to."""
    params = urlencode({k: v for k, v in {"period": period, **query}.items() if v})
    return (path_for(request, "results_grid", code=code) + (f"?{params}" if params else "")
            + (f"#period-{period}" if period else ""))


@router.get("/projects/{code}/results", name="results_grid")
def results_grid(request: Request, code: str, session: SessionDep, principal: CurrentUser, year: str = "",
                 period: str = "", notice: str = "", submitted: str = "", count: str = ""):
    project = scope.get_project_by_code(session, principal, code)
    message = ""
    if notice == "saved":
        message = "The result has been saved as a draft. Submit the period when its results are ready."
    elif submitted and count.isdecimal():
        n = int(count)
        message = (f"{n} result{'' if n == 1 else 's'} of {submitted[:8]} submitted for review." if n
                   else f"There was nothing to submit in {submitted[:8]}: no drafts or returned results.")
    return _grid_page(request, session, principal, project, year=year[:4], period=period[:8] or submitted[:8],
                      notice=message)


@router.post("/projects/{code}/results/submit", name="results_submit_period")
def submit_period(request: Request, code: str, session: SessionDep, principal: EditorUser, form: FormDataDep):
    project = scope.get_project_by_code(session, principal, code)
    period = str(form.get("period", "")).strip()[:8]
    year = str(form.get("year", "")).strip()[:4]
    try:
        summary = results.submit_period(session, principal, project, period)
    except (Invalid, Conflict) as exc:  # an unknown or closed period, a result changed meanwhile
        session.rollback()
        return _grid_page(request, session, principal, project, year=year, period=period,
                          error=sentence(exc.message), status_code=exc.status_code)
    # Back to the period submitted (its year, its column in view), whichever page it was sent from.
    return RedirectResponse(grid_url(request, project.code, period, year="all" if year == "all" else "",
                                     submitted=period, count=str(len(summary.submitted))), status_code=303)


# --- one cell: its form, saving it, and its display -----------------------------------------

def _cell_params(source) -> tuple[int, str, str]:
    return (parse_id(str(source.get("indicator_id", "")), "indicator"), str(source.get("country", ""))[:3],
            str(source.get("period", ""))[:8])


def _form_of(ctx: presenters.CellContext) -> dict:
    return form_of(ctx.cell.result)


def form_of(r) -> dict:
    """A result's fields as its form shows them (every field, '' when not given)."""
    form = {k: "" for k in VALUE_FIELDS}
    if r is not None:
        form.update(value=input_number(r.value), narrative=r.narrative, means_of_verification=r.means_of_verification)
        form.update({k: str(getattr(r, k)) for k in RATIO_FIELDS if getattr(r, k) is not None})
        if r.disaggregation is not None:
            for k in SEX_FIELDS + AGE_FIELDS:
                v = getattr(r.disaggregation, k)
                form[k] = input_number(v)
    return form


def _edit_page(request: Request, ctx: presenters.CellContext, *, form: dict, errors: dict | None = None,
               conflict: str = "", status_code: int = 200):
    return render(request, "results/edit.html", {
        "ctx": ctx, "cell": ctx.cell, "form": form, "errors": errors or {}, "conflict": conflict,
        "inline": htmx(request).wants_fragment, "version": ctx.cell.result.version if ctx.cell.result else "",
    }, status_code=status_code, block="cell_form")


@router.get("/results/edit", name="result_edit")
def edit_result_page(request: Request, session: SessionDep, principal: EditorUser, indicator_id: str = "",
                     country: str = "", period: str = ""):
    ctx = presenters.load_cell(session, principal, *_cell_params(
        {"indicator_id": indicator_id, "country": country, "period": period}), for_edit=True)
    return _edit_page(request, ctx, form=_form_of(ctx))


@router.get("/results/cell", name="result_cell")
def result_cell(request: Request, session: SessionDep, principal: CurrentUser, indicator_id: str = "",
                country: str = "", period: str = ""):
    """One cell of the grid as it is now (htmx); without JavaScript, the grid itself."""
    ctx = presenters.load_cell(session, principal, *_cell_params(
        {"indicator_id": indicator_id, "country": country, "period": period}))
    if not htmx(request).wants_fragment:
        grid = path_for(request, "results_grid", code=ctx.project.code)
        return RedirectResponse(f"{grid}?period={ctx.cell.period.code}#{ctx.cell.id}", status_code=303)
    return render(request, "results/grid.html", {"cell": ctx.cell}, block="cell")


def _write_body(ctx: presenters.CellContext, form: dict, version: str) -> dict:
    return write_body(ctx.cell, form, version)


def write_body(cell: presenters.Cell, form: dict, version: str) -> dict:
    """The body of a result write (`ResultWrite`) from a cell's form fields as typed."""
    body: dict = {"indicator_id": cell.indicator.id, "country": cell.country.iso3, "period": cell.period.code,
                  "narrative": form["narrative"], "means_of_verification": form["means_of_verification"],
                  "version": version or None}
    for key in ("value", *RATIO_FIELDS):
        if form[key]:
            body[key] = form[key].replace(",", "")
    split = {k: form[k].replace(",", "") for k in SEX_FIELDS + AGE_FIELDS if form[k]}
    if split:
        body["disaggregation"] = split
    return body


def result_errors(exc) -> dict[str, str]:
    errors = field_errors(exc, ResultWrite, nested=("disaggregation",))
    out = {}
    for key, message in errors.items():
        if key.startswith("disaggregation."):
            part = key.split(".", 1)[1]
            key = f"disaggregation.{AGE_BY_LABEL.get(part, part)}"
        out[key] = message
    known = {"value", *RATIO_FIELDS, "narrative", "means_of_verification", "disaggregation",
             *(f"disaggregation.{k}" for k in SEX_FIELDS + AGE_FIELDS)}
    return place_errors(out, lambda f: f in known)


def _conflict_message(session: Session, ctx: presenters.CellContext, exc: Conflict, typed: str) -> str:
    """What happened, in words, with the value that is there now and who put it there."""
    current, row = ctx.cell.result, ctx.row
    if current is None or row is None:
        return f"Not saved: {sentence(exc.message)}"
    who = presenters.people(session, [row.updated_by_id]).get(row.updated_by_id) or "someone"
    now = f"{num(current.value, 2)} ({presenters.STATUS_LABELS[current.status].lower()})"
    if ctx.cell.locked_reason:
        return (f"Not saved: {sentence(exc.message)} It now holds {now}, last changed by {who} "
                f"on {_when(row.updated_at)}.")
    yours = f"Your value, {typed}, is still in the form" if typed else "What you typed is still in the form"
    return (f"Not saved: someone else changed this result while you were editing. It now holds {now}, "
            f"saved by {who} on {_when(row.updated_at)}. {yours}: choose “Save mine instead” to replace "
            "theirs, or “Keep theirs”.")


@router.post("/results/edit")
def save_result(request: Request, session: SessionDep, principal: EditorUser, form: FormDataDep):
    params = _cell_params(form)
    ctx = presenters.load_cell(session, principal, *params, for_edit=True)
    typed = {k: str(form.get(k, "")).strip() for k in VALUE_FIELDS}
    version = str(form.get("version", "")).strip()
    try:
        saved = results.put_result(session, principal, ResultWrite.model_validate(_write_body(ctx, typed, version)))
    except ValidationError as exc:
        return _edit_page(request, ctx, form=typed, errors=result_errors(exc), status_code=422)
    except Invalid as exc:
        session.rollback()
        return _edit_page(request, ctx, form=typed, errors=result_errors(exc), status_code=422)
    except Conflict as exc:  # a stale version, a result submitted or approved meanwhile, a closed period
        session.rollback()
        ctx = presenters.load_cell(session, principal, *params, for_edit=True)  # it changed: show it as it is now
        return _edit_page(request, ctx, form=typed, conflict=_conflict_message(session, ctx, exc, typed["value"]),
                          status_code=409)
    ctx = presenters.saved_cell(session, ctx, saved)
    if not htmx(request).wants_fragment:
        grid = path_for(request, "results_grid", code=ctx.project.code)
        return RedirectResponse(f"{grid}?notice=saved&period={ctx.cell.period.code}#{ctx.cell.id}", status_code=303)
    announce = f"Saved {ctx.cell.label}: {num(saved.value, 2)}, draft."
    # The period's Submit button, counted again, goes along (an out-of-band swap): no reload needed.
    code = ctx.cell.period.code
    pending = results.submittable_counts(session, principal, ctx.project, code).get(code, 0)
    return render(request, "results/grid.html", {
        "cell": ctx.cell, "announce": announce, "recount": {"period": code, "count": pending},
    }, block="cell")


# --- one result ---------------------------------------------------------------------------

def _result_page(request: Request, session: Session, principal: Principal, result_id: int, *, notice: str = "",
                 errors: dict | None = None, values: dict | None = None, error: str = "", status_code: int = 200,
                 comment_typed: str = "", comment_error: str = "", file_error: str = ""):
    detail = presenters.result_detail(session, principal, result_id)
    r = detail.result
    return render(request, "results/detail.html", {
        "d": detail, "r": detail.result, "notice": RESULT_NOTICES.get(notice, ""), "errors": errors or {},
        "values": values or {}, "error": error, "statuses": presenters.STATUS_LABELS,
        # templates/results/_conversation.html (a refused comment is shown again with its error)
        "conversation": comments.conversation_view(session, principal, detail.result.id, detail.result.country,
                                                   typed=comment_typed, error=comment_error),
        # templates/results/_evidence.html (a refused upload says why beside its form)
        "evidence": evidence.section(session, principal, r.id, r.country, detail.period, r.status,
                                     max_bytes=request.app.state.settings.max_file_bytes, error=file_error,
                                     notice=request.query_params.get("file", "")),
    }, status_code=status_code)


@router.get("/results/{result_id}", name="result_page")
def result_page(request: Request, result_id: str, session: SessionDep, principal: CurrentUser, notice: str = ""):
    return _result_page(request, session, principal, parse_id(result_id, "result"), notice=notice)


def _act(request: Request, session: Session, principal: Principal, result_id: str, form, action: str):
    rid = parse_id(result_id, "result")
    results.get_result(session, principal, rid)  # 404 / 403 before anything else
    version = parse_version(form)
    text = str(form.get("note" if action == "return" else "reason", ""))[:5000]
    try:
        if action == "submit":
            results.submit(session, principal, rid, version=version)
        elif action == "approve":
            results.approve(session, principal, rid, version=version)
        elif action == "return":
            results.return_(session, principal, rid, text, version=version)
        else:
            results.reopen(session, principal, rid, text, version=version)
    except Invalid as exc:
        session.rollback()
        return _result_page(request, session, principal, rid, errors=field_errors(exc), values={action: text},
                            status_code=422)
    except Conflict as exc:
        session.rollback()
        return _result_page(request, session, principal, rid, error=f"Nothing changed: {sentence(exc.message)}",
                            values={action: text}, status_code=409)
    notice = {"submit": "submitted", "approve": "approved", "return": "returned", "reopen": "reopened"}[action]
    return RedirectResponse(f"{path_for(request, 'result_page', result_id=rid)}?notice={notice}", status_code=303)


@router.post("/results/{result_id}/submit", name="result_submit")
def submit_result(request: Request, result_id: str, session: SessionDep, principal: EditorUser, form: FormDataDep):
    return _act(request, session, principal, result_id, form, "submit")


@router.post("/results/{result_id}/approve", name="result_approve")
def approve_result(request: Request, result_id: str, session: SessionDep, principal: ReviewerUser,
                   form: FormDataDep):
    return _act(request, session, principal, result_id, form, "approve")


@router.post("/results/{result_id}/return", name="result_return")
def return_result(request: Request, result_id: str, session: SessionDep, principal: ReviewerUser,
                  form: FormDataDep):
    return _act(request, session, principal, result_id, form, "return")


@router.post("/results/{result_id}/reopen", name="result_reopen")
def reopen_result(request: Request, result_id: str, session: SessionDep, principal: ReviewerUser,
                  form: FormDataDep):
    return _act(request, session, principal, result_id, form, "reopen")

# The review queue is in mne/results/review.py.
