"""The review queue (HTML): submitted results a page at a time, each row with what a reviewer
needs to decide without opening it — the line's target, its previous value, its progress
before and after this value, the narrative, the data-quality flags, the evidence files and the
conversation in short — and the actions: approve or return one, or approve the rows selected
(or every unflagged one of the page) at once.

The figures are the services' own: rows from `results.service.list_results` (scope, flags),
progress from the rules the dashboard uses (`progress.snapshots.load_lines`,
`progress.rules.evaluate_line`), files from `evidence.service.files_for`, the conversation from
`comments.service.comments_for`; approvals through `results.service.approve`, `return_` and
`approve_many`. A page's context is read in a few batched queries, never one per row.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse
from sqlmodel import Session, select

from mne.auth.principal import Principal
from mne.base import ResultStatus
from mne.comments import service as comments
from mne.comments.schemas import CommentRead
from mne.deps import ReviewerUser, SessionDep
from mne.errors import Conflict, Invalid
from mne.evidence import service as evidence
from mne.evidence.schemas import EvidenceFileRead
from mne.filters import Filters
from mne.forms import (
    FormDataDep,
    field_errors,
    parse_id,
    parse_page,
    parse_version,
    refuse_nul,
    safe_next,
    sentence,
)
from mne.htmx import htmx
from mne.indicators.models import Indicator
from mne.progress import snapshots
from mne.progress.rules import LineProgress, LineResult, evaluate_line
from mne.projects.models import Project
from mne.reference import service as reference
from mne.reference.periods import all_periods
from mne.reference.schemas import CountryRead
from mne.results import service as results
from mne.results.models import Result
from mne.results.presenters import people
from mne.results.schemas import MAX_BULK_IDS, BulkApproval, ResultRead
from mne.web import path_for, render

router = APIRouter(include_in_schema=False, dependencies=[Depends(refuse_nul)])

QUEUE_PAGE = 50
# The flag filter reads the flags of every waiting result that matches the other filters (they
# are computed, not stored): at most this many, the oldest first past it.
FLAG_SCAN = 20_000
FLAG_FILTERS = {"flagged": "Flagged only", "unflagged": "Unflagged only"}
REFUSAL_WORDS = {"not_found": "it no longer exists", "forbidden": "it is outside your scope",
                 "conflict": "it is no longer waiting for review, or someone changed it meanwhile",
                 "locked": "it is approved already, or its period is closed", "duplicate": "it was listed twice"}


# --- what each row shows --------------------------------------------------------------------

@dataclass
class QueueItem:
    result: ResultRead
    statement: str
    measure: str
    disaggregation: str
    project_title: str
    country: CountryRead
    submitted_by: str | None
    submitted_at: datetime | None
    baseline: float | None = None
    target: float | None = None
    project_end: object = None
    milestone: float | None = None  # the line's period target for this period, when it has one
    previous: LineResult | None = None  # the line's latest result of an earlier period
    before: LineProgress | None = None  # the line as of this period, as it stands
    after: LineProgress | None = None  # the same, once this value is approved
    files: list[EvidenceFileRead] = field(default_factory=list)
    comments: list[CommentRead] = field(default_factory=list)
    done: str = ""  # what the reviewer just did, in words
    errors: dict = field(default_factory=dict)
    note: str = ""

    @property
    def label(self) -> str:
        r = self.result
        return f"{r.project_code} {r.indicator_code}, {self.country.name}, {r.period}"

    @property
    def flagged(self) -> bool:
        return bool(self.result.flags)

    @property
    def waiting(self) -> bool:
        return self.result.status == ResultStatus.submitted and not self.done


def queue_items(session: Session, reads: list[ResultRead]) -> list[QueueItem]:
    """The rows of these results with their context, in a few queries for all of them."""
    if not reads:
        return []
    ids = [r.id for r in reads]
    submitters = dict(session.exec(select(Result.id, Result.submitted_by_id).where(Result.id.in_(ids))).all())
    names = people(session, submitters.values())
    inds = {i.id: i for i in session.exec(select(Indicator).where(Indicator.id.in_({r.indicator_id for r in reads})))}
    titles = dict(session.exec(select(Project.code, Project.title).where(
        Project.code.in_({r.project_code for r in reads}))).all())
    countries = {c.iso3: c for c in reference.countries(session)}
    periods = all_periods(session)
    by_code = {p.code: p for p in periods}
    # Each line with all its results and milestones, as the summaries read it.
    lines = {(loaded.line.indicator_id, loaded.line.country): loaded.line for loaded in snapshots.load_lines(
        session.connection(), list(inds), periods, countries={(r.indicator_id, r.country) for r in reads})}
    files = evidence.files_for(session, ids)
    conversation = comments.comments_for(session, ids)
    items = []
    for r in reads:
        ind = inds[r.indicator_id]
        item = QueueItem(result=r, statement=ind.statement, measure=ind.measure, disaggregation=ind.disaggregation,
                         project_title=titles.get(r.project_code, ""), country=countries[r.country],
                         submitted_by=names.get(submitters.get(r.id)), submitted_at=r.submitted_at,
                         files=files.get(r.id, []), comments=conversation.get(r.id, []))
        line = lines.get((r.indicator_id, r.country))
        if line is not None:
            _add_progress(item, line, by_code[r.period], periods)
        items.append(item)
    return items


def _add_progress(item: QueueItem, line, period, periods) -> None:
    """The line's target, previous value, and its figures as of this period before and after
    this value is approved: the dashboard's own computation (`rules.evaluate_line`)."""
    rid = item.result.id
    item.baseline, item.target, item.project_end = line.baseline, line.target, line.project_end
    item.milestone = next((t for p, t in line.period_targets if p.code == period.code), None)
    earlier = [x for x in line.results if x.period.end < period.start and x.result_id != rid]
    item.previous = max(earlier, key=lambda x: (x.period.end, x.period.code), default=None)
    item.before = evaluate_line(line, period, periods=periods)
    approved = replace(line, results=tuple(replace(x, status=ResultStatus.approved.value) if x.result_id == rid
                                           else x for x in line.results))
    item.after = evaluate_line(approved, period, periods=periods)


