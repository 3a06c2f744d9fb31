"""SQLite storage for parameter sweeps: one row per task, written as each task finishes.

The file is owned by the parent process of a sweep (workers never open it).  It is checked before it
is written to: a file that is not an SQLite database, fails ``PRAGMA quick_check``, or holds tables of
another application is refused with a :class:`~spectral_theory.SpectralTheoryError` and left exactly as
it was (the check uses a read-only connection).

Durability
----------
The database runs in WAL mode with ``synchronous=NORMAL``; every batch of finished tasks is one short
``BEGIN IMMEDIATE ... COMMIT`` transaction.  A committed transaction survives the death of the writing
process (SIGKILL included), and SQLite's atomic commit means an interrupted transaction leaves no
partial rows.  (With ``NORMAL``, a power failure may drop the last few transactions, never corrupt the
file; see https://www.sqlite.org/wal.html.)

Schema (``PRAGMA user_version`` = :data:`SCHEMA_VERSION`, ``PRAGMA application_id`` =
:data:`APPLICATION_ID`)::

    sweeps(name PRIMARY KEY, task, seed, created, version)
    tasks(sweep, key, params, seed, status, result, error, seconds, version, finished,
          PRIMARY KEY (sweep, key))

``params``, ``seed`` and ``result`` are JSON text; ``status`` is ``"ok"`` or ``"failed"`` (``error``
then holds the traceback).
"""
from __future__ import annotations

import json
import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from spectral_theory.checks import SpectralTheoryError, SpectralTheoryException

