"""Results: drafts, the review workflow, locks and optimistic concurrency (SPEC §4).

The API and the pages both call these functions, so every rule lives here once.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from sqlalchemy import Row, bindparam, func, insert, text, tuple_
from sqlalchemy import update as sql_update
from sqlalchemy.engine import Connection
from sqlmodel import Session, select

from mne import bulk, locks
from mne.audit import service as audit
from mne.audit.models import AuditEvent
from mne.audit.schemas import AuditEventRead
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import Disaggregation as DisaggregationKind
from mne.base import Measure, PeriodStatus, ResultStatus, utcnow
from mne.comments.models import CommentKind, ResultComment
from mne.errors import Conflict, DomainError, Forbidden, Invalid, Locked, NotFound
from mne.filters import Filters
from mne.indicators.models import Indicator, IndicatorTarget
from mne.progress import snapshots
from mne.projects.models import Project
from mne.reference.models import Period
from mne.reference.periods import all_periods, matching
from mne.results import quality
from mne.results.models import AGE_FIELDS, SEX_FIELDS, Result
from mne.results.schemas import (
    MAX_BULK_IDS,
    BulkApproval,
    Disaggregation,
    Flag,
    Refusal,
    ResultRead,
    ResultWrite,
    SubmitSummary,
)

EDITABLE = {ResultStatus.draft, ResultStatus.returned}
TOLERANCE = 1e-6


def _snapshot(result: Result) -> dict:
    return audit.snapshot(result, exclude=("created_at",)) or {}


def get_result(session: Session, principal: Principal, result_id: int) -> tuple[Result, Indicator]:
    """The result and its indicator: 404 when missing, 403 when outside the caller's scope."""
    row = session.exec(
        select(Result, Indicator).join(Indicator, Indicator.id == Result.indicator_id).where(Result.id == result_id)
    ).first()
    if row is None:
        raise NotFound(f"no result with id {result_id}")
    result, indicator = row
    scope.ensure_can_read_line(session, principal, indicator.project_id, result.country_iso3)
    return result, indicator


def result_history(session: Session, principal: Principal, result_id: int) -> list[AuditEventRead]:
    get_result(session, principal, result_id)
    return list(reversed(audit.history_of(session, {"result": [result_id]})))


def locked_period(session: Session, code: str) -> Period | None:
    """The period, read under its shared lock (``mne.locks``) held until commit: a write that
    found it open commits before an admin's close can, and one that comes after the close waits
    for it and sees it closed."""
    locks.period_lock(session.connection(), [code])
    return session.get(Period, code, populate_existing=True)


def _period(session: Session, code: str, *, field: str = "period") -> Period:
    period = session.get(Period, code)
    if period is None:
        raise Invalid.field(field, f"unknown reporting period {code!r}")
    return period


def in_project_dates(period: Period, project: Project) -> bool:
    """A project reports on the periods that overlap its dates."""
    return period.end_date >= project.start_date and period.start_date <= project.end_date


def why_locked(period: Period, status: str | None, action: str = "edit") -> Conflict | None:
    """Why a result in ``status`` (None: not reported yet) of ``period`` cannot take ``action`` now:
    the refusal, whose message says it in words (the pages show it as the lock's reason); None
    when it can. An approved result changes only by a reopen, a submitted one only by a review,
    and nothing changes in a closed period."""
    if status == ResultStatus.approved and action != "reopen":
        return Locked("approved and locked: a reviewer must reopen it before it can change",
                      details=[{"field": "status", "message": "approved"}])
    if period.status != PeriodStatus.open:
        return Locked(f"period {period.code} is closed: an admin must reopen it before its results change",
                      details=[{"field": "period", "message": "closed"}])
    if status == ResultStatus.submitted and action not in ("approve", "return"):
        return Conflict("submitted for review: it can change again only if a reviewer returns it",
                        details=[{"field": "status", "message": "submitted"}])
    return None


def _ensure_unlocked(period: Period, status: str | None, action: str = "edit") -> None:
    refusal = why_locked(period, status, action)
    if refusal is not None:
        raise refusal


