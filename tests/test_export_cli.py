"""`mne export` as a user meets it: the same files as the site, a progress bar on a terminal,
one-line errors, and no half-written file."""

from __future__ import annotations

import pytest

from mne.db import engine_for
from mne.unit_of_work import UnitOfWork
from tests import factories
from tests.command_line import mne, on_a_terminal
from tests.conftest import BACKENDS, fresh_database, pg_database_url
from tests.progress_world import build_spec_example, build_spec_example_2, open_periods
from tests.readers import csv_rows, workbook


@pytest.fixture(scope="module", params=BACKENDS)
def db(request, tmp_path_factory):
    url = (f"sqlite:///{tmp_path_factory.mktemp('export-cli') / 'cli.db'}" if request.param == "sqlite"
           else pg_database_url("export_cli"))
    engine = engine_for(fresh_database(url))
    with UnitOfWork(engine, expire_on_commit=False) as session:
        open_periods(session, "2022Q1", "2022Q2", "2022Q3", "2022Q4")
        build_spec_example(session, "EX")
        build_spec_example_2(session)
        factories.user(session, "donor_viewer", donors=["ECHO"], email="donor@test.example")
        session.commit()
    yield url
    engine.dispose()


def test_results_to_a_file(db, tmp_path):
    out = tmp_path / "results.csv"
    done = mne(["export", "results", "--project", "EX-KGZ", "-o", str(out)], db)
    assert done.returncode == 0, done.stderr
    rows = csv_rows(out.read_bytes())
    assert [(r["indicator_code"], r["period"], r["status"]) for r in rows][:3] == [
        ("I1", "2022Q1", "approved"), ("I1", "2022Q2", "approved"), ("I1", "2022Q3", "submitted")]
    assert len(rows) == 6 and b"wrote 6 rows" in done.stderr
    assert list(tmp_path.iterdir()) == [out]  # no partial file left beside it


def test_iptt_as_a_workbook_in_a_donors_scope(db, tmp_path):
    out = tmp_path / "iptt.xlsx"
    done = mne(["export", "iptt", "--as-of", "2022Q4", "--from", "2022", "--as", "donor@test.example",
                "-o", str(out)], db)
    assert done.returncode == 0, done.stderr
    sheet = workbook(out.read_bytes())["IPTT"]
    lines = [(r[0].value, r[2].value) for r in sheet.iter_rows(min_row=3) if r[0].value]
    assert lines == [("EX-KGZ", "I1"), ("EX-KGZ", "I2"), ("EX-KGZ", "I3")]  # ECHO funds EX-KGZ only


def test_iptt_csv_to_standard_output(db):
    done = mne(["export", "iptt", "--as-of", "2022Q4", "--country", "ARM,GEO", "--status", "achieved,at_risk",
                "-o", "-"], db)
    assert done.returncode == 0, done.stderr
    rows = csv_rows(done.stdout)
    assert {(r["indicator_code"], r["status"], r["percent_of_target"]) for r in rows} == {
        ("P1", "achieved", "112.5"), ("P3", "at_risk", "32.0")}


def test_iati_to_a_file_validates(db, tmp_path):
    from lxml import etree

    from tests.test_export_iati import SCHEMA_DIR

    out = tmp_path / "iati.xml"
    done = mne(["export", "iati", "--project", "EX-KGZ,GEO-1", "-o", str(out)], db)
    assert done.returncode == 0, done.stderr
    document = etree.parse(str(out))
    etree.XMLSchema(etree.parse(str(SCHEMA_DIR / "iati-activities-schema.xsd"))).assertValid(document)
    assert document.xpath("//iati-activity/iati-identifier/text()") == ["XM-DAC-47066-EX-KGZ", "XM-DAC-47066-GEO-1"]
    assert b"wrote 2 activities" in done.stderr


def test_a_progress_bar_on_a_terminal(db, tmp_path):
    out = tmp_path / "results.csv"
    done, shown = on_a_terminal(["export", "results", "-o", str(out)], db)
    assert done.returncode == 0
    total = len(csv_rows(out.read_bytes()))
    assert b"exporting results" in shown and f"{total}/{total}".encode() in shown


@pytest.mark.parametrize("args, message", [
    (["export", "results", "--donor", "NOPE", "-o", "x.csv"], "unknown donor: NOPE"),
    (["export", "iptt", "--from", "2022Q4", "--to", "2022Q1", "-o", "x.csv"], "backwards"),
    (["export", "budget", "-o", "x.csv"], "unknown export 'budget'"),
    (["export", "results", "-o", "x.xlsx"], "written as .csv"),
    (["export", "results", "--as", "nobody@test.example", "-o", "x.csv"], "nobody@test.example"),
    (["export", "iati", "--as", "donor@test.example", "--project", "GEO-1", "-o", "x.xml"], "outside your scope"),
    (["export", "iati", "--country", "UKR", "-o", "x.xml"], "at least one activity"),
])
def test_bad_input_is_one_line_and_no_file(db, tmp_path, args, message):
    done = mne(args, db, cwd=tmp_path, text=True)
    assert done.returncode != 0
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], done.stderr
    assert list(tmp_path.iterdir()) == []
