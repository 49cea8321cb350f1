"""The period entry form (HTML): every line of a project's period that the officer reports, as
one form — "Enter 2024Q1" on the results grid, and "My reporting" links here.

One Save writes every line typed or changed through the service of a single save
(`results.service.put_results`: the same `ResultWrite` validation and `plan_write` rules), in one
transaction: if any line is refused, nothing is written and each refused line says why beside
its fields, with everything typed shown again. Submitting is the grid's own whole-period submit.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from pydantic import ValidationError
from sqlmodel import Session

from mne.auth import scope
from mne.auth.principal import Principal
from mne.deps import EditorUser, SessionDep
from mne.errors import Conflict, Invalid
from mne.formatting import num
from mne.forms import FormDataDep, refuse_nul, sentence
from mne.results import presenters
from mne.results import service as results
from mne.results.models import AGE_LABELS, Result
from mne.results.pages import (
    VALUE_FIELDS,
    _when,
    form_of,
    grid_url,
    result_errors,
    write_body,
)
from mne.results.schemas import ResultWrite
from mne.text import clip
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

# The fields' names in words, for the list of refused lines at the top of the form.
FIELD_WORDS = {
    "": "the line", "value": "Value", "numerator": "Numerator", "denominator": "Denominator",
    "narrative": "Narrative", "means_of_verification": "Means of verification", "disaggregation": "Breakdown",
    "disaggregation.female": "Female", "disaggregation.male": "Male", "disaggregation.other": "Other",
    **{f"disaggregation.{k}": f"Aged {label}" for k, label in AGE_LABELS.items()},
}
MAX_TEXT = 10_000  # the longest field (a narrative); anything longer is cut, then refused by its own limit


def _page(request: Request, entry: presenters.PeriodEntry, *, notice: str = "", error: str = "",
          saved: bool = False, open_all: bool = False, status_code: int = 200):
    refused = [line for line in entry.lines if line.errors or line.conflict]
    return render(request, "results/period.html", {
        "entry": entry, "notice": notice, "error": error, "refused": refused, "saved": saved,
        "open_all": open_all, "autofocus": _focus(entry, refused, saved), "field_words": FIELD_WORDS,
        "overdue": sum(line.cell.overdue for line in entry.lines),
        "grid_href": grid_url(request, entry.read.code, entry.period.code),
    }, status_code=status_code)


def _value_fields(line: presenters.EntryLine) -> list[str]:
    """The fields a line shows outside its disclosure (the ones Tab goes through)."""
    return ["numerator", "denominator"] if line.cell.indicator.measure == "percentage" else ["value"]


INPUT_OF = {"means_of_verification": "mov", "disaggregation": "female"}


def _focus(entry: presenters.PeriodEntry, refused: list[presenters.EntryLine], saved: bool) -> str:
    """The id of the field to focus: the first one in error; on a fresh form the first value
    still empty (after a save, none: the Submit button is focused)."""
    if refused:
        line = refused[0]
        wrong = [k for k in line.errors if k]
        name = wrong[0].split(".")[-1] if wrong else _value_fields(line)[0]
        return f"l{line.key}-{INPUT_OF.get(name, name)}"
    if saved:
        return ""
    for line in entry.editable:
        fields = _value_fields(line)
        if not any(line.form.get(f) for f in fields):
            return f"l{line.key}-{fields[0]}"
    return ""


def _shown(entry: presenters.PeriodEntry) -> presenters.PeriodEntry:
    for line in entry.lines:
        line.form = form_of(line.cell.result)
    return entry


@router.get("/projects/{code}/results/period/{period}", name="results_period")
def period_page(request: Request, code: str, period: str, session: SessionDep, principal: EditorUser,
                saved: str = "", open: str = ""):
    project = scope.get_project_by_code(session, principal, code)
    entry = _shown(presenters.period_entry(session, principal, project, period))
    notice = ""
    if saved.isdecimal() and len(saved) < 6:
        n = int(saved)
        notice = (f"Saved {n} draft{'' if n == 1 else 's'} of {entry.period.code}. Submit them for review when "
                  "they are ready." if n else "Nothing was saved: no value was typed or changed.")
    return _page(request, entry, notice=notice, saved=bool(notice), open_all=open == "all")


def _conflict_message(session: Session, line: presenters.EntryLine, exc: Conflict) -> str:
    """What happened to a line changed or locked since the form was shown, in words."""
    current = line.cell.result
    typed = line.form.get("value") or line.form.get("numerator") or ""
    if current is None:
        return f"Not saved: {sentence(exc.message)}"
    row = session.get(Result, current.id)
    who = presenters.people(session, [row.updated_by_id]).get(row.updated_by_id) or "someone"
    now = f"{num(current.value, 2)} ({presenters.STATUS_LABELS[current.status].lower()})"
    if line.cell.locked_reason:
        lost = f" Your value, {typed}, was not saved." if typed else ""
        return (f"Not saved: {sentence(exc.message)} It now holds {now}, last changed by {who} "
                f"on {_when(row.updated_at)}.{lost}")
    yours = f"Your value, {typed}, is still in the form" if typed else "What you typed is still in the form"
    return (f"Not saved: someone else changed this result while you were editing. It now holds {now}, saved by "
            f"{who} on {_when(row.updated_at)}. {yours}: save again to replace theirs, or open the grid to keep "
            "theirs.")


@router.post("/projects/{code}/results/period/{period}", name="results_period_save")
def save_period(request: Request, code: str, period: str, session: SessionDep, principal: EditorUser,
                form: FormDataDep):
    project = scope.get_project_by_code(session, principal, code)
    entry = presenters.period_entry(session, principal, project, period)
    lines = {line.key: line for line in entry.lines}
    posted = list(dict.fromkeys(str(key)[:40] for key in form.getlist("line")))
    for key in posted:
        if key in entry.others:  # another country's line: refused as a single save refuses it (403)
            scope.ensure_can_write_line(principal, key.rpartition("-")[2])
        if key not in lines:
            raise Invalid.field("line", f"{clip(key, 40)!r} is not a line of {project.code} in {entry.period.code}")
    typed: dict[str, tuple[dict, str]] = {}
    bodies: list[ResultWrite] = []
    owners: list[str] = []
    errors: dict[str, dict] = {}
    for key in posted:
        values = {k: str(form.get(f"{key}.{k}", "")).strip()[:MAX_TEXT + 1] for k in VALUE_FIELDS}
        version = str(form.get(f"{key}.version", "")).strip()[:12]
        typed[key] = (values, version)
        if not version and not any(values.values()):
            continue  # an empty line left empty
        try:
            bodies.append(ResultWrite.model_validate(write_body(lines[key].cell, values, version)))
            owners.append(key)
        except ValidationError as exc:
            errors[key] = result_errors(exc)
    refused: dict[str, Invalid | Conflict] = {}
    error = ""
    try:
        written = results.put_results(session, principal, bodies)
    except results.Refused as exc:
        refused = {owners[n]: refusal for n, refusal in exc.errors.items()}
    except Conflict as exc:  # a result changed at the very moment of writing: nothing was written
        error = f"Nothing has been saved: {sentence(exc.message)}"
    if not (errors or refused or error):
        query = f"?saved={len(written)}"
        return RedirectResponse(path_for(request, "results_period", code=project.code, period=entry.period.code)
                                + query, status_code=303)
    session.rollback()
    return _refused_page(request, session, principal, project, entry.period.code, typed, errors, refused, error)


def _refused_page(request: Request, session: Session, principal: Principal, project, period: str,
                  typed: dict[str, tuple[dict, str]], errors: dict[str, dict],
                  refused: dict[str, Invalid | Conflict], error: str):
    """The form again, as it stands now, with what was typed in each line sent and why each
    refused line was refused."""
    entry = _shown(presenters.period_entry(session, principal, project, period))
    invalid = bool(errors) or any(isinstance(r, Invalid) for r in refused.values())
    for line in entry.lines:
        if line.key not in typed:
            continue
        line.form, line.version = typed[line.key]
        line.posted = True
        line.errors = errors.get(line.key, {})
        refusal = refused.get(line.key)
        if isinstance(refusal, Invalid):
            line.errors = result_errors(refusal)
        elif isinstance(refusal, Conflict):
            line.conflict = _conflict_message(session, line, refusal)
            if line.cell.result is not None:  # saving again is then deliberate: it replaces theirs
                line.version = str(line.cell.result.version)
    return _page(request, entry, error=error, status_code=422 if invalid else 409)