def _check_value(indicator: Indicator, body: ResultWrite) -> float:
    """The value of a result: as given, or 100 × numerator / denominator of a percentage (SPEC §3 rev. 2)."""
    ratio = {k: getattr(body, k) for k in ("numerator", "denominator") if getattr(body, k) is not None}
    if ratio and indicator.measure != Measure.percentage:
        raise Invalid.field(next(iter(ratio)), "only a percentage indicator takes a numerator and denominator")
    if len(ratio) == 1:
        missing = "denominator" if "numerator" in ratio else "numerator"
        raise Invalid.field(missing, f"give the {missing} too, or neither")
    value = body.value
    if ratio:
        if body.numerator > body.denominator:
            raise Invalid.field("numerator", f"the numerator ({body.numerator}) cannot exceed "
                                             f"the denominator ({body.denominator})")
        computed = round(100 * body.numerator / body.denominator, 2)
        if value is None:
            value = computed
        elif abs(value - computed) > 0.01 + TOLERANCE:
            raise Invalid.field("value", f"{value:g} differs from 100 × {body.numerator} / {body.denominator} = "
                                         f"{computed:g}; leave the value out or correct it")
    if value is None:
        raise Invalid.field("value", "this is required" if indicator.measure != Measure.percentage
                            else "this is required, unless a numerator and denominator are given")
    if indicator.measure == Measure.percentage and value > 100:
        raise Invalid.field("value", "a percentage is between 0 and 100")
    return value


def _check_disaggregation(indicator: Indicator, value: float, d: Disaggregation | None) -> dict[str, float | None]:
    """The columns of a breakdown: counts that add up to the value of a `number` indicator, or each
    group's own percentage (0–100, not adding up) of a `percentage` one."""
    columns: dict[str, float | None] = {f: None for f in SEX_FIELDS + AGE_FIELDS}
    if d is None:
        return columns
    given = d.model_dump()
    sex = {k: given[k] for k in SEX_FIELDS if given[k] is not None}
    age = {k: given[k] for k in AGE_FIELDS if given[k] is not None}
    if (sex or age) and indicator.disaggregation == DisaggregationKind.none:
        raise Invalid.field("disaggregation", "this indicator is not disaggregated")
    if age and indicator.disaggregation != DisaggregationKind.sex_age:
        raise Invalid.field("disaggregation", "this indicator is disaggregated by sex only, not by age")
    if indicator.measure == Measure.percentage:
        for name, v in {**sex, **age}.items():
            if v > 100:
                field = Disaggregation.model_fields[name].alias or name
                raise Invalid.field(f"disaggregation.{field}", "a group's percentage is between 0 and 100")
        return {**columns, **sex, **age}  # each group's own percentage: they need not add up
    for label, group in (("sex", sex), ("age", age)):
        if group and not math.isclose(sum(group.values()), value, abs_tol=TOLERANCE):
            parts = " + ".join(f"{v:g}" for v in group.values())
            raise Invalid.field("disaggregation", f"values by {label} ({parts} = {sum(group.values()):g}) must add up to the value {value:g}")
    columns.update(sex)
    columns.update(age)
    return columns


@dataclass(frozen=True, slots=True)
class Write:
    """What one result write will do, decided before anything is written."""

    action: str  # CREATE, UPDATE or UNCHANGED
    indicator: Indicator
    country: str
    period: Period
    existing: Row | None  # the stored result (a row of the result table), None for a create
    values: dict  # the columns the write sets

    @property
    def line(self) -> tuple[int, str]:
        return self.indicator.id, self.country


CREATE, UPDATE, UNCHANGED = "create", "update", "unchanged"
EVENT_BATCH = 5_000
_RESULT = Result.__table__
COMPARED = ("value", *SEX_FIELDS, *AGE_FIELDS, "numerator", "denominator", "narrative", "means_of_verification")


class Known(Protocol):
    """What deciding a write reads: from the session one at a time (``SessionKnown``), or loaded
    in bulk beforehand for a whole file (``mne.imports``)."""

    def indicator(self, indicator_id: int) -> Indicator | None: ...
    def can_read_project(self, project_id: int) -> bool: ...
    def target(self, indicator_id: int, country: str) -> IndicatorTarget | None: ...
    def period(self, code: str) -> Period | None: ...
    def project(self, project_id: int) -> Project: ...
    def existing(self, indicator_id: int, country: str, period_code: str) -> Row | None: ...
    def current(self, existing: Row) -> dict | None: ...