def review_queue(session: Session, principal: Principal, *, filters: Filters, period: str | None, page: int,
                 flags: str = "") -> tuple[list[QueueItem], int]:
    """Submitted results awaiting review, a page at a time (and how many match in all);
    ``flags`` keeps only the flagged or the unflagged ones."""
    if flags not in FLAG_FILTERS:
        reads, total = results.list_results(session, principal, filters=filters, period=period,
                                            status=ResultStatus.submitted, limit=QUEUE_PAGE,
                                            offset=(page - 1) * QUEUE_PAGE)
        return queue_items(session, reads), total
    reads, _ = results.list_results(session, principal, filters=filters, period=period,
                                    status=ResultStatus.submitted, limit=FLAG_SCAN)
    kept = [r for r in reads if bool(r.flags) == (flags == "flagged")]
    return queue_items(session, kept[(page - 1) * QUEUE_PAGE:page * QUEUE_PAGE]), len(kept)


def queue_item(session: Session, principal: Principal, result_id: int) -> QueueItem:
    row, _ = results.get_result(session, principal, result_id)
    results.ensure_reviewer(principal)
    return queue_items(session, results.to_read(session, [row]))[0]


# --- the page -------------------------------------------------------------------------------

QUEUE_NOTICES = {"approved": "The result has been approved.", "returned": "The result has been returned with your note."}
PARAMS = ("country", "subregion", "period", "project", "flags")


def _queue_params(country: str, subregion: str, period: str, project: str, flags: str) -> dict[str, str]:
    return {"country": country.strip().upper()[:3], "subregion": subregion.strip()[:4],
            "period": period.strip().upper()[:8], "project": project.strip()[:32],
            "flags": flags if flags in FLAG_FILTERS else ""}


