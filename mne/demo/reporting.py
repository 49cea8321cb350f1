"""The results of one indicator line, with the mess of real reporting.

Most lines track their target, some lag far behind, a few are achieved early; old periods
are approved, recent ones still submitted or in draft; some periods are missing, some
submissions late, some returned with a note. A line reports in the periods its reporting
frequency makes due (Q2 and Q4, Q4, or the project's last period), with the odd interim value
in between and a final report when the project ends. Values are integers for counts so that
sex and age breakdowns add up exactly; percentages mostly come as a numerator over a
denominator (a survey's yes answers over those asked), by sex each group's own percentage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cached_property

from mne.demo import vocabulary as V
from mne.progress.rules import is_due

# Status shares (approved, submitted, draft, returned) by the age of the period in quarters,
# 0 being the last period in the database; older periods use OLD_STATUS. By the demo's "today"
# (the last period's due date) most of what came in early is approved: the dashboard of that
# period (the default as_of) counts approved results only, and a line whose last report is
# still pending looks a quarter (a year, if annual) behind.
STATUS_BY_AGE = ((0.60, 0.22, 0.11, 0.07), (0.70, 0.16, 0.06, 0.08),
                 (0.84, 0.09, 0.03, 0.04), (0.92, 0.05, 0.01, 0.02))
OLD_STATUS = (0.985, 0.01, 0.0, 0.005)
# Odds that a line has no result for a period, by age (the last quarter is still coming in).
MISSING_BY_AGE = (0.08, 0.04)
MISSING_OLD = 0.02
# Line trajectories: (weight, lowest and highest pace relative to plan): ahead of a cautious
# plan, just short (on track while running, not quite achieved at the end), lagging, far behind,
# early achievers. Portfolios self-report well: about three lines in four are on track or
# achieved, one in five falls short. Measured by tests/test_demo.py as of the last period.
TRAJECTORIES = ((69, 1.2, 1.6), (4, 0.9, 0.99), (11, 0.72, 0.9), (4, 0.2, 0.5), (12, 1.6, 2.2))
# A flow past CAP times its target (EARLY_CAP for early achievers) slows to this share of its pace.
CAP, EARLY_CAP, PAST_TARGET = 1.05, 1.25, 0.2
# Portfolios differ: the weight of the lagging trajectories is multiplied by BEHIND[0] for the
# weakest portfolio (standing 0) down to BEHIND[1] for the strongest (standing 1), 1 on average.
BEHIND = (1.9, 0.1)
# Odds of a result in a period that is not due: the final report of a project that ends between
# two due periods, the yearly interim value of some endline lines, any other extra value.
FINAL_REPORT, ENDLINE_INTERIM, ENDLINE_INTERIM_LINES, EXTRA = 0.6, 0.7, 0.25, 0.03
# Share of percentage lines whose results carry a numerator and a denominator, and odds that
# one result of such a line still comes without them.
WITH_RATIO, RATIO_DROPPED = 0.85, 0.03
SAMPLE_SIZES = (20, 25, 30, 40, 50, 60, 80, 100, 120, 150, 200, 250, 300, 400, 600)


@dataclass(frozen=True)
class Quarter:
    """A reporting period with what the generator needs precomputed."""

    index: int
    code: str
    start: date
    end: date
    due: date

    @cached_property
    def after_end(self) -> datetime:
        """Midnight UTC after the period ends: the earliest moment one can report on it."""
        nxt = self.end + timedelta(days=1)
        return datetime(nxt.year, nxt.month, nxt.day, tzinfo=UTC)

    @cached_property
    def due_offset(self) -> int:
        """Days after ``after_end`` that are still on time (the due date itself counts)."""
        return (self.due - self.end).days - 1


def draw_pace(rng: random.Random, standing: float) -> float:
    """A line's pace relative to plan, from TRAJECTORIES weighted by its portfolio's standing."""
    behind = BEHIND[0] + (BEHIND[1] - BEHIND[0]) * standing
    weights = [w if slowest >= 1 else w * behind for w, slowest, _f in TRAJECTORIES]
    _weight, slowest, fastest = rng.choices(TRAJECTORIES, weights)[0]
    return rng.uniform(slowest, fastest)


def line_results(rng: random.Random, *, kind: str, disaggregation: str, frequency: str,
                 baseline: float, target: float, opening: float, start: date, end: date,
                 quarters: list[Quarter], life_quarters: int, last_index: int, late_rate: float,
                 officer: int, approvers: tuple[int, int], country: str, indicator_id: int,
                 first_id: int, standing: float = 0.5) -> list[dict]:
    """Result rows of one line (ids from ``first_id``), one per reported quarter.

    A flow's ``opening`` (what it achieved before the first period) is part of its target, so
    only the rest is spread over the quarters. ``standing`` (0 weakest .. 1 strongest) is how
    well the line's portfolio delivers: the weaker, the more lines lag.
    """
    if rng.random() < 0.02:  # a line nobody ever reported on
        return []
    pace = draw_pace(rng, standing)
    cap = EARLY_CAP if pace >= TRAJECTORIES[-1][1] else CAP  # only early achievers overshoot much
    gappy = rng.random() < 0.12
    interim = frequency == "endline" and rng.random() < ENDLINE_INTERIM_LINES
    female = rng.uniform(0.35, 0.65)
    children, elders = rng.uniform(0.05, 0.4), rng.uniform(0.02, 0.15)
    sample = rng.choice(SAMPLE_SIZES) if kind.startswith("pct") and rng.random() < WITH_RATIO else 0
    places = V.PLACES.get(country, (country,))
    span = (end - start).days + 1
    # The first quarter goes half to set-up; plans allow for it.
    set_up = 0.5 if quarters and quarters[0].start <= start else 0.0
    per_quarter = (target - opening) / max(1.0, life_quarters - set_up)
    rows: list[dict] = []
    done = reported = 0.0  # a flow's work so far, and how much of it was reported
    for q in quarters:
        if kind == "flow":
            ramp = 0.5 if q.start <= start <= q.end else 1.0
            work = per_quarter * pace * ramp * rng.uniform(0.6, 1.4)
            done += work * (PAST_TARGET if opening + done >= cap * target else 1.0)
        if not is_due(frequency, start, end, q):  # the rules' own test (a Quarter has start and end)
            odds = (FINAL_REPORT if q.start <= end <= q.end
                    else ENDLINE_INTERIM if interim and q.end.month == 12 else EXTRA)
            if rng.random() >= odds:
                continue
        age = last_index - q.index
        missing = MISSING_BY_AGE[age] if age < len(MISSING_BY_AGE) else MISSING_OLD
        if rng.random() < missing or (gappy and rng.random() < 0.3):
            continue
        if kind == "flow":
            # Whole numbers from the running total, so a target of 5 over 16 quarters still
            # shows up (0, 1, 0, 0, 1 ...), and work of an unreported quarter comes in the next.
            value = float(max(0, round(done) - reported))
            reported += value
        else:
            elapsed = min(1.0, ((min(q.end, end) - start).days + 1) / span)
            level = baseline + (target - baseline) * min(cap, pace * elapsed)
            level += rng.gauss(0, 0.04) * abs(target - baseline)
            value = float(max(0, round(level)))
        if kind.startswith("pct"):
            value, row = _percentage(rng, min(100.0, max(0.0, level)), sample, disaggregation, female)
        else:
            row = _breakdown(rng, value, disaggregation, female, children, elders)
        row.update(_workflow(rng, q, age, late_rate, officer, approvers))
        shown = f"{value:g}%" if kind.startswith("pct") else f"{int(value):,}"
        drafting = row["status"] == "draft"
        row.update(
            id=first_id + len(rows), indicator_id=indicator_id, country_iso3=country,
            period_code=q.code, value=value,
            narrative="" if drafting and rng.random() < 0.3 else
            rng.choice(V.NARRATIVES).format(place=rng.choice(places), value=shown),
            means_of_verification="" if drafting and rng.random() < 0.4 else
            rng.choice(V.MEANS_OF_VERIFICATION),
        )
        rows.append(row)
    return rows


def _percentage(rng, level: float, sample: int, disaggregation: str, female: float) -> tuple[float, dict]:
    """A percentage near ``level``: from a numerator over a denominator when the line has a
    ``sample`` size (the value then exactly 100 x num / den to two decimals), else as typed to
    one decimal; by sex, each group's own percentage (which need not add up to anything).
    """
    row = dict(female=None, male=None, other=None, age_0_17=None, age_18_59=None, age_60_plus=None,
               numerator=None, denominator=None)
    spread = rng.gauss(0, 6)  # how far women's figure lies from the whole's
    if sample and rng.random() >= RATIO_DROPPED:
        den = max(10, round(sample * rng.uniform(0.75, 1.25)))
        num = min(den, max(0, round(level * den / 100)))
        row.update(numerator=num, denominator=den)
        if disaggregation != "none":
            den_f = min(den - 1, max(1, round(den * female)))
            den_m = den - den_f
            num_f = round(min(100.0, max(0.0, level + spread)) * den_f / 100)
            num_f = min(den_f, num, max(num - den_m, num_f))  # the men's share stays possible
            row.update(female=round(100 * num_f / den_f, 2), male=round(100 * (num - num_f) / den_m, 2))
        return round(100 * num / den, 2), row
    value = round(level, 1)
    if disaggregation != "none":
        row.update(female=round(min(100.0, max(0.0, value + spread)), 1),
                   male=round(min(100.0, max(0.0, value - spread * female / (1 - female))), 1))
    return value, row


def _breakdown(rng, value, disaggregation, female, children, elders) -> dict:
    """Sex (and age) figures that add up to the value exactly; None when not disaggregated."""
    row = dict(female=None, male=None, other=None, age_0_17=None, age_18_59=None, age_60_plus=None,
               numerator=None, denominator=None)
    if disaggregation == "none":
        return row
    total = int(value)
    f = round(total * min(1.0, max(0.0, female + rng.uniform(-0.05, 0.05))))
    o = 1 if total >= 40 and f < total and rng.random() < 0.05 else 0
    row.update(female=float(f), male=float(total - f - o), other=float(o))
    if disaggregation == "sex_age":
        young, old = round(total * children), round(total * elders)
        row.update(age_0_17=float(young), age_18_59=float(total - young - old), age_60_plus=float(old))
    return row


def _workflow(rng, q: Quarter, age: int, late_rate: float, officer: int,
              approvers: tuple[int, int]) -> dict:
    """Status with consistent who-and-when: created, then submitted, then reviewed."""
    shares = STATUS_BY_AGE[age] if age < len(STATUS_BY_AGE) else OLD_STATUS
    r = rng.random()
    status = ("approved" if r < shares[0] else "submitted" if r < shares[0] + shares[1]
              else "draft" if r < shares[0] + shares[1] + shares[2] else "returned")
    base, due = q.after_end, q.due_offset
    created_day = rng.randint(0, max(0, due - 3))
    created = base + timedelta(days=created_day, minutes=rng.randint(480, 1079))
    row = dict(status=status, review_note="", version=1, created_by_id=officer, created_at=created,
               updated_by_id=officer, updated_at=created, submitted_by_id=None, submitted_at=None,
               first_submitted_at=None, reviewed_by_id=None, reviewed_at=None, approved_by_id=None,
               approved_at=None)
    if status == "draft":
        return row
    if rng.random() < late_rate:
        sent_day = due + rng.randint(1, 60)
    else:
        sent_day = rng.randint(created_day, due)
    sent = max(base + timedelta(days=sent_day, minutes=rng.randint(480, 1079)),
               created + timedelta(minutes=rng.randint(10, 240)))
    reviewer = approvers[0] if rng.random() < 0.85 else approvers[1]
    first = sent  # on time or late is judged by the first submission
    if status in ("approved", "submitted") and rng.random() < 0.06:
        # Returned once, corrected and sent again: the second version.
        returned = _later(rng, sent, 1, 10)
        sent = _later(rng, returned, 1, 15)
        row.update(version=2, reviewed_by_id=reviewer, reviewed_at=returned)
    row.update(submitted_by_id=officer, submitted_at=sent, first_submitted_at=first, updated_at=sent)
    if status == "approved":
        approved = _later(rng, sent, 1, 25)
        row.update(approved_by_id=reviewer, approved_at=approved, reviewed_by_id=reviewer,
                   reviewed_at=approved, updated_by_id=reviewer, updated_at=approved)
    elif status == "returned":
        returned = _later(rng, sent, 1, 20)
        row.update(review_note=rng.choice(V.REVIEW_NOTES), reviewed_by_id=reviewer,
                   reviewed_at=returned, updated_by_id=reviewer, updated_at=returned)
    return row


def _later(rng: random.Random, after: datetime, min_days: int, max_days: int) -> datetime:
    """A moment in office hours (08:00-18:00 UTC) some days after ``after``."""
    day = after.replace(hour=0, minute=0, second=0, microsecond=0)
    return day + timedelta(days=rng.randint(min_days, max_days), minutes=rng.randint(480, 1079))
