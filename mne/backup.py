"""`mne backup FILE` and `mne restore FILE`: the whole database in one file, and back.

The database's part is in the database's own format, so its own tools can read it too:

- SQLite: a SQLite database file, copied with SQLite's online backup API. The copy is made in
  one step inside one read transaction, so it is consistent while the server keeps writing (in
  WAL mode readers never block writers, and the copy never restarts).
- PostgreSQL: a `pg_dump -Fc` archive, taken in a snapshot exported from our own transaction,
  so the row counts printed are those of the archive. A restore replays it with `pg_restore`
  piped into `psql`, after dropping what the schema held, in one transaction committed only
  once the whole archive was read: a restore that fails leaves the database as it was.

The backup file is a tar archive (uncompressed: the tools of any system open it) holding the
database's part as its first member (`database.sqlite` or `database.pgdump`) and the evidence
files under MNE_FILES_DIR that the saved database refers to, as `files/<sha256>`. The list of
files comes from the database's own copy, so the archive holds what its rows need; a file added
after the copy belongs to the next backup. A restore checks each file against its hash before
anything changes, replaces the database, then puts the files in place and removes the blobs
that no restored row refers to.

What a file is comes from its first bytes (a tar archive whose first member names the kind; a
bare "SQLite format 3\\0" or "PGDMP" file, as backups were before evidence files, is restored
too, its database only); a SQLite backup is never fed to PostgreSQL or the reverse.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.pool import NullPool

from mne.db import engine_for, normalise_url
from mne.errors import DomainError
from mne.evidence import store

SQLITE = "sqlite"
POSTGRESQL = "postgresql"
MAGIC = {SQLITE: b"SQLite format 3\x00", POSTGRESQL: b"PGDMP"}
KIND_NAMES = {SQLITE: "SQLite", POSTGRESQL: "PostgreSQL"}
VERSION_TABLE = "alembic_version"
# The members of a backup archive: the database's part first, then the evidence files.
DATABASE_MEMBER = {SQLITE: "database.sqlite", POSTGRESQL: "database.pgdump"}
FILES_FOLDER = "files/"
FILES_TABLE = "evidence_file"

# Where PostgreSQL's client tools are looked for after PATH (Debian and Ubuntu install every
# major version side by side there).
PG_BIN_GLOBS = ["/usr/lib/postgresql/*/bin"]
# How long a restore waits for the app's locks on the tables it replaces before giving up.
PG_LOCK_TIMEOUT = "30s"

Progress = Callable[[str, int, int | None], None]  # (what, done, total or None)


class BackupError(DomainError):
    """A backup or restore that cannot be done; the message says why and what to do."""

    code = "backup"


@dataclass
class Report:
    kind: str
    path: str
    size: int = 0
    rows: dict[str, int] = field(default_factory=dict)
    revision: str | None = None
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    files: int = 0  # evidence files in the archive (backup) or put in place (restore)
    files_size: int = 0

    @property
    def tables(self) -> int:
        return len(self.rows)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def _nothing(what: str, done: int, total: int | None) -> None:
    pass


# --- the file ------------------------------------------------------------------------------

def is_archive(path: Path) -> bool:
    """A tar archive ("ustar" at offset 257, as POSIX and PAX archives have)."""
    with path.open("rb") as fh:
        fh.seek(257)
        return fh.read(5) == b"ustar"


def kind_of(path: str | Path) -> str:
    """SQLITE or POSTGRESQL, from the file's first bytes (an archive's: its first member's name);
    BackupError for anything else."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"no file {path}")
    if path.is_dir():
        raise BackupError(f"{path} is a directory, not a backup file")
    try:
        if is_archive(path):
            with tarfile.open(path, "r:") as archive:
                first = archive.next()
            for kind, name in DATABASE_MEMBER.items():
                if first is not None and first.name == name:
                    return kind
            raise BackupError(f"{path} is a tar archive but not an mne backup (it does not begin with "
                              f"{' or '.join(DATABASE_MEMBER.values())})")
        with path.open("rb") as fh:
            head = fh.read(len(MAGIC[SQLITE]))
    except tarfile.TarError as exc:
        raise BackupError(f"{path} is damaged: {exc}") from exc
    except OSError as exc:
        raise BackupError(f"cannot read {path}: {exc.strerror}") from exc
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    raise BackupError(f"{path} is not an mne backup: it is neither a SQLite database nor a pg_dump archive "
                      "(files made by `mne backup` are one of these)")


