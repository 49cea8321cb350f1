"""What an export was asked for, checked before any byte of it is sent.

The same filters as the dashboard (the registry of `mne.dimensions`, `office` included), a
period range (``from``/``to``: quarters, or a year or half year meaning its first or last
quarter), ``as_of`` for progress figures (default: ``to``, else the latest period whose due
date has passed), ``include_pending`` and ``status``. Unknown codes, a backwards range and
filters outside the caller's scope are refused here (422 / 403), naming the parameter.

Who exports what (the dashboard's scope, ``mne.auth.scope``): reviewers and admins everything;
a country officer the lines of its own countries in the projects it may read; a donor viewer
the projects its donors fund, and of their results only the reviewed ones (approved, or
submitted too with ``include_pending``): donors never receive drafts.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.engine import Connection

from mne.auth import scope
from mne.auth.principal import Principal
from mne.base import ResultStatus, Role, utcnow
from mne.dimensions import DIMENSIONS
from mne.errors import Forbidden, Invalid
from mne.filters import Filters
from mne.progress.rules import STATUSES, PeriodInfo
from mne.projects.models import Project
from mne.reference.periods import default_period, matching, periods_of

RESULTS = "results"
IPTT = "iptt"
IATI = "iati"
KINDS = (RESULTS, IPTT, IATI)
# What `status` selects in each export: a result's workflow status, or a line's progress status.
STATUS_CHOICES = {RESULTS: tuple(ResultStatus), IPTT: STATUSES, IATI: ()}
REVIEWED = (ResultStatus.approved.value,)
PENDING = (ResultStatus.approved.value, ResultStatus.submitted.value)


@dataclass(frozen=True)
class ExportRequest:
    kind: str
    principal: Principal
    filters: Filters
    periods: tuple[PeriodInfo, ...]  # the range, oldest first
    as_of: PeriodInfo
    include_pending: bool = False
    status: tuple[str, ...] = ()
    ranged: bool = False  # a range was asked for (else: every period up to `to`)
    made_at: datetime = field(default_factory=utcnow)

    @property
    def counted_statuses(self) -> tuple[str, ...]:
        """The result statuses whose values count as actuals (SPEC §5)."""
        return PENDING if self.include_pending else REVIEWED

    @property
    def result_statuses(self) -> tuple[str, ...]:
        """The results a results export holds: those asked for, and for a donor only reviewed ones."""
        if self.principal.role == Role.donor_viewer:
            allowed = self.counted_statuses
            return tuple(s for s in self.status if s in allowed) if self.status else allowed
        return self.status

    @property
    def period_codes(self) -> list[str]:
        return [p.code for p in self.periods]

    def filename(self, extension: str) -> str:
        """``mne-<kind>-<what was chosen>-<period>.<ext>``, e.g. ``mne-iptt-ECHO-2024Q4.xlsx``."""
        chosen = [code for codes in self.filters.active.values() for code in codes][:3]
        what = "-".join(re.sub(r"[^A-Za-z0-9._-]+", "_", c) for c in chosen) or "all"
        if self.ranged and len(self.periods) > 1:
            span = f"{self.periods[0].code}-{self.periods[-1].code}"
        else:  # the IPTT is as of a period; the results run up to their last one
            span = self.as_of.code if self.kind == IPTT else self.periods[-1].code
        return f"mne-{self.kind}-{what}-{span}.{extension}"

    def described(self) -> list[tuple[str, str]]:
        """What was exported, in words (the workbook's second sheet, the CLI's summary)."""
        rows = [("Export", self.kind), ("Made at (UTC)", self.made_at.strftime("%Y-%m-%d %H:%M:%S")),
                ("Made by", self.principal.email), ("As of", self.as_of.code),
                ("Periods", f"{self.periods[0].code} to {self.periods[-1].code}" if self.periods else ""),
                ("Include pending (submitted) results", "yes" if self.include_pending else "no")]
        rows += [(DIMENSIONS[name].label, ", ".join(codes)) for name, codes in self.filters.active.items()]
        if self.status:
            rows.append(("Status", ", ".join(self.status)))
        return rows


def _known(conn: Connection, name: str, codes: Sequence[str]) -> set[str]:
    d = DIMENSIONS[name]
    column = d.names[0] if d.names else d.via[1]
    wanted = d.codes(codes)
    return {str(v) for v in conn.execute(select(column).where(column.in_(wanted)).distinct()).scalars()}


def check_filters(conn: Connection, principal: Principal, filters: Filters) -> None:
    """422 for codes that name nothing; 403 for a country, donor or project outside the caller's scope."""
    problems = []
    for name, codes in filters.active.items():
        known = _known(conn, name, codes)
        unknown = [c for c in codes if c not in known]
        if unknown:
            problems.append({"field": name, "message": f"unknown {DIMENSIONS[name].label.lower()}: {', '.join(unknown)}"})
    if problems:
        raise Invalid("; ".join(f"{p['field']}: {p['message']}" for p in problems), details=problems)
    own_countries = scope.line_countries(principal)
    if own_countries is not None and set(filters.country) - own_countries:
        raise Forbidden(f"{', '.join(sorted(set(filters.country) - own_countries))} is outside your countries")
    if principal.role == Role.donor_viewer and set(filters.donor) - principal.donors:
        raise Forbidden(f"{', '.join(sorted(set(filters.donor) - principal.donors))} is outside your donors")
    if filters.project:
        visible = set(conn.execute(select(Project.code).where(Project.code.in_(filters.project),
                                                              scope.visible_projects(principal))).scalars())
        if set(filters.project) - visible:
            raise Forbidden(f"project {', '.join(sorted(set(filters.project) - visible))} is outside your scope")


def build(conn: Connection, principal: Principal, kind: str, filters: Filters, *, period_from: str | None = None,
          period_to: str | None = None, as_of: str | None = None, include_pending: bool = False,
          status: str | None = None) -> ExportRequest:
    """Parse and check an export's parameters; every refusal names its parameter."""
    if kind not in KINDS:
        raise Invalid.field("format", f"unknown export {kind!r}: one of {', '.join(KINDS)}")
    periods = periods_of(conn)
    if not periods:
        raise Invalid.field("to", "there are no reporting periods yet")
    first = matching(periods, period_from, field="from")[0] if period_from and period_from.strip() else None
    last = matching(periods, period_to, field="to")[-1] if period_to and period_to.strip() else None
    at = matching(periods, as_of, field="as_of")[-1] if as_of and as_of.strip() else None
    if first and last and first.end > last.end:
        raise Invalid.field("from", f"the period range is backwards: {first.code} comes after {last.code}")
    at = at or last or default_period(periods) or periods[-1]
    last = last or (at if kind == IPTT else periods[-1])
    first = first or periods[0]
    if first.end > last.end:
        raise Invalid.field("from", f"the period range is backwards: {first.code} comes after {last.code}")
    statuses = tuple(dict.fromkeys(s.strip().lower() for s in (status or "").split(",") if s.strip()))
    choices = STATUS_CHOICES[kind]
    if statuses and not choices:
        raise Invalid.field("status", f"the {kind} export takes no status")
    unknown = [s for s in statuses if s not in choices]
    if unknown:
        raise Invalid.field("status", f"unknown status {', '.join(unknown)}; one of {', '.join(choices)}")
    check_filters(conn, principal, filters)
    chosen = tuple(p for p in periods if first.end <= p.end <= last.end)
    return ExportRequest(kind, principal, filters, chosen, at, include_pending, statuses,
                         ranged=bool(period_from or period_to))
