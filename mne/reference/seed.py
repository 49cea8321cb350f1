"""Load the reference data files of `seed/` into the database, idempotently.

A second run changes nothing; a changed label in a file updates its row. Fields that admins
edit in the app (a period's open/closed status, a country's subregion) are set when the row is
first created and then left to the admins.
"""

from __future__ import annotations

import csv
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from sqlmodel import Session, SQLModel, select

from mne.audit import service as audit
from mne.config import ROOT
from mne.progress import snapshots
from mne.reference.models import (
    Country,
    GcmObjective,
    Marker,
    Office,
    Period,
    Priority,
    SdgTarget,
    StandardIndicator,
    Subregion,
)

SEED_DIR = ROOT / "seed"


@dataclass
class LoadReport:
    inserted: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    @property
    def changed(self) -> int:
        return sum(self.inserted.values()) + sum(self.updated.values())


@dataclass(frozen=True)
class Table:
    model: type[SQLModel]
    file: str
    key: str
    convert: Callable[[dict[str, str]], dict[str, Any]]
    initial_only: tuple[str, ...] = ()


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _toml_priorities(path: Path) -> list[dict[str, Any]]:
    with path.open("rb") as fh:
        return tomllib.load(fh)["priority"]


TABLES: tuple[Table, ...] = (
    Table(Priority, "priorities.toml", "code", lambda r: {
        "code": r["code"], "pillar": r["pillar"], "title": r["title"],
        "text": r["text"].strip(), "position": int(r["position"])}),
    Table(Subregion, "subregions.csv", "code", lambda r: {
        "code": r["code"], "name": r["name"], "position": int(r["position"])}),
    Table(Country, "countries.csv", "iso3", lambda r: {
        "iso3": r["iso3"], "name": r["name"], "subregion_code": r["subregion_code"],
        "position": int(r["position"])}, initial_only=("subregion_code",)),
    Table(Office, "offices.csv", "name", lambda r: {
        "name": r["name"], "country_iso3": r["country_iso3"] or None, "city": r["city"],
        "kind": r["kind"]}),
    Table(SdgTarget, "sdg_targets.csv", "code", lambda r: {
        "code": r["code"], "kind": r["kind"], "title": r["title"]}),
    Table(GcmObjective, "gcm_objectives.csv", "number", lambda r: {
        "number": int(r["number"]), "title": r["title"]}),
    Table(Marker, "markers.csv", "code", lambda r: {"code": r["code"], "name": r["name"]}),
    Table(StandardIndicator, "standard_indicators.csv", "code", lambda r: {
        "code": r["code"], "priority_code": r["priority_code"], "statement": r["statement"],
        "measure": r["measure"], "aggregation": r["aggregation"],
        "disaggregation": r["disaggregation"]}, initial_only=("measure", "aggregation", "disaggregation")),
    Table(Period, "periods.csv", "code", lambda r: {
        "code": r["code"], "start_date": date.fromisoformat(r["start"]),
        "end_date": date.fromisoformat(r["end"]), "due_date": date.fromisoformat(r["due_date"]),
        "status": r["status"]}, initial_only=("status",)),
)


def read_rows(table: Table, seed_dir: Path = SEED_DIR) -> list[dict[str, Any]]:
    path = seed_dir / table.file
    raw: Iterable[dict[str, Any]] = (
        _toml_priorities(path) if path.suffix == ".toml" else _csv_rows(path)
    )
    return [table.convert(row) for row in raw]


def load_reference(session: Session, seed_dir: Path = SEED_DIR) -> LoadReport:
    """Insert missing rows and update changed labels; flushes, the caller commits."""
    report = LoadReport()
    for table in TABLES:
        existing = {getattr(row, table.key): row for row in session.exec(select(table.model))}
        name = table.model.__tablename__
        inserted = updated = 0
        for values in read_rows(table, seed_dir):
            row = existing.get(values[table.key])
            if row is None:
                row = table.model(**values)
                session.add(row)
                audit.record(session, actor_id=None, action="seed.insert", entity=name,
                             entity_id=values[table.key], after=audit.snapshot(values))
                if table.model is Period:
                    snapshots.mark_period(session, row.code)
                inserted += 1
                continue
            changes = {
                k: v for k, v in values.items()
                if k not in table.initial_only and getattr(row, k) != v
            }
            if changes:
                before = {k: getattr(row, k) for k in changes}
                for k, v in changes.items():
                    setattr(row, k, v)
                audit.record(session, actor_id=None, action="seed.update", entity=name,
                             entity_id=values[table.key], before=audit.snapshot(before),
                             after=audit.snapshot(changes))
                if table.model is Period:  # moved dates move what counts as of every period
                    snapshots.mark_every_line(session)
                updated += 1
        session.flush()
        report.inserted[name] = inserted
        report.updated[name] = updated
    return report
