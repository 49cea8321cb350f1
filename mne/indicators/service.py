"""Indicators: the rules of SPEC §3 checked in one place, writes with audit, reads."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from pydantic import ValidationError
from sqlmodel import Session, delete, select

from mne.audit import service as audit
from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import (Aggregation, Direction, Disaggregation, Level, Measure, ReportingFrequency, ResultStatus, Role,
                      utcnow)
from mne.errors import Forbidden, Invalid, Locked, NotFound
from mne.indicators.models import Indicator, IndicatorTarget, PeriodTarget
from mne.indicators.schemas import IndicatorCreate, IndicatorRead, IndicatorUpdate, LineTarget, PeriodTargetIn
from mne.progress import snapshots
from mne.projects.models import Project, ProjectCountry, ProjectPriority
from mne.reference.models import Period, StandardIndicator
from mne.results.models import Result

# What an approved result was measured against: these never change once one exists (SPEC §3 rev. 2).
LOCKED_FIELDS = ("measure", "aggregation", "direction", "disaggregation", "reporting_frequency", "standard_indicator")
TOLERANCE = 1e-9


@dataclass(frozen=True)
class Unchecked:
    """A line the schema refused (its target is not a number, say): the rules skip it, but it
    is still one of the lines sent (see `problems_beside_schema`)."""
    country: str


def validate(session: Session, project: Project, data: dict, *, indicator_id: int | None) -> list[dict]:
    """Every problem of an indicator, each naming its field (SPEC §3 rules).

    A field that is None (one the schema refused, see `problems_beside_schema`) skips the rules
    that read it, as does a line given as `Unchecked` or a period target given as None."""
    problems: list[dict] = []

    def bad(field: str, message: str) -> None:
        problems.append({"field": field, "message": message})

    def known(*fields: str) -> bool:
        return all(data.get(f) is not None for f in fields)

    if known("aggregation", "direction") and data["aggregation"] == Aggregation.sum and data["direction"] != Direction.increase:
        bad("direction", "a sum indicator (a flow that adds up) must be 'increase'")
    if known("measure", "aggregation") and data["measure"] == Measure.percentage and data["aggregation"] != Aggregation.latest:
        bad("aggregation", "a percentage indicator must be 'latest' (percentages are not summed)")
    priorities = set(session.exec(select(ProjectPriority.priority_code).where(ProjectPriority.project_id == project.id)))
    if known("priority") and data["priority"] not in priorities:
        bad("priority", f"must be one of the project's priorities ({', '.join(sorted(priorities))})")
    standard = session.get(StandardIndicator, data["standard_indicator"]) if data.get("standard_indicator") else None
    if data.get("standard_indicator") and standard is None:
        bad("standard_indicator", f"unknown standard indicator {data['standard_indicator']!r}")
    elif standard is not None and known("priority") and standard.priority_code != data["priority"]:
        bad("standard_indicator", f"{standard.code} is a standard indicator of {standard.priority_code}, "
                                  f"not of the indicator's priority {data['priority']}")
    elif standard is not None and known("measure") and standard.measure != data["measure"]:
        bad("standard_indicator", f"{standard.code} is measured as a {standard.measure}, "
                                  f"this indicator as a {data['measure']}")
    owner = session.exec(select(Indicator.id).where(Indicator.project_id == project.id,
                                                    Indicator.code == data["code"])).first() if known("code") else None
    if owner is not None and owner != indicator_id:
        bad("code", f"{data['code']} is already used by another indicator of this project")
    countries = set(session.exec(select(ProjectCountry.country_iso3).where(ProjectCountry.project_id == project.id)))
    periods = {p.code: p for p in session.exec(select(Period))}
    first = min(periods.values(), key=lambda p: (p.start_date, p.code), default=None)
    seen: set[str] = set()
    for i, t in enumerate(data["targets"]):
        field = f"targets.{i}"
        if isinstance(t, Unchecked):
            seen.add(t.country)
            continue
        if t.country not in countries:
            bad(f"{field}.country", f"{t.country} is not one of the project's countries ({', '.join(sorted(countries))})")
        if t.country in seen:
            bad(f"{field}.country", f"{t.country} has two targets")
        seen.add(t.country)
        if data["measure"] == Measure.percentage and (t.baseline > 100 or t.target > 100):
            bad(f"{field}.target", "a percentage is between 0 and 100")
        if data["aggregation"] == Aggregation.sum and t.target <= 0:
            bad(f"{field}.target", "a sum target must be greater than 0")
        if data["aggregation"] == Aggregation.latest:
            if t.target == t.baseline:
                bad(f"{field}.target", "a latest target must differ from its baseline")
            elif data["direction"] == Direction.increase and t.target < t.baseline:
                bad(f"{field}.target", "an increasing indicator's target must be above its baseline")
            elif data["direction"] == Direction.decrease and t.target > t.baseline:
                bad(f"{field}.target", "a decreasing indicator's target must be below its baseline")
        if t.opening_actual:  # a negative one is refused by the schema
            if data["aggregation"] is None:
                pass
            elif data["aggregation"] != Aggregation.sum:
                bad(f"{field}.opening_actual", "only a sum line has an opening actual "
                                               "(a latest line's actual is its latest value)")
            elif first is None or project.start_date >= first.start_date:
                since = f" ({first.code}, from {first.start_date})" if first else ""
                bad(f"{field}.opening_actual", "only a project that began before the first reporting period"
                                               f"{since} has an opening actual")
    if indicator_id is not None:
        reported = set(session.exec(select(Result.country_iso3).where(Result.indicator_id == indicator_id)))
        for country in sorted(reported - seen):
            bad("targets", f"{country} already has results on this indicator; its target cannot be removed")
    seen_pt: set[tuple[str, str]] = set()
    for i, pt in enumerate(data["period_targets"]):
        field = f"period_targets.{i}"
        if pt is None:
            continue
        if pt.country not in seen:
            bad(f"{field}.country", f"{pt.country} has no life-of-project target on this indicator")
        period = periods.get(pt.period)
        if period is None:
            bad(f"{field}.period", f"unknown reporting period {pt.period!r}")
        elif period.end_date < project.start_date or period.start_date > project.end_date:
            bad(f"{field}.period", f"{pt.period} is outside the project's dates")
        if (pt.country, pt.period) in seen_pt:
            bad(f"{field}.period", f"{pt.country} {pt.period} has two targets")
        seen_pt.add((pt.country, pt.period))
        if data["measure"] == Measure.percentage and pt.target > 100:
            bad(f"{field}.target", "a percentage is between 0 and 100")
    _check_period_targets(data, periods, bad)
    return problems


def _check_period_targets(data: dict, periods: dict[str, Period], bad) -> None:
    """Period targets agree with their line: a sum's add up to at most its target; a latest's each
    lie between its baseline and target."""
    lines = {t.country: t for t in data["targets"] if not isinstance(t, Unchecked)}
    by_line: dict[str, list[tuple[Period, int]]] = defaultdict(list)
    for i, pt in enumerate(data["period_targets"]):
        line = lines.get(pt.country) if pt is not None else None
        if line is None or pt.period not in periods or data["aggregation"] is None:
            continue  # reported above, or refused by the schema
        if data["aggregation"] == Aggregation.latest:
            low, high = sorted((line.baseline, line.target))
            if not low - TOLERANCE <= pt.target <= high + TOLERANCE:
                bad(f"period_targets.{i}.target",
                    f"{pt.country} {pt.period}: a period target of a latest line lies between its baseline "
                    f"{line.baseline:g} and its target {line.target:g}")
        else:
            by_line[pt.country].append((periods[pt.period], i))
    for country, entries in by_line.items():
        total, limit = 0.0, lines[country].target
        for period, i in sorted(entries, key=lambda e: (e[0].start_date, e[0].code)):
            total += data["period_targets"][i].target
            if total > limit + TOLERANCE:
                bad(f"period_targets.{i}.target", f"{country}'s period targets add up to {total:g} by {period.code}, "
                                                  f"more than the line's target of {limit:g}")
                break


KINDS = {"level": Level, "measure": Measure, "aggregation": Aggregation, "direction": Direction,
         "disaggregation": Disaggregation, "reporting_frequency": ReportingFrequency}


def problems_beside_schema(session: Session, project: Project, raw: dict, refused: Iterable[tuple],
                           *, before: IndicatorRead | None = None) -> list[dict]:
    """The rules' problems with the parts of an indicator body the schema accepted, when it
    refused others: a form shows every error in one round, instead of the rules' only once the
    schema's are fixed (three submits to see them all, as issue 14 found).

    ``raw`` is the body as sent (a create, or an update of ``before``), ``refused`` the locations
    of the schema's errors (pydantic's ``loc``). A refused field is None to `validate`, so the
    rules that read it are skipped and nothing is reported twice."""
    refused = [tuple(loc) for loc in refused]
    top = {loc[0] for loc in refused if loc}
    rows = {loc[:2] for loc in refused if len(loc) > 1 and isinstance(loc[1], int)}
    was = before.model_dump() if before is not None else {
        "level": Level.outcome, "measure": Measure.number, "aggregation": None, "direction": Direction.increase,
        "disaggregation": Disaggregation.none, "reporting_frequency": ReportingFrequency.quarterly}

    def given(field: str):
        if field in top:
            return None
        value = raw.get(field) if field in raw else was.get(field)
        return value.strip() or None if isinstance(value, str) else value

    data: dict = {f: given(f) for f in ("code", "priority", "standard_indicator")}
    for field, kind in KINDS.items():
        value = given(field)
        data[field] = kind(value) if value in set(kind) else None
    if data["aggregation"] is None and "aggregation" not in top and data["measure"] is not None:
        if before is None or ("measure" in raw and data["measure"] == Measure.percentage):
            # the schema's default for a new indicator, and `update`'s for a change to a percentage
            data["aggregation"] = Aggregation.latest if data["measure"] == Measure.percentage else Aggregation.sum
        else:
            data["aggregation"] = before.aggregation

    def lines(field: str, model, stored: list) -> list:
        """The list's items in place (indexes name the rows in the messages); a refused item is
        an `Unchecked` line or a None period target."""
        if field not in raw:
            return list(stored)
        if not isinstance(raw[field], list):
            return []
        out = []
        for i, row in enumerate(raw[field]):
            try:
                if (field, i) in rows:
                    raise ValueError(i)
                out.append(model.model_validate(row))
            except (ValueError, ValidationError):
                country = row.get("country") if isinstance(row, dict) else None
                out.append(Unchecked(country if isinstance(country, str) else "") if field == "targets" else None)
        return out

    data["targets"] = lines("targets", LineTarget, before.targets if before else [])
    data["period_targets"] = lines("period_targets", PeriodTargetIn, before.period_targets if before else [])
    return validate(session, project, data, indicator_id=before.id if before else None)


def read_many(session: Session, indicators: list[Indicator], project_code: str | None = None) -> list[IndicatorRead]:
    ids = [i.id for i in indicators]
    targets: dict[int, list[LineTarget]] = defaultdict(list)
    period_targets: dict[int, list[PeriodTargetIn]] = defaultdict(list)
    codes: dict[int, str] = {}
    if ids:
        for t in session.exec(select(IndicatorTarget).where(IndicatorTarget.indicator_id.in_(ids))
                              .order_by(IndicatorTarget.country_iso3)):
            targets[t.indicator_id].append(LineTarget(country=t.country_iso3, baseline=t.baseline, target=t.target,
                                                      opening_actual=t.opening_actual))
        for t in session.exec(select(PeriodTarget).where(PeriodTarget.indicator_id.in_(ids))
                              .order_by(PeriodTarget.country_iso3, PeriodTarget.period_code)):
            period_targets[t.indicator_id].append(PeriodTargetIn(country=t.country_iso3, period=t.period_code, target=t.target))
        if project_code is None:
            project_ids = {i.project_id for i in indicators}
            codes = dict(session.exec(select(Project.id, Project.code).where(Project.id.in_(project_ids))).all())
    return [
        IndicatorRead(
            id=i.id, project_code=project_code or codes[i.project_id], code=i.code, statement=i.statement,
            level=i.level, priority=i.priority_code, measure=i.measure, aggregation=i.aggregation,
            direction=i.direction, disaggregation=i.disaggregation, reporting_frequency=i.reporting_frequency,
            standard_indicator=i.standard_indicator_code, targets=targets[i.id], period_targets=period_targets[i.id],
        )
        for i in indicators
    ]


def read(session: Session, indicator: Indicator) -> IndicatorRead:
    return read_many(session, [indicator])[0]


def list_for_project(session: Session, principal: Principal, project: Project) -> list[IndicatorRead]:
    rows = list(session.exec(select(Indicator).where(Indicator.project_id == project.id)
                             .order_by(Indicator.position, Indicator.code)))
    return read_many(session, rows, project.code)


def get(session: Session, principal: Principal, indicator_id: int) -> tuple[Indicator, Project]:
    indicator = session.get(Indicator, indicator_id)
    if indicator is None:
        raise NotFound(f"no indicator with id {indicator_id}")
    scope.ensure_can_read_project(session, principal, indicator.project_id)
    return indicator, session.get(Project, indicator.project_id)


def approved_periods(session: Session, indicator_id: int) -> list[str]:
    """The periods of the indicator's approved results, oldest first: while there is one, its
    definition is locked (SPEC §3 rev. 2)."""
    return list(session.exec(select(Result.period_code).where(
        Result.indicator_id == indicator_id, Result.status == ResultStatus.approved)
        .distinct().order_by(Result.period_code)))


def lock_reason(periods: list[str]) -> str:
    """Why the definition of an indicator with approved results in ``periods`` is locked, in words."""
    shown = ", ".join(periods[:4]) + (" …" if len(periods) > 4 else "")
    return f"this indicator has approved results ({shown})"


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(
        all(math.isclose(x, y, rel_tol=1e-12, abs_tol=TOLERANCE) for x, y in zip(a[k], b[k], strict=True)) for k in a)


def targets_changed(before: IndicatorRead, data: dict) -> bool:
    """Whether ``data`` changes a baseline, a target, an opening actual or a period target."""
    def lines(targets):
        return {t.country: (t.baseline, t.target, t.opening_actual) for t in targets}

    def milestones(period_targets):
        return {(t.country, t.period): (t.target,) for t in period_targets}

    return not (_same(lines(before.targets), lines(data["targets"]))
                and _same(milestones(before.period_targets), milestones(data["period_targets"])))


def _check_lock(session: Session, before: IndicatorRead, data: dict, reason: str) -> list[dict]:
    """Once a result is approved: 409 `locked` for a change of definition; the problem of a change
    of baselines or targets without a reason."""
    periods = approved_periods(session, before.id)
    if not periods:
        return []

    def norm(value):
        return None if value is None or value == "" else str(value)

    was = before.model_dump()
    changed = [f for f in LOCKED_FIELDS if norm(data[f]) != norm(was[f])]
    why = lock_reason(periods)
    if changed:
        # In words: the message is read by people; `details` name the fields for programs.
        raise Locked(f"{', '.join(f.replace('_', ' ') for f in changed)} cannot change: {why}",
                     details=[{"field": f, "message": f"locked: {why}"} for f in changed])
    if targets_changed(before, data) and not reason:
        return [{"field": "reason", "message": f"say why the baselines or targets change: {why}"}]
    return []


def _ensure_can_edit(session: Session, principal: Principal, project: Project) -> None:
    if not scope.can_edit_project(session, principal, project):
        raise Forbidden("only an officer of the project's lead country can define its indicators")


# Who changes what of an indicator (issue 13): its definition and which countries it covers belong
# to the officers of the project's lead country (they add a line with its first targets, and remove
# one that has no results: `validate` refuses the others); an existing line's baseline, target,
# opening actual and period targets belong to the officers of the line's country, who report
# against it. So the lead country's officer cannot move another country's target, and a partner
# country's officer can keep its own line right without touching the definition. Reviewers and
# admins define nothing (SPEC §1): they approve, return and reopen.
DEFINITION_FIELDS = ("code", "statement", "level", "priority", *LOCKED_FIELDS)


def own_lines(principal: Principal, indicator: IndicatorRead) -> list[str]:
    """The countries of the indicator's lines whose targets the caller may change."""
    if principal.role != Role.country_officer:
        return []
    return sorted(t.country for t in indicator.targets if t.country in principal.countries)


