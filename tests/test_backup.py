"""`mne backup` and `mne restore`: every table comes back equal, a database holding data is
replaced only with --force, and a wrong, damaged or missing file changes nothing and gets one
clear line, never a traceback.

One scale-1 demo database per backend is built and backed up once (through the CLI, as a user
would); the tests restore that file into databases of their own.
"""

from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import tarfile
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from psycopg.conninfo import conninfo_to_dict
from sqlalchemy import text

from mne import backup as backups
from mne import migrate
from mne.db import engine_for
from mne.models import metadata
from mne.unit_of_work import UnitOfWork
from tests import factories
from tests.command_line import mne
from tests.conftest import BACKENDS, demo_database, fresh_database, pg_database_url

TABLES = [t.name for t in metadata.sorted_tables] + ["alembic_version"]


@pytest.fixture(scope="module", autouse=True)
def files_folder(tmp_path_factory):
    """`mne` as a child process keeps its evidence files here, never in ./files of the checkout."""
    folder = tmp_path_factory.mktemp("mne-files")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNE_FILES_DIR", str(folder))
        yield folder


def members(file: Path) -> list[str]:
    with tarfile.open(file) as archive:
        return archive.getnames()


def database_part(file: Path, target: Path) -> Path:
    """The database's part of a backup archive, as a file of its own."""
    with tarfile.open(file) as archive:
        first = archive.next()
        target.write_bytes(archive.extractfile(first).read())
    return target


@dataclass(frozen=True)
class Source:
    backend: str
    url: str
    file: Path
    said: str  # what `mne backup` printed
    rows: dict[str, list[tuple]]  # what the database held, read once


def _rows(url: str) -> dict[str, list[tuple]]:
    """Every row of every table (and the migration revision), in primary-key order."""
    found = {}
    with engine_for(url).connect() as conn:
        for name in TABLES:
            table = metadata.tables.get(name)
            keys = ", ".join(c.name for c in table.primary_key.columns) if table is not None else "version_num"
            found[name] = [tuple(r) for r in conn.execute(text(f'SELECT * FROM "{name}" ORDER BY {keys}'))]
    return found


def _empty(backend: str, tmp_path: Path, name: str) -> str:
    """A database with nothing in it, not even a schema."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / f'{name}.db'}"
    url = pg_database_url(name)
    engine = engine_for(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


def _holding_data(backend: str, tmp_path: Path, name: str) -> str:
    """A migrated database with the reference data, one donor of its own, and a table that is
    not mne's (a restore replaces everything, that too)."""
    url = fresh_database(_empty(backend, tmp_path, name))
    with UnitOfWork(engine_for(url)) as session:
        factories.donor(session, "ZZTOP", "Not in the backup")
        session.commit()
    with engine_for(url).begin() as conn:
        conn.execute(text("CREATE TABLE leftover (x integer)"))
        conn.execute(text("INSERT INTO leftover VALUES (42)"))
    return url


def _tables(url: str) -> set[str]:
    from sqlalchemy import inspect

    engine = engine_for(url)
    engine.dispose()
    return set(inspect(engine).get_table_names())


@pytest.fixture(scope="module", params=BACKENDS)
def source(request, tmp_path_factory) -> Source:
    folder = tmp_path_factory.mktemp("backup")
    url = demo_database(f"sqlite:///{folder / 'demo.db'}" if request.param == "sqlite"
                        else pg_database_url("backup_source"), seed=2)
    file = folder / ("backup.db" if request.param == "sqlite" else "backup.dump")
    done = mne(["backup", str(file)], url)
    assert done.returncode == 0, done.stderr.decode()
    return Source(request.param, url, file, done.stdout.decode(), _rows(url))


