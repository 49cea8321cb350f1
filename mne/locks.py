"""Named locks that queue fairly, held until the transaction ends (PostgreSQL advisory locks;
SQLite needs none: its write transactions run one at a time from BEGIN IMMEDIATE).

A row lock would do for a period's close against the saves into it, but PostgreSQL lets new
FOR SHARE lockers pass a waiting FOR UPDATE, so a steady stream of saves would keep an admin's
close waiting for as long as it lasts. Advisory locks queue: a close waits for the saves in
flight, and saves that come after it wait for it and then see the period closed.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import func, select
from sqlalchemy.engine import Connection


def _key(*parts: str) -> int:
    digest = hashlib.blake2b("|".join(("mne",) + parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def period_lock(conn: Connection, codes, *, exclusive: bool = False) -> None:
    """Hold the periods ``codes`` until commit: shared to write results into them, exclusive to
    change their status. Taken in sorted order so that writers never deadlock on them."""
    if conn.dialect.name != "postgresql":
        return
    take = func.pg_advisory_xact_lock if exclusive else func.pg_advisory_xact_lock_shared
    for code in sorted(set(codes)):
        conn.execute(select(take(_key("period", code))))
