"""Progress rules of SPEC section 5, as pure functions over frozen dataclasses.

Why a module of its own: status, roll-up and completeness are the figures donors read, so
they are computed in one place, with no Session and no Request, and tested with a table of
hand-computed cases. ``service.py`` queries, builds these dataclasses and calls the functions
here; pages, the JSON API and the exports all render what they return.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from types import MappingProxyType

# r = progress / expected at or above ON_TRACK_MIN is on track; below AT_RISK_MIN off track.
ON_TRACK_MIN = 0.85
AT_RISK_MIN = 0.60
# Ratios are quotients of floats (0.289 / 0.34 is 0.8499999999999999): a hair of tolerance
# keeps a line sitting exactly on a threshold on the side the SPEC puts it.
_EPS = 1e-9

STATUSES = ("on_track", "at_risk", "off_track", "no_data", "not_started")


@dataclass(frozen=True)
class PeriodInfo:
    """A reporting period (e.g. ``2022Q4``) with its dates."""
    code: str
    start: date
    end: date
    due_date: date


@dataclass(frozen=True)
class LineResult:
    """One result of a line for one period; ``status`` is draft|submitted|approved|returned."""
    period: PeriodInfo
    value: float
    status: str
    submitted_at: datetime | None = None
    result_id: int | None = None


def _freeze_keys(keys: Mapping[str, Iterable[str] | str]) -> Mapping[str, tuple[str, ...]]:
    """Read-only copy with tuple values, so a frozen Line cannot change under a roll-up."""
    return MappingProxyType({k: (v,) if isinstance(v, str) else tuple(v) for k, v in keys.items()})


@dataclass(frozen=True)
class Line:
    """One indicator line (indicator x country) with everything the rules need.

    ``keys`` maps a roll-up dimension (priority, pillar, subregion, country, donor, project,
    sdg, gcm, marker) to the codes the line carries; it is excluded from hashing.
    """
    indicator_id: int
    indicator_code: str
    project_code: str
    country: str
    aggregation: str  # sum | latest
    direction: str  # increase | decrease
    baseline: float
    target: float
    project_start: date
    project_end: date
    results: tuple[LineResult, ...] = ()
    period_targets: tuple[tuple[PeriodInfo, float], ...] = ()
    standard_indicator: str | None = None
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))
        object.__setattr__(self, "period_targets", tuple(tuple(p) for p in self.period_targets))
        object.__setattr__(self, "keys", _freeze_keys(self.keys))


@dataclass(frozen=True)
class LineProgress:
    """A line evaluated as of a period. ``progress`` is uncapped (130 % shows as 1.3)."""
    line: Line
    actual: float | None
    progress: float | None
    expected: float
    status: str
    achieved: bool
    ratio: float | None
    counted: tuple[LineResult, ...]
    not_counted: tuple[tuple[LineResult, str], ...]


def _period_order(r: LineResult) -> tuple[date, str]:
    return (r.period.end, r.period.code)


def counted_results(line: Line, as_of: PeriodInfo, include_pending: bool = False
                    ) -> tuple[tuple[LineResult, ...], tuple[tuple[LineResult, str], ...]]:
    """Split results into counted ones and the others with why, so pages can explain a figure.

    Reasons: ``draft`` and ``returned`` (never count), ``after_period`` (ends after as_of;
    checked before ``pending`` since including pending would not help), ``pending``.
    """
    counted: list[LineResult] = []
    skipped: list[tuple[LineResult, str]] = []
    for r in sorted(line.results, key=_period_order):
        if r.status in ("draft", "returned"):
            skipped.append((r, r.status))
        elif r.period.end > as_of.end:
            skipped.append((r, "after_period"))
        elif r.status == "approved" or (r.status == "submitted" and include_pending):
            counted.append(r)
        elif r.status == "submitted":
            skipped.append((r, "pending"))
        else:
            skipped.append((r, r.status))  # unknown status: shown, never counted
    return tuple(counted), tuple(skipped)


def actual(line: Line, counted: Sequence[LineResult]) -> float | None:
    """``sum``: a flow, the sum of counted values; ``latest``: a level, the latest value."""
    if not counted:
        return None
    if line.aggregation == "latest":
        return max(counted, key=_period_order).value
    return float(sum(r.value for r in counted))


def _share(line: Line, value: float) -> float | None:
    """Express a value as a share of the way from baseline (or 0 for sums) to target."""
    if line.aggregation == "latest":
        span = line.target - line.baseline
        return (value - line.baseline) / span if span else None
    return value / line.target if line.target else None


def progress(line: Line, actual: float | None) -> float | None:
    """Share of the target reached; not capped. Works for ``decrease`` lines since the span
    target - baseline is then negative."""
    return None if actual is None else _share(line, actual)


def expected_progress(line: Line, as_of: PeriodInfo) -> float:
    """Where the line should be by ``as_of``: its period targets if it has any, else time."""
    if line.period_targets:
        due = sorted((pt for pt in line.period_targets if pt[0].end <= as_of.end),
                     key=lambda pt: (pt[0].end, pt[0].code))
        if not due:
            return 0.0
        if line.aggregation == "latest":
            share = _share(line, due[-1][1])
        else:
            share = _share(line, sum(t for _, t in due))
        return share or 0.0
    total = (line.project_end - line.project_start).days + 1
    if total <= 0:  # malformed dates: all due once the (empty) project has begun
        return 1.0 if as_of.end >= line.project_start else 0.0
    elapsed = (min(as_of.end, line.project_end) - line.project_start).days + 1
    return min(max(elapsed / total, 0.0), 1.0)


def status_of(expected: float, progress: float | None, has_data: bool) -> str:
    """Nothing expected yet -> not_started; nothing counted -> no_data; else by r."""
    if expected <= 0:
        return "not_started"
    if not has_data or progress is None:
        return "no_data"
    r = progress / expected
    if r >= ON_TRACK_MIN - _EPS:
        return "on_track"
    if r >= AT_RISK_MIN - _EPS:
        return "at_risk"
    return "off_track"


def evaluate_line(line: Line, as_of: PeriodInfo, include_pending: bool = False) -> LineProgress:
    """All the figures of one line as of a period, in one value pages and exports share."""
    counted, not_counted = counted_results(line, as_of, include_pending)
    act = actual(line, counted)
    prog = progress(line, act)
    exp = expected_progress(line, as_of)
    return LineProgress(
        line=line, actual=act, progress=prog, expected=exp,
        status=status_of(exp, prog, bool(counted)),
        achieved=prog is not None and prog >= 1 - _EPS,
        ratio=prog / exp if prog is not None and exp > 0 else None,
        counted=counted, not_counted=not_counted,
    )


# --- a group of lines, from their sums ---------------------------------------------------
# The product adds lines up in SQL (``snapshots.cell_aggregates`` over ``line_summary``) and
# turns the sums into figures here; ``tests/progress_oracle.py`` recomputes the same figures
# line by line, independently, to check it.

# In a group's mean, a line counts at most its target: one over-achieving line cannot hide a
# failing one.
PROGRESS_CAP = 1.0


def mean_progress(capped_progress_sum: float, lines_with_data: int) -> float | None:
    """The mean of the lines' progress, each capped at PROGRESS_CAP; None with no data."""
    return capped_progress_sum / lines_with_data if lines_with_data else None