APPLICATION_ID = 0x53505357  # "SPSW": marks files written by this module
SCHEMA_VERSION = 1
OK, FAILED = "ok", "failed"
_BUSY_TIMEOUT_MS = 10_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweeps (
    name    TEXT PRIMARY KEY,
    task    TEXT NOT NULL,
    seed    TEXT NOT NULL,
    created TEXT NOT NULL,
    version TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS tasks (
    sweep    TEXT NOT NULL REFERENCES sweeps(name),
    key      TEXT NOT NULL,
    params   TEXT NOT NULL,
    seed     TEXT NOT NULL,
    status   TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    result   TEXT,
    error    TEXT,
    seconds  REAL NOT NULL,
    version  TEXT NOT NULL,
    finished TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
"""
_COLUMNS = ("key", "params", "seed", "status", "result", "error", "seconds", "version", "finished")


class SweepError(SpectralTheoryException, RuntimeError):
    """The sweep machinery failed mid-run (a worker process died, the cluster or the disk failed)."""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def _inspect_existing(path: Path) -> bool:
    """Check an existing file read-only; return True if it is already one of our stores.

    Raises SpectralTheoryError for a corrupt, foreign or unreadable file, without modifying it.
    """
    if path.stat().st_size == 0:
        return False  # an empty file is an empty database: adopt it
    # Without a write-ahead log beside it the file is self-contained: open it as immutable, which creates
    # no -wal/-shm side files.  With one (a writer was killed), read it too, through the normal route.
    has_wal = Path(f"{path}-wal").exists()
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?{'mode=ro' if has_wal else 'immutable=1'}", uri=True)
    except sqlite3.Error as e:
        raise SpectralTheoryError(f"`store` {str(path)!r} cannot be opened: {e}") from e
    try:
        check = con.execute("PRAGMA quick_check").fetchall()
        app_id = con.execute("PRAGMA application_id").fetchone()[0]
        user_version = con.execute("PRAGMA user_version").fetchone()[0]
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    except sqlite3.DatabaseError as e:
        raise SpectralTheoryError(
            f"`store` {str(path)!r} is not an SQLite database or is corrupt ({e}); it was left untouched"
        ) from e
    finally:
        con.close()
    if check != [("ok",)]:
        detail = "; ".join(r[0] for r in check[:3])
        raise SpectralTheoryError(f"`store` {str(path)!r} is corrupt (quick_check: {detail}); it was left untouched")
    if app_id == APPLICATION_ID:
        if user_version != SCHEMA_VERSION:
            raise SpectralTheoryError(
                f"`store` {str(path)!r} has sweep schema version {user_version}; this version reads "
                f"{SCHEMA_VERSION}. Use a new file."
            )
        return True
    if app_id != 0 or tables:
        raise SpectralTheoryError(
            f"`store` {str(path)!r} is an SQLite database of another application (application_id "
            f"{app_id:#x}, tables {sorted(tables)}); refusing to write to it. Use a new file."
        )
    return False


class SweepStore:
    """An open sweep database.  Use as a context manager, or call :meth:`close`.

    Parameters
    ----------
    path : file name; created (with its parent folders) if missing.
    """

    def __init__(self, path):
        self.path = Path(os.fspath(path))
        if self.path.is_dir():
            raise SpectralTheoryError(f"`store` {str(self.path)!r} is a directory; give a file name")
        ours = self.path.exists() and _inspect_existing(self.path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise SpectralTheoryError(f"`store` folder {str(self.path.parent)!r} cannot be created: {e}") from e
        try:
            self._con = sqlite3.connect(self.path, isolation_level=None, timeout=_BUSY_TIMEOUT_MS / 1000)
            self._con.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
            self._con.execute("PRAGMA journal_mode = WAL")
            self._con.execute("PRAGMA synchronous = NORMAL")
            self._con.execute("BEGIN IMMEDIATE")  # fail now, not mid-sweep, if we cannot take the write lock
            self._con.execute("ROLLBACK")
            if not ours:  # tables and the file's marks appear together or not at all
                self._con.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; "
                    f"PRAGMA user_version = {SCHEMA_VERSION}; COMMIT;"
                )
        except sqlite3.Error as e:
            raise SpectralTheoryError(f"`store` {str(self.path)!r} is not writable: {e}") from e

    # -- lifecycle -----------------------------------------------------------------------------------
    def close(self):
        if self._con is not None:
            self._con.close()
            self._con = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- sweeps --------------------------------------------------------------------------------------
    def register(self, name: str, task: str, seed: dict, version: str):
        """Record the definition (task, seed) of sweep ``name``, or check it against the stored one."""
        row = self._con.execute("SELECT task, seed FROM sweeps WHERE name = ?", (name,)).fetchone()
        seed_json = json.dumps(seed, sort_keys=True)
        if row is None:
            with self._transaction():
                self._con.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?)", (name, task, seed_json, _now(), version))
            return
        stored_task, stored_seed = row[0], json.loads(row[1])
        if stored_task != task or stored_seed != seed:
            raise SpectralTheoryError(
                f"`store` {str(self.path)!r} already holds sweep {name!r} defined with task {stored_task} and "
                f"seed {stored_seed}; this run has task {task} and seed {seed}. Give the sweep another "
                f"`name` or use another store file (nothing was changed)."
            )

    def sweeps(self) -> dict[str, dict]:
        """Stored sweep definitions: name -> {task, seed, created, version, n_ok, n_failed}."""
        out = {}
        for name, task, seed, created, version in self._con.execute("SELECT * FROM sweeps ORDER BY created"):
            counts = dict(self._con.execute(
                "SELECT status, COUNT(*) FROM tasks WHERE sweep = ? GROUP BY status", (name,)).fetchall())
            out[name] = dict(task=task, seed=json.loads(seed), created=created, version=version,
                             n_ok=counts.get(OK, 0), n_failed=counts.get(FAILED, 0))
        return out

    # -- tasks ---------------------------------------------------------------------------------------
    def finished_keys(self, name: str) -> set[str]:
        """Keys of the tasks of sweep ``name`` that finished successfully."""
        return {r[0] for r in self._con.execute(
            "SELECT key FROM tasks WHERE sweep = ? AND status = 'ok'", (name,))}

    def write(self, name: str, rows):
        """Store finished tasks in one transaction.

        ``rows``: iterable of dicts with keys ``key, params, seed, status, result, error, seconds,
        version`` where ``params``, ``seed`` and ``result`` are already JSON text.  A row replaces an
        earlier row with the same key (a failed task that was retried).
        """
        stamp = _now()
        values = [(name, r["key"], r["params"], r["seed"], r["status"], r["result"], r["error"],
                   r["seconds"], r["version"], stamp) for r in rows]
        try:
            with self._transaction():
                self._con.executemany("INSERT OR REPLACE INTO tasks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values)
        except sqlite3.Error as e:
            raise SweepError(f"could not store {len(values)} finished task(s) in {str(self.path)!r}: {e}") from e

    def read(self, name: str, keys=None) -> dict[str, dict]:
        """Stored rows of sweep ``name`` (all, or those with the given keys): key -> row dict.

        JSON columns are decoded; ``seconds`` is a float.
        """
        cur = self._con.execute(f"SELECT {', '.join(_COLUMNS)} FROM tasks WHERE sweep = ?", (name,))
        wanted = None if keys is None else set(keys)
        out = {}
        for values in cur:
            row = dict(zip(_COLUMNS, values))
            if wanted is not None and row["key"] not in wanted:
                continue
            for col in ("params", "seed", "result"):
                row[col] = None if row[col] is None else json.loads(row[col])
            out[row["key"]] = row
        return out

    def _transaction(self):
        return _Transaction(self._con)


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (``ROLLBACK`` on error): one short write lock."""

    def __init__(self, con):
        self._con = con

    def __enter__(self):
        self._con.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self._con.execute("COMMIT")
        elif self._con.in_transaction:
            self._con.execute("ROLLBACK")
        return False