def database_kind(url: str) -> str:
    return POSTGRESQL if make_url(normalise_url(url)).get_backend_name() == "postgresql" else SQLITE


@contextmanager
def _partial(target: Path) -> Iterator[Path]:
    """A new private file beside TARGET that becomes TARGET only when complete: a failed backup
    never leaves a file that looks like one. mkstemp makes it readable by its owner only (the
    database holds password hashes)."""
    if target.is_dir():
        raise BackupError(f"{target} is a directory: give a file name for the backup")
    folder = target.parent
    if not folder.is_dir():
        raise BackupError(f"cannot write {target}: the folder {folder} does not exist")
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".part")
    except OSError as exc:
        raise BackupError(f"cannot write in {folder}: {exc.strerror}") from exc
    os.close(handle)
    partial = Path(name)
    try:
        yield partial
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)


# --- what the database holds -----------------------------------------------------------------

def _table_names(conn: Connection) -> list[str]:
    """The tables of the schema that the backup covers: every mne table and alembic_version."""
    from mne.models import metadata

    present = set(inspect(conn).get_table_names())
    wanted = [t.name for t in metadata.sorted_tables] + [VERSION_TABLE]
    return [name for name in wanted if name in present]


def _count_rows(conn: Connection) -> dict[str, int]:
    quote = conn.dialect.identifier_preparer.quote
    return {name: conn.execute(text(f"SELECT count(*) FROM {quote(name)}")).scalar_one()
            for name in _table_names(conn)}


def _revision(conn: Connection) -> str | None:
    if VERSION_TABLE not in inspect(conn).get_table_names():
        return None
    return conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def _referenced_files(conn: Connection) -> list[str]:
    """The blobs (SHA-256) that the database's evidence files refer to; none before migration 0006."""
    if FILES_TABLE not in inspect(conn).get_table_names():
        return []
    return sorted(conn.execute(text(f"SELECT DISTINCT sha256 FROM {FILES_TABLE}")).scalars())


def _holds_data(conn: Connection) -> list[str]:
    """The tables holding what people entered: anything beyond the reference data of
    `mne seed reference` (and its own audit events, which have no actor). A database that
    `mne db upgrade && mne seed reference` just made (as the Docker image does at every start)
    is therefore empty, and a restore into it needs no --force."""
    from mne.reference.seed import TABLES as REFERENCE

    reference = {t.model.__tablename__ for t in REFERENCE} | {VERSION_TABLE}
    quote = conn.dialect.identifier_preparer.quote
    found = []
    for name in _table_names(conn):
        if name in reference:
            continue
        where = " WHERE actor_id IS NOT NULL" if name == "audit_event" else ""
        if conn.execute(text(f"SELECT 1 FROM {quote(name)}{where} LIMIT 1")).first():
            found.append(name)
    return found


def _refuse_over_data(url: str, force: bool) -> None:
    if force:
        return
    with engine_for(url).connect() as conn:
        tables = _holds_data(conn)
    if tables:
        shown = ", ".join(tables[:6]) + (", …" if len(tables) > 6 else "")
        raise BackupError(f"the database at {_safe(url)} is not empty (it holds rows in {shown}); "
                          "restoring replaces everything in it: add --force to do so")


def _safe(url: str) -> str:
    return make_url(normalise_url(url)).render_as_string(hide_password=True)