class SessionKnown:
    def __init__(self, session: Session, principal: Principal) -> None:
        self.session, self.principal = session, principal

    def indicator(self, indicator_id: int) -> Indicator | None:
        return self.session.get(Indicator, indicator_id)

    def can_read_project(self, project_id: int) -> bool:
        return scope.can_read_project(self.session, self.principal, project_id)

    def target(self, indicator_id: int, country: str) -> IndicatorTarget | None:
        return self.session.get(IndicatorTarget, (indicator_id, country))

    def period(self, code: str) -> Period | None:
        return locked_period(self.session, code)

    def project(self, project_id: int) -> Project:
        return self.session.get(Project, project_id)

    def existing(self, indicator_id: int, country: str, period_code: str) -> Row | None:
        return self.session.connection().execute(select(_RESULT).where(
            _RESULT.c.indicator_id == indicator_id, _RESULT.c.country_iso3 == country,
            _RESULT.c.period_code == period_code)).first()

    def current(self, existing: Row) -> dict | None:
        return to_read(self.session, [self.session.get(Result, existing.id, populate_existing=True)])[0].model_dump(
            mode="json")


def same_values(existing: Row, values: dict) -> bool:
    """Whether a write would store what is already stored (numbers equal to 12 significant digits,
    as far as a CSV written by the database keeps them)."""
    for name in COMPARED:
        old, new = getattr(existing, name), values[name]
        if isinstance(old, float) and isinstance(new, (int, float)):
            if not math.isclose(old, new, rel_tol=1e-12, abs_tol=1e-12):
                return False
        elif old != new:
            return False
    return True


def plan_write(known: Known, principal: Principal, body: ResultWrite, *, keep_equal: bool = False) -> Write:
    """Decide what ``body`` does, by every rule of a result write (SPEC §4), writing nothing;
    raises the refusal otherwise. With ``keep_equal`` a body equal to the stored result is
    UNCHANGED whatever its state (an import of a file exported earlier changes nothing)."""
    indicator = known.indicator(body.indicator_id)
    if indicator is None:
        raise Invalid.field("indicator_id", f"no indicator with id {body.indicator_id}")
    country = body.country.upper()
    if not known.can_read_project(indicator.project_id):
        raise Forbidden("this project is outside your countries or donors")
    scope.ensure_can_write_line(principal, country)
    if known.target(indicator.id, country) is None:
        raise Invalid.field("country", f"{country} is not a country of this indicator")
    period = known.period(body.period)
    if period is None:
        raise Invalid.field("period", f"unknown reporting period {body.period!r}")
    project = known.project(indicator.project_id)
    if not in_project_dates(period, project):
        raise Invalid.field("period", f"{period.code} is outside the project's dates "
                                      f"({project.start_date} to {project.end_date})")
    value = _check_value(indicator, body)
    columns = _check_disaggregation(indicator, value, body.disaggregation)
    values = {"value": value, **columns, "numerator": body.numerator, "denominator": body.denominator,
              "narrative": body.narrative, "means_of_verification": body.means_of_verification}
    existing = known.existing(indicator.id, country, period.code)
    if keep_equal and existing is not None and same_values(existing, values):
        return Write(UNCHANGED, indicator, country, period, existing, values)
    _ensure_unlocked(period, existing.status if existing else None)
    if existing is None:
        if body.version is not None:
            raise Conflict("this result no longer exists; reload the page",
                           details=[{"field": "version", "message": "no such result"}])
        return Write(CREATE, indicator, country, period, None, values)
    if body.version is None:
        raise Conflict(f"a result already exists for this line and period (version {existing.version}); "
                       "send its version to update it",
                       details=[{"field": "version", "message": "required", "current": known.current(existing)}])
    if body.version != existing.version:
        current = known.current(existing)
        shown = f", value {existing.value:g}" if current is not None else ""
        raise Conflict(
            f"someone else changed this result (you had version {body.version}, it is now {existing.version}"
            f"{shown}); reload and apply your change again",
            details=[{"field": "version", "message": "stale",
                      **({"current": current} if current is not None else {})}])
    return Write(UPDATE, indicator, country, period, existing, values)


