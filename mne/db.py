"""Engine and sessions. One engine per database URL; the app and the CLI share it.

How many requests touch the database at once, and how each transaction begins:

- A worker serves at most ``db_pool_size`` requests at the database at once (``mne.deps``
  admits them); each holds one pooled connection. ``RESERVED_CONNECTIONS`` more are kept for
  ``/healthz``, which takes no turn, so it never queues behind requests.
- A request's transaction is opened for ``READ`` (GET, HEAD, OPTIONS) or for ``WRITE``
  (everything else). A read transaction is read-only in the database itself (PostgreSQL
  ``BEGIN READ ONLY``, SQLite ``query_only``): a read that tried to write would fail loudly
  instead of taking a lock that other requests wait on. On SQLite a write transaction takes the
  write lock at ``BEGIN IMMEDIATE``, where the busy timeout queues writers; a deferred
  transaction that read first and wrote later could fail at once with "database is locked"
  whenever another writer committed in between.
"""

from __future__ import annotations

from functools import lru_cache

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlmodel import create_engine

import mne.models  # noqa: F401  (every table mapped before any session is used)
from mne.config import ConfigError, get_settings

READ = "read"
WRITE = "write"
_ACCESS = "mne_access"  # the execution option that carries READ or WRITE to the BEGIN
RESERVED_CONNECTIONS = 2
DEFAULT_POOL_SIZE = 10
DEFAULT_TIMEOUT = 10.0
# Seconds to wait for a PostgreSQL server to accept a connection: a database that went away
# answers 503 within this, however long `db_timeout` lets requests queue for a turn.
CONNECT_TIMEOUT = 5


def normalise_url(url: str) -> str:
    """Accept the usual spellings of a PostgreSQL URL and always use psycopg 3."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigError(f"MNE_DATABASE_URL is not a database URL: {url!r}") from exc
    if parsed.drivername in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ConfigError(
            f"MNE_DATABASE_URL uses {parsed.get_backend_name()!r}: only sqlite and postgresql are supported"
        )
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(busy_timeout_ms: int):
    def on_connect(dbapi_connection, record) -> None:
        # SQLite leaves foreign keys off unless asked; WAL lets readers and a writer overlap.
        # The driver's own implicit transactions are turned off so SQLAlchemy's BEGIN and
        # SAVEPOINT work as documented (see _sqlite_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
        cursor.close()
        record.info["query_only"] = False

    return on_connect


def _sqlite_begin(conn) -> None:
    access = conn.get_execution_options().get(_ACCESS)
    info = conn.connection.info  # lives as long as the DBAPI connection, across checkouts
    read_only = access == READ
    if info.get("query_only") != read_only:
        conn.exec_driver_sql(f"PRAGMA query_only={'ON' if read_only else 'OFF'}")
        info["query_only"] = read_only
    conn.exec_driver_sql("BEGIN IMMEDIATE" if access == WRITE else "BEGIN")


@lru_cache(maxsize=16)
def engine_for(url: str, echo: bool = False, *, pool_size: int = DEFAULT_POOL_SIZE,
               timeout: float = DEFAULT_TIMEOUT) -> Engine:
    url = normalise_url(url)
    pool = {"pool_size": pool_size, "max_overflow": RESERVED_CONNECTIONS, "pool_timeout": timeout}
    if url.startswith("sqlite"):
        engine = create_engine(url, echo=echo, connect_args={"check_same_thread": False}, **pool)
        event.listen(engine, "connect", _sqlite_pragmas(int(timeout * 1000)))
        event.listen(engine, "begin", _sqlite_begin)
    else:
        # pool_pre_ping: a pooled connection that died with the server (a restart, a failover)
        # is replaced on checkout instead of failing the request that drew it.
        engine = create_engine(url, echo=echo, pool_pre_ping=True,
                               connect_args={"connect_timeout": max(2, min(CONNECT_TIMEOUT, int(timeout)))}, **pool)
    return engine


def database_unreachable(exc: BaseException) -> bool:
    """Whether a database error means the server could not be reached or the connection was
    lost, rather than a wait that ran out (a lock, a busy pool)."""
    if not isinstance(exc, DBAPIError):
        return False  # the pool's own timeout: every connection was in use
    # Raised while connecting, before any statement ran; or the driver found the connection dead.
    return exc.statement is None or bool(exc.connection_invalidated)


@lru_cache(maxsize=64)
def for_access(engine: Engine, access: str | None) -> Engine:
    """The engine whose transactions begin for READ or WRITE (None: the database's default);
    it shares the engine's pool."""
    if access is None:
        return engine
    readonly = access == READ and engine.dialect.name == "postgresql"
    return engine.execution_options(**{_ACCESS: access}, **({"postgresql_readonly": True} if readonly else {}))


def get_engine() -> Engine:
    settings = get_settings()
    return engine_for(settings.database_url, settings.log_sql, pool_size=settings.db_pool_size,
                      timeout=settings.db_timeout)