def _revision_notes(revision: str | None) -> list[str]:
    """What to do when the restored schema is not this version's newest. The restore does not
    upgrade by itself: it gives back exactly what was saved (the backup may be the way back
    from a failed upgrade), and an upgrade is a step of its own, taken with a backup in hand."""
    from alembic.script import ScriptDirectory

    from mne.migrate import alembic_config

    scripts = ScriptDirectory.from_config(alembic_config())
    head = scripts.get_current_head()
    if revision == head:
        return []
    known = {script.revision for script in scripts.walk_revisions()}
    if revision in known:
        return [(f"the backup's schema is at revision {revision}, older than this version's {head}: "
                 "run `mne db upgrade` before serving")]
    return [(f"the backup's schema is at revision {revision}, which this version of mne does not know "
             f"(its newest is {head}): serve it with the release that made the backup")]


# --- SQLite --------------------------------------------------------------------------------

def _sqlite_path(url: str) -> Path:
    database = make_url(normalise_url(url)).database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise BackupError(f"{url!r} is not a SQLite database file")
    return Path(database)


def _open_sqlite(path: Path, *, read_only: bool) -> sqlite3.Connection:
    uri = path.resolve().as_uri() + ("?mode=ro" if read_only else "")
    conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
    return conn


def _sqlite_check(conn: sqlite3.Connection, path: Path, *, thorough: bool) -> None:
    """Refuse a SQLite file that is not mne's, and (THOROUGH) a damaged one, e.g. a backup cut
    short while being copied."""
    try:
        # SQLite before 3.42 reports "NULL value in T.C" for every NOT NULL column of a
        # WITHOUT ROWID table (the summary tables) where there is none: not damage.
        problems = [row[0] for row in conn.execute("PRAGMA quick_check")
                    if not row[0].startswith("NULL value in ")] if thorough else []
        has_version = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                   (VERSION_TABLE,)).fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is damaged: {exc}") from exc
    if problems and problems != ["ok"]:
        raise BackupError(f"{path} is damaged: {problems[0]}")
    if not has_version:
        raise BackupError(f"{path} is a SQLite database but not one of mne (it has no {VERSION_TABLE} table)")


def _sqlite_dump(url: str, target: Path, progress: Progress) -> None:
    source_path = _sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"there is no SQLite database at {source_path} (check MNE_DATABASE_URL)")
    source = _open_sqlite(source_path, read_only=False)
    copy = sqlite3.connect(target, isolation_level=None)
    try:
        _sqlite_check(source, source_path, thorough=False)
        progress("copying the database", 0, 1)
        # pages=-1: all pages in one step, in one read transaction. In steps, each write by
        # another connection would make SQLite start the copy again, perhaps forever.
        source.backup(copy, pages=-1)
        # A single file that needs no -wal beside it, whatever mode the source was in.
        copy.execute("PRAGMA journal_mode=DELETE")
        progress("copying the database", 1, 1)
    except sqlite3.Error as exc:
        raise BackupError(f"cannot back up {source_path}: {exc}") from exc
    finally:
        copy.close()
        source.close()


def _sqlite_load(url: str, source: Path, force: bool, progress: Progress) -> None:
    target_path = _sqlite_path(url)
    backup = _open_sqlite(source, read_only=True)
    try:
        _sqlite_check(backup, source, thorough=True)
        if target_path.exists():
            _refuse_over_data(url, force)
        elif not target_path.parent.is_dir():
            raise BackupError(f"cannot restore into {target_path}: the folder {target_path.parent} does not exist")
        target = sqlite3.connect(target_path, timeout=30, isolation_level=None)
        try:
            progress("restoring the database", 0, 1)
            # The backup API replaces every page of the target under its write lock; the
            # server's connections see the restored database at their next transaction.
            backup.backup(target, pages=-1)
            target.execute("PRAGMA journal_mode=WAL")  # as mne.db runs it
            progress("restoring the database", 1, 1)
        finally:
            target.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot restore {source} into {target_path}: {exc}") from exc
    finally:
        backup.close()


# --- PostgreSQL ----------------------------------------------------------------------------

