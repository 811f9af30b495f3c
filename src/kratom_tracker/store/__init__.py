"""The store: plain SQLite (through sqlite-utils) with a schema version and forward migrations.

A source's run is written in one transaction: its fetch outcome, its new snapshot (if any), the events
that snapshot caused and its assertions. A crash leaves either all of it or none of it."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sqlite_utils


from kratom_tracker import regions
from kratom_tracker.config.model import SourceConfig
from kratom_tracker.values import (
    EVENT_COLUMNS,
    Assertion,
    Event,
    FailureState,
    OutboxMessage,
    SourceHealth,
    SourceResult,
    StoredAssertion,
)
from kratom_tracker.vocab import Outcome

SCHEMA_VERSION = 2
FETCH_LOG_KEEP = 200  # fetch outcomes kept per source; enough to see a pattern, bounded for months of runs


class StoreError(Exception):
    pass


# What a failing database raises (disk full, I/O error, a damaged page): callers outside the store name it
# by this, so they need not know the backend.
DatabaseFailure = sqlite3.Error


_OUR_TABLES = {"meta", "sources", "snapshots", "events", "fetches", "assertions", "outbox"}


def _file_identity(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return (info.st_dev, info.st_ino)


def no_database_message(path: Path, why: str = "") -> str:
    """The one message every read command gives when there is nothing to read."""
    return f"no database at {path}" + (f" ({why})" if why else "") + ": run `kratom-tracker collect` first"


def require_database(path: str | Path) -> None:
    """Raise StoreError (exit status 1 at the command line) unless `path` is a kratom-tracker database.
    For commands that could otherwise answer from nothing (an all-"unknown" status, an empty list)."""
    Store(path, readonly=True).close()



@dataclass(frozen=True)
class SourceState:
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    snapshot_id: int | None = None
    snapshot_hash: str | None = None
    consecutive_failures: int = 0
    last_fetch_at: str | None = None
    last_success_at: str | None = None


_STATE_COLUMNS = tuple(f.name for f in fields(SourceState))


def _state(row: tuple) -> SourceState:
    return SourceState(**dict(zip(_STATE_COLUMNS, row, strict=True)))


# -- migrations: each takes the database from version N-1 to N; never edit one that has shipped ----------


_SCHEMA_1 = """
        CREATE TABLE IF NOT EXISTS sources (
            id TEXT PRIMARY KEY, type TEXT, name TEXT, url TEXT, jurisdiction TEXT,
            etag TEXT, last_modified TEXT, body_hash TEXT,
            snapshot_id INTEGER, snapshot_hash TEXT,
            last_fetch_at TEXT, last_outcome TEXT, last_error TEXT, last_http_status INTEGER,
            last_success_at TEXT, last_change_at TEXT, consecutive_failures INTEGER NOT NULL DEFAULT 0,
            failing_notified INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE IF NOT EXISTS snapshots (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, hash TEXT NOT NULL,
            content TEXT NOT NULL, created_at TEXT NOT NULL, reason TEXT NOT NULL,
            UNIQUE (source_id, hash)
        );
        CREATE TABLE IF NOT EXISTS events (
            id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, source_id TEXT NOT NULL,
            jurisdiction TEXT NOT NULL, detected_at TEXT NOT NULL, title TEXT NOT NULL, summary TEXT,
            diff TEXT, url TEXT, data TEXT, snapshot_id INTEGER
        );
        CREATE INDEX IF NOT EXISTS events_jurisdiction ON events (jurisdiction, detected_at);
        CREATE INDEX IF NOT EXISTS events_detected ON events (detected_at);
        CREATE INDEX IF NOT EXISTS events_source ON events (source_id, id);
        CREATE TABLE IF NOT EXISTS fetches (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, started_at TEXT NOT NULL,
            duration_ms INTEGER, outcome TEXT NOT NULL, http_status INTEGER, error TEXT, bytes INTEGER,
            events INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX IF NOT EXISTS fetches_source ON fetches (source_id, id);
        CREATE TABLE IF NOT EXISTS assertions (
            id INTEGER PRIMARY KEY AUTOINCREMENT, source_id TEXT NOT NULL, jurisdiction TEXT NOT NULL,
            substance TEXT NOT NULL, status TEXT NOT NULL, detail TEXT, effective_date TEXT,
            evidence_url TEXT, quote TEXT, evidence_kind TEXT, verified_on TEXT,
            observed_at TEXT NOT NULL, retired_at TEXT, snapshot_id INTEGER
        );
        CREATE INDEX IF NOT EXISTS assertions_current ON assertions (jurisdiction, retired_at);
        CREATE INDEX IF NOT EXISTS assertions_source ON assertions (source_id, retired_at);
        CREATE TABLE IF NOT EXISTS outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT, target TEXT NOT NULL, event_id INTEGER,
            kind TEXT NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, created_at TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT, sent_at TEXT,
            UNIQUE (target, event_id, kind)
        );
        """


def _migration_1(db: Any) -> None:
    # Statement by statement, not executescript: that would commit and leave the migration's transaction.
    for statement in filter(str.strip, _SCHEMA_1.split(";")):
        db.execute(statement)


# A migration gets the store's connection; `db.utils` gives sqlite-utils' table tools (e.g. `transform`)
# when a later migration needs them, so a fresh database is set up without importing sqlite-utils.
def _migration_2(db: Any) -> None:
    # Where a fetch ended up after its redirects (NULL: where it started, or no answer).
    db.execute("ALTER TABLE fetches ADD COLUMN final_url TEXT")


MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _migration_1, 2: _migration_2}


class _Connection:
    """What the store's own methods call `self.db`: plain sqlite3 on the hot path (importing sqlite-utils
    costs more than an unchanged pass over a few hundred sources); the migrations get sqlite-utils' table
    tools (`db.utils["table"].add_column`, `.transform`, FTS), loaded when first needed."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn
        self._utils: sqlite_utils.Database | None = None

    def execute(self, sql: str, parameters: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, parameters)

    @property
    def utils(self) -> sqlite_utils.Database:
        if self._utils is None:
            import sqlite_utils

            self._utils = sqlite_utils.Database(self.conn)
        return self._utils


