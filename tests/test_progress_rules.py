"""Table tests of the progress rules (SPEC section 5), hand-computed, no database, no HTTP."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mne.progress.rules import (
    AT_RISK_MIN,
    ON_TRACK_MIN,
    STATUSES,
    CompletenessLine,
    Line,
    LineResult,
    PeriodInfo,
    StandardFigure,
    actual,
    counted_results,
    default_as_of,
    is_due,
    evaluate_line,
    expected_progress,
    progress,
    status_of,
)
from tests.progress_oracle import completeness, rollup

QUARTER_START = {1: (1, 1), 2: (4, 1), 3: (7, 1), 4: (10, 1)}
QUARTER_END = {1: (3, 31), 2: (6, 30), 3: (9, 30), 4: (12, 31)}


def q(code: str) -> PeriodInfo:
    """'2022Q4' -> the quarter with its dates; due 30 days after the end (SPEC default)."""
    year, n = int(code[:4]), int(code[5])
    end = date(year, *QUARTER_END[n])
    return PeriodInfo(code, date(year, *QUARTER_START[n]), end, end + timedelta(days=30))


def res(period: str, value: float, status: str = "approved", submitted_at=None,
        numerator=None, denominator=None) -> LineResult:
    return LineResult(q(period), value, status, submitted_at, numerator=numerator, denominator=denominator)


def line(aggregation="sum", baseline=0.0, target=100.0, results=(), direction="increase",
         start=date(2022, 1, 1), end=date(2023, 12, 31), period_targets=(), code="I1",
         project="P1", country="KGZ", standard=None, measure="number", frequency="quarterly",
         opening=0.0, **keys) -> Line:
    keys.setdefault("country", (country,))
    keys.setdefault("project", (project,))
    return Line(
        indicator_id=hash(code) % 1000, indicator_code=code, project_code=project,
        country=country, aggregation=aggregation, direction=direction, baseline=baseline,
        target=target, project_start=start, project_end=end, results=tuple(results),
        period_targets=tuple((q(p), t) for p, t in period_targets),
        standard_indicator=standard, measure=measure, reporting_frequency=frequency, opening_actual=opening,
        keys=keys,
    )


# --- The SPEC worked example: project in KGZ 2022-01-01..2023-12-31, as of 2022Q4 ---------
# Expected (no period targets): (2022-12-31 - 2022-01-01).days + 1 = 365 of 730 days = 0.5.
I1 = line("sum", 0, 400, [res("2022Q1", 50), res("2022Q2", 70), res("2022Q4", 80),
                          res("2022Q3", 30, "submitted")], code="I1")
I2 = line("latest", 40, 20, [res("2022Q2", 38), res("2022Q4", 35)], direction="decrease",
          code="I2")
I3 = line("sum", 0, 100, [], code="I3")
Q4 = q("2022Q4")


@pytest.mark.parametrize(
    "ln, include_pending, want_actual, want_progress, want_status",
    [
        (I1, False, 200, 0.5, "on_track"),    # 50+70+80; 200/400 = 0.5; r = 0.5/0.5 = 1
        (I1, True, 230, 0.575, "on_track"),   # + Q3 30 submitted; 230/400; r = 1.15
        (I2, False, 35, 0.25, "off_track"),   # latest Q4 = 35; (35-40)/(20-40); r = 0.5
        (I3, False, None, None, "no_data"),   # nothing counted, expected 0.5 > 0
    ],
    ids=["I1", "I1-pending", "I2-decrease", "I3-no-results"],
)
def test_spec_worked_example_lines(ln, include_pending, want_actual, want_progress, want_status):
    lp = evaluate_line(ln, Q4, include_pending=include_pending)
    assert lp.expected == pytest.approx(365 / 730) == pytest.approx(0.5)
    assert lp.actual == (None if want_actual is None else pytest.approx(want_actual))
    assert lp.progress == (None if want_progress is None else pytest.approx(want_progress))
    assert lp.status == want_status
    assert lp.achieved is False


def test_spec_worked_example_ratio_and_rollup():
    evaluated = [evaluate_line(ln, Q4) for ln in (I1, I2, I3)]
    assert evaluated[1].ratio == pytest.approx(0.5)
    (kgz,) = rollup(evaluated, ["country"])
    assert kgz.key == "KGZ"
    assert kgz.lines == 3
    assert kgz.status_counts == {"on_track": 1, "at_risk": 0, "off_track": 1,
                                 "no_data": 1, "not_started": 0, "achieved": 0, "not_achieved": 0}
    assert kgz.mean_progress == pytest.approx(0.375)   # (0.5 + 0.25) / 2; I3 has no data
    assert kgz.on_track_share == pytest.approx(1 / 3)  # 1 on track of 3 lines expected > 0


# --- SPEC worked example 2 (rev. 2), as of 2022Q4 unless said, no pending results ----------
# ARM-1 in ARM 2021-01-01..2022-12-31; GEO-1 in GEO 2022-01-01..2023-12-31; SRB-0 in SRB
# 2019-01-01..2021-12-31 (began before the first reporting period 2020Q1).
ARM_P1 = line("latest", 20, 60, [res("2021Q2", 35, numerator=7, denominator=20),
                                 res("2022Q4", 65, numerator=26, denominator=40)],
              start=date(2021, 1, 1), end=date(2022, 12, 31), code="P1", project="ARM-1", country="ARM",
              standard="SP4.3", measure="percentage", priority=("SP4",))
GEO_P2 = line("latest", 10, 50, [res("2022Q4", 30, numerator=15, denominator=50)], code="P2",
              project="GEO-1", country="GEO", standard="SP4.3", measure="percentage", priority=("SP4",))
GEO_P3 = line("sum", 0, 200, [res("2022Q2", 64)], code="P3", project="GEO-1", country="GEO",
              frequency="semiannual", priority=("SP4",))
SRB_S1 = line("sum", 0, 300, [res("2020Q1", 30)], start=date(2019, 1, 1), end=date(2021, 12, 31),
              code="S1", project="SRB-0", country="SRB", opening=120, priority=("SP2",))


@pytest.mark.parametrize(
    "ln, as_of, want_due, want_actual, want_progress, want_expected, want_status",
    [
        # ended by 2022Q4's end: (65 - 20)/(60 - 20) = 1.125 -> final status achieved
        (ARM_P1, "2022Q4", "2022Q4", 65, 1.125, 1.0, "achieved"),
        # 365/730 = 0.5 expected, (30 - 10)/(50 - 10) = 0.5 progress, r = 1
        (GEO_P2, "2022Q4", "2022Q4", 30, 0.5, 0.5, "on_track"),
        # semiannual: as of Q3, D = Q2: 181/730 = 0.248; 64/200 = 0.32; r = 1.29
        (GEO_P3, "2022Q3", "2022Q2", 64, 0.32, 181 / 730, "on_track"),
        # as of Q4, D = Q4: 0.5; r = 0.64
        (GEO_P3, "2022Q4", "2022Q4", 64, 0.32, 0.5, "at_risk"),
        # opening actual 120 + 30 = 150 of 300 = 0.5; expected 456/1096 = 0.416; r = 1.20
        (SRB_S1, "2020Q1", "2020Q1", 150, 0.5, 456 / 1096, "on_track"),
    ],
    ids=["P1-ended-achieved", "P2", "P3-as-of-Q3", "P3-as-of-Q4", "S1-opening-actual"],
)
def test_spec_worked_example_2_lines(ln, as_of, want_due, want_actual, want_progress, want_expected, want_status):
    lp = evaluate_line(ln, q(as_of))
    assert lp.due_period.code == want_due
    assert lp.actual == pytest.approx(want_actual)
    assert lp.progress == pytest.approx(want_progress)
    assert lp.expected == pytest.approx(want_expected)
    assert lp.status == want_status


def test_spec_worked_example_2_ratios():
    assert evaluate_line(GEO_P3, q("2022Q3")).ratio == pytest.approx(0.32 / (181 / 730))  # 1.29
    assert round(evaluate_line(GEO_P3, q("2022Q3")).ratio, 2) == 1.29
    assert round(evaluate_line(GEO_P3, q("2022Q4")).ratio, 2) == 0.64
    assert round(evaluate_line(SRB_S1, q("2020Q1")).ratio, 2) == 1.20
    assert round(evaluate_line(SRB_S1, q("2020Q1")).expected, 3) == 0.416


def test_spec_worked_example_2_without_the_opening_actual():
    lp = evaluate_line(line("sum", 0, 300, [res("2020Q1", 30)], start=date(2019, 1, 1), end=date(2021, 12, 31)),
                       q("2020Q1"))
    assert (lp.actual, lp.progress, lp.status) == (30, pytest.approx(0.1), "off_track")  # r = 0.24


def test_spec_worked_example_2_standard_indicator_by_ratio():
    (g,) = rollup(_eval(ARM_P1, GEO_P2), ["priority"])
    # 100 x (26 + 15) / (40 + 50) = 45.56, never 65 + 30 = 95; target (60 + 50)/2 = 55
    assert g.standard_indicators == [StandardFigure("SP4.3", "percentage", "ratio", 45.56, 55.0, None, 2)]


def test_spec_worked_example_2_rollup_by_priority():
    sp4 = rollup(_eval(ARM_P1, GEO_P2, GEO_P3), ["priority"])[0]
    assert sp4.key == "SP4" and sp4.lines == 3
    assert {k: v for k, v in sp4.status_counts.items() if v} == {"achieved": 1, "on_track": 1, "at_risk": 1}
    assert sp4.mean_progress == pytest.approx((1 + 0.5 + 0.32) / 3) and round(sp4.mean_progress, 4) == 0.6067
    assert sp4.on_track_share == pytest.approx(2 / 3)  # on track or achieved, of 3 due


def test_spec_worked_example_2_completeness_expects_due_lines_only():
    def geo(ln: Line, period: str) -> CompletenessLine:
        own = [r for r in ln.results if r.period.code == period]
        return CompletenessLine({"country": ("GEO",)}, ln.project_start, ln.project_end,
                                own[0].status if own else None, None, ln.reporting_frequency)
    (q4,) = completeness([geo(GEO_P2, "2022Q4"), geo(GEO_P3, "2022Q4")], q("2022Q4"), ["country"])
    assert (q4.expected, q4.reported) == (2, 1)  # P2 and P3 expected, P2 reported
    (q3,) = completeness([geo(GEO_P2, "2022Q3"), geo(GEO_P3, "2022Q3")], q("2022Q3"), ["country"])
    assert (q3.expected, q3.reported) == (1, 0)  # P3 is not due in Q3


# --- The rev. 2 rules one by one -----------------------------------------------------------------
@pytest.mark.parametrize("today, want", [
    (date(2023, 1, 15), "2022Q3"),  # 2022Q4 ended, but its results are due 2023-01-30
    (date(2023, 1, 30), "2022Q3"),  # the due date itself: not yet before today
    (date(2023, 1, 31), "2022Q4"),
    (date(2019, 6, 1), "2022Q3"),   # nothing due yet: the first period
])
def test_default_as_of_is_the_latest_period_whose_due_date_has_passed(today, want):
    assert default_as_of([q("2022Q3"), q("2022Q4")], today).code == want
    assert default_as_of([], today) is None


@pytest.mark.parametrize("frequency, due_in", [
    ("quarterly", ["2022Q1", "2022Q2", "2022Q3", "2022Q4", "2023Q1", "2023Q2"]),
    ("semiannual", ["2022Q2", "2022Q4", "2023Q2"]),
    ("annual", ["2022Q4"]),
    ("endline", ["2023Q2"]),  # the period in which the project ends (2023-05-15)
])
def test_due_periods_by_reporting_frequency(frequency, due_in):
    quarters = [f"{y}Q{n}" for y in (2021, 2022, 2023) for n in range(1, 5)]
    due = [c for c in quarters if is_due(frequency, date(2022, 1, 1), date(2023, 5, 15), q(c))]
    assert due == due_in


@pytest.mark.parametrize("frequency, as_of, want_due, want_expected", [
    # project 2022-01-01..2023-12-31 (730 days); expected = days to min(D.end, end) / 730
    ("annual", "2022Q3", None, 0.0),           # nothing due yet -> not_started
    ("annual", "2023Q3", "2022Q4", 365 / 730),
    ("endline", "2023Q3", None, 0.0),
    ("endline", "2024Q2", "2023Q4", 1.0),      # after the end: D is the last period
    ("semiannual", "2023Q1", "2022Q4", 0.5),
])
def test_expected_progress_is_evaluated_at_the_due_period(frequency, as_of, want_due, want_expected):
    ln = line(frequency=frequency, results=[res("2022Q1", 10)])
    lp = evaluate_line(ln, q(as_of))
    assert (lp.due_period.code if lp.due_period else None) == want_due
    assert lp.expected == pytest.approx(want_expected)
    assert lp.status == ("not_started" if want_due is None else lp.status)


def test_an_opening_actual_alone_is_data():
    lp = evaluate_line(line(opening=40, start=date(2019, 1, 1), end=date(2021, 12, 31)), q("2020Q1"))
    assert (lp.actual, lp.progress) == (40, pytest.approx(0.4))
    assert lp.status != "no_data"


def test_final_status_needs_data_and_something_due():
    ended = dict(start=date(2021, 1, 1), end=date(2021, 12, 31))
    assert evaluate_line(line(**ended), q("2022Q4")).status == "no_data"  # no result, ever
    assert evaluate_line(line(**ended, results=[res("2021Q4", 99.9)]), q("2022Q4")).status == "not_achieved"
    assert evaluate_line(line(**ended, results=[res("2021Q4", 100)]), q("2022Q4")).status == "achieved"
    # a decrease line that ended past its target is achieved too: (15 - 40)/(20 - 40) = 1.25
    dec = line("latest", 40, 20, [res("2021Q3", 15)], direction="decrease", **ended)
    assert evaluate_line(dec, q("2021Q4")).status == "achieved"


def test_regressing_lines_are_counted_and_count_zero_in_the_mean():
    # -0.2 (went the wrong way) clipped to 0, beside 0.6 -> mean 0.3, 1 regressing
    (g,) = rollup(_eval(line("latest", 40, 20, [res("2022Q4", 44)], direction="decrease", code="A"),
                        line(code="B", results=[res("2022Q4", 60)])), ["country"])
    assert g.mean_progress == pytest.approx(0.3)
    assert g.regressing == 1


def test_percentage_standard_indicator_falls_back_to_the_mean():
    # GEO's P2 without its numerator: not every line with data has a ratio -> the mean of the
    # actuals (65 + 30)/2 = 47.5; the target is the mean over all three lines, P4 (no data) too
    p2 = line("latest", 10, 50, [res("2022Q4", 30)], code="P2", project="GEO-1", country="GEO",
              standard="SP4.3", measure="percentage", priority=("SP4",))
    p4 = line("latest", 10, 70, code="P4", country="GEO", standard="SP4.3", measure="percentage",
              priority=("SP4",))
    (sp4,) = rollup(_eval(ARM_P1, p2, p4), ["priority"])
    assert sp4.standard_indicators == [StandardFigure("SP4.3", "percentage", "mean", 47.5,
                                                      (60 + 50 + 70) / 3, None, 2)]


def test_on_time_is_judged_by_the_first_submission():
    # first sent 2023-01-20 (on time for 2022Q4, due 2023-01-30), returned, sent again 2023-02-15
    first = CompletenessLine(keys={}, project_start=date(2022, 1, 1), project_end=date(2023, 12, 31),
                             result_status="submitted", first_submitted_at=datetime(2023, 1, 20, 10))
    assert completeness_of(first, Q4) == (True, True, True)
    never = CompletenessLine(keys={}, project_start=date(2022, 1, 1), project_end=date(2023, 12, 31),
                             result_status="submitted", first_submitted_at=datetime(2023, 2, 15, 10))
    assert completeness_of(never, Q4) == (True, True, False)


# --- Single lines, hand-computed ------------------------------------------------------------
PT_SUM = [("2022Q1", 20), ("2022Q2", 30), ("2022Q3", 30), ("2022Q4", 20)]
PT_LATEST = [("2022Q2", 20), ("2022Q4", 30), ("2023Q4", 50)]


@pytest.mark.parametrize(
    "ln, as_of, pending, want_actual, want_progress, want_expected, want_status, achieved",
    [
        # sum with period targets: due by Q2 = 20+30 = 50 -> 50/100 = 0.5;
        # actual 15+20 = 35 -> 0.35; r = 0.7 -> at_risk
        (line(target=100, period_targets=PT_SUM,
              results=[res("2022Q1", 15), res("2022Q2", 20)]),
         "2022Q2", False, 35, 0.35, 0.5, "at_risk", False),
        # latest with period targets, baseline 10 target 50: as of Q3 the latest due target
        # is Q2's 20 -> (20-10)/40 = 0.25; actual Q3 18 -> (18-10)/40 = 0.2; r = 0.8
        (line("latest", 10, 50, period_targets=PT_LATEST, results=[res("2022Q3", 18)]),
         "2022Q3", False, 18, 0.2, 0.25, "at_risk", False),
        # latest with period targets, none due by 2022Q1 -> expected 0 -> not_started
        (line("latest", 10, 50, period_targets=PT_LATEST, results=[res("2022Q1", 12)]),
         "2022Q1", False, 12, 0.05, 0.0, "not_started", False),
        # decrease with a period target 30 at Q4: (30-40)/(20-40) = 0.5;
        # actual 32 -> (32-40)/(20-40) = 0.4; r = 0.8 -> at_risk
        (line("latest", 40, 20, direction="decrease", period_targets=[("2022Q4", 30)],
              results=[res("2022Q4", 32)]),
         "2022Q4", False, 32, 0.4, 0.5, "at_risk", False),
        # decrease that went the wrong way: 44 -> (44-40)/(20-40) = -0.2 -> off_track
        (line("latest", 40, 20, direction="decrease", results=[res("2022Q4", 44)]),
         "2022Q4", False, 44, -0.2, 0.5, "off_track", False),
        # include_pending: approved Q1 10 + submitted Q2 20 = 30 of 100; time 181/730
        # (Jan-Jun 2022 = 181 days); r = 0.3 / 0.24795 = 1.21 -> on_track
        (line(results=[res("2022Q1", 10), res("2022Q2", 20, "submitted")]),
         "2022Q2", True, 30, 0.3, 181 / 730, "on_track", False),
        # same without pending: 10/100 = 0.1; r = 0.1 / 0.24795 = 0.40 -> off_track
        (line(results=[res("2022Q1", 10), res("2022Q2", 20, "submitted")]),
         "2022Q2", False, 10, 0.1, 181 / 730, "off_track", False),
        # project starts 2023-01-01, as of 2022Q4: (2022-12-31 - 2023-01-01) + 1 = 0 days
        (line(start=date(2023, 1, 1), end=date(2023, 12, 31)),
         "2022Q4", False, None, None, 0.0, "not_started", False),
        # project ended 2022-06-30, as of 2022Q4: min(D.end, end) caps it at 1; the project
        # has ended, so the status is final (rev. 2): progress 1 -> achieved
        (line(start=date(2022, 1, 1), end=date(2022, 6, 30), results=[res("2022Q2", 100)]),
         "2022Q4", False, 100, 1.0, 1.0, "achieved", True),
        # ... and 86 % of the target when it ended is not achieved, for ever (not on_track)
        (line(start=date(2022, 1, 1), end=date(2022, 6, 30), results=[res("2022Q2", 86)]),
         "2024Q4", False, 86, 0.86, 1.0, "not_achieved", False),
        # band edges on 1000 target, expected 0.5: 425 -> 0.425, r = 0.85 exactly -> on_track
        (line(target=1000, results=[res("2022Q4", 425)]),
         "2022Q4", False, 425, 0.425, 0.5, "on_track", False),
        # 300 -> 0.3, r = 0.60 exactly -> at_risk
        (line(target=1000, results=[res("2022Q4", 300)]),
         "2022Q4", False, 300, 0.3, 0.5, "at_risk", False),
        # 299 -> 0.299, r = 0.598 -> off_track
        (line(target=1000, results=[res("2022Q4", 299)]),
         "2022Q4", False, 299, 0.299, 0.5, "off_track", False),
        # 424 -> 0.424, r = 0.848 -> at_risk
        (line(target=1000, results=[res("2022Q4", 424)]),
         "2022Q4", False, 424, 0.424, 0.5, "at_risk", False),
        # achieved: 130/100 = 1.3 shown uncapped; r = 2.6
        (line(results=[res("2022Q4", 130)]),
         "2022Q4", False, 130, 1.3, 0.5, "on_track", True),
        # latest increase reaching its target exactly: (50-10)/(50-10) = 1 -> achieved
        (line("latest", 10, 50, results=[res("2022Q1", 30), res("2022Q3", 50)]),
         "2022Q4", False, 50, 1.0, 0.5, "on_track", True),
        # drafts and returned never count, even with include_pending: only Q1 10 -> 0.1
        (line(results=[res("2022Q1", 10), res("2022Q2", 20, "draft"),
                       res("2022Q3", 30, "returned")]),
         "2022Q4", True, 10, 0.1, 0.5, "off_track", False),
        # results after as_of are ignored: Q1 10 counts, 2023Q1 90 does not -> 0.1
        (line(results=[res("2022Q1", 10), res("2023Q1", 90)]),
         "2022Q4", True, 10, 0.1, 0.5, "off_track", False),
        # latest takes the latest *counted* period: Q3 pending, so Q2 = 25 -> (25-10)/40
        (line("latest", 10, 50, results=[res("2022Q2", 25), res("2022Q3", 45, "submitted")]),
         "2022Q4", False, 25, 0.375, 0.5, "at_risk", False),
    ],
)
def test_evaluate_line(ln, as_of, pending, want_actual, want_progress, want_expected,
                       want_status, achieved):
    lp = evaluate_line(ln, q(as_of), include_pending=pending)
    assert lp.actual == (None if want_actual is None else pytest.approx(want_actual))
    assert lp.progress == (None if want_progress is None else pytest.approx(want_progress))
    assert lp.expected == pytest.approx(want_expected)
    assert lp.status == want_status
    assert lp.achieved is achieved


@pytest.mark.parametrize(
    "expected, prog, has_data, want",
    [
        (0.0, 0.5, True, "not_started"),   # nothing expected yet wins over data
        (-0.1, None, False, "not_started"),
        (0.5, None, False, "no_data"),
        (0.5, 0.425, True, "on_track"),    # r = 0.85 exactly
        (0.34, 0.289, True, "on_track"),   # r = 0.85, float gives 0.8499999999999999
        (0.68, 0.408, True, "at_risk"),    # r = 0.60, float gives 0.5999999999999999
        (0.5, 0.42, True, "at_risk"),      # r = 0.84
        (0.5, 0.3, True, "at_risk"),       # r = 0.60 exactly
        (0.5, 0.2995, True, "off_track"),  # r = 0.599
        (1.0, 0.0, True, "off_track"),     # data, but zero progress
    ],
)
def test_status_bands(expected, prog, has_data, want):
    assert (ON_TRACK_MIN, AT_RISK_MIN) == (0.85, 0.60)
    assert status_of(expected, prog, has_data) == want


def test_not_counted_reasons():
    ln = line(results=[
        res("2022Q1", 1), res("2022Q2", 2, "draft"), res("2022Q3", 3, "returned"),
        res("2022Q4", 4, "submitted"), res("2023Q1", 5), res("2023Q2", 6, "submitted"),
    ])
    counted, skipped = counted_results(ln, Q4)
    assert [r.value for r in counted] == [1]
    # a submitted result after as_of is "after_period": including pending would not help
    assert [(r.value, why) for r, why in skipped] == [
        (2, "draft"), (3, "returned"), (4, "pending"), (5, "after_period"), (6, "after_period"),
    ]
    counted, skipped = counted_results(ln, Q4, include_pending=True)
    assert [r.value for r in counted] == [1, 4]
    assert [why for _, why in skipped] == ["draft", "returned", "after_period", "after_period"]
    assert actual(ln, ()) is None and progress(ln, None) is None


# --- Roll-ups ----------------------------------------------------------------------------------
def _eval(*lines):
    return [evaluate_line(ln, Q4) for ln in lines]


def test_rollup_achieved_is_capped_in_the_mean():
    # progress 1.3 (capped to 1) and 0.5 -> mean (1 + 0.5) / 2 = 0.75; both on track
    (g,) = rollup(_eval(line(results=[res("2022Q4", 130)]),
                        line(code="I2", results=[res("2022Q4", 50)])), ["country"])
    assert g.mean_progress == pytest.approx(0.75)
    assert g.on_track_share == pytest.approx(1.0)


def test_rollup_crossed_priority_by_subregion():
    # A carries SP1 and SP2 in CA -> (SP1,CA), (SP2,CA); B is SP1 in WB; C is SP2 in CA
    a = line(code="A", results=[res("2022Q4", 50)], priority=("SP1", "SP2"), subregion=("CA",))
    b = line(code="B", country="SRB", priority=("SP1",), subregion=("WB",))
    c = line(code="C", results=[res("2022Q4", 10)], priority=("SP2",), subregion=("CA",))
    groups = rollup(_eval(a, b, c), ("priority", "subregion"))
    assert [(g.key, g.lines) for g in groups] == [
        (("SP1", "CA"), 1), (("SP1", "WB"), 1), (("SP2", "CA"), 2)]
    # (SP2, CA): A 0.5 on_track, C 0.1 (r = 0.2) off_track -> mean 0.3, share 1/2
    sp2_ca = groups[2]
    assert sp2_ca.status_counts["on_track"] == sp2_ca.status_counts["off_track"] == 1
    assert sp2_ca.mean_progress == pytest.approx(0.3)
    assert sp2_ca.on_track_share == pytest.approx(0.5)
    assert groups[1].mean_progress is None and groups[1].status_counts["no_data"] == 1


def test_rollup_multi_country_project_and_multi_donor():
    # project P9 runs in KGZ (CA) and GEO (SC): one line per country
    kgz = line(project="P9", country="KGZ", results=[res("2022Q4", 60)],
               subregion=("CA",), donor=("ECHO", "USAID"))
    geo = line(project="P9", country="GEO", results=[res("2022Q4", 20)],
               subregion=("SC",), donor=("ECHO", "ECHO"))  # duplicate code counted once
    ev = _eval(kgz, geo)
    (p9,) = rollup(ev, ["project"])
    assert (p9.key, p9.lines) == ("P9", 2)
    assert p9.mean_progress == pytest.approx(0.4)  # (0.6 + 0.2) / 2
    assert [(g.key, g.lines) for g in rollup(ev, ["subregion"])] == [("CA", 1), ("SC", 1)]
    # the KGZ line has two donors: it counts in both donor groups
    donors = rollup(ev, ["donor"])
    assert [(g.key, g.lines) for g in donors] == [("ECHO", 2), ("USAID", 1)]
    assert donors[1].mean_progress == pytest.approx(0.6)
    assert rollup(ev, ["marker"]) == []  # no line carries a marker


def test_rollup_standard_indicator_sums():
    # S1.1: actual 30 (target 100) + no data (target 50) -> (30, 150); S2.1: (10, 20)
    ev = _eval(line(code="A", standard="S1.1", results=[res("2022Q1", 10), res("2022Q4", 20)]),
               line(code="B", standard="S1.1", target=50),
               line(code="C", standard="S2.1", target=20, results=[res("2022Q4", 10)]),
               line(code="D", target=999, results=[res("2022Q4", 5)]))  # not linked
    (g,) = rollup(ev, ["country"])
    # number measures are summed; target to date = expected x target = 0.5 x 100 + 0.5 x 50
    assert g.standard_indicators == [StandardFigure("S1.1", "number", "sum", 30.0, 150.0, 75.0, 1),
                                     StandardFigure("S2.1", "number", "sum", 10.0, 20.0, 10.0, 1)]


# --- Completeness ------------------------------------------------------------------------------
def cl(status=None, submitted=None, start=date(2022, 1, 1), end=date(2023, 12, 31),
       country="KGZ"):
    return CompletenessLine({"country": (country,), "subregion": ("CA" if country == "KGZ"
                                                                  else "SC",)},
                            start, end, status, submitted)


def test_completeness_on_time_late_and_inactive():
    # 2022Q4 ends 2022-12-31, due 2023-01-30
    lines = [
        cl("approved", datetime(2023, 1, 15, 9)),     # reported, on time
        cl("submitted", datetime(2023, 1, 30, 23)),   # reported, on time (the due date itself)
        cl("approved", datetime(2023, 2, 10, 8)),     # reported, late
        cl("draft"),                                  # not reported
        cl(None),                                     # no result
        cl(None, start=date(2021, 1, 1), end=date(2022, 10, 1)),  # ends on Q4's first day: active
        cl("approved", datetime(2023, 1, 2), start=date(2023, 1, 1)),  # starts after: excluded
        cl(None, start=date(2020, 1, 1), end=date(2022, 9, 30)),  # ended before: excluded
        cl(None, country="GEO", end=date(2021, 12, 31)),  # GEO: only an inactive project
    ]
    geo, kgz = completeness(lines, Q4, ["country"])
    # KGZ: expected 6, reported 3, on time 2 -> rate 0.5, on-time rate 1/3
    assert (kgz.key, kgz.expected, kgz.reported, kgz.on_time) == ("KGZ", 6, 3, 2)
    assert kgz.rate == pytest.approx(0.5) and kgz.on_time_rate == pytest.approx(1 / 3)
    assert (geo.key, geo.expected, geo.rate, geo.on_time_rate) == ("GEO", 0, None, None)
    crossed = completeness(lines, Q4, ["country", "subregion"])
    assert [(g.key, g.expected) for g in crossed] == [(("GEO", "SC"), 0), (("KGZ", "CA"), 6)]


# --- Properties --------------------------------------------------------------------------------
QUARTERS = [f"{y}Q{n}" for y in range(2020, 2025) for n in range(1, 5)]
STATES = ["draft", "submitted", "approved", "returned"]


@st.composite
def sum_lines(draw, country=None):
    periods = draw(st.lists(st.sampled_from(QUARTERS), unique=True, max_size=6))
    results = [res(p, draw(st.floats(0, 1e6)), draw(st.sampled_from(STATES))) for p in periods]
    start = date(2020, 1, 1) + timedelta(days=draw(st.integers(0, 1500)))
    end = start + timedelta(days=draw(st.integers(0, 1500)))
    return line("sum", 0, draw(st.floats(0.5, 1e6)), results, start=start, end=end,
                country=country or draw(st.sampled_from(["KGZ", "GEO", "SRB"])))


@settings(max_examples=200)
@given(st.lists(sum_lines(), max_size=12), st.sampled_from(QUARTERS), st.booleans())
def test_property_status_counts_and_mean(lines, as_of, pending):
    ev = [evaluate_line(ln, q(as_of), pending) for ln in lines]
    groups = rollup(ev, ["country"])
    assert sum(g.lines for g in groups) == len(lines)
    for g in groups:
        assert set(g.status_counts) == set(STATUSES)
        assert sum(g.status_counts.values()) == g.lines
        assert g.mean_progress is None or 0.0 <= g.mean_progress <= 1.0
        assert g.on_track_share is None or 0.0 <= g.on_track_share <= 1.0


@settings(max_examples=200)
@given(st.sampled_from(["sum", "latest"]), st.floats(0, 100), st.floats(1, 100),
       st.lists(st.tuples(st.sampled_from(QUARTERS), st.floats(0, 1e4)), min_size=1,
                max_size=6, unique_by=lambda t: t[0]),
       st.data())
def test_property_larger_value_never_lowers_progress(agg, baseline, gap, values, data):
    base = [res(p, v) for p, v in values]
    i = data.draw(st.integers(0, len(base) - 1))
    bumped = list(base)
    bumped[i] = res(base[i].period.code, base[i].value + data.draw(st.floats(0, 1e4)))
    target = baseline + gap
    as_of = q(data.draw(st.sampled_from(QUARTERS)))
    before = evaluate_line(line(agg, baseline, target, base), as_of).progress
    after = evaluate_line(line(agg, baseline, target, bumped), as_of).progress
    assert (before is None) == (after is None)
    assert before is None or after >= before


@given(st.dates(date(2015, 1, 1), date(2030, 12, 31)), st.integers(0, 4000),
       st.sampled_from(QUARTERS))
def test_property_time_prorated_expected_in_unit_interval(start, length, as_of):
    ln = line(start=start, end=start + timedelta(days=length))
    assert 0.0 <= expected_progress(ln, q(as_of)) <= 1.0


# --- Group bands (matrix cells) and one line's completeness -----------------------------------
from mne.progress.rules import GROUP_AT_RISK_MIN, GROUP_ON_TRACK_MIN, completeness_of, group_status  # noqa: E402


@pytest.mark.parametrize("lines, due, with_data, share, want", [
    (0, 0, 0, None, None),            # an empty cell has no band
    (4, 0, 0, None, "not_started"),   # nothing due yet
    (4, 3, 0, 0.0, "no_data"),        # due lines, none with data
    (20, 20, 18, 0.75, "on_track"),   # 15 of 20 on track or achieved: exactly the group threshold
    (20, 20, 18, 0.70, "at_risk"),
    (3, 3, 3, 2 / 3, "at_risk"),      # worked example 2's SP4: 2 of 3
    (10, 10, 10, 0.50, "at_risk"),    # the lower edge
    (10, 10, 10, 0.49, "off_track"),
])
def test_group_status_bands_the_on_track_share(lines, due, with_data, share, want):
    assert (GROUP_ON_TRACK_MIN, GROUP_AT_RISK_MIN) == (0.75, 0.50)
    assert group_status(lines, due, with_data, share) == want


@pytest.mark.parametrize("status, sent, want", [
    (None, None, (True, False, False)),
    ("draft", None, (True, False, False)),
    ("submitted", datetime(2023, 1, 30, 23, 59), (True, True, True)),  # on the due date
    ("approved", datetime(2023, 1, 31, 0, 1), (True, True, False)),    # a day late
    ("returned", datetime(2023, 1, 2), (True, False, False)),
])
def test_completeness_of_one_line(status, sent, want):
    cl = CompletenessLine(keys={}, project_start=date(2022, 1, 1), project_end=date(2023, 12, 31),
                          result_status=status, first_submitted_at=sent)
    assert completeness_of(cl, Q4) == want
    outside = CompletenessLine(keys={}, project_start=date(2023, 1, 1), project_end=date(2023, 12, 31),
                               result_status=status, first_submitted_at=sent)
    assert completeness_of(outside, Q4) == (False, False, False)  # not active in 2022Q4


from mne.progress.rules import PROGRESS_CAP, mean_progress, share  # noqa: E402


@pytest.mark.parametrize("capped_sum, with_data, want", [  # sums of progress clipped to 0..1
    (0.75, 2, 0.375),   # the worked example's SP1 in KGZ: I1 (0.5) and I2 (0.25)
    (1.0 + 0.6, 2, 0.8),  # a line at 110 % counts PROGRESS_CAP (1.0) beside one at 60 %
    (0.0, 0, None),     # no line with data: no mean, not 0
])
def test_mean_progress_of_a_group_from_its_sums(capped_sum, with_data, want):
    assert PROGRESS_CAP == 1.0
    assert mean_progress(capped_sum, with_data) == (pytest.approx(want) if want is not None else None)


@pytest.mark.parametrize("part, whole, want", [(1, 2, 0.5), (0, 3, 0.0), (2, 3, 2 / 3), (0, 0, None)])
def test_a_share_of_lines_is_none_of_nothing(part, whole, want):
    assert share(part, whole) == (pytest.approx(want) if want is not None else None)