def libpq(url: str) -> tuple[str, dict[str, str]]:
    """The libpq connection string and environment of a SQLAlchemy URL. The password goes in
    PGPASSWORD, never on a command line (which other users of the machine can read)."""
    from psycopg.conninfo import make_conninfo

    parsed = make_url(normalise_url(url))
    params: dict[str, str] = {}
    for key, value in parsed.query.items():  # sslmode, options, a socket folder as host …
        params[key] = value if isinstance(value, str) else value[-1]
    for key, value in (("host", parsed.host), ("port", parsed.port), ("user", parsed.username),
                       ("dbname", parsed.database)):
        if value is not None:
            params[key] = str(value)
    env = dict(os.environ)
    if parsed.password is not None:
        env["PGPASSWORD"] = parsed.password
    return make_conninfo(**params), env


def _tool_major(path: str) -> int | None:
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return None
    match = re.search(r"\)\s+(\d+)", done.stdout)  # "pg_dump (PostgreSQL) 15.20 (Debian …)"
    return int(match.group(1)) if match else None


def _server_major(url: str) -> int:
    with engine_for(url).connect() as conn:
        return int(conn.execute(text("SHOW server_version_num")).scalar_one()) // 10000


def find_tool(name: str, at_least: int) -> str:
    """The client tool NAME of major version AT_LEAST or newer: on PATH, else in the folders of
    PG_BIN_GLOBS; a clear BackupError when there is none, or only older ones."""
    candidates = [shutil.which(name)]
    for pattern in PG_BIN_GLOBS:
        folders = sorted(glob.glob(pattern), key=lambda f: [int(p) for p in re.findall(r"\d+", f)], reverse=True)
        candidates += [os.path.join(folder, name) for folder in folders]
    seen: dict[str, int | None] = {}
    for path in candidates:
        if not path or path in seen or not os.access(path, os.X_OK):
            continue
        seen[path] = major = _tool_major(path)
        if major is not None and major >= at_least:
            return path
    if not seen:
        raise BackupError(f"{name} is not installed: install PostgreSQL's client tools, version {at_least} "
                          f"or newer (e.g. apt-get install postgresql-client-{at_least})")
    found = ", ".join(f"{path} ({major or 'unknown version'})" for path, major in seen.items())
    raise BackupError(f"{name} must be of version {at_least} or newer, as the PostgreSQL server is; found "
                      f"{found}: install postgresql-client-{at_least}")


