"""Whose is the write-ahead log beside a database file? (Plain `os`: the first paint's reads use it too.)

SQLite finds a database's `-wal` and `-shm` by name. After `mv other.db board.db` under an open board, the board
still has the old file open and goes on using `board.db-wal` and `board.db-shm`; a new opener of the new
`board.db` would read the old file's pages from that log as its own (and fold them in when it closes). Every
process that uses the log holds a POSIX lock on the `-shm` (Linux lists them in /proc/locks) and has its database
file open, so a process that holds the `-shm` but does not have the file at the path open (/proc/PID/fd) has
another file open under the same log. A process whose open files cannot be listed (another user's) is judged by
its lock on the file instead. Outside Linux nothing is refused (see docs/RULES.md, "Shared boards").
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any


def lock_holders(path: Path) -> set[int] | None:
    """The processes holding a POSIX lock on the file at `path` (Linux, /proc/locks); None when that cannot be told."""
    try:
        st = os.stat(path)
        with open("/proc/locks", encoding="ascii", errors="replace") as fh:
            lines = fh.readlines()
    except OSError:
        return None
    pids: set[int] = set()
    for line in lines:
        parts = line.split()
        if len(parts) > 1 and parts[1] == "->":  # a lock waiting behind another
            parts = parts[:1] + parts[2:]
        if len(parts) < 6 or parts[1] not in ("POSIX", "OFDLCK"):
            continue
        try:
            major, minor, inode = parts[5].split(":")
            if int(inode) == st.st_ino and os.makedev(int(major, 16), int(minor, 16)) == st.st_dev:
                pids.add(int(parts[4]))
        except ValueError:
            continue
    return pids


def read_header(path: Path, size: int = 100) -> bytes:
    """The first `size` bytes of the file, read without dropping SQLite's locks on it.

    POSIX locks belong to the process: closing any descriptor of a file releases every lock the process holds on
    it, SQLite's included, and a process whose SQLite no longer holds its shared lock looks absent to the others
    (the last one to close then folds and deletes the write-ahead log under it). So where this process already has
    the file open (an SQLite connection), that descriptor is read, never closed; otherwise the file is opened and
    closed as usual. Raises OSError as `open` does."""
    st = os.stat(path)
    own = _own_descriptor(st.st_dev, st.st_ino)
    if own is not None:
        try:
            return os.pread(own, size, 0)
        except OSError:
            pass
    with open(path, "rb") as fh:
        return fh.read(size)


def _own_descriptor(device: int, inode: int) -> int | None:
    """A descriptor this process already has open on the file (device, inode), if Linux can say."""
    folder = "/proc/self/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(f"{folder}/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (device, inode) and name.isdigit():
            return int(name)
    return None


def _has_open(pid: int, device: int, inode: int) -> bool | None:
    """Whether process `pid` has the file (device, inode) open; None when its open files cannot be listed (another
    user's process). Open files, not locks: a process that opens and closes the file with anything but SQLite
    loses its locks on it (POSIX locks are per process), while SQLite keeps the file open."""
    folder = f"/proc/{pid}/fd"
    try:
        names = os.listdir(folder)
    except OSError:
        return None
    for name in names:
        try:
            st = os.stat(f"{folder}/{name}")
        except OSError:
            continue
        if (st.st_dev, st.st_ino) == (device, inode):
            return True
    return False


def foreign_log(path: Path) -> str | None:
    """One sentence when the write-ahead log beside `path` evidently belongs to another file (a process uses the
    log, by its lock on the `-shm`, but does not have this file open), else None."""
    shm = Path(f"{path}-shm")
    if not shm.exists():
        return None
    on_log = lock_holders(shm)
    if not on_log:
        return None
    try:
        st = os.stat(path)
    except OSError:
        return None
    on_file = lock_holders(path) or set()
    # Open files decide; for a process whose open files cannot be listed (another user's board), its lock on the
    # file does (tuikanban never drops it: `read_header`)
    others = sorted(pid for pid in on_log
                    if (seen := _has_open(pid, st.st_dev, st.st_ino)) is False or (seen is None and pid not in on_file))
    if not others:
        return None
    who = f"process {others[0]}" if len(others) == 1 else "processes " + ", ".join(str(p) for p in others)
    return (f"The write-ahead log beside {path} belongs to the file that was there before ({who} still has that "
            f"file open, a board perhaps); opening {path.name} now would read that file's changes into it, so it "
            "was left untouched: close that board (or press r in it), then try again.")


# A reader in the log keeps a checkpoint from emptying it. The boards' change feeds wake on the very write that
# a fold follows (inotify) and read for well under a millisecond, so a fold that finds one waits a moment and
# tries again rather than leaving the log until the next write.
FOLD_TRIES = 10
FOLD_PAUSE_S = 0.01


def fold_log(cur: Any) -> bool:
    """Fold the write-ahead log into the file and empty it (`PRAGMA wal_checkpoint(TRUNCATE)` on a cursor whose
    busy timeout is 0: it never waits for a writer), trying again briefly while a reader is in the log.
    True when the log was emptied."""
    for attempt in range(FOLD_TRIES):
        row = cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        if row is None or not row[0]:  # (busy, log frames, checkpointed frames): not busy, the log is empty
            return True
        if attempt + 1 < FOLD_TRIES:
            time.sleep(FOLD_PAUSE_S)
    return False


__all__ = ["FOLD_PAUSE_S", "FOLD_TRIES", "fold_log", "foreign_log", "lock_holders", "read_header"]
