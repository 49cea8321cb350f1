"""Progress rules of SPEC section 5, as pure functions over frozen dataclasses.

Why a module of its own: status, roll-up and completeness are the figures donors read, so
they are computed in one place, with no Session and no Request, and tested with a table of
hand-computed cases. ``service.py`` queries, builds these dataclasses and calls the functions
here; pages, the JSON API and the exports all render what they return.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta
from types import MappingProxyType

# r = progress / expected at or above ON_TRACK_MIN is on track; below AT_RISK_MIN off track.
ON_TRACK_MIN = 0.85
AT_RISK_MIN = 0.60
# A group (a priority card, a matrix cell) is banded by its share of due lines on track or
# achieved. Not the line thresholds: since rev. 2 a line that ended short of its target (86 %,
# say) stays not achieved for ever, so a portfolio where three lines in four are on track or
# achieved is doing as planned, and one where fewer than half are is off track.
GROUP_ON_TRACK_MIN = 0.75
GROUP_AT_RISK_MIN = 0.50
# Ratios are quotients of floats (0.289 / 0.34 is 0.8499999999999999): a hair of tolerance
# keeps a line sitting exactly on a threshold on the side the SPEC puts it.
_EPS = 1e-9

# The last two are final: a line whose project has ended is judged against its target alone.
STATUSES = ("on_track", "at_risk", "off_track", "no_data", "not_started", "achieved", "not_achieved")
FINAL_STATUSES = ("achieved", "not_achieved")
FREQUENCIES = ("quarterly", "semiannual", "annual", "endline")
# Days after a period's end its results are due, when a period is made up (calendar quarters).
DUE_AFTER_DAYS = 30


@dataclass(frozen=True)
class PeriodInfo:
    """A reporting period (e.g. ``2022Q4``) with its dates."""
    code: str
    start: date
    end: date
    due_date: date


@dataclass(frozen=True)
class LineResult:
    """One result of a line for one period; ``status`` is draft|submitted|approved|returned.

    A percentage may come with the counts it was computed from (``numerator`` of
    ``denominator``); ``first_submitted_at`` is the first submission ever, kept through returns.
    """
    period: PeriodInfo
    value: float
    status: str
    submitted_at: datetime | None = None
    result_id: int | None = None
    numerator: float | None = None
    denominator: float | None = None
    first_submitted_at: datetime | None = None


def _freeze_keys(keys: Mapping[str, Iterable[str] | str]) -> Mapping[str, tuple[str, ...]]:
    """Read-only copy with tuple values, so a frozen Line cannot change under a roll-up."""
    return MappingProxyType({k: (v,) if isinstance(v, str) else tuple(v) for k, v in keys.items()})


@dataclass(frozen=True)
class Line:
    """One indicator line (indicator x country) with everything the rules need.

    ``keys`` maps a roll-up dimension (priority, pillar, subregion, country, donor, project,
    sdg, gcm, marker) to the codes the line carries; it is excluded from hashing.
    ``reporting_frequency`` says in which periods a result is due; ``opening_actual`` is what a
    ``sum`` line achieved before tracking began (it counts like an approved result).
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
    measure: str = "number"  # number | percentage
    reporting_frequency: str = "quarterly"
    opening_actual: float = 0.0
    keys: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "results", tuple(self.results))
        object.__setattr__(self, "period_targets", tuple(tuple(p) for p in self.period_targets))
        object.__setattr__(self, "keys", _freeze_keys(self.keys))