def can_edit(session: Session, principal: Principal, project: Project, indicator: IndicatorRead) -> bool:
    """Whether the caller may change anything of the indicator: its definition, or a line's targets."""
    return scope.can_edit_project(session, principal, project) or bool(own_lines(principal, indicator))


def _line_changes(before: IndicatorRead, data: dict) -> dict[str, str]:
    """The countries whose line ``data`` adds, removes or changes (its values or period targets)."""
    def lines(targets):
        return {t.country: (t.baseline, t.target, t.opening_actual) for t in targets}

    def milestones(period_targets, country):
        return {t.period: (t.target,) for t in period_targets if t.country == country}

    old, new = lines(before.targets), lines(data["targets"])
    changes: dict[str, str] = {}
    countries = set(old) | set(new) | {t.country for t in before.period_targets} | {
        t.country for t in data["period_targets"]}
    for country in sorted(countries):
        if country not in old and country in new:
            changes[country] = "added"
        elif country in old and country not in new:
            changes[country] = "removed"
        elif not (_same({0: old.get(country, ())}, {0: new.get(country, ())})
                  and _same(milestones(before.period_targets, country), milestones(data["period_targets"], country))):
            changes[country] = "changed"
    return changes


def _ensure_can_change(session: Session, principal: Principal, project: Project, before: IndicatorRead,
                       data: dict) -> None:
    """403 naming the field and country when the caller changes what is not theirs (see above)."""
    lead = scope.can_edit_project(session, principal, project)
    if not lead and not own_lines(principal, before):
        raise Forbidden("only an officer of the project's lead country, or of a country of one of the "
                        "indicator's lines, can edit this indicator")
    problems = []
    if not lead:
        was = before.model_dump()
        for field in DEFINITION_FIELDS:
            if str(data[field] or "") != str(was[field] or ""):
                problems.append({"field": field, "message": "only an officer of the project's lead country "
                                                           "can change the indicator's definition"})
    for country, change in _line_changes(before, data).items():
        if country in principal.countries or (change != "changed" and lead):
            continue
        rows = [i for i, t in enumerate(data["targets"]) if t.country == country]
        periods = [i for i, t in enumerate(data["period_targets"]) if t.country == country]
        if change == "removed":
            field = "targets"
        elif change == "added" or _line_values_differ(before, data, country):
            field = f"targets.{rows[0]}.country"
        else:  # only its period targets differ
            field = f"period_targets.{periods[0]}.country" if periods else "period_targets"
        problems.append({"field": field, "message": f"{country}'s line can only be {change} by an officer of "
                                                    f"{country}: it is outside your countries"})
    if problems:
        raise Forbidden("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)


def _line_values_differ(before: IndicatorRead, data: dict, country: str) -> bool:
    def row(targets):
        return {0: next(((t.baseline, t.target, t.opening_actual) for t in targets if t.country == country), ())}

    return not _same(row(before.targets), row(data["targets"]))


def _raise(problems: list[dict]) -> None:
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)