class Store:
    """One connection; use from one thread. Readers in other processes see committed data (WAL)."""

    def __init__(self, path: str | Path, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self._batching = False
        if readonly:
            if not self.path.exists():
                raise StoreError(no_database_message(self.path))
            conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 30000")
        self.db = _Connection(conn)
        self._identity = _file_identity(self.path)
        try:
            if not readonly:
                self._migrate()  # first: a file that is not ours is refused before anything changes it
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
            else:
                self._check_readable(self._version())
        except sqlite3.DatabaseError as exc:  # not SQLite at all, or damaged: say so, no traceback
            conn.close()
            raise StoreError(f"{self.path} cannot be opened as a kratom-tracker database: {exc}") from None
        except StoreError:
            conn.close()
            raise

    def close(self) -> None:
        self.db.conn.close()

    def check_present(self) -> None:
        """Raise StoreError if the file this store opened was deleted or replaced since: writes would go
        to a file nobody can read any more (a long-running daemon must stop, not lose events)."""
        if self._identity is not None and _file_identity(self.path) != self._identity:
            raise StoreError(f"the database {self.path} was deleted or replaced while in use")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema --------------------------------------------------------------------------------------

    def _version(self) -> int:
        if self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'").fetchone() is None:
            return 0
        row = self.db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if not row:
            return 0
        text = str(row[0]).strip()
        if not (text.isascii() and text.isdigit()):  # "2-dev", "1.5", "": not a schema this code knows
            raise StoreError(f"{self.path} has schema_version {str(row[0])[:40]!r}, which is not a release "
                             f"schema (a whole number up to {SCHEMA_VERSION}); not touching it")
        return int(text)

    def _refuse_foreign(self) -> None:
        """A SQLite file with tables of some other application is not ours to set up."""
        names = {row[0] for row in self.db.execute(
            "SELECT name FROM sqlite_master WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%'")}
        foreign = sorted(names - _OUR_TABLES)
        if foreign:
            shown = ", ".join(foreign[:5]) + (", ..." if len(foreign) > 5 else "")
            raise StoreError(f"{self.path} is another application's SQLite database (tables: {shown}); "
                             "not writing to it. Point --db at a new file.")

    def _check_version(self, version: int) -> None:
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer kratom-tracker (schema {version}; this one knows "
                f"{SCHEMA_VERSION}). Upgrade kratom-tracker, or point --db at another file."
            )

    def _check_readable(self, version: int) -> None:
        # A reader never sets a database up: an empty file (or someone else's SQLite file) is no database
        # yet, the same as a missing one, rather than a crash on the first query.
        if version == 0:
            raise StoreError(no_database_message(self.path, "the file holds no kratom-tracker tables"))
        self._check_version(version)

    def _migrate(self) -> None:
        with self.transaction():
            if self._version() == 0:
                self._refuse_foreign()
            self.db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            version = self._version()
            self._check_version(version)
            for target in range(version + 1, SCHEMA_VERSION + 1):
                MIGRATIONS[target](self.db)
                self.db.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(target)])
            self.db.execute("INSERT OR IGNORE INTO meta VALUES ('instance_id', ?)", [uuid.uuid4().hex[:12]])

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One write transaction; inside an open one (a `batch`, the after-commit hooks of a pass) it
        joins that one, so what a hook writes lands with the rows it follows, or not at all."""
        conn = self.db.conn
        if conn.in_transaction:
            yield
            return
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # -- per-source state ----------------------------------------------------------------------------

    def source_states(self) -> dict[str, SourceState]:
        rows = self.db.execute(
            "SELECT id, etag, last_modified, body_hash, snapshot_id, snapshot_hash, consecutive_failures, "
            "last_fetch_at, last_success_at FROM sources"
        ).fetchall()
        return {r[0]: _state(r[1:]) for r in rows}

    def source_state(self, source_id: str) -> SourceState | None:
        row = self.db.execute(
            "SELECT etag, last_modified, body_hash, snapshot_id, snapshot_hash, consecutive_failures, "
            "last_fetch_at, last_success_at FROM sources WHERE id = ?", [source_id]).fetchone()
        return _state(row) if row else None

    def snapshot_content(self, snapshot_id: int) -> str | None:
        row = self.db.execute("SELECT content FROM snapshots WHERE id = ?", [snapshot_id]).fetchone()
        return row[0] if row else None

    def recent_versions(self, source_id: str, limit: int) -> list[str]:
        """Hashes of the source's last `limit` kept versions, newest first (not the unconfirmed one)."""
        return [row[0] for row in self.db.execute(
            "SELECT hash FROM snapshots WHERE source_id = ? AND reason != 'unconfirmed' ORDER BY id DESC LIMIT ?",
            [source_id, limit]).fetchall()]

    def unconfirmed_version(self, source_id: str) -> str | None:
        """The hash of the version a fetch held as UNCONFIRMED (at most one is kept), if any."""
        row = self.db.execute("SELECT hash FROM snapshots WHERE source_id = ? AND reason = 'unconfirmed' "
                              "ORDER BY id DESC LIMIT 1", [source_id]).fetchone()
        return row[0] if row else None

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Inside an open transaction: what the block wrote is undone if it raises (the transaction
        itself goes on, so one source's failure does not take its batch with it)."""
        if not self.db.conn.in_transaction:
            with self.transaction():
                yield
            return
        self.db.execute("SAVEPOINT source")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK TO source")
            self.db.execute("RELEASE source")
            raise
        self.db.execute("RELEASE source")

    def save_result(self, source: SourceConfig, result: SourceResult) -> list[int]:
        """Write one run of one source in one transaction (or inside the open `batch`); returns the ids
        of the events written."""
        if self._batching:
            return self._save(source, result)
        with self.transaction():
            return self._save(source, result)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group several sources' writes in one transaction: a commit costs more than a 304's writes.
        Each source's rows still land together (all of the batch or none of it). Inside a batch, another
        `batch()` just joins it."""
        if self._batching:
            yield
            return
        with self.transaction():
            self._batching = True
            try:
                yield
            finally:
                self._batching = False

    def _save(self, source: SourceConfig, result: SourceResult) -> list[int]:
        now = result.started_at
        exec_ = self.db.execute
        exec_(
            "INSERT INTO sources (id, type, name, url, jurisdiction) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(id) DO UPDATE SET type = excluded.type, name = excluded.name, url = excluded.url, "
            "jurisdiction = excluded.jurisdiction",
            [source.id, source.type, source.name, source.url, source.jurisdiction],
        )
        snapshot_id = None
        if result.snapshot is not None and result.snapshot_hash is not None:
            # An unconfirmed version is kept to be recognised next time, never pointed at; one at most.
            exec_("DELETE FROM snapshots WHERE source_id = ? AND reason = 'unconfirmed' AND hash != ?",
                  [source.id, result.snapshot_hash])
            unconfirmed = result.outcome == Outcome.UNCONFIRMED
            reason = ("unconfirmed" if unconfirmed else "initial" if result.outcome == Outcome.INITIAL
                      else "change" if result.events else "quiet")
            cursor = exec_("INSERT OR IGNORE INTO snapshots (source_id, hash, content, created_at, reason) "
                           "VALUES (?,?,?,?,?)", [source.id, result.snapshot_hash, result.snapshot, now, reason])
            if cursor.rowcount != 1 and not unconfirmed:  # a version seen before; confirmed if it was held
                exec_("UPDATE snapshots SET reason = ? WHERE source_id = ? AND hash = ? AND reason = "
                      "'unconfirmed'", [reason, source.id, result.snapshot_hash])
            snapshot_id = None if unconfirmed else cursor.lastrowid if cursor.rowcount == 1 else exec_(
                "SELECT id FROM snapshots WHERE source_id = ? AND hash = ?", [source.id, result.snapshot_hash]
            ).fetchone()[0]
        elif not result.failed:
            exec_("DELETE FROM snapshots WHERE source_id = ? AND reason = 'unconfirmed'", [source.id])
        event_ids = []
        for event in result.events:
            cursor = exec_(
                "INSERT INTO events (kind, source_id, jurisdiction, detected_at, title, summary, diff, url, data, "
                "snapshot_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [event.kind, source.id, event.jurisdiction, now, event.title, event.summary, event.diff, event.url,
                 json.dumps(event.data, ensure_ascii=False, sort_keys=True), snapshot_id],
            )
            event_ids.append(cursor.lastrowid)
        if result.assertions is not None:
            self._replace_assertions(source.id, result.assertions, now, snapshot_id)
        self._update_source_row(source.id, result, snapshot_id, now)
        exec_(
            "INSERT INTO fetches (source_id, started_at, duration_ms, outcome, http_status, error, bytes, events, "
            "final_url) VALUES (?,?,?,?,?,?,?,?,?)",
            [source.id, now, result.duration_ms, result.outcome, result.http_status, result.error or None,
             result.bytes, len(event_ids), result.final_url or None],
        )
        exec_("DELETE FROM fetches WHERE source_id = ? AND id <= (SELECT id FROM fetches WHERE source_id = ? "
              "ORDER BY id DESC LIMIT 1 OFFSET ?)", [source.id, source.id, FETCH_LOG_KEEP])
        return event_ids

    def _update_source_row(self, source_id: str, result: SourceResult, snapshot_id: int | None, now: str) -> None:
        sets = ["last_fetch_at = ?", "last_outcome = ?", "last_error = ?", "last_http_status = ?"]
        values: list[Any] = [now, result.outcome, result.error or None, result.http_status or None]
        if result.failed:
            sets.append("consecutive_failures = consecutive_failures + 1")
        else:
            sets += ["consecutive_failures = 0", "last_success_at = ?"]
            values.append(now)
        if snapshot_id is not None:
            sets += ["snapshot_id = ?", "snapshot_hash = ?"]
            values += [snapshot_id, result.snapshot_hash]
        if result.body_hash is not None:
            sets += ["body_hash = ?", "etag = ?", "last_modified = ?"]
            values += [result.body_hash, result.etag, result.last_modified]
        if result.events:
            sets.append("last_change_at = ?")
            values.append(now)
        self.db.execute(f"UPDATE sources SET {', '.join(sets)} WHERE id = ?", [*values, source_id])

    def _replace_assertions(self, source_id: str, assertions: list[Assertion], now: str,
                            snapshot_id: int | None) -> None:
        """Keep history: assertions no longer made are retired (dated), new ones are added."""
        fields = ("jurisdiction", "substance", "status", "detail", "effective_date", "evidence_url", "quote",
                  "evidence_kind", "verified_on")
        current = {
            tuple(row[1:]): row[0]
            for row in self.db.execute(
                f"SELECT id, {', '.join(fields)} FROM assertions WHERE source_id = ? AND retired_at IS NULL",
                [source_id]).fetchall()
        }
        wanted = {tuple(getattr(a, f) for f in fields) for a in assertions}
        gone = [row_id for values, row_id in current.items() if values not in wanted]
        for start in range(0, len(gone), 500):
            chunk = gone[start:start + 500]
            self.db.execute(f"UPDATE assertions SET retired_at = ? WHERE id IN ({','.join('?' * len(chunk))})",
                            [now, *chunk])
        new_rows = [values for values in wanted if values not in current]
        if new_rows:
            self.db.conn.executemany(
                f"INSERT INTO assertions (source_id, {', '.join(fields)}, observed_at, snapshot_id) "
                f"VALUES (?, {', '.join('?' * len(fields))}, ?, ?)",
                [(source_id, *values, now, snapshot_id) for values in sorted(new_rows, key=lambda v: tuple(
                    str(x) for x in v))],
            )

    # -- reading -------------------------------------------------------------------------------------

    def events(self, region: str | None = None, kind: str | None = None, since: str | None = None,
               limit: int | None = None, before_id: int | None = None,
               source_id: str | None = None) -> list[Event]:
        """Events newest first; `region` covers the region and everything below it."""
        where, params = [], []
        if region:
            clause, region_params = _region_clause(region)
            where.append(clause)
            params += region_params
        if kind:
            where.append("kind = ?")
            params.append(kind)
        if since:
            where.append("detected_at >= ?")
            params.append(since)
        if before_id is not None:
            where.append("id < ?")
            params.append(before_id)
        if source_id:
            where.append("source_id = ?")
            params.append(source_id)
        sql = (f"SELECT {_EVENT_SELECT} FROM events" + (" WHERE " + " AND ".join(where) if where else "")
               + " ORDER BY id DESC")
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        return [Event.from_row(row) for row in self.db.execute(sql, params).fetchall()]

    def events_by_id(self, event_ids: Iterable[int]) -> list[Event]:
        """The events with these ids, oldest first (chunked: SQLite caps the parameters of one query)."""
        ids = sorted(set(event_ids))
        found: list[Event] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            rows = self.db.execute(f"SELECT {_EVENT_SELECT} FROM events WHERE id IN ({','.join('?' * len(chunk))}) "
                                   "ORDER BY id", chunk).fetchall()
            found += [Event.from_row(row) for row in rows]
        return found

    def events_at(self, jurisdictions: list[str], limit: int) -> list[Event]:
        """The newest events of exactly these jurisdictions (not those below them)."""
        if not jurisdictions:
            return []
        rows = self.db.execute(
            f"SELECT {_EVENT_SELECT} FROM events WHERE jurisdiction IN ({','.join('?' * len(jurisdictions))}) "
            "ORDER BY id DESC LIMIT ?", [*jurisdictions, limit]).fetchall()
        return [Event.from_row(row) for row in rows]

    def has_events(self) -> bool:
        return self.db.execute("SELECT 1 FROM events LIMIT 1").fetchone() is not None

    def event_jurisdictions(self) -> set[str]:
        return {row[0] for row in self.db.execute("SELECT DISTINCT jurisdiction FROM events").fetchall()}

    def events_signature(self) -> tuple[int, int]:
        """Changes whenever an event is added or removed: what a cache of rendered feeds is keyed by."""
        count, newest = self.db.execute("SELECT COUNT(*), MAX(id) FROM events").fetchone()
        return int(count), int(newest or 0)

    def current_assertions(self, jurisdictions: list[str] | None = None) -> list[StoredAssertion]:
        sql = f"SELECT {_ASSERTION_SELECT} FROM assertions WHERE retired_at IS NULL"
        params: list[Any] = []
        if jurisdictions is not None:
            if not jurisdictions:
                return []
            sql += f" AND jurisdiction IN ({','.join('?' * len(jurisdictions))})"
            params = list(jurisdictions)
        sql += " ORDER BY jurisdiction, substance, effective_date, source_id, evidence_url"
        return [StoredAssertion(*(value if value is not None or name == "effective_date" else ""
                                  for name, value in zip(_ASSERTION_COLUMNS, row, strict=True)))
                for row in self.db.execute(sql, params).fetchall()]

    def assertion_jurisdictions_below(self, region: str) -> list[str]:
        """Codes strictly below `region` that have current assertions of their own."""
        ranges = regions.sql_ranges(region)
        if not ranges:
            return []
        clause = " OR ".join("(jurisdiction >= ? AND jurisdiction < ?)" for _ in ranges)
        params = [bound for pair in ranges for bound in pair]
        rows = self.db.execute(f"SELECT DISTINCT jurisdiction FROM assertions WHERE retired_at IS NULL AND ({clause}) "
                               "ORDER BY jurisdiction", params).fetchall()
        return [row[0] for row in rows]

    def sources_health(self) -> list[SourceHealth]:
        rows = self.db.execute(f"SELECT {', '.join(_HEALTH_COLUMNS)} FROM sources ORDER BY id").fetchall()
        return [SourceHealth(*row[:-1], consecutive_failures=row[-1] or 0) for row in rows]

    # -- failure notices -------------------------------------------------------------------------------

    def failure_state(self, source_id: str) -> FailureState | None:
        row = self.db.execute("SELECT consecutive_failures, failing_notified, last_outcome, last_error "
                              "FROM sources WHERE id = ?", [source_id]).fetchone()
        if row is None:
            return None
        return FailureState(consecutive_failures=row[0] or 0, failing_notified=bool(row[1]), last_outcome=row[2],
                            last_error=row[3])

    def set_failing_notified(self, source_id: str, notified: bool) -> None:
        self.db.execute("UPDATE sources SET failing_notified = ? WHERE id = ?", [int(notified), source_id])

    # -- the notification outbox -------------------------------------------------------------------------

    def outbox_add(self, target: str, event_id: int | None, kind: str, title: str, body: str, now: str) -> bool:
        """Queue one message; False when this (target, event, kind) is queued already (idempotent)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox (target, event_id, kind, title, body, created_at) VALUES (?,?,?,?,?,?)",
            [target, event_id, kind, title, body, now])
        return cursor.rowcount > 0

    def outbox_unsent(self, target: str, limit: int) -> list[OutboxMessage]:
        rows = self.db.execute("SELECT id, title, body FROM outbox WHERE target = ? AND sent_at IS NULL "
                               "ORDER BY id LIMIT ?", [target, limit]).fetchall()
        return [OutboxMessage(*row) for row in rows]

    def outbox_mark_sent(self, message_id: int, now: str) -> None:
        self.db.execute("UPDATE outbox SET attempts = attempts + 1, sent_at = ?, last_error = NULL WHERE id = ?",
                        [now, message_id])

    def outbox_mark_failed(self, message_id: int, error: str) -> None:
        self.db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                        [error, message_id])

    def outbox_rename_target(self, old: str, new: str) -> None:
        """Move the messages queued for target `old` to `new` (their errors cleared); a message queued
        under both names already is kept once."""
        if self.db.execute("SELECT 1 FROM outbox WHERE target = ? LIMIT 1", [old]).fetchone() is None:
            return  # the usual case: nothing to rename, and no write lock taken
        with self.transaction():
            self.db.execute("UPDATE OR IGNORE outbox SET target = ?, last_error = NULL WHERE target = ?", [new, old])
            self.db.execute("DELETE FROM outbox WHERE target = ?", [old])

    def outbox_pending(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]

    # -- upkeep ----------------------------------------------------------------------------------------------

    def forget_sources(self, prefix: str) -> None:
        """Delete every row of the sources whose id starts with `prefix` (the demo's own, before a rerun)."""
        with self.transaction():
            for table in ("snapshots", "events", "fetches", "assertions"):
                self.db.execute(f"DELETE FROM {table} WHERE source_id LIKE ?", [prefix + "%"])
            self.db.execute("DELETE FROM sources WHERE id LIKE ?", [prefix + "%"])


_EVENT_SELECT = ", ".join(EVENT_COLUMNS)
_ASSERTION_COLUMNS = tuple(f.name for f in fields(StoredAssertion))
_ASSERTION_SELECT = ", ".join(_ASSERTION_COLUMNS)
_HEALTH_COLUMNS = tuple(f.name for f in fields(SourceHealth))


def _region_clause(region: str) -> tuple[str, list[str]]:
    """`jurisdiction` is the region or below it, as ranges of the sorted codes (an index range scan)."""
    clauses, params = ["jurisdiction = ?"], [region]
    for low, high in regions.sql_ranges(region):
        clauses.append("(jurisdiction >= ? AND jurisdiction < ?)")
        params += [low, high]
    return "(" + " OR ".join(clauses) + ")", params
