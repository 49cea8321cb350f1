"""The `mne` command line. Errors are one clear line and a non-zero exit, never a traceback."""

from __future__ import annotations

import functools
import sys
from typing import Annotated

import typer
from sqlalchemy.exc import DBAPIError, OperationalError, ProgrammingError
from sqlmodel import Session

from mne.config import ConfigError, get_settings
from mne.errors import DomainError

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False,
                  help="mne: the monitoring-and-evaluation results tracker.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
seed_app = typer.Typer(no_args_is_help=True, help="Reference and demo data.")
user_app = typer.Typer(no_args_is_help=True, help="User accounts.")
token_app = typer.Typer(no_args_is_help=True, help="API tokens.")
import_app = typer.Typer(no_args_is_help=True, help="Import files: results from spreadsheets.")
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(import_app, name="import")


class CliError(Exception):
    """A failure the user can act on; printed as one line."""


def fail(message: str, code: int = 1) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def _db_message(exc: DBAPIError) -> str:
    text = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
    if "no such table" in text or "does not exist" in text and "relation" in text:
        return f"the database schema is not up to date ({text}); run `mne db upgrade` first"
    return f"database error: {text}"


def handled(fn):
    """Turn expected failures into one-line errors."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (typer.Exit, typer.Abort, KeyboardInterrupt):
            raise
        except ConfigError as exc:
            fail(str(exc))
        except DomainError as exc:
            fail(exc.message)
        except CliError as exc:
            fail(str(exc))
        except OperationalError as exc:
            if "no such table" in str(exc.orig):
                fail(_db_message(exc))
            fail(f"cannot use the database at {_safe_url()}: {str(exc.orig).strip().splitlines()[0]}")
        except (ProgrammingError, DBAPIError) as exc:
            fail(_db_message(exc))

    return wrapper


def _safe_url() -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(get_settings().database_url).render_as_string(hide_password=True)
    except Exception:  # the URL itself is what is wrong
        return repr(get_settings().database_url)


def _session() -> Session:
    """A session for a command that writes: on SQLite it takes the write lock when its
    transaction begins, so it queues behind the server's writers instead of failing."""
    from mne.db import WRITE, for_access, get_engine
    from mne.unit_of_work import UnitOfWork

    return UnitOfWork(for_access(get_engine(), WRITE), expire_on_commit=False)


# --- serving ---------------------------------------------------------------------------

@app.command()
@handled
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, envvar="MNE_WORKERS",
                                         help="Worker processes (each with its own database pool).")] = 1,
) -> None:
    """Serve the web app and the API."""
    import uvicorn

    settings = get_settings()
    settings.signing_secret()  # fail fast with a clear message
    proxies = settings.trusted_proxy_list()
    typer.echo(f"mne serving at http://{host}:{port}  (API docs at /docs)"
               + (f", {workers} worker processes" if workers > 1 else ""))
    # Forwarded headers are believed only from MNE_TRUSTED_PROXIES (uvicorn's own default
    # trusts 127.0.0.1, which would let anyone on this machine pick their address).
    # With several workers, uvicorn restarts one that does not answer its health check in time;
    # its default (5 s) kills workers still starting on a busy 2-core machine, again and again.
    uvicorn.run("mne.app:create_app", factory=True, host=host, port=port, workers=workers,
                log_level="info", proxy_headers=bool(proxies), forwarded_allow_ips=proxies or None,
                timeout_worker_healthcheck=30)


@app.command()
@handled
def demo(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    no_serve: Annotated[bool, typer.Option("--no-serve", help="Prepare the data, do not serve.")] = False,
) -> None:
    """Quickstart: migrate, load reference and demo data (once), print sign-ins, serve."""
    from mne import migrate
    from mne.demo.generator import DemoRefused, demo_users

    settings = get_settings()
    if not settings.demo:
        raise CliError("`mne demo` runs only in demo mode: set MNE_DEMO=1")
    migrate.upgrade(settings.database_url)
    _load_reference(quiet=True)
    try:
        _seed_demo(scale=1, seed=1)
    except DemoRefused as exc:
        typer.echo(f"demo data: {exc}")
    typer.echo("\nDemo sign-ins (email / password):")
    for email, role, password, *_ in demo_users(1):
        typer.echo(f"  {role:18} {email:28} {password}")
    if not no_serve:
        serve(host=host, port=port, workers=1)


# --- database ---------------------------------------------------------------------------