def test_backup_writes_the_database_in_its_own_format_and_says_what_it_holds(source):
    rows = source.rows
    total = sum(len(r) for r in rows.values())
    assert total > 30_000 and len(rows["result"]) > 10_000  # the demo data, not an empty schema
    # A tar archive whose first member is the database in its own format.
    assert members(source.file) == ["database.sqlite" if source.backend == "sqlite" else "database.pgdump"]
    head = database_part(source.file, source.file.with_suffix(".part-check")).read_bytes()[:16]
    assert head.startswith(b"SQLite format 3\x00" if source.backend == "sqlite" else b"PGDMP")
    megabytes = f"{source.file.stat().st_size / 1_000_000:.1f} MB"
    assert f"to {source.file}: {megabytes}, {len(TABLES)} tables, {total:,} rows, 0 evidence files (0.0 MB), " \
           f"schema revision {rows['alembic_version'][0][0]}, in " in source.said
    assert source.file.stat().st_mode & 0o077 == 0  # password hashes: readable by its owner only


def test_restore_into_an_empty_database_gives_back_every_row(source, tmp_path):
    target = _empty(source.backend, tmp_path, "backup_empty")
    done = mne(["restore", str(source.file)], target)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(target) == source.rows
    assert f"{len(TABLES)} tables" in done.stdout.decode()
    assert "note:" not in done.stdout.decode()  # at this version's head: nothing to upgrade


def test_a_database_with_only_the_reference_data_counts_as_empty(source, tmp_path):
    """What `mne db upgrade && mne seed reference` (the Docker image's start) leaves behind."""
    target = fresh_database(_empty(source.backend, tmp_path, "backup_reference"))
    done = mne(["restore", str(source.file)], target)
    assert done.returncode == 0, done.stderr.decode()
    assert _rows(target) == source.rows


def test_restore_refuses_a_database_holding_data_without_force_and_replaces_everything_with_it(source, tmp_path):
    target = _holding_data(source.backend, tmp_path, "backup_busy")
    before = _rows(target)

    refused = mne(["restore", str(source.file)], target)
    assert refused.returncode == 1
    error = refused.stderr.decode()
    assert error.startswith("error: ") and "--force" in error and "donor" in error, error
    assert "Traceback" not in error and error.count("\n") == 1
    assert _rows(target) == before and "leftover" in _tables(target)

    forced = mne(["restore", "--force", str(source.file)], target)
    assert forced.returncode == 0, forced.stderr.decode()
    assert _rows(target) == source.rows
    assert "leftover" not in _tables(target)


def _other_kind(backend: str, tmp_path: Path) -> Path:
    """A backup of the other kind of database. The kind is read from the first bytes alone,
    so a pg_dump archive is its header (PostgreSQL may not be there to make a real one)."""
    if backend == "postgresql":
        file = tmp_path / "sqlite-backup.db"
        backups.backup(fresh_database(f"sqlite:///{tmp_path / 'other.db'}"), file)
    else:
        file = tmp_path / "pg-backup.dump"
        file.write_bytes(b"PGDMP\x01\x0e\x00\x04\x08\x01\x01" + bytes(200))
    return file


def test_a_wrong_damaged_or_missing_file_is_refused_and_changes_nothing(source, tmp_path):
    target = _holding_data(source.backend, tmp_path, "backup_refused")
    before = _rows(target)

    garbage = tmp_path / "results.csv"
    garbage.write_bytes(b"id,name\n1,not a backup\n")
    done = mne(["restore", "--force", str(garbage)], target)
    error = done.stderr.decode()
    assert done.returncode == 1 and error.startswith("error: ") and "is not an mne backup" in error, error
    assert "Traceback" not in error and error.count("\n") == 1

    # The command prints every BackupError as it printed that one.
    kinds = ("PostgreSQL", "SQLite") if source.backend == "sqlite" else ("SQLite", "PostgreSQL")
    # A file cut short on its way off the machine: PostgreSQL's restore commits only a
    # complete archive, so even a forced one leaves the database as it was.
    cut = tmp_path / f"cut-{source.file.name}"
    data = source.file.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    (tmp_path / "empty.backup").write_bytes(b"")
    for file, says in [
        (_other_kind(source.backend, tmp_path), (f"is a backup of a {kinds[0]} database and cannot be restored "
                                                 f"into {kinds[1]}")),
        (cut, "is damaged or cut short .*; nothing was changed"),
        (tmp_path / "missing.backup", "no file"),
        (tmp_path / "empty.backup", "is not an mne backup"),
        (tmp_path, "is a directory"),
    ]:
        with pytest.raises(backups.BackupError, match=says):
            backups.restore(target, file, force=True)
    assert _rows(target) == before and "leftover" in _tables(target)