def apply_writes(session: Session, principal: Principal, writes: Sequence[Write], *, reason: str = "") -> list[int]:
    """Store planned writes in the session's transaction, in bulk: the results, one audit event
    each, and the marks that settle the summaries at commit. Returns the written results' ids
    in the order given (UNCHANGED ones included). A result changed by someone else since it was
    read is a 409 and, the transaction being rolled back, nothing is written."""
    conn = session.connection()
    now = utcnow()
    stamp = now.isoformat()
    ids: dict[int, int] = {}
    creates = [(n, w) for n, w in enumerate(writes) if w.action == CREATE]
    updates = [(n, w) for n, w in enumerate(writes) if w.action == UPDATE]
    rows: list[dict] = []
    if creates:
        rows = [{"indicator_id": w.indicator.id, "country_iso3": w.country, "period_code": w.period.code,
                 "status": ResultStatus.draft, "review_note": "", "version": 1, "created_by_id": principal.id,
                 "updated_by_id": principal.id, "created_at": now, "updated_at": now, **w.values} for _, w in creates]
        for (n, _), new_id in zip(creates, _insert_results(conn, rows), strict=True):
            ids[n] = new_id
    if updates:
        changed = {"updated_by_id": principal.id, "updated_at": now}
        statement = (sql_update(_RESULT)
                     .where(_RESULT.c.id == bindparam("b_id"), _RESULT.c.version == bindparam("b_version"))
                     .values({**{c: bindparam(f"v_{c}") for c in (*COMPARED, *changed)},
                              "version": bindparam("b_version") + 1}))
        params = [{"b_id": w.existing.id, "b_version": w.existing.version,
                   **{f"v_{c}": v for c, v in {**w.values, **changed}.items()}} for _, w in updates]
        if conn.execute(statement, params).rowcount != len(params):  # a concurrent writer won a race
            raise Conflict("someone else changed a result at the same moment; reload and try again",
                           details=[{"field": "version", "message": "stale"}])
        for n, w in updates:
            ids[n] = w.existing.id
    for n, w in enumerate(writes):
        if w.action == UNCHANGED:
            ids[n] = w.existing.id

    def events() -> Iterator[dict]:
        empty = _empty_result()
        for (n, _), row in zip(creates, rows, strict=True):
            after = audit.snapshot({**empty, **row, "id": ids[n]}, exclude=("created_at",))
            yield _event(principal, "result.create", ids[n], None, after, reason, now)
        for _, w in updates:
            before = audit.snapshot(w.existing._mapping, exclude=("created_at",))
            after = {**before, **audit.snapshot({**w.values, "updated_by_id": principal.id}),
                     "updated_at": stamp, "version": w.existing.version + 1}
            yield _event(principal, "result.update", w.existing.id, before, after, reason, now)

    # Built and stored a batch at a time: an event is a copy of its result, twice for an update.
    pending = events()
    while batch := list(islice(pending, EVENT_BATCH)):
        bulk.insert_rows(conn, AuditEvent.__table__, batch)
    if creates or updates:
        snapshots.mark_lines(session, {w.line for w in writes if w.action != UNCHANGED})
    return [ids[n] for n in range(len(writes))]


def _insert_results(conn: Connection, rows: list[dict]) -> list[int]:
    """Insert new results; returns their ids in the order of ``rows``. Many rows get their ids
    first, as the database would give them, so that they go in by COPY (PostgreSQL) or in one
    executemany (SQLite returns ids in order only one row per statement)."""
    if len(rows) < bulk.COPY_FROM:
        return list(conn.execute(insert(_RESULT).returning(_RESULT.c.id, sort_by_parameter_order=True),
                                 rows).scalars())
    if conn.dialect.name == "postgresql":  # drawn from the sequence, as the column's default draws them
        ids = sorted(conn.execute(text(
            "SELECT nextval(pg_get_serial_sequence(:table, 'id')::regclass) FROM generate_series(1, :n)"),
            {"table": _RESULT.name, "n": len(rows)}).scalars())
    else:
        # What SQLite would give: the largest id + 1, and so on. A write transaction holds the
        # write lock from its BEGIN IMMEDIATE, so no other writer can take them meanwhile (one
        # that began deferred would fail at this INSERT, its snapshot being stale, not reuse ids).
        first = (conn.execute(select(func.max(_RESULT.c.id))).scalar() or 0) + 1
        ids = list(range(first, first + len(rows)))
    for row, new_id in zip(rows, ids, strict=True):
        row["id"] = new_id
    bulk.insert_rows(conn, _RESULT, rows)
    return ids