@dataclass(frozen=True)
class LineProgress:
    """A line evaluated as of a period. ``progress`` is uncapped (130 % shows as 1.3).

    ``due_period`` is D, the period expected progress is evaluated at; ``ended`` says the
    project has ended by the as-of period (the status is then final); ``numerator`` and
    ``denominator`` are those of the result a ``latest`` actual comes from, when it has both.
    """
    line: Line
    actual: float | None
    progress: float | None
    expected: float
    status: str
    achieved: bool
    ratio: float | None
    counted: tuple[LineResult, ...]
    not_counted: tuple[tuple[LineResult, str], ...]
    due_period: PeriodInfo | None = None
    ended: bool = False
    numerator: float | None = None
    denominator: float | None = None


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
    """``sum``: a flow, the opening actual plus the counted values; ``latest``: a level, the
    latest counted value. None when there is no data (a ``sum`` line with an opening actual
    above 0 has data even before its first counted result)."""
    if line.aggregation == "latest":
        return max(counted, key=_period_order).value if counted else None
    if not counted and line.opening_actual <= 0:
        return None
    return float(line.opening_actual + sum(r.value for r in counted))


def ratio_parts(line: Line, counted: Sequence[LineResult]) -> tuple[float | None, float | None]:
    """The numerator and denominator behind a ``latest`` actual, when its result has both."""
    if line.aggregation != "latest" or not counted:
        return None, None
    source = max(counted, key=_period_order)
    if source.numerator is None or source.denominator is None:
        return None, None
    return source.numerator, source.denominator


def default_as_of(periods: Sequence[PeriodInfo], today: date) -> PeriodInfo | None:
    """The latest period whose due date is before today: the latest that should be fully
    reported (the first period when none is yet)."""
    due = [p for p in periods if p.due_date < today]
    if due:
        return max(due, key=lambda p: (p.end, p.code))
    return min(periods, key=lambda p: (p.end, p.code)) if periods else None


def is_due(frequency: str, project_start: date, project_end: date, period: PeriodInfo) -> bool:
    """Whether a result of a line is due in ``period``: the period overlaps the project and
    fits the line's reporting frequency (every quarter; Q2 and Q4; Q4; the period in which
    the project ends). A quarter is told by the month its period ends in."""
    if period.end < project_start or period.start > project_end:
        return False
    if frequency == "semiannual":
        return period.end.month in (6, 12)
    if frequency == "annual":
        return period.end.month == 12
    if frequency == "endline":
        return period.start <= project_end <= period.end
    return True  # quarterly, and any frequency not (yet) known: nothing goes unreported


