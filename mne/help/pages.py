"""``/help/progress``: how every figure is computed (SPEC §5), written for country officers.

The page cannot drift from the rules it explains: the thresholds, the cap and floor of a
group's mean, the reporting frequencies and the days before a period is due are read from
``mne.progress.rules`` when the page is asked for, and every figure of its worked examples is
computed then, by ``rules.evaluate_line`` on the ``rules.Line`` values defined here and by the
group rules (``mean_progress``, ``on_track_share``, ``group_status``, ``standard_figure``).
Constants are read as ``rules.NAME`` (not imported by name) so the page shows what the rules
use at that moment. Other pages link to its sections: ``/help/progress#status`` and so on
(``ANCHORS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from fastapi import APIRouter, Request

from mne.deps import CurrentUser, SessionDep
from mne.progress import rules
from mne.progress.rules import CompletenessLine, Line, LineProgress, LineResult, PeriodInfo
from mne.reference.periods import all_periods, default_period
from mne.web import STATUS_WORDS, render

router = APIRouter(include_in_schema=False)

# The sections other pages may link to, in the order the page shows them.
ANCHORS = ("as-of", "counted", "actual", "progress", "due", "expected", "status", "example",
           "groups", "standard", "completeness")

FREQUENCY_WORDS = {
    "quarterly": "every quarter",
    "semiannual": "twice a year, in the second and the fourth quarter",
    "annual": "once a year, in the fourth quarter",
    "endline": "once, in the period in which the project ends",
}


def status_words() -> dict[str, str]:
    """Every status of the rules in words (the final ones too)."""
    return {s: STATUS_WORDS.get(s, s.replace("_", " ")) for s in rules.STATUSES}


def quarter(code: str) -> PeriodInfo:
    """``2022Q4`` as a calendar quarter, due ``rules.DUE_AFTER_DAYS`` days after its end."""
    year, n = int(code[:4]), int(code[5])
    first = date(year, 3 * n - 2, 1)
    return rules.calendar_quarters(first, first)[0]


def _result(period: str, value: float, status: str = "approved", **counts: float) -> LineResult:
    return LineResult(quarter(period), value, status, **counts)


# --- SPEC §5 worked example 1: a project in Kyrgyzstan, 2022-01-01 to 2023-12-31 ----------------
KGZ_PROJECT = ("KGZ-1", "KGZ", date(2022, 1, 1), date(2023, 12, 31))


def _line(indicator_id: int, code: str, project: tuple, aggregation: str, baseline: float, target: float,
          results=(), **extra) -> Line:
    project_code, country, start, end = project
    return Line(indicator_id=indicator_id, indicator_code=code, project_code=project_code, country=country,
                aggregation=aggregation, direction=extra.pop("direction", "increase"), baseline=baseline,
                target=target, project_start=start, project_end=end, results=tuple(results),
                keys={"country": (country,), "project": (project_code,)}, **extra)


def kgz_lines() -> tuple[Line, Line, Line]:
    return (
        _line(1, "I1", KGZ_PROJECT, "sum", 0, 400, [
            _result("2022Q1", 50), _result("2022Q2", 70), _result("2022Q3", 30, "submitted"),
            _result("2022Q4", 80)]),
        _line(2, "I2", KGZ_PROJECT, "latest", 40, 20, [_result("2022Q2", 38), _result("2022Q4", 35)],
              direction="decrease"),
        _line(3, "I3", KGZ_PROJECT, "sum", 0, 100),
    )


# --- SPEC §5 worked example 2: a project in Georgia and one in Armenia -------------------------
GEO_PROJECT = ("GEO-1", "GEO", date(2022, 1, 1), date(2023, 12, 31))
ARM_PROJECT = ("ARM-1", "ARM", date(2021, 1, 1), date(2022, 12, 31))


def geo_p3() -> Line:
    return _line(5, "P3", GEO_PROJECT, "sum", 0, 200, [_result("2022Q2", 64)], reporting_frequency="semiannual")


def sp43_lines() -> tuple[Line, Line]:
    """P1 and P2, two percentage lines linked to the standard indicator SP4.3."""
    return (
        _line(4, "P1", ARM_PROJECT, "latest", 20, 60, [_result("2021Q2", 35, numerator=7, denominator=20),
                                                       _result("2022Q4", 65, numerator=26, denominator=40)],
              standard_indicator="SP4.3", measure="percentage"),
        _line(6, "P2", GEO_PROJECT, "latest", 10, 50, [_result("2022Q4", 30, numerator=15, denominator=50)],
              standard_indicator="SP4.3", measure="percentage"),
    )


@dataclass(frozen=True)
class Example:
    """One evaluated line of an example, with the days behind its time-based expected progress."""
    label: str
    lp: LineProgress
    as_of: PeriodInfo
    include_pending: bool = False

    @property
    def days(self) -> tuple[int, int] | None:
        """(days of the project elapsed by the end of D, days of the project), for the sentence."""
        line, d = self.lp.line, self.lp.due_period
        if d is None or line.period_targets:
            return None
        total = (line.project_end - line.project_start).days + 1
        return max(0, (min(d.end, line.project_end) - line.project_start).days + 1), total


@dataclass(frozen=True)
class Group:
    """A group of example lines with the figures the dashboard shows for it."""
    lines: int
    due: int
    with_data: int
    counts: dict[str, int]
    clipped: tuple[float, ...]
    mean_progress: float | None
    regressing: int
    on_track: int
    on_track_share: float | None
    band: str | None


def group_of(evaluated: list[LineProgress]) -> Group:
    counts = dict.fromkeys(rules.STATUSES, 0)
    for lp in evaluated:
        counts[lp.status] += 1
    clipped = tuple(rules.clipped(lp.progress) for lp in evaluated if lp.progress is not None)
    due = sum(1 for lp in evaluated if lp.expected > 0)
    share = rules.on_track_share(counts["on_track"], counts["achieved"], due)
    return Group(lines=len(evaluated), due=due, with_data=len(clipped), counts=counts, clipped=clipped,
                 mean_progress=rules.mean_progress(sum(clipped), len(clipped)),
                 regressing=sum(1 for lp in evaluated if lp.progress is not None and lp.progress < 0),
                 on_track=counts["on_track"] + counts["achieved"], on_track_share=share,
                 band=rules.group_status(len(evaluated), due, len(clipped), share))


def standard_sums(lp: LineProgress) -> rules.StandardSums:
    """What one line adds to its standard indicator's figure in a group."""
    has_data = lp.actual is not None
    has_ratio = has_data and lp.numerator is not None and lp.denominator is not None
    return rules.StandardSums(
        lines=1, with_data=int(has_data), actual_sum=lp.actual or 0.0, target_sum=lp.line.target,
        target_to_date_sum=lp.expected * lp.line.target, with_ratio=int(has_ratio),
        numerator_sum=lp.numerator if has_ratio else 0.0, denominator_sum=lp.denominator if has_ratio else 0.0)


