"""The bytes of evidence files, outside the database, under ``MNE_FILES_DIR``.

Each file is stored once under its SHA-256 (``ab/abcdef…``, a folder per first two hex digits so
that no folder grows huge): equal files share one blob, and a name given by a user never becomes
a path. A blob is written to a temporary file in the same folder tree and renamed into place
(atomic: a reader sees the whole file or none), and removed only when no row refers to it (the
service decides that, under `blob_lock`).
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

CHUNK = 1 << 20
SHA256 = re.compile(r"[0-9a-f]{64}")
PARTIAL_PREFIX = ".partial-"


class TooLarge(ValueError):
    """The stream passed the limit; nothing was kept."""


def blob_path(files_dir: Path, sha256: str) -> Path:
    if not SHA256.fullmatch(sha256):  # only ever a hash from our own rows; never a user's text
        raise ValueError("not a SHA-256 in hex")
    return Path(files_dir) / sha256[:2] / sha256


@dataclass
class Received:
    """A stream copied to a temporary file under files_dir, with its hash and size."""

    path: Path
    sha256: str
    size: int

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def receive(source: BinaryIO, files_dir: Path, max_bytes: int) -> Received:
    """Copy SOURCE to a private temporary file under FILES_DIR, hashing it on the way, a chunk at a
    time (a 20 MB file is never held in memory). TooLarge past MAX_BYTES; the copy is removed."""
    folder = Path(files_dir)
    folder.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=folder, prefix=PARTIAL_PREFIX)
    path = Path(name)
    digest = hashlib.sha256()
    size = 0
    try:
        with os.fdopen(handle, "wb") as out:
            while chunk := source.read(CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise TooLarge()
                digest.update(chunk)
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Received(path=path, sha256=digest.hexdigest(), size=size)


def place(files_dir: Path, received: Received) -> Path:
    """Move a received file to its blob path (replacing an equal one is harmless: same bytes)."""
    target = blob_path(files_dir, received.sha256)
    target.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(received.path, 0o640)
    os.replace(received.path, target)
    return target


def remove(files_dir: Path, sha256: str) -> None:
    path = blob_path(files_dir, sha256)
    path.unlink(missing_ok=True)
    try:
        path.parent.rmdir()  # only when empty
    except OSError:
        pass


def blobs(files_dir: Path) -> Iterator[tuple[str, Path]]:
    """Every blob under FILES_DIR (sha256, path); temporary and foreign files are skipped."""
    root = Path(files_dir)
    if not root.is_dir():
        return
    for folder in sorted(root.iterdir()):
        if not folder.is_dir() or not re.fullmatch(r"[0-9a-f]{2}", folder.name):
            continue
        for path in sorted(folder.iterdir()):
            if path.is_file() and SHA256.fullmatch(path.name) and path.name[:2] == folder.name:
                yield path.name, path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def blob_lock(conn: Connection, sha256: str) -> None:
    """Hold the blob SHA256 until commit, so that placing it for a new row and removing it after
    its last row went never interleave (PostgreSQL: an advisory lock; SQLite's write transactions
    run one at a time already)."""
    if conn.dialect.name != "postgresql":
        return
    key = int.from_bytes(hashlib.blake2b(f"mne|blob|{sha256}".encode(), digest_size=8).digest(), "big", signed=True)
    conn.execute(select(func.pg_advisory_xact_lock(key)))