def _filters(params: dict[str, str]) -> Filters:
    return Filters(country=(params["country"],) if params["country"] else (),
                   subregion=(params["subregion"],) if params["subregion"] else (),
                   project=(params["project"],) if params["project"] else ())


def _queue_url(request: Request, params: dict[str, str], page: int = 1, **extra) -> str:
    kept = {k: v for k, v in params.items() if v}
    query = urlencode({**kept, **({"page": page} if page > 1 else {}), **extra})
    return path_for(request, "review_queue") + (f"?{query}" if query else "")


def bulk_notice(summary: BulkApproval) -> str:
    """What a bulk approval did, in words: how many approved, and each refusal with its reason."""
    n = len(summary.approved)
    text = f"Approved {n} result{'' if n == 1 else 's'}."
    if summary.refused:
        k = len(summary.refused)
        reasons = "; ".join(f"result {r.id}: {r.message}" for r in summary.refused[:10])
        more = f"; and {k - 10} more" if k > 10 else ""
        text += f" {k} refused — {reasons}{more}."
    return text


def _notice_from_query(request: Request) -> str:
    """The notice after a redirect: a single action's, or a bulk approval's counts and refusals
    (ids and codes only: the reasons are written here, never taken from the address)."""
    q = request.query_params
    if q.get("notice") == "bulk":
        approved = q.get("approved", "0")
        n = int(approved) if approved.isdecimal() and len(approved) < 7 else 0
        refused = []
        for part in q.get("refused", "").split(","):
            rid, _, code = part.partition(":")
            if rid.isdecimal() and len(rid) < 12 and code in REFUSAL_WORDS:
                refused.append(f"result {rid}: {REFUSAL_WORDS[code]}")
        text = f"Approved {n} result{'' if n == 1 else 's'}."
        if refused:
            text += f" {len(refused)} refused — {'; '.join(refused)}."
        return text
    return QUEUE_NOTICES.get(q.get("notice", ""), "")