def examples() -> dict:
    """Every figure of the page's examples, computed now by the rules."""
    q3, q4 = quarter("2022Q3"), quarter("2022Q4")
    i1, i2, i3 = kgz_lines()
    kgz = [Example("I1", rules.evaluate_line(i1, q4), q4), Example("I2", rules.evaluate_line(i2, q4), q4),
           Example("I3", rules.evaluate_line(i3, q4), q4)]
    pending = Example("I1", rules.evaluate_line(i1, q4, include_pending=True), q4, include_pending=True)
    p3 = geo_p3()
    semiannual = [Example("P3", rules.evaluate_line(p3, q3), q3), Example("P3", rules.evaluate_line(p3, q4), q4)]
    sp43 = [rules.evaluate_line(line, q4) for line in sp43_lines()]
    sums = sum((standard_sums(lp) for lp in sp43), rules.StandardSums())
    return {
        "kgz": kgz, "kgz_pending": pending, "kgz_group": group_of([e.lp for e in kgz]),
        "semiannual": semiannual,
        "sp43": sp43, "sp43_figure": rules.standard_figure("SP4.3", "percentage", sums),
        "sp43_summed": sum(lp.actual for lp in sp43 if lp.actual is not None),
        "clip_examples": [(p, rules.clipped(p)) for p in (1.3, 0.4, -0.2)],
        "completeness": completeness_example(),
    }


def frequencies() -> list[tuple[str, str, list[str]]]:
    """Each reporting frequency, in words, with the periods in which the KGZ project's results are due."""
    _, _, start, end = KGZ_PROJECT
    periods = rules.calendar_quarters(start, end)
    return [(f, FREQUENCY_WORDS.get(f, f), [p.code for p in periods if rules.is_due(f, start, end, p)])
            for f in rules.FREQUENCIES]


def default_as_of_examples() -> list[tuple[date, PeriodInfo]]:
    """Which period the pages open at on a few days around 2022Q4's due date."""
    periods = [quarter("2022Q3"), quarter("2022Q4")]
    due = periods[1].due_date
    return [(day, rules.default_as_of(periods, day)) for day in (date(2023, 1, 10), due, date.fromordinal(due.toordinal() + 1))]


@dataclass(frozen=True)
class CompletenessRow:
    period: PeriodInfo
    expected: tuple[str, ...]
    reported: tuple[str, ...]
    on_time: tuple[str, ...]


def completeness_example() -> list[CompletenessRow]:
    """GEO-1's two lines in 2022Q3 and 2022Q4: P2 quarterly, P3 twice a year. P2's 2022Q4 result was
    first submitted before the due date, returned, and submitted again after it."""
    _, _, start, end = GEO_PROJECT
    q4 = quarter("2022Q4")
    first = datetime.combine(date.fromordinal(q4.due_date.toordinal() - 10), datetime.min.time())
    rows = []
    for period, p2_status in ((quarter("2022Q3"), None), (q4, "approved")):
        lines = {"P2": CompletenessLine({}, start, end, p2_status, first if p2_status else None, "quarterly"),
                 "P3": CompletenessLine({}, start, end, None, None, "semiannual")}
        flags = {code: rules.completeness_of(cl, period) for code, cl in lines.items()}
        rows.append(CompletenessRow(period, *(tuple(c for c, f in flags.items() if f[i]) for i in range(3))))
    return rows


@router.get("/help/progress", name="help_progress")
def progress_help(request: Request, session: SessionDep, principal: CurrentUser):
    """How every figure is computed: for every signed-in user, whatever the role."""
    return render(request, "help/progress.html", {
        "on_track_min": rules.ON_TRACK_MIN, "at_risk_min": rules.AT_RISK_MIN,
        "group_on_track_min": rules.GROUP_ON_TRACK_MIN, "group_at_risk_min": rules.GROUP_AT_RISK_MIN,
        "progress_cap": rules.PROGRESS_CAP, "progress_floor": rules.PROGRESS_FLOOR,
        "due_after_days": rules.DUE_AFTER_DAYS, "final_statuses": rules.FINAL_STATUSES,
        "words": status_words(), "frequencies": frequencies(), "frequency_words": FREQUENCY_WORDS,
        "default_examples": default_as_of_examples(), "today_as_of": default_period(all_periods(session)),
        "first_period": quarter("2022Q4"),
        **examples(),
    })
