"""The roll-up and completeness of SPEC section 5 computed line by line: a test oracle.

The product adds up precomputed sums in SQL (``mne.progress.snapshots`` and ``service``); this
recomputes the same groups straight from evaluated lines, the plain way, so the tests can
check the product against it (``test_progress_summaries``) and check it against hand-computed
tables (``test_progress_rules``). It is not used by the app.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product

from mne.progress.rules import STATUSES, CompletenessLine, LineProgress, PeriodInfo, completeness_of

GroupKey = str | tuple[str, ...]


def _group_keys(keys: Mapping[str, tuple[str, ...]], by: Sequence[str]) -> list[GroupKey]:
    """Every group a line belongs to: one per key value, the cartesian product when crossed.

    A project with two donors counts in both donor groups; a line lacking a dimension is in
    no group of it.
    """
    by = (by,) if isinstance(by, str) else by
    values = [tuple(dict.fromkeys(keys.get(dim, ()))) for dim in by]
    combos = list(product(*values))
    return [c[0] for c in combos] if len(by) == 1 else combos  # a code, or a tuple of codes


@dataclass
class GroupRollup:
    """Figures of one group; ``key`` is a code, or a tuple of codes for a crossed ``by``."""
    key: GroupKey
    lines: int
    status_counts: dict[str, int]
    mean_progress: float | None
    on_track_share: float | None
    standard_indicators: list[tuple[str, float, float]]  # (code, sum of actual, sum of target)


def _summarise(key: GroupKey, members: list[LineProgress]) -> GroupRollup:
    counts = dict.fromkeys(STATUSES, 0)
    standard: dict[str, list[float]] = {}
    for lp in members:
        counts[lp.status] = counts.get(lp.status, 0) + 1
        if lp.line.standard_indicator:
            sums = standard.setdefault(lp.line.standard_indicator, [0.0, 0.0])
            sums[0] += lp.actual or 0.0  # a line with no data adds its target, not an actual
            sums[1] += lp.line.target
    capped = [min(lp.progress, 1.0) for lp in members if lp.progress is not None]
    due = sum(1 for lp in members if lp.expected > 0)
    return GroupRollup(
        key=key, lines=len(members), status_counts=counts,
        mean_progress=sum(capped) / len(capped) if capped else None,
        on_track_share=counts["on_track"] / due if due else None,
        standard_indicators=[(c, a, t) for c, (a, t) in sorted(standard.items())],
    )


def rollup(evaluated: Iterable[LineProgress], by: Sequence[str]) -> list[GroupRollup]:
    """Roll evaluated lines up by one dimension or two crossed; groups sorted by key.

    Progress is capped at 1 in the mean so one over-achieving line cannot hide a failing one.
    """
    groups: dict[GroupKey, list[LineProgress]] = {}
    for lp in evaluated:
        for key in _group_keys(lp.line.keys, by):
            groups.setdefault(key, []).append(lp)
    return [_summarise(k, groups[k]) for k in sorted(groups)]


@dataclass
class CompletenessGroup:
    """Reporting completeness of one group; rates are None when nothing was expected."""
    key: GroupKey
    expected: int
    reported: int
    on_time: int
    rate: float | None
    on_time_rate: float | None


def completeness(lines: Iterable[CompletenessLine], period: PeriodInfo,
                 by: Sequence[str]) -> list[CompletenessGroup]:
    """Who reported for ``period``: only lines of projects active during it are expected.

    Groups of inactive lines still appear (expected 0, rates None) so a country with no
    running project shows as such instead of vanishing.
    """
    tallies: dict[GroupKey, list[int]] = {}
    for cl in lines:
        active, reported, on_time = completeness_of(cl, period)
        for key in _group_keys(cl.keys, by):
            t = tallies.setdefault(key, [0, 0, 0])
            t[0] += active
            t[1] += reported
            t[2] += on_time
    return [CompletenessGroup(k, e, r, o, r / e if e else None, o / e if e else None)
            for k, (e, r, o) in sorted(tallies.items())]