@db_app.command("upgrade")
@handled
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the migrations up to REVISION (default: the newest)."""
    from mne import migrate

    migrate.upgrade(get_settings().database_url, revision)
    typer.echo(f"database at {_safe_url()} is at revision {migrate.current_revision()}")
    # Data follows the schema apart from it (Alembic's advice: migrations change the schema):
    # summaries a migration left empty or incomplete are computed now.
    if revision == "head" and _summaries_incomplete():
        typer.echo("the progress summaries do not cover every indicator line and period: computing them")
        _rebuild_summaries()


def _summaries_incomplete() -> bool:
    from mne.db import get_engine
    from mne.progress.snapshots import incomplete

    with get_engine().connect() as conn:
        return incomplete(conn)


@db_app.command("downgrade")
@handled
def db_downgrade(revision: Annotated[str, typer.Argument()]) -> None:
    """Undo migrations down to REVISION (`base` empties the database)."""
    from mne import migrate

    migrate.downgrade(get_settings().database_url, revision)
    typer.echo(f"database at {_safe_url()} is at revision {migrate.current_revision()}")


@db_app.command("rebuild-summaries")
@handled
def db_rebuild_summaries(
    check: Annotated[bool, typer.Option("--check", help="Only compare the stored summaries with a recomputation "
                                        "and list what differs; write nothing, exit 1 when anything differs.")] = False,
) -> None:
    """Recompute the precomputed progress of every indicator line (normally kept current on
    every write; use after restoring a backup or repairing data by hand)."""
    if not check:
        _rebuild_summaries()
        return
    from mne.db import get_engine
    from mne.progress.check import check_summaries

    report = check_summaries(get_engine())
    if report.equal:
        typer.echo(f"summaries match ({report.rows_compared} rows compared)")
        return
    for difference in report.differences:
        typer.echo(str(difference))
    more = report.count - len(report.differences)
    tables = ", ".join(f"{table} {n}" for table, n in report.by_table.items())
    typer.echo(f"summaries differ: {report.count} difference(s) ({tables}) in {report.rows_compared} rows compared"
               + (f", {more} not shown" if more else "")
               + "; `mne db rebuild-summaries` recomputes them")
    raise typer.Exit(1)


def _rebuild_summaries() -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mne.db import get_engine
    from mne.progress.snapshots import rebuild_all

    with Progress(TextColumn("computing progress of lines"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task("lines", total=None)
        with get_engine().begin() as conn:
            lines = rebuild_all(conn, progress=lambda done, total: bar.update(task, completed=done, total=total))
    typer.echo(f"progress summaries rebuilt for {lines} indicator lines")


# --- seeding ----------------------------------------------------------------------------

def _load_reference(quiet: bool = False) -> None:
    from mne.reference.seed import load_reference

    with _session() as session:
        report = load_reference(session)
        session.commit()
    if not quiet or report.changed:
        parts = [f"{name}: +{report.inserted[name]} ~{report.updated[name]}" for name in report.inserted]
        typer.echo("reference data loaded (" + ", ".join(parts) + ")")


def _seed_demo(scale: int, seed: int) -> None:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mne.db import get_engine
    from mne.demo.generator import seed_demo as run

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), transient=False) as bar:
        task = bar.add_task("seeding demo projects", total=None)
        summaries = bar.add_task("computing progress of lines", total=None, start=False)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        def summary_progress(done: int, total: int) -> None:
            bar.start_task(summaries)
            bar.update(summaries, completed=done, total=total)

        report = run(get_engine(), scale=scale, seed=seed, progress=progress, summary_progress=summary_progress)
    typer.echo(f"demo data: {report.projects} projects, {report.indicators} indicators, "
               f"{report.lines} indicator lines, {report.results} results, {report.donors} donors")


@seed_app.command("reference")
@handled
def seed_reference() -> None:
    """Load (or refresh) the reference data from seed/. Safe to run again."""
    _load_reference()


@seed_app.command("demo")
@handled
def seed_demo(
    scale: Annotated[int, typer.Option(min=1, max=100, help="Multiply the amount of data.")] = 1,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same data.")] = 1,
) -> None:
    """Load deterministic demo projects, results and users (refuses over real data)."""
    from mne.demo.generator import DemoRefused, demo_users

    try:
        _seed_demo(scale, seed)
    except DemoRefused as exc:
        raise CliError(str(exc)) from exc
    typer.echo("demo sign-ins (email / password):")
    for email, role, password, *_ in demo_users(seed):
        typer.echo(f"  {role:18} {email:28} {password}")


# --- exports ----------------------------------------------------------------------------

EXPORT_KINDS = ("results", "iptt", "iati")


def export(
    kind: Annotated[str, typer.Argument(help="results | iptt | iati")],
    output: Annotated[str, typer.Option("-o", "--output", help="File to write (iptt: .csv or .xlsx); - for "
                                                               "standard output.")],
    period_from: Annotated[str | None, typer.Option("--from", help="First period: YYYYQn, YYYYSn or YYYY.")] = None,
    to: Annotated[str | None, typer.Option(help="Last period: YYYYQn, YYYYSn or YYYY.")] = None,
    as_of: Annotated[str | None, typer.Option("--as-of", help="Period of the IPTT's progress figures.")] = None,
    include_pending: Annotated[bool, typer.Option("--include-pending", help="Count submitted results too.")] = False,
    status: Annotated[str | None, typer.Option(help="Result statuses (results) or line statuses (iptt).")] = None,
    user: Annotated[str | None, typer.Option("--as", help="Export in this user's scope (default: everything).")] = None,
    **filters: str | None,
) -> None:
    """Write an export file (the same as /exports/…), with a progress bar on a terminal."""
    from mne.exports.files import export_to

    if kind not in EXPORT_KINDS:
        raise CliError(f"unknown export {kind!r}: one of {', '.join(EXPORT_KINDS)}")
    written, path = export_to(kind, output, filters=filters, period_from=period_from, to=to, as_of=as_of,
                              include_pending=include_pending, status=status, user=user)
    if path != "-":
        typer.echo(f"wrote {written} {'rows' if kind != 'iati' else 'activities'} to {path}", err=True)


def _with_filter_options(fn):
    """One option per dimension of the registry (--donor ECHO,USAID …), as the API's filters."""
    import inspect

    from mne.dimensions import DIMENSIONS

    signature = inspect.signature(fn, eval_str=True)  # typer reads the annotations themselves
    fixed = [p for p in signature.parameters.values() if p.kind != inspect.Parameter.VAR_KEYWORD]
    options = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None,
                                 annotation=Annotated[str | None, typer.Option(help=f"{d.description}; comma-separated")])
               for name, d in DIMENSIONS.items()]

    @functools.wraps(fn)
    def wrapper(**kwargs):
        names = set(DIMENSIONS)
        chosen = {k: v for k, v in kwargs.items() if k in names}
        return fn(**{k: v for k, v in kwargs.items() if k not in names}, **chosen)

    wrapper.__signature__ = signature.replace(parameters=[*fixed, *options])
    return wrapper