def _empty_result() -> dict:
    """The columns of a new result that a create leaves at their defaults (for its audit event)."""
    return {c.name: None for c in _RESULT.columns}


def _event(principal: Principal, action: str, result_id: int, before: dict | None, after: dict, reason: str,
           at) -> dict:
    return {"at": at, "actor_id": principal.id, "action": action, "entity": "result", "entity_id": str(result_id),
            "before": before, "after": after, "reason": reason}


def put_result(session: Session, principal: Principal, body: ResultWrite) -> ResultRead:
    """Create a draft, or update one (with `version`). Every failure changes nothing."""
    write = plan_write(SessionKnown(session, principal), principal, body)
    [result_id] = apply_writes(session, principal, [write])
    return to_read(session, [session.get(Result, result_id, populate_existing=True)])[0]


class Refused(Exception):
    """Some writes of a batch were refused (their refusal by position in the batch); nothing of
    the batch was written."""

    def __init__(self, errors: dict[int, Invalid | Conflict]) -> None:
        super().__init__(f"{len(errors)} of the results were refused")
        self.errors = errors


def put_results(session: Session, principal: Principal, bodies: Sequence[ResultWrite]) -> list[int]:
    """Several drafts saved as one (a period's lines from its entry form): each is decided by the
    rules of `put_result`, then all are stored in the session's transaction, or, when any is
    refused, none (`Refused` names each refused body). A body equal to its stored result is left
    alone. Returns the ids of the results written. A line outside the caller's countries is a
    403 for the whole batch, as it would be for one."""
    known = SessionKnown(session, principal)
    writes: list[Write] = []
    errors: dict[int, Invalid | Conflict] = {}
    for n, body in enumerate(bodies):
        try:
            writes.append(plan_write(known, principal, body, keep_equal=True))
        except (Invalid, Conflict) as exc:  # every line is checked, so that all its errors show at once
            errors[n] = exc
    if errors:
        raise Refused(errors)
    return apply_writes(session, principal, [w for w in writes if w.action != UNCHANGED])


def _compare_and_set(session: Session, result: Result, version: int, values: dict) -> None:
    """Write only if nobody changed the result since `version` was read (409 otherwise)."""
    if version != result.version:
        current = to_read(session, [result])[0]
        raise Conflict(
            f"someone else changed this result (you had version {version}, it is now {result.version}, "
            f"value {current.value:g}); reload and apply your change again",
            details=[{"field": "version", "message": "stale", "current": current.model_dump(mode="json")}])
    statement = (sql_update(Result).where(Result.id == result.id, Result.version == version)
                 .values(**values, version=version + 1))
    if session.exec(statement).rowcount != 1:  # a concurrent writer won the race
        raise Conflict("someone else changed this result at the same moment; reload and try again",
                       details=[{"field": "version", "message": "stale"}])
    session.refresh(result)


def _transition(session: Session, principal: Principal, result_id: int, *, action: str,
                allowed_from: set[str], to: str, values: dict, reason: str = "",
                version: int | None = None) -> ResultRead:
    result, indicator = get_result(session, principal, result_id)
    period = locked_period(session, result.period_code)
    refusal = why_not(period, result.status, action, allowed_from)
    if refusal is not None:
        raise refusal
    before = _snapshot(result)
    _compare_and_set(session, result, result.version if version is None else version, {**values, "status": to})
    audit.record(session, actor_id=principal.id, action=f"result.{action}", entity="result", entity_id=result.id,
                 before=before, after=_snapshot(result), reason=reason)
    snapshots.mark_lines(session, [(result.indicator_id, result.country_iso3)])
    return to_read(session, [result])[0]


def why_not(period: Period, status: str, action: str, allowed_from: set[str]) -> Conflict | None:
    """Why a result in ``status`` cannot take the workflow ``action`` now (None when it can): one
    test for a single result (``_transition``) and for many (``approve_many``)."""
    if status not in allowed_from and status != ResultStatus.approved:  # approved: locked, below
        return Conflict(f"cannot {action} a result that is {status}",
                        details=[{"field": "status", "message": str(status)}])
    return why_locked(period, status, action)


