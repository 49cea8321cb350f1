"""Loaded by a served app only when a crash test puts this folder on PYTHONPATH.

It pauses the server's transaction at a chosen statement (`CRASH_PAUSE_AT`, a regular
expression) after writing a marker file (`CRASH_PAUSE_MARK`), so that the test can kill the
server there: in the middle of the transaction, every statement before that one executed and
nothing committed. SQLite has no lock the test could hold to stop a writer half-way (its write
lock is taken at BEGIN IMMEDIATE), so this is how its crash tests reach the middle.

It also shrinks SQLite's page cache to a few pages, so that a transaction spills the pages it
changed into the write-ahead log long before it commits: what the kill leaves behind is then
uncommitted data in the log, not only changes in the memory of a dead process.
"""

import os

if os.environ.get("CRASH_PAUSE_AT"):
    import re
    import threading

    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _pattern = re.compile(os.environ["CRASH_PAUSE_AT"])
    _forever = threading.Event()

    @event.listens_for(Engine, "connect")
    def _small_cache(dbapi_connection, record):
        if type(dbapi_connection).__module__.startswith("sqlite3"):
            dbapi_connection.execute("PRAGMA cache_size = 10")

    @event.listens_for(Engine, "before_cursor_execute")
    def _pause(conn, cursor, statement, parameters, context, executemany):
        if _pattern.search(statement):
            with open(os.environ["CRASH_PAUSE_MARK"], "w") as mark:
                mark.write(statement[:200])
            _forever.wait()  # until the test kills this process
