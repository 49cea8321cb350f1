"""What is due, as pure functions over periods and lines (no Session): the current reporting
period, the state of a line's report and when it is overdue.

Whether a line's result is due in a period at all is ``mne.progress.rules.is_due`` (its reporting
frequency and its project's dates); this module only adds the calendar of the officer's work.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from mne.progress.rules import PeriodInfo

# The state of a line's report for a period: its result's status, or `missing` without one.
STATES = ("missing", "draft", "submitted", "returned", "approved")
# The states that still ask something of the officer: nothing sent, or sent back.
OUTSTANDING = frozenset({"missing", "draft", "returned"})


@dataclass(frozen=True)
class DueItem:
    """One indicator line whose result is due in one period, and where that result stands."""

    indicator_id: int
    indicator_code: str
    indicator_name: str  # the indicator's statement
    project_code: str
    project_title: str
    country: str  # ISO3
    period: str
    due_date: date
    state: str  # one of STATES
    result_id: int | None = None  # None when `missing`

    def days_left(self, today: date) -> int:
        """Days from ``today`` to the due date: negative once it has passed."""
        return (self.due_date - today).days

    def is_overdue(self, today: date) -> bool:
        """The due date has passed and the officer still owes the report (missing, draft, returned)."""
        return is_overdue(self.state, self.due_date, today)


def state_of(status: str | None) -> str:
    """A line's state from its result's status (None: no result)."""
    return status or "missing"


def is_overdue(state: str, due_date: date, today: date) -> bool:
    """Overdue: the due date is before ``today`` and the state is missing, draft or returned."""
    return state in OUTSTANDING and due_date < today


def current_period(periods: Sequence[PeriodInfo], today: date) -> PeriodInfo | None:
    """The reporting period officers work on as of ``today``: the one with the nearest due date
    that has not passed (a quarter is reported in the month after it ends, so on 15 April it is
    Q1, due 30 April; on 15 May it is Q2, due 30 July). When every due date has passed, the
    latest period; None when there are no periods.

    It is the period after ``progress.rules.default_as_of`` (the latest whose due date has
    passed, which the figures are shown as of)."""
    upcoming = [p for p in periods if p.due_date >= today]
    if upcoming:
        return min(upcoming, key=lambda p: (p.due_date, p.end, p.code))
    return max(periods, key=lambda p: (p.end, p.code)) if periods else None


def describe_due(days_left: int) -> str:
    """The due date in words, relative to today: "due today", "due in 5 days", "3 days overdue"."""
    if days_left == 0:
        return "due today"
    if days_left > 0:
        return f"due in {days_left} day{'' if days_left == 1 else 's'}"
    late = -days_left
    return f"{late} day{'' if late == 1 else 's'} overdue"


def describe_age(days: int) -> str:
    """How long something has waited, in words: "today", "1 day", "12 days"."""
    return "today" if days <= 0 else f"{days} day{'' if days == 1 else 's'}"