def submit(session: Session, principal: Principal, result_id: int, version: int | None = None) -> ResultRead:
    result, _ = get_result(session, principal, result_id)
    scope.ensure_can_write_line(principal, result.country_iso3)
    now = utcnow()
    return _transition(session, principal, result_id, action="submit", allowed_from=EDITABLE,
                       to=ResultStatus.submitted, version=version,
                       values={"submitted_by_id": principal.id, "submitted_at": now, "updated_at": now,
                               # kept through returns: on-time reporting is judged by it
                               "first_submitted_at": result.first_submitted_at or now})


def ensure_reviewer(principal: Principal) -> None:
    if not principal.can_review:
        raise Forbidden(f"a {principal.role} cannot review results")


APPROVABLE = {ResultStatus.submitted}


def _approval(principal: Principal, now) -> dict:
    """What an approval writes on the result, besides its status and version."""
    return {"approved_by_id": principal.id, "approved_at": now, "reviewed_by_id": principal.id, "reviewed_at": now,
            "review_note": "", "updated_at": now}


def approve(session: Session, principal: Principal, result_id: int, version: int | None = None) -> ResultRead:
    ensure_reviewer(principal)
    return _transition(session, principal, result_id, action="approve", allowed_from=APPROVABLE,
                       to=ResultStatus.approved, version=version, values=_approval(principal, utcnow()))


def approve_many(session: Session, principal: Principal, ids: Sequence[int]) -> BulkApproval:
    """Approve many submitted results in the session's transaction, by the rules of ``approve``
    (the reviewer's role, the caller's scope per line, ``why_not``), each with its audit event
    and its line's summaries marked. Each id that cannot be approved is refused with why; the
    others are approved (not all or none). In bulk, for speed: one read, one compare-and-set
    UPDATE (a result changed since it was read is refused, not overwritten), one insert of the
    events."""
    ensure_reviewer(principal)
    ids = list(ids)
    if not ids:
        raise Invalid.field("ids", "choose at least one result")
    if len(ids) > MAX_BULK_IDS:
        raise Invalid.field("ids", f"at most {MAX_BULK_IDS} results at once, not {len(ids)}")
    conn = session.connection()
    ind = Indicator.__table__.c
    rows = {row.id: row for row in conn.execute(
        select(_RESULT, ind.project_id).join(Indicator.__table__, ind.id == _RESULT.c.indicator_id)
        .where(_RESULT.c.id.in_(sorted(set(ids)))))}
    readable = set(session.exec(select(Project.id).where(
        Project.id.in_({row.project_id for row in rows.values()}), scope.visible_projects(principal))))
    codes = sorted({row.period_code for row in rows.values()})
    locks.period_lock(conn, codes)  # held until commit, as locked_period holds one
    periods = {p.code: p for p in session.exec(
        select(Period).where(Period.code.in_(codes)).execution_options(populate_existing=True))}
    refused: list[Refusal] = []
    chosen: list[Row] = []
    seen: set[int] = set()
    for rid in ids:
        row = rows.get(rid)
        if rid in seen:
            refusal: DomainError | None = DomainError("listed more than once: approved at most once",
                                                      code="duplicate")
        elif row is None:
            refusal = NotFound(f"no result with id {rid}")
        elif not scope.can_read_line(principal, row.country_iso3):
            refusal = Forbidden(f"{row.country_iso3} is outside your countries")
        elif row.project_id not in readable:
            refusal = Forbidden("this project is outside your countries or donors")
        else:
            refusal = why_not(periods[row.period_code], row.status, "approve", APPROVABLE)
        seen.add(rid)
        if refusal is None:
            chosen.append(row)
        else:
            refused.append(Refusal(id=rid, code=refusal.code, message=refusal.message))
    if not chosen:
        return BulkApproval(approved=[], refused=refused)
    now = utcnow()
    values = {**_approval(principal, now), "status": ResultStatus.approved}
    done = set(conn.execute(
        sql_update(_RESULT)
        .where(tuple_(_RESULT.c.id, _RESULT.c.version).in_([(row.id, row.version) for row in chosen]),
               _RESULT.c.status == ResultStatus.submitted)
        .values(**values, version=_RESULT.c.version + 1)
        .returning(_RESULT.c.id)).scalars())
    for row in chosen:
        if row.id not in done:  # a concurrent review or reopen won the race
            refused.append(Refusal(id=row.id, code="conflict",
                                   message="someone else changed this result at the same moment; reload and try "
                                           "again"))
    approved = [row for row in chosen if row.id in done]
    changes = audit.snapshot(values)
    events = []
    for row in approved:
        before = audit.snapshot(row._mapping, exclude=("created_at", "project_id"))
        events.append(_event(principal, "result.approve", row.id, before,
                             {**before, **changes, "version": row.version + 1}, "", now))
    bulk.insert_rows(conn, AuditEvent.__table__, events)
    snapshots.mark_lines(session, {(row.indicator_id, row.country_iso3) for row in approved})
    for obj in list(session.identity_map.values()):  # results the session holds are stale now
        if isinstance(obj, Result) and obj.id in done:
            session.expire(obj)
    order = {rid: n for n, rid in enumerate(ids)}
    return BulkApproval(approved=[row.id for row in approved],
                        refused=sorted(refused, key=lambda r: order[r.id]))


