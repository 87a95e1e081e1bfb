"""One bot per database: an OS lock on a file beside it, held for the life of the process.

Two bots on one SQLite file would each release the rows the other is sending, and a rolling
restart would send them twice. So the bot takes ``flock(LOCK_EX | LOCK_NB)`` on
``DATABASE_PATH + ".lock"`` before it opens the database, and never lets go: the kernel drops
the lock when the process ends, however it ends (``kill -9`` included), so a stale lock file is
harmless and never needs deleting. The file holds the holder's pid, for the error message.

``flock`` works on local file systems and Docker volumes; a database on NFS is not supported.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

__all__ = ["DatabaseInUse", "hold", "lock_path"]

_held: list[int] = []  # the locked descriptors: open until the process ends


class DatabaseInUse(Exception):
    """Another process holds the lock of this database."""


def lock_path(database_path: Path) -> Path:
    return database_path.with_name(database_path.name + ".lock")


def hold(database_path: Path) -> Path | None:
    """Lock the database for this process (raises DatabaseInUse); None for ``:memory:``."""
    if str(database_path) == ":memory:":
        return None
    path = lock_path(Path(database_path))
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _read_pid(fd)
        os.close(fd)
        who = f"process {holder}" if holder else "another process"
        raise DatabaseInUse(
            f"another bot is running on {database_path} ({who} holds {path.name})"
        ) from None
    except BaseException:
        os.close(fd)
        raise
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode("ascii"))
    _held.append(fd)
    return path


def _read_pid(fd: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        return int(os.pread(fd, 32, 0).decode("ascii").strip())
    return None
