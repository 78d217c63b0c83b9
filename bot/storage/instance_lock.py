"""One bot per SQLite file: an exclusive lock on a file beside the database, held for life.

The lock is the kernel's (flock), tied to an open file descriptor, so it goes when the process
goes, however it ends: `kill -9` leaves no stale lock behind, only the harmless file. The
offline commands (`feed add`, `poll --once`, ...) do not take it: they may run beside the bot.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url


class AlreadyRunning(Exception):
    """Another bot holds this SQLite file; the message says what to do instead."""


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser().resolve()


@contextmanager
def single_instance(url: str) -> Iterator[Path | None]:
    """Hold the lock beside the SQLite file of `url` until the block ends (PostgreSQL: none).

    Raises AlreadyRunning at once if another process holds it.
    """
    db = sqlite_file(url)
    if db is None:
        yield None
        return
    lock = db.with_name(db.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by worker processes
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise AlreadyRunning(
            f"another Habar instance is running on {db}; several instances need PostgreSQL "
            "(DATABASE_URL=postgresql+asyncpg://...) and Redis (REDIS_URL)"
        ) from None
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for the operator; the lock is the flock
        yield lock
    finally:
        os.close(fd)  # releases the lock; the file stays, so no starter races its removal