def return_(session: Session, principal: Principal, result_id: int, note: str, version: int | None = None) -> ResultRead:
    ensure_reviewer(principal)
    if not note.strip():
        raise Invalid.field("note", "say what needs to change")
    now = utcnow()
    read = _transition(session, principal, result_id, action="return", allowed_from={ResultStatus.submitted},
                       to=ResultStatus.returned, reason=note.strip(), version=version,
                       values={"review_note": note.strip(), "reviewed_by_id": principal.id, "reviewed_at": now,
                               "updated_at": now})
    _open_round(session, principal, result_id, CommentKind.returned, note.strip(), now)
    return read


def _open_round(session: Session, principal: Principal, result_id: int, kind: str, note: str, at) -> None:
    """A return or reopen note opens a new round of the result's conversation (the review note
    keeps only the latest; the conversation keeps them all)."""
    session.add(ResultComment(result_id=result_id, kind=kind, text=note, author_id=principal.id, created_at=at))


def reopen(session: Session, principal: Principal, result_id: int, reason: str, version: int | None = None) -> ResultRead:
    ensure_reviewer(principal)
    if not reason.strip():
        raise Invalid.field("reason", "say why the approved result must change")
    now = utcnow()
    read = _transition(session, principal, result_id, action="reopen", allowed_from={ResultStatus.approved},
                       to=ResultStatus.returned, reason=reason.strip(), version=version,
                       values={"review_note": reason.strip(), "reviewed_by_id": principal.id, "reviewed_at": now,
                               "approved_at": None, "approved_by_id": None, "updated_at": now})
    _open_round(session, principal, result_id, CommentKind.reopened, reason.strip(), now)
    return read


def submit_period(session: Session, principal: Principal, project: Project, period_code: str,
                  country: str | None = None) -> SubmitSummary:
    """Submit every draft (and corrected returned result) of a project's period in the caller's countries."""
    period = _period(session, period_code)
    _ensure_unlocked(period, None, "submit")
    if principal.role != "country_officer":
        raise Forbidden(f"a {principal.role} cannot submit results")
    writable = scope.line_countries(principal, write=True)
    countries = sorted(writable if country is None else {country.upper()} & writable)
    if country is not None and not countries:
        raise Forbidden(f"{country} is outside your countries")
    rows = list(session.exec(
        select(Result.id).join(Indicator, Indicator.id == Result.indicator_id)
        .where(*_submittable(project, countries), Result.period_code == period.code).order_by(Result.id)))
    submitted = [submit(session, principal, rid).id for rid in rows]
    return SubmitSummary(submitted=submitted, skipped=0)


def _submittable(project: Project, countries) -> list:
    """WHERE conditions (over Result joined to Indicator) on what `submit_period` submits."""
    return [Indicator.project_id == project.id, Result.country_iso3.in_(sorted(countries)),
            Result.status.in_(list(EDITABLE))]