def _queue_page(request: Request, session: Session, principal: Principal, params: dict[str, str], page: int, *,
                notice: str = "", error: str = "", item_errors: dict | None = None, select: str = "",
                status_code: int = 200):
    errors: dict[str, str] = {}
    try:
        items, total = review_queue(session, principal, filters=_filters(params), period=params["period"] or None,
                                    page=page, flags=params["flags"])
    except Invalid as exc:  # a period filter that names no period
        items, total, errors, status_code = [], 0, field_errors(exc), 422
    if error:
        errors[""] = error
    for item in items:
        if item_errors and item.result.id in item_errors:
            item.errors, item.note = item_errors[item.result.id]
    kept = {k: v for k, v in params.items() if v}
    here = _queue_url(request, params, page)
    countries = {c.iso3: c for c in reference.countries(session)}
    response = render(request, "results/review.html", {
        "items": items, "total": total, "page": page, "pages": max(1, -(-total // QUEUE_PAGE)),
        "params": params, "filtered": bool(kept), "errors": errors, "here": here,
        "page_url": lambda n: _queue_url(request, params, n),
        "select_url": _queue_url(request, params, page, select="unflagged"),
        "selected": {i.result.id for i in items if i.waiting and not i.flagged} if select == "unflagged" else set(),
        "unflagged": sum(1 for i in items if i.waiting and not i.flagged),
        "countries": countries, "subregions": reference.subregions(session), "flag_filters": FLAG_FILTERS,
        "periods": list(reversed(reference.periods(session))), "notice": notice, "max_ids": MAX_BULK_IDS,
    }, status_code=status_code, block="queue")
    return htmx(request).push_url(response, here)  # the clean URL of this view, to bookmark


@router.get("/review", name="review_queue")
def review_queue_page(request: Request, session: SessionDep, principal: ReviewerUser, country: str = "",
                      subregion: str = "", period: str = "", project: str = "", flags: str = "", page: str = "1",
                      select: str = ""):
    return _queue_page(request, session, principal, _queue_params(country, subregion, period, project, flags),
                       parse_page(page), notice=_notice_from_query(request), select=select)


def _queue_state(request: Request, back: str) -> tuple[str, dict[str, str], int]:
    """The queue page a form came from: its URL (without a notice), filters and page."""
    queue = path_for(request, "review_queue")
    _, _, query = safe_next(back or queue).partition("?")
    q = {k: v[0] for k, v in parse_qs(query).items()}
    params = _queue_params(*(q.get(k, "") for k in PARAMS))
    page = parse_page(q.get("page", ""))
    return _queue_url(request, params, page), params, page


@router.post("/review/approve", name="review_approve_selected")
def approve_selected(request: Request, session: SessionDep, principal: ReviewerUser, form: FormDataDep):
    """Approve the rows a reviewer ticked, in one action (`results.service.approve_many`)."""
    back, params, page = _queue_state(request, str(form.get("next", "")))
    raw = [str(v) for v in form.getlist("ids")]
    if any(not (v.isascii() and v.isdigit() and len(v) < 10) for v in raw):
        return _queue_page(request, session, principal, params, page, status_code=422,
                           error="The selection holds something that is not a result: reload the page.")
    try:
        summary = results.approve_many(session, principal, [int(v) for v in raw])
    except Invalid as exc:  # nothing chosen, or too many at once
        session.rollback()
        return _queue_page(request, session, principal, params, page, status_code=422,
                           error=sentence(exc.details[0]["message"] if exc.details else exc.message))
    if htmx(request).wants_fragment:  # the queue as it is now: its count is of what is left
        return _queue_page(request, session, principal, params, page, notice=bulk_notice(summary))
    refused = ",".join(f"{r.id}:{r.code}" for r in summary.refused[:10])
    query = urlencode({"notice": "bulk", "approved": len(summary.approved), **({"refused": refused} if refused else {})})
    return RedirectResponse(f"{back}{'&' if '?' in back else '?'}{query}", status_code=303)


def _review(request: Request, session: Session, principal: Principal, result_id: str, form, action: str):
    rid = parse_id(result_id, "result")
    queue_item(session, principal, rid)  # 404 / 403 first
    version = parse_version(form)
    note = str(form.get("note", ""))[:5000]
    back, params, page = _queue_state(request, str(form.get("next", "")))
    try:
        if action == "approve":
            results.approve(session, principal, rid, version=version)
        else:
            results.return_(session, principal, rid, note, version=version)
    except (Invalid, Conflict) as exc:
        session.rollback()
        errors = field_errors(exc) if isinstance(exc, Invalid) else {"": f"Nothing changed: {sentence(exc.message)}"}
        if not htmx(request).wants_fragment:
            return _queue_page(request, session, principal, params, page, item_errors={rid: (errors, note)},
                               status_code=exc.status_code)
        item = queue_item(session, principal, rid)
        item.errors, item.note = errors, note
        return render(request, "results/review.html", {"item": item, "here": back}, status_code=exc.status_code,
                      block="row")
    done = "approved" if action == "approve" else "returned"
    if not htmx(request).wants_fragment:
        return RedirectResponse(f"{back}{'&' if '?' in back else '?'}notice={done}", status_code=303)
    item = queue_item(session, principal, rid)
    item.done = ("Approved: the result is now locked." if action == "approve"
                 else "Returned to the officer with your note.")
    _, left = review_queue(session, principal, filters=_filters(params), period=params["period"] or None, page=1,
                           flags=params["flags"])
    # The row, and the queue's count swapped out of band: it goes down as rows are reviewed.
    return render(request, "results/review.html", {"item": item, "here": back, "oob_total": left,
                                                   "filtered": any(params.values())}, block="row")


@router.post("/review/{result_id}/approve", name="review_approve")
def review_approve(request: Request, result_id: str, session: SessionDep, principal: ReviewerUser,
                   form: FormDataDep):
    return _review(request, session, principal, result_id, form, "approve")


@router.post("/review/{result_id}/return", name="review_return")
def review_return(request: Request, result_id: str, session: SessionDep, principal: ReviewerUser,
                  form: FormDataDep):
    return _review(request, session, principal, result_id, form, "return")