def share(part: int, whole: int) -> float | None:
    """A share of lines (on track among due, reported among expected); None of nothing."""
    return part / whole if whole else None


@dataclass(frozen=True)
class CompletenessLine:
    """A line as seen by reporting completeness for one period."""
    keys: Mapping[str, tuple[str, ...]] = field(hash=False)
    project_start: date
    project_end: date
    result_status: str | None = None  # status of the line's result for the period, if any
    submitted_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _freeze_keys(self.keys))


def completeness_of(cl: CompletenessLine, period: PeriodInfo) -> tuple[bool, bool, bool]:
    """One line's (expected, reported, on_time) for ``period``; ``completeness`` adds them up.

    Expected when its project is active during the period; reported with a submitted or
    approved result; on time when that was submitted no later than the due date.
    """
    active = cl.project_start <= period.end and cl.project_end >= period.start
    reported = active and cl.result_status in ("submitted", "approved")
    sent = cl.submitted_at
    sent_on = sent.date() if isinstance(sent, datetime) else sent
    on_time = reported and sent_on is not None and sent_on <= period.due_date
    return active, reported, on_time


def group_status(lines: int, due: int, with_data: int, on_track_share: float | None) -> str | None:
    """The band of a group (a matrix cell), by the share of its due lines that are on track.

    The line thresholds apply to the share: at least 85 % on track is ``on_track``, from 60 %
    ``at_risk``, below ``off_track``. A group with nothing due is ``not_started``; one whose
    due lines have no data at all ``no_data``; an empty group has no band (None).
    """
    if lines == 0:
        return None
    if due == 0 or on_track_share is None:
        return "not_started"
    if with_data == 0:
        return "no_data"
    if on_track_share >= ON_TRACK_MIN - _EPS:
        return "on_track"
    if on_track_share >= AT_RISK_MIN - _EPS:
        return "at_risk"
    return "off_track"