def submittable_counts(session: Session, principal: Principal, project: Project,
                       period_code: str | None = None) -> dict[str, int]:
    """How many results `submit_period` would submit now, by period (one period with
    ``period_code``): the drafts and returned results of the project in the caller's countries.
    The Submit buttons show it."""
    countries = scope.line_countries(principal, write=True)
    query = (select(Result.period_code, func.count()).join(Indicator, Indicator.id == Result.indicator_id)
             .where(*_submittable(project, countries)).group_by(Result.period_code))
    if period_code is not None:
        query = query.where(Result.period_code == period_code)
    return dict(session.exec(query).all()) if countries else {}


def to_read(session: Session, results: list[Result]) -> list[ResultRead]:
    """Read shapes with data-quality flags, computed from each line's earlier values."""
    if not results:
        return []
    indicator_ids = {r.indicator_id for r in results}
    indicators = {i.id: i for i in session.exec(select(Indicator).where(Indicator.id.in_(indicator_ids)))}
    projects = dict(session.exec(select(Project.id, Project.code).where(
        Project.id.in_({i.project_id for i in indicators.values()}))).all())
    periods = {p.code: p for p in session.exec(select(Period))}
    targets = {(t.indicator_id, t.country_iso3): t.target for t in session.exec(
        select(IndicatorTarget).where(IndicatorTarget.indicator_id.in_(indicator_ids)))}
    line_values: dict[tuple[int, str], list[tuple]] = defaultdict(list)
    for ind_id, country, period_code, value in session.exec(
            select(Result.indicator_id, Result.country_iso3, Result.period_code, Result.value)
            .where(Result.indicator_id.in_(indicator_ids))):
        line_values[(ind_id, country)].append((periods[period_code].start_date, value))
    out = []
    for r in results:
        ind = indicators[r.indicator_id]
        start = periods[r.period_code].start_date
        earlier = [v for s, v in sorted(line_values[(r.indicator_id, r.country_iso3)]) if s < start]
        flags = quality.flags_for(value=r.value, earlier=earlier, measure=ind.measure, aggregation=ind.aggregation,
                                  target=targets.get((r.indicator_id, r.country_iso3)),
                                  first_submitted_at=r.first_submitted_at or r.submitted_at,
                                  due_date=periods[r.period_code].due_date)
        disaggregated = {f: getattr(r, f) for f in SEX_FIELDS + AGE_FIELDS}
        out.append(ResultRead(
            id=r.id, indicator_id=r.indicator_id, indicator_code=ind.code, project_code=projects[ind.project_id],
            country=r.country_iso3, period=r.period_code, value=r.value,
            disaggregation=Disaggregation(**disaggregated) if any(v is not None for v in disaggregated.values()) else None,
            numerator=r.numerator, denominator=r.denominator,
            narrative=r.narrative, means_of_verification=r.means_of_verification, status=r.status,
            review_note=r.review_note, version=r.version, created_at=r.created_at, updated_at=r.updated_at,
            submitted_at=r.submitted_at, first_submitted_at=r.first_submitted_at, approved_at=r.approved_at,
            flags=[Flag(code=f.code, message=f.message) for f in flags],
        ))
    return out


def list_results(session: Session, principal: Principal, *, filters: Filters = Filters(), period: str | None = None,
                 status: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[ResultRead], int]:
    from sqlalchemy import func

    conditions = [scope.visible_projects(principal), *scope.line_clause(principal, Result.country_iso3),
                  filters.line_clause(Result.country_iso3)]
    if period:
        quarters = matching(all_periods(session), period, field="period")
        conditions.append(Result.period_code.in_([p.code for p in quarters]))
    if status:
        statuses = [s.strip() for s in status.split(",") if s.strip()]
        unknown = [s for s in statuses if s not in ResultStatus.__members__]
        if unknown:
            raise Invalid.field("status", f"unknown status {', '.join(unknown)}; one of {', '.join(ResultStatus)}")
        conditions.append(Result.status.in_(statuses))
    base = (select(Result).join(Indicator, Indicator.id == Result.indicator_id)
            .join(Project, Project.id == Indicator.project_id).where(*conditions))
    total = session.exec(select(func.count()).select_from(base.subquery())).one()
    rows = list(session.exec(base.order_by(Project.code, Indicator.code, Result.country_iso3, Result.period_code)
                             .offset(offset).limit(limit)))
    return to_read(session, rows), total