def _tool_message(stderr: str) -> str:
    """The first error line a client tool wrote."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower() or "fatal" in line.lower()] or lines
    # "pg_restore: error: …", "psql:<stdin>:57: ERROR: …": the tool is named by the caller
    return re.sub(r"^(pg_dump|pg_restore|psql)\S*:\s+", "", errors[0]) if errors else "no message"


def _tool_failed(tool: str, stderr: str) -> BackupError:
    return BackupError(f"{os.path.basename(tool)} failed: {_tool_message(stderr)}")


def _pg_dump(url: str, target: Path, progress: Progress) -> tuple[dict[str, int], list[str]]:
    """Dump in the snapshot of our own transaction and count its rows there; the evidence files
    its rows refer to."""
    pg_dump = find_tool("pg_dump", _server_major(url))
    conninfo, env = libpq(url)
    engine = engine_for(url)
    with engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True) as conn:
        conn.begin()
        snapshot = conn.execute(text("SELECT pg_export_snapshot()")).scalar_one()
        rows = _count_rows(conn)
        if VERSION_TABLE not in rows:
            raise BackupError(f"the database at {_safe(url)} holds no mne schema: run `mne db upgrade` first, "
                              "or check MNE_DATABASE_URL")
        total = len(rows)
        progress("dumping tables", 0, total)
        command = [pg_dump, "--format=custom", "--verbose", f"--snapshot={snapshot}", f"--file={target}",
                   f"--dbname={conninfo}"]
        done = 0
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, env=env, text=True, errors="replace")
        messages = []
        assert process.stderr is not None
        for line in process.stderr:  # --verbose names each table as it dumps its rows
            messages.append(line)
            if "dumping contents of table" in line:
                done += 1
                progress("dumping tables", min(done, total), total)
        if process.wait() != 0:
            raise _tool_failed(pg_dump, "".join(m for m in messages if "pg_dump: " in m and "dumping" not in m))
        progress("dumping tables", total, total)
        hashes = _referenced_files(conn)
        conn.rollback()
    return rows, hashes


# Drops every object of the schema public (tables with their sequences and indexes, views,
# free sequences, types, functions), so that after a restore nothing of the old database is
# left, not even a table that a newer migration had added.
_EMPTY_PUBLIC = """
SET lock_timeout = '{timeout}';
SET client_min_messages = warning;
DO $$
DECLARE item record;
BEGIN
  FOR item IN SELECT c.relname, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              LEFT JOIN pg_depend d ON d.objid = c.oid AND d.deptype = 'e'
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') AND d.objid IS NULL
  LOOP
    EXECUTE format(CASE item.relkind WHEN 'v' THEN 'DROP VIEW IF EXISTS public.%I CASCADE'
                                     WHEN 'm' THEN 'DROP MATERIALIZED VIEW IF EXISTS public.%I CASCADE'
                                     WHEN 'S' THEN 'DROP SEQUENCE IF EXISTS public.%I CASCADE'
                                     WHEN 'f' THEN 'DROP FOREIGN TABLE IF EXISTS public.%I CASCADE'
                                     ELSE 'DROP TABLE IF EXISTS public.%I CASCADE' END, item.relname);
  END LOOP;
  FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
              LEFT JOIN pg_depend d ON d.objid = p.oid AND d.deptype = 'e'
              WHERE n.nspname = 'public' AND d.objid IS NULL
  LOOP
    EXECUTE format('DROP ROUTINE IF EXISTS %s CASCADE', item.signature);
  END LOOP;
  FOR item IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
              LEFT JOIN pg_depend d ON d.objid = t.oid AND d.deptype = 'e'
              WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'r', 'm') AND d.objid IS NULL
  LOOP
    EXECUTE format('DROP TYPE IF EXISTS public.%I CASCADE', item.typname);
  END LOOP;
