"""`mne seed reference`: exactly the SPEC's reference data, idempotent, labels follow the files."""

from __future__ import annotations

import shutil

from sqlmodel import func, select

from mne.reference.models import (
    Country, GcmObjective, Marker, Office, Period, Priority, SdgTarget, StandardIndicator, Subregion,
)
from mne.reference.seed import SEED_DIR, load_reference


def count(session, model) -> int:
    return session.exec(select(func.count()).select_from(model)).one()


def test_reference_counts(session):
    assert count(session, Priority) == 4
    assert count(session, Subregion) == 5
    assert count(session, Country) == 20
    assert count(session, Office) == 48
    assert count(session, GcmObjective) == 23
    assert count(session, Marker) == 4
    assert count(session, Period) == 20
    assert 10 <= count(session, StandardIndicator) <= 16
    codes = set(session.exec(select(SdgTarget.code)))
    assert {"10.7", "10.7.1", "10.7.2", "10.7.3", "10.7.4", "5.2", "8.7", "8.8", "10.c", "13.1", "16.2",
            "16.9", "17.18"} <= codes


def test_codes_and_mapping(session):
    assert session.get(Country, "XKX").name == "Kosovo"
    assert session.get(Country, "TUR").name == "Türkiye"
    mapping = {c.iso3: c.subregion_code for c in session.exec(select(Country))}
    assert {k for k, v in mapping.items() if v == "WB"} == {"ALB", "BIH", "XKX", "MNE", "MKD", "SRB"}
    assert {k for k, v in mapping.items() if v == "EM"} == {"TUR", "ISR"}
    pillars = {p.code: p.pillar for p in session.exec(select(Priority))}
    assert pillars == {"SP1": "Resilience", "SP2": "Resilience", "SP3": "Mobility", "SP4": "Governance"}
    # Israel is covered by the regional office: no office of its own.
    assert session.exec(select(Office).where(Office.country_iso3 == "ISR")).first() is None
    q = session.get(Period, "2022Q4")
    assert (str(q.start_date), str(q.end_date), str(q.due_date)) == ("2022-10-01", "2022-12-31", "2023-01-30")


def test_second_run_changes_nothing(session):
    assert load_reference(session).changed == 0


def test_changed_label_updates_the_row_but_keeps_admin_edits(session, tmp_path):
    seed = tmp_path / "seed"
    shutil.copytree(SEED_DIR, seed)
    text = (seed / "markers.csv").read_text(encoding="utf-8").replace("Gender equality", "Gender equality and inclusion")
    (seed / "markers.csv").write_text(text, encoding="utf-8")
    # An admin moved Israel to another subregion and closed a period: seeding keeps both.
    session.get(Country, "ISR").subregion_code = "SC"
    session.get(Period, "2024Q1").status = "closed"
    session.flush()
    report = load_reference(session, seed)
    assert report.updated["marker"] == 1 and report.changed == 1
    assert session.get(Marker, "gender").name == "Gender equality and inclusion"
    assert session.get(Country, "ISR").subregion_code == "SC"
    assert session.get(Period, "2024Q1").status == "closed"