def calendar_quarters(first: date, last: date) -> list[PeriodInfo]:
    """The calendar quarters from the one holding ``first`` to the one holding ``last``: the
    periods assumed when a caller gives none (the product passes its own)."""
    out: list[PeriodInfo] = []
    year, quarter = first.year, (first.month - 1) // 3 + 1
    while (year, quarter) <= (last.year, (last.month - 1) // 3 + 1):
        start = date(year, 3 * quarter - 2, 1)
        end = (date(year + 1, 1, 1) if quarter == 4 else date(year, 3 * quarter + 1, 1)) - timedelta(days=1)
        out.append(PeriodInfo(f"{year}Q{quarter}", start, end, end + timedelta(days=DUE_AFTER_DAYS)))
        year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return out


def due_period(line: Line, as_of: PeriodInfo, periods: Sequence[PeriodInfo] | None = None) -> PeriodInfo | None:
    """D: the latest period in which a result of the line is due that ends by ``as_of``'s end
    (None when none is). ``periods`` are the reporting periods; calendar quarters if omitted."""
    if periods is None:
        periods = calendar_quarters(min(line.project_start, as_of.start), as_of.end)
    due = [p for p in periods if p.end <= as_of.end
           and is_due(line.reporting_frequency, line.project_start, line.project_end, p)]
    return max(due, key=lambda p: (p.end, p.code)) if due else None


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


def expected_progress(line: Line, as_of: PeriodInfo, periods: Sequence[PeriodInfo] | None = None) -> float:
    """Where the line should be by its due period D (``due_period``) as of ``as_of``."""
    return expected_at(line, due_period(line, as_of, periods))


def expected_at(line: Line, d: PeriodInfo | None) -> float:
    """Where the line should be by D: its period targets up to D if it has any, else the
    share of the project's time elapsed by D; 0 without a D (nothing was due yet). Evaluated
    at D, not at the as-of period, so a line reported twice a year is not behind between its
    reports."""
    if d is None:
        return 0.0
    if line.period_targets:
        due = sorted((pt for pt in line.period_targets if pt[0].end <= d.end),
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
        return 1.0 if d.end >= line.project_start else 0.0
    elapsed = (min(d.end, line.project_end) - line.project_start).days + 1
    return min(max(elapsed / total, 0.0), 1.0)


def has_ended(line: Line, as_of: PeriodInfo) -> bool:
    """The project has ended by the end of the as-of period: its lines get a final status."""
    return line.project_end <= as_of.end


def status_of(expected: float, progress: float | None, has_data: bool, ended: bool = False) -> str:
    """Nothing expected yet -> not_started; nothing counted -> no_data; a project that has
    ended -> achieved or not_achieved by its target alone; else by r = progress / expected."""
    if expected <= 0:
        return "not_started"
    if not has_data or progress is None:
        return "no_data"
    if ended:
        return "achieved" if progress >= 1 - _EPS else "not_achieved"
    r = progress / expected
    if r >= ON_TRACK_MIN - _EPS:
        return "on_track"
    if r >= AT_RISK_MIN - _EPS:
        return "at_risk"
    return "off_track"


def evaluate_line(line: Line, as_of: PeriodInfo, include_pending: bool = False,
                  periods: Sequence[PeriodInfo] | None = None) -> LineProgress:
    """All the figures of one line as of a period, in one value pages and exports share.
    ``periods`` are the reporting periods (for D); calendar quarters when omitted."""
    counted, not_counted = counted_results(line, as_of, include_pending)
    act = actual(line, counted)
    prog = progress(line, act)
    due = due_period(line, as_of, periods)
    exp = expected_at(line, due)
    ended = has_ended(line, as_of)
    numerator, denominator = ratio_parts(line, counted)
    return LineProgress(
        line=line, actual=act, progress=prog, expected=exp,
        status=status_of(exp, prog, act is not None, ended),
        achieved=prog is not None and prog >= 1 - _EPS,
        ratio=prog / exp if prog is not None and exp > 0 else None,
        counted=counted, not_counted=not_counted, due_period=due, ended=ended,
        numerator=numerator, denominator=denominator,
    )


# --- a group of lines, from their sums ---------------------------------------------------
# The product adds lines up in SQL (``snapshots.cell_aggregates`` over ``line_summary``) and
# turns the sums into figures here; ``tests/progress_oracle.py`` recomputes the same figures
# line by line, independently, to check it.

# In a group's mean, a line counts between nothing and its target: one over-achieving line
# cannot hide a failing one, one that went backwards (counted apart, as ``regressing``)
# cannot sink the rest.
PROGRESS_FLOOR = 0.0
PROGRESS_CAP = 1.0


def clipped(progress: float) -> float:
    """A line's progress as a group's mean counts it."""
    return min(max(progress, PROGRESS_FLOOR), PROGRESS_CAP)


def mean_progress(clipped_progress_sum: float, lines_with_data: int) -> float | None:
    """The mean of the lines' progress, each clipped (``clipped``); None with no data."""
    return clipped_progress_sum / lines_with_data if lines_with_data else None


def share(part: int, whole: int) -> float | None:
    """A share of lines (on track among due, reported among expected); None of nothing."""
    return part / whole if whole else None


def on_track_share(on_track: int, achieved: int, due: int) -> float | None:
    """Lines on track or achieved among the lines with something due (expected > 0)."""
    return share(on_track + achieved, due)


@dataclass(frozen=True)
class StandardSums:
    """What a group adds up about the lines linked to one standard indicator."""
    lines: int = 0
    with_data: int = 0
    actual_sum: float = 0.0
    target_sum: float = 0.0
    target_to_date_sum: float = 0.0  # sum of expected x target
    with_ratio: int = 0  # lines with data whose actual has a numerator and a denominator
    numerator_sum: float = 0.0
    denominator_sum: float = 0.0

    def __add__(self, other: StandardSums) -> StandardSums:
        # Field by field (``dataclasses.astuple`` deep-copies: ten times slower on a dashboard).
        return StandardSums(*(getattr(self, n) + getattr(other, n) for n in _STANDARD_FIELDS))


_STANDARD_FIELDS = tuple(f.name for f in fields(StandardSums))


@dataclass(frozen=True)
class StandardFigure:
    """A standard indicator rolled up over a group's lines (SPEC §5)."""
    code: str
    measure: str
    method: str  # sum | ratio | mean
    actual: float | None
    target: float | None
    target_to_date: float | None  # number measures only
    lines_with_data: int


def standard_figure(code: str, measure: str, sums: StandardSums) -> StandardFigure:
    """Numbers are summed; percentages never: a ratio of the summed numerators and
    denominators when every line with data has both, else the mean of the lines' actuals,
    against the mean of their targets."""
    if measure != "percentage":
        return StandardFigure(code, measure, "sum", sums.actual_sum, sums.target_sum, sums.target_to_date_sum,
                              sums.with_data)
    target = sums.target_sum / sums.lines if sums.lines else None
    if sums.with_data and sums.with_ratio == sums.with_data and sums.denominator_sum > 0:
        return StandardFigure(code, measure, "ratio", round(100 * sums.numerator_sum / sums.denominator_sum, 2),
                              target, None, sums.with_data)
    mean = sums.actual_sum / sums.with_data if sums.with_data else None
    return StandardFigure(code, measure, "mean", mean, target, None, sums.with_data)


@dataclass(frozen=True)
class CompletenessLine:
    """A line as seen by reporting completeness for one period."""
    keys: Mapping[str, tuple[str, ...]] = field(hash=False)
    project_start: date
    project_end: date
    result_status: str | None = None  # status of the line's result for the period, if any
    first_submitted_at: datetime | None = None  # its first submission, kept through returns
    reporting_frequency: str = "quarterly"

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", _freeze_keys(self.keys))


def completeness_of(cl: CompletenessLine, period: PeriodInfo) -> tuple[bool, bool, bool]:
    """One line's (expected, reported, on_time) for ``period``; ``completeness`` adds them up.

    Expected when a result is due in the period (``is_due``: the project is active and the
    reporting frequency asks for one); reported with a submitted or approved result; on time
    when it was first submitted no later than the due date (a return and a resubmission
    afterwards do not make it late).
    """
    expected = is_due(cl.reporting_frequency, cl.project_start, cl.project_end, period)
    reported = expected and cl.result_status in ("submitted", "approved")
    sent = cl.first_submitted_at
    sent_on = sent.date() if isinstance(sent, datetime) else sent
    on_time = reported and sent_on is not None and sent_on <= period.due_date
    return expected, reported, on_time


def group_status(lines: int, due: int, with_data: int, on_track_share: float | None) -> str | None:
    """The band of a group (a matrix cell), by the share of its due lines on track or achieved.

    At least GROUP_ON_TRACK_MIN is ``on_track``, from GROUP_AT_RISK_MIN ``at_risk``, below
    ``off_track``. A group with nothing due is ``not_started``; one whose due lines have no
    data at all ``no_data``; an empty group has no band (None).
    """
    if lines == 0:
        return None
    if due == 0 or on_track_share is None:
        return "not_started"
    if with_data == 0:
        return "no_data"
    if on_track_share >= GROUP_ON_TRACK_MIN - _EPS:
        return "on_track"
    if on_track_share >= GROUP_AT_RISK_MIN - _EPS:
        return "at_risk"
    return "off_track"