def test_a_database_without_mne_schema_is_not_backed_up(source, tmp_path):
    url = _empty(source.backend, tmp_path, "backup_bare")
    if source.backend == "sqlite":
        sqlite3.connect(url.removeprefix("sqlite:///")).execute("CREATE TABLE t (x)").connection.close()
    says = "is a SQLite database but not one of mne" if source.backend == "sqlite" else "holds no mne schema"
    with pytest.raises(backups.BackupError, match=says):
        backups.backup(url, tmp_path / "bare.backup")
    assert list(tmp_path.glob("*bare.backup*")) == []  # neither the file nor a partial one


# PostgreSQL only: SQLite's restore takes the write lock and waits up to its busy timeout.
@pytest.mark.parametrize("source", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_a_postgresql_restore_waits_for_the_apps_locks_only_so_long(source, tmp_path, monkeypatch):
    """A transaction of the app holding a table: the restore gives up, says to stop the app,
    and changes nothing (the emptying is rolled back with the rest)."""
    target = _holding_data(source.backend, tmp_path, "backup_locked")
    before = _rows(target)
    monkeypatch.setattr(backups, "PG_LOCK_TIMEOUT", "1s")
    with engine_for(target).connect() as app_conn:
        app_conn.execute(text("SELECT count(*) FROM donor"))  # its transaction holds a lock on donor
        with pytest.raises(backups.BackupError, match=r"is in use .* stop the app, then restore; nothing was changed"):
            backups.restore(target, source.file, force=True)
        app_conn.rollback()
    assert _rows(target) == before and "leftover" in _tables(target)


# --- in-process: the parts that need no demo data ----------------------------------------------

def test_an_older_backup_is_restored_as_it_was_and_the_upgrade_is_left_to_db_upgrade(tmp_path):
    old = fresh_database(f"sqlite:///{tmp_path / 'old.db'}")
    migrate.downgrade(old, "0003")
    backups.backup(old, tmp_path / "old.backup")
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    report = backups.restore(target, tmp_path / "old.backup")
    assert report.revision == "0003" and migrate.current_revision(target) == "0003"
    assert len(report.notes) == 1 and "run `mne db upgrade`" in report.notes[0]


def test_a_backup_from_a_newer_release_is_flagged(tmp_path):
    url = fresh_database(f"sqlite:///{tmp_path / 'newer.db'}")
    with engine_for(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    backups.backup(url, tmp_path / "newer.backup")
    report = backups.restore(f"sqlite:///{tmp_path / 'restored.db'}", tmp_path / "newer.backup")
    assert report.revision == "9999_future"
    assert "does not know" in report.notes[0]


def test_missing_or_old_client_tools_are_named(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(backups, "PG_BIN_GLOBS", [])
    with pytest.raises(backups.BackupError, match=r"pg_dump is not installed: .*postgresql-client-15"):
        backups.find_tool("pg_dump", 15)

    old = tmp_path / "pg_dump"
    old.write_text("#!/bin/sh\necho 'pg_dump (PostgreSQL) 13.4'\n")
    old.chmod(0o755)
    with pytest.raises(backups.BackupError, match=r"version 15 or newer.*\(13\).*postgresql-client-15"):
        backups.find_tool("pg_dump", 15)
    assert backups.find_tool("pg_dump", 13) == str(old)


def test_the_database_url_becomes_libpq_arguments_with_the_password_apart():
    conninfo, env = backups.libpq("postgresql+psycopg://m%40e:p%40ss%20word@db.example:6543/mne_prod?sslmode=require")
    assert conninfo_to_dict(conninfo) == {"host": "db.example", "port": "6543", "user": "m@e",
                                          "dbname": "mne_prod", "sslmode": "require"}
    assert env["PGPASSWORD"] == "p@ss word" and "ss word" not in conninfo
    conninfo, _ = backups.libpq("postgres://postgres@/mne?host=/var/run/postgresql")
    assert conninfo_to_dict(conninfo) == {"host": "/var/run/postgresql", "user": "postgres", "dbname": "mne"}


def test_a_sqlite_backup_taken_while_the_app_writes_is_consistent(tmp_path):
    """Writers commit pairs of audit events while backups are taken: every backup holds whole
    pairs only, and the writer was never held up for long (WAL: the copy only reads)."""
    url = fresh_database(f"sqlite:///{tmp_path / 'busy.db'}")
    stop = threading.Event()
    committed = []

    def write() -> None:
        conn = sqlite3.connect(tmp_path / "busy.db", timeout=30, isolation_level=None)
        n = 0
        while not stop.is_set():
            n += 1
            conn.execute("BEGIN IMMEDIATE")
            for half in ("a", "b"):
                conn.execute("INSERT INTO audit_event (at, action, entity, entity_id, reason) "
                             "VALUES ('2025-01-01 00:00:00', 'test.pair', ?, ?, '')", (half, str(n)))
            conn.execute("COMMIT")
            committed.append(n)
        conn.close()

    writer = threading.Thread(target=write)
    writer.start()
    try:
        counts = []
        for i in range(5):
            file = tmp_path / f"busy-{i}.backup"
            backups.backup(url, file)
            copy = sqlite3.connect(database_part(file, tmp_path / f"busy-{i}.db"))
            pairs = copy.execute("SELECT entity_id, count(*) FROM audit_event WHERE action = 'test.pair' "
                                 "GROUP BY entity_id").fetchall()
            assert copy.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file, no -wal
            copy.close()
            assert all(count == 2 for _, count in pairs)
            counts.append(len(pairs))
    finally:
        stop.set()
        writer.join()
    assert counts == sorted(counts) and len(committed) > counts[0]  # the writer went on meanwhile


def test_backup_to_standard_output_and_restore_from_standard_input(tmp_path):
    """For containers: `docker compose exec -T app mne backup - > file` and back."""
    url = fresh_database(f"sqlite:///{tmp_path / 'piped.db'}")
    file = tmp_path / "piped.backup"
    with file.open("wb") as out:
        done = mne(["backup", "-"], url, stdout=out, stderr=subprocess.PIPE)
    assert done.returncode == 0 and "to standard output: " in done.stderr.decode(), done.stderr
    assert members(file) == ["database.sqlite"]
    target = f"sqlite:///{tmp_path / 'from-stdin.db'}"
    with file.open("rb") as piped:
        done = mne(["restore", "-"], target, stdin=piped)
    assert done.returncode == 0 and "restored standard input into " in done.stdout.decode(), done.stderr
    assert _rows(target) == _rows(url)


# --- evidence files ---------------------------------------------------------------------------

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CSV = b"name,signed\nAigul,yes\nBakyt,no\n"


def _with_files(url: str, folder: Path) -> dict[str, bytes]:
    """Three files on two results through the service (one attached twice: stored once), and a
    blob that no row refers to; the files' bytes by hash."""
    from mne.auth.principal import Principal
    from mne.base import Role
    from mne.evidence import service as evidence

    with UnitOfWork(engine_for(url)) as session:
        officer = factories.user(session, "country_officer", countries=["KGZ"])
        proj = factories.project(session, "BK-FILES", start="2024-01-01", end="2024-12-31")
        ind = factories.indicator(session, proj, "BK1")
        first = factories.result(session, ind, "KGZ", "2024Q1")
        second = factories.result(session, ind, "KGZ", "2024Q2")
        who = Principal(id=officer.id, email=officer.email, name="", role=Role.country_officer,
                        countries=frozenset({"KGZ"}))
        for result, data, name in [(first, PDF, "list.pdf"), (first, CSV, "list.csv"), (second, PDF, "copy.pdf")]:
            evidence.add_file(session, who, result.id, io.BytesIO(data), name, files_dir=folder, max_bytes=1 << 20)
        session.commit()
    stray = b"no row refers to this"
    (folder / "ab").mkdir(exist_ok=True)
    (folder / "ab" / ("ab" + "0" * 62)).write_bytes(stray)
    return {hashlib.sha256(d).hexdigest(): d for d in (PDF, CSV)}


def _blobs(folder: Path) -> dict[str, bytes]:
    from mne.evidence import store

    return {sha: path.read_bytes() for sha, path in store.blobs(folder)}


@pytest.mark.parametrize("backend", BACKENDS)
def test_backup_and_restore_carry_the_evidence_files(backend, tmp_path, monkeypatch):
    source_files, target_files = tmp_path / "files-a", tmp_path / "files-b"
    source_files.mkdir()
    url = fresh_database(_empty(backend, tmp_path, "backup_files_source"))
    wanted = _with_files(url, source_files)
    file = tmp_path / "with-files.backup"

    monkeypatch.setenv("MNE_FILES_DIR", str(source_files))
    done = mne(["backup", str(file)], url)
    assert done.returncode == 0, done.stderr.decode()
    assert f", 2 evidence files ({len(PDF + CSV) / 1_000_000:.1f} MB), " in done.stdout.decode()
    assert members(file)[1:] == [f"files/{sha}" for sha in sorted(wanted)]  # each once; not the stray one

    # The target's folder holds a file of its own: the restore replaces the files too.
    target_files.mkdir()
    (target_files / "cd").mkdir()
    (target_files / "cd" / ("cd" + "1" * 62)).write_bytes(b"left over")
    (target_files / "notes.txt").write_text("not a blob: left alone")
    target = _holding_data(backend, tmp_path, "backup_files_target")
    monkeypatch.setenv("MNE_FILES_DIR", str(target_files))
    done = mne(["restore", "--force", str(file)], target)
    assert done.returncode == 0, done.stderr.decode()
    assert ", 2 evidence files (" in done.stdout.decode() and "note:" not in done.stdout.decode()
    assert _rows(target)["evidence_file"] == _rows(url)["evidence_file"]
    assert _blobs(target_files) == wanted
    assert (target_files / "notes.txt").exists()
    assert sorted(p.name for p in target_files.iterdir()) == sorted([*(sha[:2] for sha in wanted), "notes.txt"])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".mne-restore-")]


def test_a_damaged_file_in_the_archive_changes_nothing(tmp_path):
    source_files, target_files = tmp_path / "files-a", tmp_path / "files-b"
    source_files.mkdir()
    url = fresh_database(f"sqlite:///{tmp_path / 'src.db'}")
    wanted = _with_files(url, source_files)
    good = tmp_path / "good.backup"
    report = backups.backup(url, good, files_dir=source_files)
    assert report.files == 2 and report.notes == []

    # The same archive with one file's bytes changed (its hash no longer matches its name).
    bad = tmp_path / "bad.backup"
    with tarfile.open(good) as src, tarfile.open(bad, "w", format=tarfile.PAX_FORMAT) as out:
        for member in src:
            data = src.extractfile(member).read()
            if member.name.startswith("files/"):
                data = data.replace(b"Aigul", b"Mallory")
                member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    target = _holding_data("sqlite", tmp_path, "damaged_target")
    before = _rows(target)
    target_files.mkdir()
    with pytest.raises(backups.BackupError, match="does not match its hash; nothing was changed"):
        backups.restore(target, bad, force=True, files_dir=target_files)
    assert _rows(target) == before and list(target_files.iterdir()) == []

    # Missing blobs at backup time are named, and the backup goes on.
    sha = next(iter(wanted))
    os.unlink(source_files / sha[:2] / sha)
    report = backups.backup(url, tmp_path / "partial.backup", files_dir=source_files)
    assert report.files == 1 and "1 evidence files the database refers to are missing" in report.notes[0]


def test_a_backup_made_before_evidence_files_is_restored_and_leaves_the_files_alone(tmp_path):
    url = fresh_database(f"sqlite:///{tmp_path / 'plain.db'}")
    plain = tmp_path / "plain.backup"
    with sqlite3.connect(tmp_path / "plain.db") as source, sqlite3.connect(plain) as copy:
        source.backup(copy)  # what `mne backup` wrote before: the bare SQLite file
    folder = tmp_path / "files"
    (folder / "ab").mkdir(parents=True)
    kept = folder / "ab" / ("ab" + "2" * 62)
    kept.write_bytes(b"kept")
    target = f"sqlite:///{tmp_path / 'restored.db'}"
    report = backups.restore(target, plain, files_dir=folder)
    assert _rows(target) == _rows(url) and kept.read_bytes() == b"kept"
    assert "holds no evidence files" in report.notes[-1]
