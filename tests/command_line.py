"""Running `mne` as a user does: a child process on a database, and on a terminal when a test
looks at the progress bar (shown only there)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys


def mne(args: list[str], db_url: str, **kwargs) -> subprocess.CompletedProcess:
    environment = {**os.environ, "MNE_DATABASE_URL": db_url}
    if "stderr" not in kwargs:
        kwargs.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return subprocess.run([sys.executable, "-m", "mne.cli", *args], check=False, env=environment, timeout=120,
                          **kwargs)


def on_a_terminal(args: list[str], db_url: str) -> tuple[subprocess.CompletedProcess, bytes]:
    """The command with its standard error on a pseudo-terminal, and what that terminal showed."""
    leader, follower = pty.openpty()
    done = mne(args, db_url, stderr=follower)
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the child has gone and the terminal is closed
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    return done, shown
