"""The one module that owns the database engine and every SQLite-specific statement.

- WAL, busy_timeout, foreign keys and synchronous=NORMAL on every connection;
- write transactions begin IMMEDIATE, so a check and the write that depends on it cannot interleave
  with another process (this is what keeps WIP limits true across processes: see docs/PERFORMANCE.md,
  SQLite and several processes);
- a schema version in the database, forward migrations, refusal of newer or foreign files;
- a dedicated connection that polls `PRAGMA data_version` to see other processes' commits.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from sqlalchemy import create_engine, event, inspect, text
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session, SQLModel

from tuikanban.domain.errors import DatabaseError, FileReplacedError, ReadOnlyError
from tuikanban.domain.targets import Target, parse_target, sqlite_target
from tuikanban.store import tables
from tuikanban.store.tables import SCHEMA_VERSION, Meta
from tuikanban.store.uow import ENV_LOCK_TIMEOUT as ENV_LOCK_TIMEOUT
from tuikanban.store.uow import WRITE_DEADLINE_S as WRITE_DEADLINE_S
from tuikanban.store.uow import Unit, of_session
from tuikanban.store.uow import lock_timeout as lock_timeout
from tuikanban.store.walowner import fold_log, foreign_log, read_header

T = TypeVar("T")

APP_MARKER = "tuikanban"
SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 5000
ENV_DB = "TUIKANBAN_DB"
# Files up to this size get a `PRAGMA quick_check` when opened (a few ms for a typical board), so that a damaged
# database is refused before anything is written to it; larger ones are checked by `tuikanban doctor`.
QUICK_CHECK_MAX_BYTES = 32 * 1024 * 1024


def _busy_timeout_ms() -> int:
    return max(1, min(BUSY_TIMEOUT_MS, int(lock_timeout() * 1000)))


def _disk_full(path: Path | str) -> bool:
    """Whether the file system holding `path` has (almost) no room left for a user."""
    try:
        st = os.statvfs(Path(path).absolute().parent)
    except OSError:
        return False
    return st.f_bavail * st.f_frsize < 64 * 1024


def _seconds(value: float) -> str:
    shown = f"{value:g}"
    return f"{shown} second" if shown == "1" else f"{shown} seconds"


def default_db_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir("tuikanban", appauthor=False)) / "tuikanban.db"


def describe_db_error(exc: BaseException, path: Path | str) -> str:
    """One sentence for a database failure a user can meet."""
    msg = str(getattr(exc, "orig", exc) or exc).lower()
    if "locked" in msg or "busy" in msg:
        return (
            f"The database {path} stayed locked by another process for over {_seconds(lock_timeout())}; "
            "nothing was changed, try again."
        )
    if "disk i/o error" in msg and _disk_full(path):  # SQLite reports a full disk as I/O when -shm cannot grow
        msg = "disk is full"
    if "disk i/o error" in msg:
        return (
            f"Reading or writing {path} failed with a disk error; nothing was changed "
            "(check the disk, then run 'tuikanban doctor')."
        )
    if "readonly" in msg or "read-only" in msg or "read only" in msg:
        return f"The database {path} is read-only, so nothing can be changed (check the file and folder permissions)."
    if "disk is full" in msg or "disk full" in msg or "no space" in msg:
        return f"The disk holding {path} is full; nothing was changed, free some space and try again."
    if "malformed" in msg or "not a database" in msg or "corrupt" in msg:
        return f"The database {path} is damaged; it was left untouched (restore a backup, or run 'tuikanban doctor')."
    if "unable to open" in msg:
        return f"The database {path} cannot be opened; check that the folder exists and is writable."
    return f"The database {path} could not be used: {str(getattr(exc, 'orig', exc)).strip()}."


def sqlite_uri(path: Path | str, **params: str) -> str:
    """An SQLite `file:` URI for a path, percent-encoded so that '?', '#' and '%' in names are safe."""
    uri = "file:" + quote(str(Path(path).absolute()), safe="/")
    if params:
        uri += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return uri


def _not_ours(path: Path) -> str:
    return f"The file {path} is an SQLite database but not a tuikanban one; it was left untouched."


def _inspect_existing(path: Path) -> tuple[int | None, bool]:
    """Look at an existing file without writing to it.

    Returns (schema_version or None for an empty SQLite database, is_wal). Raises DatabaseError for a file
    that is not an SQLite database, not a tuikanban database, damaged, or written by a newer tuikanban.
    """
    try:
        header = read_header(path)  # (never closes a descriptor SQLite holds locks through)
    except PermissionError:
        raise DatabaseError(f"The database {path} cannot be read (permission denied).") from None
    except IsADirectoryError:
        raise DatabaseError(f"The path {path} is a folder, not a database file; give a file path with --db.") from None
    if len(header) == 0:
        return None, False
    if not header.startswith(SQLITE_HEADER):
        raise DatabaseError(f"The file {path} is not a tuikanban database (not an SQLite file); it was left untouched.")
    is_wal = len(header) >= 20 and header[18] == 2 and header[19] == 2
    # A WAL database that nobody has open has no -wal/-shm files; reading it normally would create them.
    # Read it as immutable then, so that a file which turns out not to be ours is left without a trace.
    side_files = Path(f"{path}-wal").exists() or Path(f"{path}-shm").exists()
    if side_files and not _writable(path):
        _immutable_is_current(path)  # refuses a WAL this user cannot read, rather than judge a stale file
    uri = sqlite_uri(path, mode="ro", immutable="1") if is_wal and not side_files else sqlite_uri(path, mode="ro")
    try:
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
    except sqlite3.Error as exc:
        raise DatabaseError(describe_db_error(exc, path)) from None
    try:
        try:
            names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        except sqlite3.OperationalError as exc:
            if "unable to open" in str(exc).lower() or "readonly" in str(exc).lower():
                con.close()
                con = sqlite3.connect(sqlite_uri(path, mode="ro", immutable="1"), uri=True)
                names = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            else:
                raise
        if not names:
            return None, is_wal
        if "tk_meta" not in names:
            raise DatabaseError(_not_ours(path))
        rows = dict(con.execute("SELECT key, value FROM tk_meta").fetchall())
        if path.stat().st_size <= QUICK_CHECK_MAX_BYTES:
            verdict = con.execute("PRAGMA quick_check(1)").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise sqlite3.DatabaseError("database disk image is malformed")
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_db_error(exc, path)) from None
    finally:
        con.close()
    if rows.get("app") != APP_MARKER:
        raise DatabaseError(_not_ours(path))
    try:
        version = int(rows.get("schema_version", "0"))
    except ValueError:
        raise DatabaseError(f"The database {path} is damaged (its schema version is unreadable).") from None
    if version > SCHEMA_VERSION:
        raise DatabaseError(
            f"The database {path} was written by a newer tuikanban (schema {version}, this one knows "
            f"{SCHEMA_VERSION}); upgrade tuikanban to open it. It was left untouched."
        )
    return version, is_wal


def permission_problem(path: Path) -> str | None:
    """One sentence when this login cannot reach or read `path` because of its permissions, else None.

    It names the file, the folder or file that stops us, its group, and what to do: a rep added to the group
    after logging in is in it in /etc/group but not in this login's groups until they log in again.
    """
    path = Path(path).absolute()
    try:
        path.stat()
        if os.access(path, os.R_OK):
            return None
        blocked = path
    except FileNotFoundError:
        return None
    except PermissionError:
        blocked = next((p for p in reversed(path.parents) if not os.access(p, os.X_OK)), path.parent)
    except OSError:
        return None
    try:
        st = blocked.stat()
    except OSError:
        return f"You cannot open {path} (permission denied); ask the administrator which group shares it."
    import grp
    import pwd

    user = pwd.getpwuid(os.getuid()).pw_name if _known_uid() else str(os.getuid())
    try:
        group = grp.getgrgid(st.st_gid)
    except KeyError:
        return f"You cannot open {path}: {blocked} belongs to the group {st.st_gid}, which does not exist."
    in_login = st.st_gid in os.getgroups() or st.st_gid == os.getgid()
    in_file = user in group.gr_mem or (_known_uid() and pwd.getpwuid(os.getuid()).pw_gid == st.st_gid)
    what = f"You cannot open {path}: {blocked} belongs to the group {group.gr_name}"
    if in_login:
        return (f"{what}, which may not read it (mode {stat.S_IMODE(st.st_mode):04o}); ask the administrator to "
                f"run: chmod g+rwX {blocked}.")
    if in_file:
        return (f"{what}, which you were added to after this login started; log out and in again (the command "
                "'id' lists the groups of this login).")
    return (f"{what} and you ({user}) are not in it; ask the administrator to add you (usermod -aG "
            f"{group.gr_name} {user}), then log in again and check with 'id'.")


def _known_uid() -> bool:
    import pwd

    try:
        pwd.getpwuid(os.getuid())
    except KeyError:
        return False
    return True


def _immutable_is_current(path: Path) -> bool:
    """Whether a read-only user must (and may) read `path` as immutable, ignoring the WAL.

    A reader who cannot write to the folder cannot create the `-shm` file that reading the WAL needs. Where a
    `-shm` exists, SQLite reads through it (read-only) and sees every commit, so no immutable open. Where there is
    none and the `-wal` holds commits, an immutable open would show stale figures: that is refused in one
    sentence. With no `-wal` content, the file itself is the truth.
    """
    folder = path.absolute().parent
    if os.access(folder, os.W_OK | os.X_OK) or Path(f"{path}-shm").exists():
        return False
    wal = Path(f"{path}-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise DatabaseError(
            f"The latest changes to {path} are in {wal}, which you cannot read without a {path.name}-shm file "
            f"that only someone who can write to {folder} can create; ask a rep who can write there to open and "
            f"close the board once (that folds the changes into the file), or ask the owner to run: chmod g+w {folder}."
        )
    return True


def _writable(path: Path) -> bool:
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return False
    return not (path.exists() and not os.access(path, os.W_OK))


def replaced_sentence(path: Path, opened_as: tuple[int, int]) -> str | None:
    """One sentence when the file at `path` is not the file (device, inode) `opened_as` any more. (A `stat` only:
    opening and closing the file here would drop SQLite's POSIX locks on it for the whole process.)"""
    try:
        st = os.stat(path)
    except OSError:
        return f"The board file {path} was deleted or moved away; nothing was written."
    if (st.st_dev, st.st_ino) != opened_as:
        return f"The board file {path} was replaced by another file; nothing was written to either."
    return None


_REPLACED = " because the file at that path was replaced"  # (the readonly reason a refused write leaves)


@dataclass
class Database:
    """An open tuikanban database: the engine plus what we learned while opening it."""

    path: Path
    engine: Engine
    readonly: bool = False
    readonly_reason: str = ""
    upgraded_from: int | None = None  # the schema this open upgraded the database from (None: no upgrade)
    opened_as: tuple[int, int] | None = None  # (device, inode) of the file opened: writes check it is still there
    # Empty the write-ahead log after every write (a board, open for hours); False: only when closing (a command,
    # which lives for a moment: folding the log costs a few syncs, a 3x slower write under load).
    fold_each_write: bool = True
    let_go_reason: str = ""  # set by `let_go`: the file was replaced, this database opens no connection again
    refusal: str = ""  # what a write says while `readonly`, when the caller has a sentence of its own for it
    _watch_con: sqlite3.Connection | None = field(default=None, repr=False)
    _watch_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def replaced(self) -> bool:
        """A write found that the file at the path is not the file this opened, or the board let go of it."""
        return bool(self.let_go_reason) or self.readonly_reason == _REPLACED

    @property
    def target(self) -> Target:
        """Where the data lives; `str(db.target)` is the form to show (never a password)."""
        return sqlite_target(self.path)

    # -- sessions ---------------------------------------------------------------------------------
    @contextlib.contextmanager
    def read(self) -> Iterator[Session]:
        """A read session (a deferred transaction: a consistent snapshot)."""
        if self.let_go_reason:
            raise FileReplacedError(self.let_go_reason)
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except (OperationalError, DBAPIError) as exc:
                raise DatabaseError(describe_db_error(exc, self.path)) from None

    def read_plain(self, read: Callable[[Unit], T]) -> T:
        """`read` (plain SQL on a `store.uow.Unit`: services.screen_reads) in one read session's snapshot, on its
        own connection. A board's database still opening (ui.board.state.PendingDatabase) runs the same reads on a
        driver connection instead, so they never wait for the ORM."""
        with self.read() as s:
            return read(of_session(s))

    def write(self, fn: Callable[[Session], T]) -> T:
        """Run `fn` in one IMMEDIATE write transaction, retrying with backoff while the file is locked.

        Either everything `fn` did is committed or nothing is. Past the deadline the user gets one sentence.
        """
        if self.readonly:
            refused = FileReplacedError if self.replaced else ReadOnlyError
            raise refused(
                self.refusal or f"The database {self.path} is open read-only{self.readonly_reason}, so nothing can "
                "be changed.")
        deadline = time.monotonic() + lock_timeout()
        delay = 0.02
        while True:
            try:
                with Session(self.engine, expire_on_commit=False) as session:
                    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                    self._still_the_file()
                    result = fn(session)
                    session.commit()
                if self.fold_each_write:
                    self._empty_log()
                return result
            except OperationalError as exc:
                msg = str(exc.orig).lower()
                if ("locked" in msg or "busy" in msg) and time.monotonic() < deadline:
                    time.sleep(delay * (0.5 + random.random()))
                    delay = min(delay * 2, 0.5)
                    continue
                raise DatabaseError(describe_db_error(exc, self.path)) from None
            except DBAPIError as exc:
                raise DatabaseError(describe_db_error(exc, self.path)) from None

    def analyze(self, tables: Iterable[str]) -> None:
        """After a bulk fill of `tables` (a copy, a restore, a big import), refresh the planner's statistics: on
        PostgreSQL only (store.pg), where a table filled in one transaction has no statistics until an ANALYZE
        (its plans were then guesses: one read of `changes` ran for minutes on a copied 100,000-deal board).
        Nothing on SQLite."""

    def _still_the_file(self) -> None:
        """Refuse the write (under the write lock, before anything is written) when the file at the path is no longer
        the one this opened: moved or deleted (see docs/RULES.md, "Shared boards")."""
        if self.opened_as is None:
            return
        replaced = replaced_sentence(self.path, self.opened_as)
        if replaced is not None:
            self.readonly, self.readonly_reason = True, _REPLACED
            raise FileReplacedError(replaced)

    def _empty_log(self) -> None:
        """Fold the write-ahead log into the file and empty it (best effort, never waiting for readers), so that at
        rest there is no log beside the file: a file moved or copied over it then finds nothing of this one's to
        read in (see docs/RULES.md, "Shared boards")."""
        if self.opened_as is None or replaced_sentence(self.path, self.opened_as) is not None:
            return  # (a new connection now would open the file that replaced this one)
        try:
            raw = self.engine.raw_connection()
        except Exception:  # (the write is committed; folding the log is only a precaution)
            return
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA busy_timeout=0")
            try:
                fold_log(cur)
            finally:
                cur.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")
                cur.close()
        except Exception:  # busy (a reader in the log): the next write tries again
            pass
        finally:
            raw.close()

    # -- other processes' commits --------------------------------------------------------------------
    def data_version(self) -> int:
        """A number that changes whenever another connection commits (cheap: a few microseconds)."""
        if self.let_go_reason:
            raise FileReplacedError(self.let_go_reason)
        with self._watch_lock:
            if self._watch_con is None:
                uri = sqlite_uri(self.path, mode="ro") if self.readonly else sqlite_uri(self.path)
                self._watch_con = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
            row = self._watch_con.execute("PRAGMA data_version").fetchone()
            return int(row[0])

    def schema_version(self) -> int:
        with self.read() as s:
            row = s.get(Meta, "schema_version")
            return int(row.value) if row else 0

    def integrity_check(self) -> list[str]:
        with self.engine.connect() as conn:
            return [str(r[0]) for r in conn.exec_driver_sql("PRAGMA integrity_check").fetchall()]

    def let_go(self, reason: str) -> None:
        """Close every connection for good (the file at the path was replaced): reads and writes through this
        database are refused with `reason` from now on, so nothing opens the file at the path again through it
        (that is for a new `open_database`)."""
        self.let_go_reason = reason
        self.readonly, self.readonly_reason = True, self.readonly_reason or " because the file was replaced"
        self.close()

    def follow(self, other: Database) -> None:
        """This database let go of its file (`let_go`) and the board opened the file now at the path (`other`):
        from now on this database is `other` (a form that holds it, kept open with what the rep typed, saves into
        that file when the rep saves again). `other` is not used after this."""
        if not self.let_go_reason:
            raise ReadOnlyError("Only a database that let go of a replaced file follows a new one.")
        for f in fields(self):
            setattr(self, f.name, getattr(other, f.name))

    def close(self) -> None:
        if not self.readonly:
            self._empty_log()  # (the last one out folds and removes the log anyway; one still in leaves it empty)
        with self._watch_lock:
            if self._watch_con is not None:
                self._watch_con.close()
                self._watch_con = None
        self.engine.dispose()


def open_log_first(cur: Any) -> None:
    """Read once before `PRAGMA journal_mode=WAL` on a new connection, so that it joins a write-ahead log the others
    already use. A file whose header says "rollback journal" (a backup copied over the board) but beside which a
    log exists that open connections use (boards reopened with `r`) is read in WAL mode; a first statement that
    asks to switch to WAL instead tries to rewrite the header in rollback mode, which needs every other connection
    gone: it waited for the lock timeout while boards were open (see docs/RULES.md, "Replaced files and the
    write-ahead log")."""
    with contextlib.suppress(sqlite3.DatabaseError):
        cur.execute("SELECT count(*) FROM sqlite_master").fetchall()


def _header_says_wal(cur: Any, path: Path) -> None:
    """Make the file's header say WAL mode when this connection uses the log but the header says rollback journal.

    That happens when a backup is copied over the board and the boards reopen it (`r`) while a log with content lies
    beside it: SQLite then reads the file in WAL mode without writing the header (only a switch of mode writes it).
    Once the log is folded in and emptied (after every write), a new connection reads the header, takes the file for
    a rollback-journal one and asks to switch it to WAL, which needs every other connection gone: a `restore` or
    another command waited for the lock timeout while the boards were open. `VACUUM` in WAL mode writes the header
    (SQLite sets it to WAL when it copies the file back); a board's file is small, and this happens once."""
    try:
        header = read_header(path, 20)
    except OSError:
        return
    if header[18:20] != b"\x01\x01":
        return
    with contextlib.suppress(sqlite3.DatabaseError):
        cur.execute("VACUUM")
        cur.execute("PRAGMA busy_timeout=0")
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()  # (the header on disk says WAL from now on)
    with contextlib.suppress(sqlite3.DatabaseError):
        cur.execute(f"PRAGMA busy_timeout={_busy_timeout_ms()}")


def _make_engine(path: Path, *, readonly: bool, immutable: bool = False) -> Engine:
    # URL.create keeps the path as is: a '?', '#' or '%' in a file name must not change which file is opened.
    url: URL
    if readonly:
        query = {"mode": "ro", "uri": "true", **({"immutable": "1"} if immutable else {})}
        url = URL.create("sqlite", database=sqlite_uri(path), query=query)
    else:
        url = URL.create("sqlite", database=str(Path(path).absolute()))
    engine = create_engine(url, connect_args={"timeout": _busy_timeout_ms() / 1000, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # stop pysqlite's own BEGIN handling
        cur = dbapi_conn.cursor()
        pragmas = [f"busy_timeout={_busy_timeout_ms()}", "foreign_keys=ON"]
        if not readonly:
            open_log_first(cur)
            pragmas = ["journal_mode=WAL", *pragmas, "synchronous=NORMAL"]
        for pragma in pragmas:
            row = cur.execute(f"PRAGMA {pragma}").fetchone()
            if pragma == "journal_mode=WAL" and (row is None or str(row[0]).lower() != "wal"):
                # SQLite answers with the old mode when it cannot switch (another process reads a file in rollback
                # mode, such as a backup copied over the board): a connection left in rollback mode beside others
                # in WAL mode would write past their log and damage the file. Locked: the write waits and retries.
                cur.close()
                raise sqlite3.OperationalError("database is locked (it could not be switched to WAL mode yet)")
        if not readonly:
            _header_says_wal(cur, path)
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


def _create_file(path: Path, *, private: bool) -> None:
    if path.parent.exists() and not path.parent.is_dir():
        raise DatabaseError(f"The path {path.parent} is a file, not a folder; choose another --db path.")
    if not private and not path.parent.is_dir():
        raise DatabaseError(f"The folder {path.parent} does not exist; create it or choose another --db path.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600 if private else 0o666)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseError(
            f"Cannot create the database at {path} ({exc.strerror or exc}); choose a writable location with --db."
        ) from None


_CREATORS = ("a board is created by opening it (tuikanban --db PATH), 'pipeline create', 'import' or 'demo'")


def open_database(
    path: Path | str | Target | None = None, *, create: bool = True, readonly: bool = False,
    private: bool | None = None,
) -> Database:
    """Open (and if needed create and migrate) a tuikanban database.

    Nothing is written to a file that turns out not to be a usable tuikanban database.
    """
    if path is None:
        env = os.environ.get(ENV_DB)
        path = env if env else default_db_path()
        if private is None:
            private = not env
    target = parse_target(path)
    if target.is_postgres:
        from tuikanban.store.pg import open_postgres

        return open_postgres(target, create=create, readonly=readonly)
    assert target.path is not None
    db_path = target.path
    if private is None:
        private = False
    problem = permission_problem(db_path)
    if problem:
        raise DatabaseError(problem)
    if db_path.exists():
        foreign = foreign_log(db_path)
        if foreign is not None:
            raise DatabaseError(foreign)
        version, _ = _inspect_existing(db_path)
        if version is None and not create and not readonly:
            raise DatabaseError(f"The file {db_path} is empty, not a board, and was left as it is; {_CREATORS}.")
    else:
        if not create:
            raise DatabaseError(f"There is no database at {db_path}; {_CREATORS}.")
        if readonly:
            raise DatabaseError(f"There is no database at {db_path} to open read-only.")
        _create_file(db_path, private=private)
        version = None
    reason = ""
    if not readonly and not _writable(db_path):
        readonly = True
        reason = " (you cannot write to the file or its folder)"
    if readonly and version is None:
        raise DatabaseError(f"The database {db_path} is empty and read-only, so it cannot be set up.")
    if readonly and version is not None and version < SCHEMA_VERSION:
        raise DatabaseError(
            f"The database {db_path} needs an upgrade (schema {version} to {SCHEMA_VERSION}) but is read-only."
        )
    immutable = readonly and _immutable_is_current(db_path)
    engine = _make_engine(db_path, readonly=readonly, immutable=immutable)
    db = Database(path=db_path, engine=engine, readonly=readonly, readonly_reason=reason)
    if not readonly:
        try:
            _initialise(db, version)
        except DatabaseError:
            engine.dispose()
            raise
        except (OperationalError, DBAPIError) as exc:
            engine.dispose()
            raise DatabaseError(describe_db_error(exc, db_path)) from None
        if version is not None and version < SCHEMA_VERSION:
            db.upgraded_from = version
        with contextlib.suppress(OSError):
            st = os.stat(db_path)
            db.opened_as = (st.st_dev, st.st_ino)
    return db


def _initialise(db: Database, version: int | None) -> None:
    if version == SCHEMA_VERSION:
        return
    db.write(setup_schema)


def setup_schema(session: Session) -> None:
    """Create or migrate the tables, inside a write transaction (so under the write lock on every engine:
    of two first starts, the second sees the first one's tables)."""
    conn = session.connection()
    current = conn.execute(
        text("SELECT value FROM tk_meta WHERE key='schema_version'")
    ).scalar() if _has_meta(conn) else None
    if current is None:
        SQLModel.metadata.create_all(conn, tables=[getattr(t, "__table__") for t in _ALL_TABLES])  # noqa: B009
        session.add(Meta(key="app", value=APP_MARKER))
        session.add(Meta(key="schema_version", value=str(SCHEMA_VERSION)))
        return
    from tuikanban.store.migrations import migrate

    migrate(conn, int(current), SCHEMA_VERSION)
    meta = session.get(Meta, "schema_version")
    assert meta is not None
    meta.value = str(SCHEMA_VERSION)
    session.add(meta)


def _has_meta(conn: Any) -> bool:
    return bool(inspect(conn).has_table("tk_meta"))


_ALL_TABLES = (
    tables.Meta, tables.Pipeline, tables.Stage, tables.DealType, tables.Deal, tables.Event, tables.Stay,
    tables.Activity, tables.Presence, tables.ReviewMark, tables.DealCheck,
)


# -- whole-file operations for backup and doctor (read-only on the source) -----------------------------


def _ro_connection(path: Path) -> sqlite3.Connection:
    """A connection that only reads `path` (immutable when the folder cannot hold -shm files).

    Where we may write, it is opened normally, though only ever used to read: a read-only connection to a WAL
    database creates -wal and -shm files it cannot remove when it closes.
    """
    mode = "rw" if _writable(path) else "ro"
    try:
        con = sqlite3.connect(sqlite_uri(path, mode=mode), uri=True, timeout=_busy_timeout_ms() / 1000)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return con
    except sqlite3.OperationalError as exc:
        if "unable to open" not in str(exc).lower() and "readonly" not in str(exc).lower():
            raise
        return sqlite3.connect(sqlite_uri(path, mode="ro", immutable="1"), uri=True)


def integrity_report(path: Path, *, limit: int = 20) -> list[str]:
    """`PRAGMA integrity_check` of a file, read-only: ['ok'] when it is sound, else up to `limit` findings."""
    try:
        con = _ro_connection(path)
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    try:
        return [str(r[0]) for r in con.execute(f"PRAGMA integrity_check({int(limit)})").fetchall()]
    except sqlite3.DatabaseError as exc:
        return [str(exc)]
    finally:
        con.close()


def backup_file(source: Path, target: Path) -> None:
    """Copy a database with SQLite's online backup API: one consistent snapshot, safe while others write.

    The copy is a self-contained file (rollback journal, no -wal needed) that passes `quick_check`. It holds no
    presence rows: they say who has the source open, not the copy (`who` on a backup would name the source's
    reps until their rows went stale).
    """
    try:
        src = _ro_connection(source)
    except sqlite3.DatabaseError as exc:
        raise DatabaseError(describe_db_error(exc, source)) from None
    try:
        dst = sqlite3.connect(str(target), isolation_level=None)
        try:
            src.backup(dst)  # one step: a snapshot under one read transaction (never blocks writers in WAL)
            dst.execute("PRAGMA journal_mode=DELETE")
            if dst.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'presence'").fetchone():
                dst.execute("DELETE FROM presence")
            verdict = dst.execute("PRAGMA quick_check(1)").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise DatabaseError(f"The backup written to {target} failed its check; the database may be damaged "
                                    "(run 'tuikanban doctor').")
        except sqlite3.DatabaseError as exc:
            raise DatabaseError(describe_db_error(exc, target if "disk" in str(exc).lower() else source)) from None
        finally:
            dst.close()
    finally:
        src.close()
