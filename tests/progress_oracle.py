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

from mne.progress.rules import (
    STATUSES,
    CompletenessLine,
    LineProgress,
    PeriodInfo,
    StandardFigure,
    completeness_of,
)

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
    regressing: int
    on_track_share: float | None
    standard_indicators: list[StandardFigure]


def _standard(code: str, measure: str, lines: list[LineProgress]) -> StandardFigure:
    """One standard indicator over its lines, the plain way (SPEC §5)."""
    with_data = [lp for lp in lines if lp.progress is not None]
    if measure != "percentage":
        return StandardFigure(code, measure, "sum", sum(lp.actual or 0.0 for lp in lines),
                              sum(lp.line.target for lp in lines),
                              sum(lp.expected * lp.line.target for lp in lines), len(with_data))
    target = sum(lp.line.target for lp in lines) / len(lines)
    if with_data and all(lp.numerator is not None and lp.denominator is not None for lp in with_data):
        ratio = 100 * sum(lp.numerator for lp in with_data) / sum(lp.denominator for lp in with_data)
        return StandardFigure(code, measure, "ratio", round(ratio, 2), target, None, len(with_data))
    mean = sum(lp.actual for lp in with_data) / len(with_data) if with_data else None
    return StandardFigure(code, measure, "mean", mean, target, None, len(with_data))


def _summarise(key: GroupKey, members: list[LineProgress]) -> GroupRollup:
    counts = dict.fromkeys(STATUSES, 0)
    standard: dict[str, list[LineProgress]] = {}
    for lp in members:
        counts[lp.status] = counts.get(lp.status, 0) + 1
        if lp.line.standard_indicator:
            standard.setdefault(lp.line.standard_indicator, []).append(lp)
    clipped = [min(max(lp.progress, 0.0), 1.0) for lp in members if lp.progress is not None]
    due = sum(1 for lp in members if lp.expected > 0)
    return GroupRollup(
        key=key, lines=len(members), status_counts=counts,
        mean_progress=sum(clipped) / len(clipped) if clipped else None,
        regressing=sum(1 for lp in members if lp.progress is not None and lp.progress < 0),
        on_track_share=(counts["on_track"] + counts["achieved"]) / due if due else None,
        standard_indicators=[_standard(c, lps[0].line.measure, lps) for c, lps in sorted(standard.items())],
    )


def rollup(evaluated: Iterable[LineProgress], by: Sequence[str]) -> list[GroupRollup]:
    """Roll evaluated lines up by one dimension or two crossed; groups sorted by key.

    Progress is clipped to 0..1 in the mean so one over-achieving line cannot hide a failing one.
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
    """Who reported for ``period``: only lines with a result due in it are expected.

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
