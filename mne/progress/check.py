"""Comparing the stored progress summaries with a recomputation from scratch, writing nothing.

``mne db rebuild-summaries --check`` runs it: after a race, a crash or a restore, it tells
whether ``line_summary``, ``region_summary`` and ``project_summary`` still hold what
``snapshots.rebuild_all`` would write. The line rows come from the same rules
(``snapshots.summary_rows``); the sums are added up by the same SQL (``cell_aggregates``) over
a temporary copy of the recomputed line rows, so no stored table is touched or locked.

Everything is read in one transaction (``REPEATABLE READ`` on PostgreSQL, a read snapshot on
SQLite in WAL mode), so writes that commit meanwhile cannot show up as false differences.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from sqlalchemy import Column, MetaData, Table, select
from sqlalchemy.engine import Connection, Engine

from mne.bulk import insert_rows
from mne.progress.snapshots import (
    LS,
    PROJECT,
    PROJECT_KEY,
    REGION,
    REGION_KEY,
    _indicator_chunks,
    cell_aggregates,
    load_lines,
    summary_rows,
)
from mne.reference.periods import periods_of

LINE_KEY = ("indicator_id", "country_iso3", "period_code")
# Sums added up in another order may differ in the last bits; anything more is a difference.
REL_TOL = 1e-9
ABS_TOL = 1e-9
_SCRATCH = "mne_summary_check"


@dataclass(frozen=True)
class Difference:
    table: str
    key: tuple
    column: str  # "(row)" when the whole row is missing on one side
    stored: object
    computed: object

    def __str__(self) -> str:
        key = ", ".join(str(k) for k in self.key)
        return f"{self.table} [{key}] {self.column}: stored {self.stored!r}, computed {self.computed!r}"


@dataclass
class CheckReport:
    rows_compared: int = 0
    differences: list[Difference] = field(default_factory=list)
    count: int = 0  # every difference found; ``differences`` keeps the first ``keep`` of them
    keep: int = 20
    by_table: dict[str, int] = field(default_factory=dict)

    @property
    def equal(self) -> bool:
        return self.count == 0

    def add(self, difference: Difference) -> None:
        self.count += 1
        self.by_table[difference.table] = self.by_table.get(difference.table, 0) + 1
        if len(self.differences) < self.keep:
            self.differences.append(difference)


def _same(stored: object, computed: object) -> bool:
    if stored is None or computed is None:
        return stored is None and computed is None
    if isinstance(stored, bool) or isinstance(computed, bool) or isinstance(stored, str) or isinstance(computed, str):
        return stored == computed
    return math.isclose(float(stored), float(computed), rel_tol=REL_TOL, abs_tol=ABS_TOL)


def _compare(report: CheckReport, table: str, key: Sequence[str], columns: Sequence[str],
             stored: dict[tuple, dict], computed: dict[tuple, dict]) -> None:
    for k in sorted(stored.keys() | computed.keys(), key=lambda k: tuple(str(v) for v in k)):
        report.rows_compared += 1
        mine, want = stored.get(k), computed.get(k)
        if mine is None or want is None:
            report.add(Difference(table, k, "(row)", "missing" if mine is None else "present",
                                  "missing" if want is None else "present"))
            continue
        for column in columns:
            if not _same(mine[column], want[column]):
                report.add(Difference(table, k, column, mine[column], want[column]))


def _keyed(rows: Iterator, key: Sequence[str]) -> dict[tuple, dict]:
    return {tuple(row[k] for k in key): dict(row) for row in rows}


def _scratch_table() -> Table:
    """A temporary table shaped like ``line_summary``, without its keys to other tables."""
    return Table(_SCRATCH, MetaData(), *(Column(c.name, c.type, primary_key=c.primary_key) for c in LS.columns),
                 prefixes=["TEMPORARY"])


def compare_summaries(conn: Connection, keep: int = 20) -> CheckReport:
    """Recompute every summary on ``conn``'s transaction and compare it with what is stored.
    Only a temporary table is written; the caller rolls the transaction back."""
    report = CheckReport(keep=keep)
    scratch = _scratch_table()
    scratch.create(conn)
    try:
        all_periods = periods_of(conn)
        values = [c.name for c in LS.columns if c.name not in LINE_KEY]
        for chunk in _indicator_chunks(conn):
            computed_rows = [row for item in load_lines(conn, chunk, all_periods)
                             for row in summary_rows(item, all_periods)]
            insert_rows(conn, scratch, computed_rows)
            computed = {tuple(row[k] for k in LINE_KEY): row for row in computed_rows}
            stored = _keyed(conn.execute(select(LS).where(LS.c.indicator_id.in_(chunk))).mappings(), LINE_KEY)
            _compare(report, LS.name, LINE_KEY, values, stored, computed)
        # Summary rows whose indicator is gone would be removed with it (ON DELETE CASCADE);
        # rows of an indicator that has no chunk here cannot exist, so every stored row was seen.
        for table, key in ((REGION, REGION_KEY), (PROJECT, PROJECT_KEY)):
            keys = [scratch.c[k] for k in key]
            computed = _keyed(conn.execute(select(*keys, *cell_aggregates(scratch)).group_by(*keys)).mappings(), key)
            stored = _keyed(conn.execute(select(table)).mappings(), key)
            columns = [c.name for c in table.columns if c.name not in key]
            _compare(report, table.name, key, columns, stored, computed)
    finally:
        scratch.drop(conn)
    return report


def check_summaries(engine: Engine, keep: int = 20) -> CheckReport:
    """``compare_summaries`` in a transaction of its own that is rolled back."""
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    with engine.connect().execution_options(**options) as conn, conn.begin() as transaction:
        try:
            return compare_summaries(conn, keep)
        finally:
            transaction.rollback()