def _write_targets(session: Session, indicator_id: int, data: dict) -> None:
    session.exec(delete(IndicatorTarget).where(IndicatorTarget.indicator_id == indicator_id))
    session.exec(delete(PeriodTarget).where(PeriodTarget.indicator_id == indicator_id))
    session.flush()
    session.add_all(IndicatorTarget(indicator_id=indicator_id, country_iso3=t.country, baseline=t.baseline,
                                    target=t.target, opening_actual=t.opening_actual) for t in data["targets"])
    session.add_all(PeriodTarget(indicator_id=indicator_id, country_iso3=t.country, period_code=t.period,
                                 target=t.target) for t in data["period_targets"])


def create(session: Session, principal: Principal, project: Project, body: IndicatorCreate) -> IndicatorRead:
    _ensure_can_edit(session, principal, project)
    data = {**body.model_dump(), "targets": body.targets, "period_targets": body.period_targets}
    _raise(validate(session, project, data, indicator_id=None))
    count = len(session.exec(select(Indicator.id).where(Indicator.project_id == project.id)).all())
    indicator = Indicator(
        project_id=project.id, code=body.code, statement=body.statement, level=body.level,
        priority_code=body.priority, measure=body.measure, aggregation=body.aggregation,
        direction=body.direction, disaggregation=body.disaggregation,
        reporting_frequency=body.reporting_frequency, standard_indicator_code=body.standard_indicator, position=count,
    )
    session.add(indicator)
    session.flush()
    _write_targets(session, indicator.id, data)
    session.flush()
    result = read(session, indicator)
    audit.record(session, actor_id=principal.id, action="indicator.create", entity="indicator",
                 entity_id=indicator.id, after=result.model_dump(mode="json"))
    snapshots.mark_indicator(session, indicator.id)
    return result


