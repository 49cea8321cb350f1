"""What a reminder says, as pure functions (no Session, no SMTP): the key that records an item
as told, and the subject and text of an officer's and a reviewer's digest.

An item is told once per key. A due line's key holds its state, so a line told while missing is
told again once it is returned; a waiting result's key holds the time it was submitted, so a
result sent back and submitted again waits anew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from mne.due.rules import DueItem, describe_age, describe_due

DUE = "due"
REVIEW = "review"
# An officer's digest lists at most this many lines; the rest are counted and on "My reporting".
MAX_LINES = 100
STATE_WORDS = {"missing": "not reported", "draft": "draft, not submitted", "returned": "returned to you"}


def due_key(item: DueItem) -> str:
    return f"{item.indicator_id}:{item.country}:{item.period}:{item.state}"


def review_key(result_id: int, submitted_at: datetime | None, version: int) -> str:
    """The result and when it was last submitted (its version when that is unknown)."""
    when = submitted_at.strftime("%Y-%m-%dT%H:%M:%S.%f") if submitted_at else f"v{version}"
    return f"{result_id}:{when}"


@dataclass(frozen=True)
class Text:
    subject: str
    body: str


def _plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _country(iso3: str, names: Mapping[str, str]) -> str:
    name = names.get(iso3)
    return f"{name} ({iso3})" if name else iso3


def _and(words: list[str]) -> str:
    """"A", "A and B", "A, B and C"."""
    return " and ".join(filter(None, [", ".join(words[:-1]), words[-1] if words else ""]))


def _ago(days: int) -> str:
    return "today" if days <= 0 else f"{describe_age(days)} ago"


def _link(base_url: str, path: str) -> str:
    return base_url.rstrip("/") + path


def _footer(base_url: str, why: str) -> list[str]:
    return ["", "--", f"You receive this because you {why} in mne. To stop these emails, untick",
            f"\"Email me reminder digests\" at {_link(base_url, '/account/notifications')}"]


def officer_digest(*, name: str, new: Sequence[DueItem], told_before: int, today: date, base_url: str,
                   countries: Sequence[str], country_names: Mapping[str, str]) -> Text:
    """The lines an officer has not been told of yet, overdue ones first, by period and project;
    ``told_before`` lines still owed were in an earlier digest and are only counted."""
    overdue = [i for i in new if i.is_overdue(today)]
    soon = [i for i in new if not i.is_overdue(today)]
    if overdue and soon:
        subject = f"mne reminder: {_plural(len(overdue), 'report')} overdue, {len(soon):,} due soon"
    elif overdue:
        subject = f"mne reminder: {_plural(len(overdue), 'report')} overdue"
    else:
        subject = f"mne reminder: {_plural(len(soon), 'report')} due soon"
    where = _and([_country(c, country_names) for c in countries])
    lines = [f"Hello {name}," if name else "Hello,", "",
             f"These reports for {where} are overdue or due within 7 days (as of {today:%Y-%m-%d}):"]
    shown = 0
    for heading, items in (("Overdue", overdue), ("Due soon", soon)):
        if not items:
            continue
        lines += ["", heading.upper()]
        period = project = None
        for item in items:
            if shown == MAX_LINES:
                break
            if item.period != period:
                period, project = item.period, None
                lines += ["", f"{item.period}, due {item.due_date:%Y-%m-%d} ({describe_due(item.days_left(today))})"]
            if item.project_code != project:
                project = item.project_code
                lines += [f"  {item.project_code}: {item.project_title}",
                          f"  {_link(base_url, f'/projects/{item.project_code}/results')}"]
            lines.append(f"    - {item.indicator_code} {item.indicator_name} ({_country(item.country, country_names)}):"
                         f" {STATE_WORDS.get(item.state, item.state)}")
            shown += 1
    if shown < len(new):
        lines += ["", f"... and {_plural(len(new) - shown, 'more line')}: see My reporting."]
    if told_before:
        lines += ["", f"You also still owe {_plural(told_before, 'report')} listed in an earlier reminder."]
    lines += ["", f"My reporting: {_link(base_url, '/reporting')}"]
    lines += _footer(base_url, "report results for " + _and(list(countries)))
    return Text(subject, "\n".join(lines) + "\n")


@dataclass(frozen=True)
class Queue:
    """One country's waiting results, as the digest tells them."""

    country: str
    waiting: int
    oldest_days: int
    oldest_at: date | None


def reviewer_digest(*, name: str, queues: Sequence[Queue], new: int, base_url: str,
                    country_names: Mapping[str, str]) -> Text:
    """How many results wait for review (``new`` of them not told before), by country, with the
    age of the oldest."""
    total = sum(q.waiting for q in queues)
    oldest = max(queues, key=lambda q: q.oldest_days, default=None)
    subject = f"mne reminder: {_plural(total, 'result waits', 'results wait')} for your review"
    lines = [f"Hello {name}," if name else "Hello,", "",
             f"{_plural(total, 'result waits', 'results wait')} for your review ({new:,} new since the last reminder)."]
    if oldest is not None and oldest.oldest_at is not None:
        lines.append(f"The oldest was submitted on {oldest.oldest_at:%Y-%m-%d}, {_ago(oldest.oldest_days)}.")
    lines += ["", "By country:"]
    lines += [f"  {_country(q.country, country_names)}: {q.waiting:,} waiting, the oldest submitted "
              + (f"on {q.oldest_at:%Y-%m-%d} ({_ago(q.oldest_days)})" if q.oldest_at else "earlier")
              for q in queues]
    lines += ["", f"Review queue: {_link(base_url, '/review')}",
              f"By country:   {_link(base_url, '/review/overview')}"]
    lines += _footer(base_url, "review results")
    return Text(subject, "\n".join(lines) + "\n")