END $$;
RESET lock_timeout;
RESET client_min_messages;
"""


def _pg_archive_tables(pg_restore: str, source: Path) -> int:
    """Check the archive with `pg_restore --list` (it reads the whole table of contents) and
    count the tables whose rows it holds."""
    done = subprocess.run([pg_restore, "--list", str(source)], capture_output=True, text=True, errors="replace",
                          timeout=600, check=False)
    if done.returncode != 0:
        message = _tool_message(done.stderr)
        if "unsupported version" in message:  # an archive of a newer pg_dump than this pg_restore
            message += f"; install the client tools of the version of pg_dump that made it ({pg_restore} is older)"
        raise BackupError(f"{source} is not a readable pg_dump archive: {message}")
    entries = [line for line in done.stdout.splitlines() if " TABLE DATA " in line]
    if not any(f" TABLE DATA public {VERSION_TABLE} " in line for line in entries):
        raise BackupError(f"{source} is a pg_dump archive but not one of mne (it has no {VERSION_TABLE} table)")
    return len(entries)


def _pg_load(url: str, source: Path, force: bool, progress: Progress) -> None:
    server = _server_major(url)
    pg_restore = find_tool("pg_restore", server)
    psql = find_tool("psql", server)
    total = _pg_archive_tables(pg_restore, source)
    _refuse_over_data(url, force)
    conninfo, env = libpq(url)
    progress("restoring tables", 0, total)
    # pg_restore writes the SQL script; psql runs it, after the emptying, in one transaction
    # that we commit only once pg_restore has read the whole archive: psql's own
    # --single-transaction would commit whatever came before a truncated archive ended.
    restore = subprocess.Popen([pg_restore, "--no-owner", "--no-privileges", "--file=-", str(source)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    run = subprocess.Popen([psql, "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1", "--file=-",
                            f"--dbname={conninfo}"],
                           stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    errors: dict[str, bytes] = {}

    def collect(name: str, stream) -> None:  # drained apart, so that neither child blocks on it
        errors[name] = stream.read()

    readers = [threading.Thread(target=collect, args=("pg_restore", restore.stderr)),
               threading.Thread(target=collect, args=("psql", run.stderr))]
    for reader in readers:
        reader.start()
    assert restore.stdout is not None and run.stdin is not None
    done = 0
    try:
        run.stdin.write(b"BEGIN;\n" + _EMPTY_PUBLIC.format(timeout=PG_LOCK_TIMEOUT).encode())
        tail = b""
        while chunk := restore.stdout.read(1 << 16):
            run.stdin.write(chunk)
            done += (tail + chunk).count(b"\nCOPY ") - tail.count(b"\nCOPY ")
            tail = chunk[-6:]
            progress("restoring tables", min(done, total), total)
        restore_code = restore.wait()
        if restore_code == 0:
            run.stdin.write(b"\nCOMMIT;\n")
        run.stdin.close()  # without COMMIT, psql ends and the server rolls everything back
        progress("restoring tables", total, total)
        progress("building indexes and keys", 0, None)  # what the archive's end asks psql to do
    except BrokenPipeError:  # psql stopped at an error; its message follows
        restore.kill()
    restore_code, run_code = restore.wait(), run.wait()
    for reader in readers:
        reader.join()
    if run_code != 0:
        message = errors["psql"].decode(errors="replace")
        if "lock timeout" in message:
            raise BackupError(f"the database at {_safe(url)} is in use (its tables stayed locked for "
                              f"{PG_LOCK_TIMEOUT}): stop the app, then restore; nothing was changed")
        raise BackupError(f"{_tool_failed(psql, message)}; nothing was changed")
    if restore_code != 0:
        raise BackupError(f"{_tool_failed(pg_restore, errors['pg_restore'].decode(errors='replace'))}; "
                          "nothing was changed")
    progress("building indexes and keys", 1, 1)


# --- the commands --------------------------------------------------------------------------

@contextmanager
def _plain_errors(doing: str) -> Iterator[None]:
    """A file or SQLite error that the steps did not word themselves: one line, no traceback."""
    try:
        yield
    except sqlite3.Error as exc:
        raise BackupError(f"cannot {doing}: {exc}") from exc
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        raise BackupError(f"cannot {doing}: {exc.strerror or exc}{where}") from exc


STDIO = "-"  # FILE "-": the backup goes to standard output, or comes from standard input


def backup(url: str, file: str | Path, progress: Progress = _nothing, *, files_dir: Path | None = None) -> Report:
    """Write the database at URL and the evidence files under FILES_DIR that it refers to (None:
    none) to FILE (replaced when it exists, only once complete)."""
    with _plain_errors(f"back up into {file}"):
        return _backup(url, file, progress, files_dir)


def _backup(url: str, file: str | Path, progress: Progress, files_dir: Path | None) -> Report:
    if str(file) == STDIO:
        # Written whole first (pg_dump -Fc needs a file to seek in; a kind is known only then),
        # in a folder only we can read, then copied out.
        with tempfile.TemporaryDirectory(prefix="mne-backup-") as folder:
            report = _backup(url, Path(folder) / "backup", progress, files_dir)
            with open(report.path, "rb") as written:
                shutil.copyfileobj(written, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
        report.path = "standard output"
        return report
    started = time.monotonic()
    url = normalise_url(url)
    kind = database_kind(url)
    target = Path(file)
    report = Report(kind=kind, path=str(target))
    with _partial(target) as partial:
        database = partial.with_name(partial.name + ".database")  # private too: inside its folder
        try:
            if kind == SQLITE:
                _sqlite_dump(url, database, progress)
                # A plain engine: mne's own would turn the copy into WAL mode on connecting.
                copy = create_engine(f"sqlite:///{database}", poolclass=NullPool)
                with copy.connect() as conn:
                    rows, revision, hashes = _count_rows(conn), _revision(conn), _referenced_files(conn)
                copy.dispose()
            else:
                rows, hashes = _pg_dump(url, database, progress)
                with engine_for(url).connect() as conn:
                    revision = _revision(conn)
            report.rows, report.revision = rows, revision
            _write_archive(partial, kind, database, hashes, files_dir, report, progress)
        finally:
            database.unlink(missing_ok=True)
        report.size = partial.stat().st_size
    report.seconds = time.monotonic() - started
    return report


def _private(member: tarfile.TarInfo) -> tarfile.TarInfo:
    """No owner names or ids of this machine in the archive; readable by its owner only."""
    member.uid = member.gid = 0
    member.uname = member.gname = ""
    member.mode = 0o600
    return member


def _write_archive(target: Path, kind: str, database: Path, hashes: list[str], files_dir: Path | None,
                   report: Report, progress: Progress) -> None:
    with tarfile.open(target, "w", format=tarfile.PAX_FORMAT) as archive:
        archive.add(database, arcname=DATABASE_MEMBER[kind], filter=_private)
        if files_dir is None:
            if hashes:
                report.notes.append(f"{len(hashes)} evidence files were left out (no files folder was given)")
            return
        missing = []
        progress("copying evidence files", 0, len(hashes))
        for done, sha256 in enumerate(hashes, 1):
            path = store.blob_path(files_dir, sha256)
            if not path.is_file():  # removed by hand, or lost: the backup goes on without it
                missing.append(sha256)
                continue
            archive.add(path, arcname=FILES_FOLDER + sha256, filter=_private)
            report.files += 1
            report.files_size += path.stat().st_size
            progress("copying evidence files", done, len(hashes))
        if missing:
            report.notes.append(f"{len(missing)} evidence files the database refers to are missing from "
                                f"{files_dir} and are not in the backup (the first: {missing[0]})")


def restore(url: str, file: str | Path, force: bool = False, progress: Progress = _nothing, *,
            files_dir: Path | None = None) -> Report:
    """Replace the database at URL by the backup FILE, and the evidence files under FILES_DIR by
    the backup's (None: leave them); refuses a database holding data unless FORCE, and a backup
    of the other kind of database always."""
    with _plain_errors(f"restore {file}"):
        return _restore(url, file, force, progress, files_dir)


def _restore(url: str, file: str | Path, force: bool, progress: Progress, files_dir: Path | None) -> Report:
    if str(file) == STDIO:
        if sys.stdin.isatty():
            raise BackupError("restore - reads the backup from standard input: pipe it in, or give its file")
        with tempfile.TemporaryDirectory(prefix="mne-restore-") as folder:
            copy = Path(folder) / "backup"
            with copy.open("wb") as received:
                shutil.copyfileobj(sys.stdin.buffer, received, 1 << 20)
            try:
                report = _restore(url, copy, force, progress, files_dir)
            except BackupError as exc:
                raise BackupError(exc.message.replace(str(copy), "standard input")) from exc
        report.path = "standard input"
        return report
    started = time.monotonic()
    url = normalise_url(url)
    kind = database_kind(url)
    source = Path(file)
    found = kind_of(source)
    if found != kind:
        raise BackupError(f"{source} is a backup of a {KIND_NAMES[found]} database and cannot be restored into "
                          f"{KIND_NAMES[kind]} ({_safe(url)}): restore it into a {KIND_NAMES[found]} database "
                          "(MNE_DATABASE_URL says which)")
    report = Report(kind=kind, path=str(source), size=source.stat().st_size)
    if not is_archive(source):  # a backup made before evidence files were: the database only
        _load(url, kind, source, force, progress)
        if files_dir is not None:
            report.notes.append("the backup holds no evidence files (it was made by an older version): "
                                f"the files folder {files_dir} was left as it was")
    else:
        with tempfile.TemporaryDirectory(prefix=".mne-restore-", dir=source.parent) as folder:
            database = Path(folder) / "database"
            staging = _Staging(files_dir)
            try:
                staged = _unpack(source, kind, database, staging, progress)
                _load(url, kind, database, force, progress)
                if files_dir is not None:
                    _put_files(url, files_dir, staging, staged, report)
                elif staged:
                    report.notes.append(f"{len(staged)} evidence files in the backup were not restored "
                                        "(no files folder was given)")
            finally:
                staging.clean()
    engine = engine_for(url)
    engine.dispose()  # connections opened before the restore may cache the old schema
    with engine.connect() as conn:
        report.rows, report.revision = _count_rows(conn), _revision(conn)
    report.notes = _revision_notes(report.revision) + report.notes
    report.seconds = time.monotonic() - started
    return report


def _load(url: str, kind: str, database: Path, force: bool, progress: Progress) -> None:
    if kind == SQLITE:
        _sqlite_load(url, database, force, progress)
    else:
        _pg_load(url, database, force, progress)


class _Staging:
    """A private folder inside the files folder (so that moving a file into place is a rename),
    made at the first file of the archive: a backup without files leaves no trace."""

    def __init__(self, files_dir: Path | None) -> None:
        self.files_dir = files_dir
        self.folder: Path | None = None

    def path(self, sha256: str) -> Path | None:
        if self.files_dir is None:
            return None
        if self.folder is None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix=".restore-", dir=self.files_dir))
        return self.folder / sha256

    def clean(self) -> None:
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)


def _unpack(source: Path, kind: str, database: Path, staging: _Staging, progress: Progress) -> dict[str, int]:
    """The archive's database to DATABASE and its files to STAGING (each checked against its
    hash), before anything is changed: a damaged or cut archive changes nothing. The files'
    hashes and sizes."""
    staged: dict[str, int] = {}
    try:
        with tarfile.open(source, "r:") as archive:
            progress("reading the backup", 0, None)
            for member in archive:
                name = member.name
                if name == DATABASE_MEMBER[kind] and member.isfile():
                    _extract(archive, member, database)
                elif name.startswith(FILES_FOLDER) and store.SHA256.fullmatch(name[len(FILES_FOLDER):]) \
                        and member.isfile():
                    sha256 = name[len(FILES_FOLDER):]
                    path = staging.path(sha256)
                    if path is not None:
                        _extract(archive, member, path)
                        if store.file_sha256(path) != sha256:
                            raise BackupError(f"{source} is damaged: the evidence file {sha256} does not match "
                                              "its hash; nothing was changed")
                    staged[sha256] = member.size
                    progress("reading the backup", len(staged), None)
                # Anything else (a folder entry, a file added by hand) is not ours: left out.
    except (tarfile.TarError, EOFError) as exc:
        raise BackupError(f"{source} is damaged or cut short ({exc}); nothing was changed") from exc
    if not database.is_file():
        raise BackupError(f"{source} is damaged: it holds no {DATABASE_MEMBER[kind]}; nothing was changed")
    return staged


def _extract(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path) -> None:
    """One member's bytes to TARGET, by our own name for it (never the archive's path)."""
    source = archive.extractfile(member)
    assert source is not None
    with source, target.open("wb") as out:
        shutil.copyfileobj(source, out, 1 << 20)
    if target.stat().st_size != member.size:
        raise tarfile.ReadError("unexpected end of data")


def _put_files(url: str, files_dir: Path, staging: _Staging, staged: dict[str, int], report: Report) -> None:
    """Move the staged files into place; remove the blobs that no restored row refers to (the
    restore replaces everything, files too). Notes the rows whose file is in neither."""
    with engine_for(url).connect() as conn:
        wanted = set(_referenced_files(conn))
    for sha256, size in staged.items():
        store.place(files_dir, store.Received(path=staging.path(sha256), sha256=sha256, size=size))
        report.files += 1
        report.files_size += size
    for sha256, _ in list(store.blobs(files_dir)):
        if sha256 not in wanted:
            store.remove(files_dir, sha256)
    missing = sorted(sha for sha in wanted if not store.blob_path(files_dir, sha).is_file())
    if missing:
        report.notes.append(f"{len(missing)} evidence files the restored database refers to are in neither the "
                            f"backup nor {files_dir} (the first: {missing[0]})")