app.command("export")(handled(_with_filter_options(export)))


# --- imports ----------------------------------------------------------------------------

@import_app.command("results")
@handled
def import_results(
    file: Annotated[str, typer.Argument(help="A CSV or .xlsx file of results; an exported results.csv is "
                                             "accepted as is.")],
    user: Annotated[str | None, typer.Option("--as", help="The country officer whose results these are "
                                                          "(required): the import runs in that officer's "
                                                          "countries and under that officer's name.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Check every row and report; write nothing.")] = False,
    encoding: Annotated[str, typer.Option(help="The CSV's text encoding: auto (UTF-8 or UTF-16), utf-8, utf-16, "
                                               "windows-1251, windows-1250, windows-1252, windows-1254.")] = "auto",
) -> None:
    """Import results from a spreadsheet, as POST /imports/results does: every row checked by the
    workflow's rules, then all written in one transaction, or none. Exits 1 when a row is refused."""
    from mne.imports.files import import_results as run

    with _session() as session:
        imported = run(session, file, user=user, dry_run=dry_run, encoding=encoding)
    for line in imported.lines:
        typer.echo(line)
    if not imported.ok:
        raise typer.Exit(1)


# --- backup and restore -----------------------------------------------------------------

def _backup_progress():
    """A progress bar on standard error when it is a terminal, and the callback that moves it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=console, disable=not console.is_terminal, transient=True)
    tasks: dict[str, object] = {}

    def progress(what: str, done: int, total: int | None) -> None:
        if what not in tasks:
            tasks[what] = bar.add_task(what, total=total)
        bar.update(tasks[what], completed=done, total=total)

    return bar, progress


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


@app.command("backup")
@handled
def backup_command(
    file: Annotated[str, typer.Argument(help="The file to write (replaced once the new backup is complete); "
                                             "- for standard output.")],
) -> None:
    """Back up the whole database and its evidence files into FILE, while the app runs.

    A tar archive of SQLite's online backup (a SQLite database) or pg_dump's custom format
    (PostgreSQL), consistent as of one moment, and the evidence files under MNE_FILES_DIR that
    it refers to."""
    from mne import backup

    settings = get_settings()
    bar, progress = _backup_progress()
    with bar:
        report = backup.backup(settings.database_url, file, progress=progress, files_dir=settings.files_dir)
    typer.echo(f"backed up {_safe_url()} to {report.path}: {_megabytes(report.size)}, {report.tables} tables, "
               f"{report.total_rows:,} rows, {_files(report)}, schema revision {report.revision}, "
               f"in {report.seconds:.1f} s", err=file == backup.STDIO)
    for note in report.notes:
        typer.echo(f"note: {note}", err=file == backup.STDIO)


def _files(report) -> str:
    return f"{report.files:,} evidence file{'' if report.files == 1 else 's'} ({_megabytes(report.files_size)})"


@app.command("restore")
@handled
def restore_command(
    file: Annotated[str, typer.Argument(help="A file written by `mne backup` from the same kind of database; "
                                             "- for standard input.")],
    force: Annotated[bool, typer.Option("--force", help="Replace a database that holds data.")] = False,
) -> None:
    """Replace the database and the evidence files by the backup FILE (stop the app first).

    Refuses a database that holds data (anything beyond the reference data) unless --force,
    and a backup of the other kind of database. The files go to MNE_FILES_DIR; files there that
    the restored database does not refer to are removed."""
    from mne import backup

    settings = get_settings()
    bar, progress = _backup_progress()
    with bar:
        report = backup.restore(settings.database_url, file, force=force, progress=progress,
                                files_dir=settings.files_dir)
    typer.echo(f"restored {report.path} into {_safe_url()}: {report.tables} tables, {report.total_rows:,} rows, "
               f"{_files(report)}, schema revision {report.revision}, in {report.seconds:.1f} s")
    for note in report.notes:
        typer.echo(f"note: {note}")


# --- reminders --------------------------------------------------------------------------

def _day(value: str | None):
    from datetime import date

    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value[:40]!r} is not a date: write YYYY-MM-DD", param_hint="--today") from None


@app.command("remind")
@handled
def remind_command(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print who would get what; send and record "
                                                            "nothing (needs no SMTP server).")] = False,
    today: Annotated[str | None, typer.Option("--today", metavar="YYYY-MM-DD", help="Act as of this date "
                                              "(default: today), to test or catch up.")] = None,
) -> None:
    """Email each officer a digest of what is due within 7 days or overdue, and each reviewer one
    of what waits for review; nothing is told twice. Meant for cron (see docs/operations.md)."""
    from mne.reminders.command import RemindError, remind

    day = _day(today)
    try:
        remind(get_settings(), today=day, dry_run=dry_run, echo=typer.echo)
    except RemindError as exc:
        fail(str(exc), exc.code)


# --- users and tokens -------------------------------------------------------------------

@user_app.command("add")
@handled
def user_add(
    email: str,
    role: Annotated[str, typer.Option(help="country_officer | regional_reviewer | admin | donor_viewer")],
    country: Annotated[list[str], typer.Option(help="ISO3 code of a country in scope (repeat).")] = [],  # noqa: B006
    donor: Annotated[list[str], typer.Option(help="Donor code in scope (repeat).")] = [],  # noqa: B006
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")] = False,
) -> None:
    """Create a user. The password is asked for (or read from stdin) and stored hashed."""
    from mne.users import service

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        user = service.create_user(session, email=email, password=password, role=role, name=name,
                                   countries=country, donors=donor)
        session.commit()
        typer.echo(f"user {user.email} created with role {user.role}")


@user_app.command("deactivate")
@handled
def user_deactivate(email: str) -> None:
    """Deactivate a user: its sessions and tokens stop working at once."""
    from mne.users import service

    with _session() as session:
        user = service.get_user_by_email(session, email)
        service.set_active(session, user, False, actor_id=None)
        session.commit()
        typer.echo(f"user {user.email} is inactive")


@token_app.command("create")
@handled
def token_create(
    email: str,
    name: Annotated[str, typer.Option(help="A label for the token.")] = "",
    days: Annotated[int | None, typer.Option(
        "--days", help="Expire the token after N days (1 to 3650; default: never, until revoked).")] = None,
) -> None:
    """Create an API token for EMAIL; the token is printed once, alone on the last line."""
    from mne.users import service

    with _session() as session:
        user = service.get_user_by_email(session, email)
        if not user.is_active:
            raise CliError(f"user {user.email} is inactive")
        token, secret = service.create_token(session, user, name, days=days)
        session.commit()
    until = f"; it expires on {token.expires_at:%Y-%m-%d %H:%M} UTC" if token.expires_at else ""
    typer.echo(f"API token for {email} (store it now: it is not shown again{until}):")
    typer.echo(secret)


@token_app.command("revoke")
@handled
def token_revoke(
    email: str,
    token_id: Annotated[int | None, typer.Option("--id", help="Revoke only this token (default: all).")] = None,
) -> None:
    """Revoke the API tokens of EMAIL (all, or one with --id)."""
    from mne.users import service

    with _session() as session:
        user = service.get_user_by_email(session, email)
        count = service.revoke_tokens(session, user, token_id)
        session.commit()
    if token_id is not None and count == 0:
        raise CliError(f"{email} has no active token with id {token_id}")
    typer.echo(f"revoked {count} token(s) of {email}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
