"""Data-quality flags of a result: plain functions, no database. A flag informs; it never blocks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from statistics import median

from mne.formatting import num

JUMP_FACTOR = 3.0          # a value more than 3x the previous one, or the earlier median
PERCENT_SWING = 50.0       # a percentage moving more than 50 points in one period
OVER_TARGET = 1.5          # a cumulative total over 150 % of target


@dataclass(frozen=True)
class FlagInfo:
    code: str
    message: str


def flags_for(
    *,
    value: float,
    earlier: list[float],
    measure: str,
    aggregation: str,
    target: float | None,
    first_submitted_at: datetime | None,
    due_date: date | None,
) -> list[FlagInfo]:
    """`earlier` holds the line's values of earlier periods, oldest first."""
    flags: list[FlagInfo] = []
    if earlier:
        previous = earlier[-1]
        if previous > 0 and value > JUMP_FACTOR * previous:
            flags.append(FlagInfo("jump", f"{num(value, 2)} is more than 3× the previous value ({num(previous, 2)})"))
        else:
            mid = median(earlier)
            if mid > 0 and value > JUMP_FACTOR * mid:
                flags.append(FlagInfo("jump", f"{num(value, 2)} is more than 3× the median of earlier values ({num(mid, 2)})"))
        if measure == "percentage" and abs(value - previous) > PERCENT_SWING:
            flags.append(FlagInfo("swing", f"moved {num(abs(value - previous), 2)} points since the previous period"))
    if aggregation == "sum" and target and target > 0:
        total = sum(earlier) + value
        if total > OVER_TARGET * target:
            flags.append(FlagInfo("over_target", f"cumulative {num(total, 2)} is {total / target:.0%} of the target {num(target, 2)}"))
    # Judged by the first submission, as completeness is: a return and a resubmission later do
    # not make a report that came in on time late.
    sent = first_submitted_at
    if sent is not None and due_date is not None and sent.date() > due_date:
        flags.append(FlagInfo("late", f"first submitted {sent.date().isoformat()}, after the due date {due_date.isoformat()}"))
    return flags