def update(session: Session, principal: Principal, indicator: Indicator, project: Project,
           body: IndicatorUpdate) -> IndicatorRead:
    """Change what is given. Once a result is approved the definition is locked (409) and a change
    of baselines or targets needs a `reason`, which the audit event keeps. Who may change what:
    `_ensure_can_change`."""
    before = read(session, indicator)
    changes = body.model_dump(exclude_unset=True)
    reason = (changes.pop("reason", None) or "").strip()
    for key in ("targets", "period_targets"):
        if key in changes:
            changes[key] = getattr(body, key) or []
    for key in ("code", "statement", "level", "priority", "measure", "aggregation", "direction", "disaggregation",
                "reporting_frequency"):
        if key in changes and changes[key] is None:
            raise Invalid.field(key, "cannot be empty")
    data = {**before.model_dump(), "targets": before.targets, "period_targets": before.period_targets, **changes}
    if "measure" in changes and changes["measure"] == Measure.percentage and "aggregation" not in changes:
        data["aggregation"] = Aggregation.latest
    _ensure_can_change(session, principal, project, before, data)
    problems = _check_lock(session, before, data, reason)
    _raise(validate(session, project, data, indicator_id=indicator.id) + problems)
    indicator.code = data["code"]
    indicator.statement = data["statement"]
    indicator.level = data["level"]
    indicator.priority_code = data["priority"]
    indicator.measure = data["measure"]
    indicator.aggregation = data["aggregation"]
    indicator.direction = data["direction"]
    indicator.disaggregation = data["disaggregation"]
    indicator.reporting_frequency = data["reporting_frequency"]
    indicator.standard_indicator_code = data["standard_indicator"]
    indicator.updated_at = utcnow()
    session.add(indicator)
    if "targets" in changes or "period_targets" in changes:
        _write_targets(session, indicator.id, data)
    session.flush()
    after = read(session, indicator)
    audit.record(session, actor_id=principal.id, action="indicator.update", entity="indicator",
                 entity_id=indicator.id, before=before.model_dump(mode="json"), after=after.model_dump(mode="json"),
                 reason=reason)
    snapshots.mark_indicator(session, indicator.id)
    return after
