"""The store: plain SQLite (through sqlite-utils) with a schema version and forward migrations.

A source's run is written in one transaction: its fetch outcome, its new snapshot (if any), the events
that snapshot caused and its assertions. A crash leaves either all of it or none of it."""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
import zlib
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
    EventDraft,
    EvidenceDocument,
    FailureState,
    GcReport,
    OutboxMessage,
    SnapshotInfo,
    SourceHealth,
    SourceResult,
    StoredAssertion,
    WatchedArticle,
)
from kratom_tracker.vocab import EventKind, Outcome

SCHEMA_VERSION = 5
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
    settings_sha: str | None = None  # what the kept snapshot was read with (None: before schema 5)


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


# Status model v2: the terms of each assertion (all nullable, so a version 1 row reads as "not known"),
# and the fetched documents behind status events, compressed and keyed by their SHA-256 (a page that
# causes many events, or comes back unchanged after a change, is kept once).
_SCHEMA_2 = """
        ALTER TABLE assertions ADD COLUMN expiry_date TEXT;
        ALTER TABLE assertions ADD COLUMN instrument TEXT;
        ALTER TABLE assertions ADD COLUMN citation TEXT;
        ALTER TABLE assertions ADD COLUMN stage TEXT;
        ALTER TABLE assertions ADD COLUMN bill_id TEXT;
        ALTER TABLE assertions ADD COLUMN threshold_value REAL;
        ALTER TABLE assertions ADD COLUMN threshold_unit TEXT;
        ALTER TABLE assertions ADD COLUMN threshold_basis TEXT;
        ALTER TABLE assertions ADD COLUMN min_age INTEGER;
        ALTER TABLE assertions ADD COLUMN prohibited TEXT;
        ALTER TABLE assertions ADD COLUMN preempts_local INTEGER;
        CREATE TABLE IF NOT EXISTS evidence (
            sha256 TEXT PRIMARY KEY, body BLOB NOT NULL, encoding TEXT NOT NULL, size INTEGER NOT NULL,
            content_type TEXT, url TEXT, first_seen TEXT NOT NULL
        );
        ALTER TABLE events ADD COLUMN evidence_sha256 TEXT REFERENCES evidence (sha256);
        CREATE INDEX IF NOT EXISTS assertions_effective ON assertions (effective_date) WHERE retired_at IS NULL;
        CREATE INDEX IF NOT EXISTS assertions_expiry ON assertions (expiry_date) WHERE retired_at IS NULL
        """


def _migration_2(db: Any) -> None:
    for statement in filter(str.strip, _SCHEMA_2.split(";")):
        db.execute(statement)



EVIDENCE_ENCODING = "zlib"  # what `evidence.body` is compressed with

# The assertion columns a run writes, in this order; the v2 terms are stored NULL when not known.
_ASSERTION_WRITE = ("jurisdiction", "substance", "status", "detail", "effective_date", "evidence_url", "quote",
                    "evidence_kind", "verified_on", "expiry_date", "instrument", "citation", "stage", "bill_id",
                    "threshold_value", "threshold_unit", "threshold_basis", "min_age", "prohibited",
                    "preempts_local")
_V2_TEXT = frozenset({"instrument", "citation", "stage", "bill_id", "threshold_unit", "threshold_basis"})


def _db_value(name: str, value: Any) -> Any:
    """An assertion field as its column holds it: acts as `a|b`, a flag as 0/1, unknown v2 text as NULL."""
    if name == "prohibited":
        return "|".join(value) or None
    if name == "preempts_local":
        return None if value is None else int(value)
    if name in _V2_TEXT and value == "":
        return None
    return value


def _assertion_values(assertion: Assertion) -> tuple:
    return tuple(_db_value(name, getattr(assertion, name)) for name in _ASSERTION_WRITE)


# Migration 3: the database explains itself in Datasette. Foreign keys from every table that names a
# source or a snapshot (SQLite cannot add one with ALTER TABLE: sqlite-utils' `transform` rebuilds the
# table, keeping its rows, ids, indexes and UNIQUE constraints); full-text search on events and
# assertions (FTS5, kept current by triggers); the names of the regions the rows mention; and views for
# the questions people ask. Enforcement stays off (SQLite's default, per connection): the keys document
# and link, and `gc` keeps what they point to.
_FOREIGN_KEYS_3 = {
    "snapshots": [("source_id", "sources", "id")],
    "events": [("source_id", "sources", "id"), ("snapshot_id", "snapshots", "id")],
    "fetches": [("source_id", "sources", "id")],
    "assertions": [("source_id", "sources", "id"), ("snapshot_id", "snapshots", "id")],
}
FTS_COLUMNS = {"events": ("title", "summary", "diff"), "assertions": ("substance", "status", "detail", "quote")}

_REGION_NAMES_3 = """
        CREATE TABLE IF NOT EXISTS region_names (
            code TEXT PRIMARY KEY, name TEXT NOT NULL, level TEXT NOT NULL, parent TEXT
        )"""

# The views (their SQL is here, with the rest of the project's SQL). `status_in_force` is what each
# place's own current assertions say today, one row per assertion, `disputed` when they disagree; the
# applicable answer with inheritance from the places above is `kratom-tracker status REGION`.
VIEWS = {
    "status_in_force": """
        SELECT a.jurisdiction, r.name AS region_name, a.substance, a.status, a.detail, a.effective_date,
               (SELECT COUNT(DISTINCT b.status) FROM assertions b WHERE b.retired_at IS NULL
                  AND b.jurisdiction = a.jurisdiction AND b.substance = a.substance
                  AND (b.effective_date IS NULL OR b.effective_date <= date('now'))) > 1 AS disputed,
               a.source_id, s.name AS source_name, a.evidence_url, a.evidence_kind, a.verified_on, a.quote,
               a.observed_at
        FROM assertions a
        LEFT JOIN region_names r ON r.code = a.jurisdiction
        LEFT JOIN sources s ON s.id = a.source_id
        WHERE a.retired_at IS NULL AND (a.effective_date IS NULL OR a.effective_date <= date('now'))
          AND (a.expiry_date IS NULL OR a.expiry_date > date('now')) AND a.status != 'pending'
        ORDER BY a.jurisdiction, a.substance, a.effective_date""",
    "recent_changes": """
        SELECT e.id, e.detected_at, e.kind, e.jurisdiction, r.name AS region_name, e.title, e.summary,
               e.url, e.source_id, s.name AS source_name, e.snapshot_id
        FROM events e
        LEFT JOIN region_names r ON r.code = e.jurisdiction
        LEFT JOIN sources s ON s.id = e.source_id
        ORDER BY e.id DESC""",
    "source_health": """
        SELECT s.id, s.name, s.type, s.jurisdiction, r.name AS region_name, s.url, s.last_fetch_at,
               s.last_outcome, s.last_error, s.last_http_status, s.last_success_at, s.last_change_at,
               s.consecutive_failures,
               (SELECT COUNT(*) FROM fetches f WHERE f.source_id = s.id) AS fetches_kept,
               (SELECT COUNT(*) FROM fetches f WHERE f.source_id = s.id
                  AND f.outcome NOT IN ({_SUCCEEDED})) AS failed_fetches_kept,
               (SELECT CAST(AVG(f.duration_ms) AS INTEGER) FROM fetches f WHERE f.source_id = s.id)
                  AS mean_duration_ms,
               (SELECT COUNT(*) FROM snapshots n WHERE n.source_id = s.id) AS snapshots,
               (SELECT COUNT(*) FROM events e WHERE e.source_id = s.id) AS events
        FROM sources s
        LEFT JOIN region_names r ON r.code = s.jurisdiction
        ORDER BY s.consecutive_failures DESC, s.id""".replace(
        "{_SUCCEEDED}", ", ".join(f"'{o}'" for o in Outcome if not o.failed)),
}


def _migration_3(db: Any) -> None:
    utils = db.utils
    # Rebuilding a table restarts its AUTOINCREMENT counter at its largest id; put the old one back, so
    # an id that was ever handed out (an event's, in a feed) is never handed out again.
    sequences = dict(db.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
    for table, keys in _FOREIGN_KEYS_3.items():
        have = {(fk.column, fk.other_table) for fk in utils[table].foreign_keys}
        wanted = [key for key in keys if key[:2] not in have]
        if wanted:
            utils[table].transform(add_foreign_keys=wanted)
    for name, seq in sequences.items():
        db.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = ?", [seq, name])
    for table, columns in FTS_COLUMNS.items():
        utils[table].enable_fts(list(columns), create_triggers=True, replace=True)
    db.execute(_REGION_NAMES_3)
    codes = {row[0] for table in ("sources", "events", "assertions")
             for row in db.execute(f"SELECT DISTINCT jurisdiction FROM {table}").fetchall() if row[0]}
    _write_region_names(db, codes)
    for name, sql in VIEWS.items():
        db.execute(f"DROP VIEW IF EXISTS {name}")
        db.execute(f"CREATE VIEW {name} AS {sql}")


def _region_row(code: str) -> tuple[str, str, str, str | None]:
    if not regions.is_valid_code(code):  # a code this version does not know: the code is its own name
        return code, code, "", None
    chain = regions.chain(code)
    return code, regions.display_name(code), regions.level(code), chain[-2] if len(chain) > 1 else None


def _write_region_names(db: Any, codes: Iterable[str]) -> None:
    db.conn.executemany("INSERT OR REPLACE INTO region_names (code, name, level, parent) VALUES (?, ?, ?, ?)",
                        [_region_row(code) for code in sorted(codes)])


# A migration gets the store's connection; `db.utils` gives sqlite-utils' table tools (`transform`,
# `enable_fts`), loaded when a migration first needs them (migration 3 does, once per database).
def _migration_4(db: Any) -> None:
    # Where a fetch ended up after its redirects (NULL: where it started, or no answer).
    db.execute("ALTER TABLE fetches ADD COLUMN final_url TEXT")


def _migration_5(db: Any) -> None:
    # A watched article's last reading (engine/watch.py): the hash of its text, so an edit is noticed and
    # checked again, and the claims of its last versions, so only a claim the edit brought is news.
    db.execute("""CREATE TABLE watched_articles (
        id TEXT PRIMARY KEY,
        location TEXT NOT NULL,
        title TEXT,
        sha256 TEXT,
        claims TEXT NOT NULL DEFAULT '[]',
        checked_at TEXT,
        changed_at TEXT,
        last_error TEXT)""")
    # The settings a source's kept snapshot was read with (Extractor.settings_sha): read another way, the
    # same page must start again, not show as a change. NULL on older rows: their next document restarts.
    db.execute("ALTER TABLE sources ADD COLUMN settings_sha TEXT")


MIGRATIONS: dict[int, Callable[[Any], None]] = {1: _migration_1, 2: _migration_2, 3: _migration_3, 4: _migration_4,
                                                5: _migration_5}


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
        self._named_regions: set[str] | None = None  # the codes region_names holds, read at the first write
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
        if version < SCHEMA_VERSION:  # a reader cannot migrate (read-only), and the old tables lack columns
            raise StoreError(f"{self.path} has schema {version}; this kratom-tracker reads schema {SCHEMA_VERSION}. "
                             "Run `kratom-tracker collect` (or the scheduler) once to upgrade it.")

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

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", [key, value])

    def set_meta_default(self, key: str, value: str) -> str:
        """Set `key` unless it is set already; returns the value it has (a first-seen marker)."""
        self.db.execute("INSERT OR IGNORE INTO meta VALUES (?, ?)", [key, value])
        return self.meta(key) or value

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
            f"SELECT id, {', '.join(_STATE_COLUMNS)} FROM sources").fetchall()
        return {r[0]: _state(r[1:]) for r in rows}

    def source_state(self, source_id: str) -> SourceState | None:
        row = self.db.execute(
            f"SELECT {', '.join(_STATE_COLUMNS)} FROM sources WHERE id = ?", [source_id]).fetchone()
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
        status_events = any(e.kind == EventKind.STATUS for e in result.events)
        evidence = self._keep_evidence(result.evidence, now) if result.evidence and status_events else None
        for event in result.events:
            cursor = exec_(
                "INSERT INTO events (kind, source_id, jurisdiction, detected_at, title, summary, diff, url, data, "
                "snapshot_id, evidence_sha256) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [event.kind, source.id, event.jurisdiction, now, event.title, event.summary, event.diff, event.url,
                 json.dumps(event.data, ensure_ascii=False, sort_keys=True), snapshot_id,
                 evidence if event.kind == EventKind.STATUS else None],
            )
            event_ids.append(cursor.lastrowid)
        if result.assertions is not None:
            self._replace_assertions(source.id, result.assertions, now, snapshot_id)
        self._name_regions({source.jurisdiction, *(e.jurisdiction for e in result.events),
                            *(a.jurisdiction for a in result.assertions or ())})
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

    def _name_regions(self, codes: set[str]) -> None:
        """Give the codes the rows mention a name in `region_names` (what the views join), once each."""
        if self._named_regions is None:
            self._named_regions = {row[0] for row in self.db.execute("SELECT code FROM region_names").fetchall()}
        missing = codes - self._named_regions
        if missing:
            _write_region_names(self.db, missing)
            self._named_regions |= missing

    def _update_source_row(self, source_id: str, result: SourceResult, snapshot_id: int | None, now: str) -> None:
        sets = ["last_fetch_at = ?", "last_outcome = ?", "last_error = ?", "last_http_status = ?"]
        values: list[Any] = [now, result.outcome, result.error or None, result.http_status or None]
        if result.failed:
            sets.append("consecutive_failures = consecutive_failures + 1")
        else:
            sets += ["consecutive_failures = 0", "last_success_at = ?"]
            values.append(now)
        if snapshot_id is not None:
            sets += ["snapshot_id = ?", "snapshot_hash = ?", "settings_sha = ?"]
            values += [snapshot_id, result.snapshot_hash, result.settings_sha]
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
        current = {
            tuple(row[1:]): row[0]
            for row in self.db.execute(
                f"SELECT id, {', '.join(_ASSERTION_WRITE)} FROM assertions WHERE source_id = ? AND retired_at IS NULL",
                [source_id]).fetchall()
        }
        wanted = {_assertion_values(a) for a in assertions}
        gone = [row_id for values, row_id in current.items() if values not in wanted]
        for start in range(0, len(gone), 500):
            chunk = gone[start:start + 500]
            self.db.execute(f"UPDATE assertions SET retired_at = ? WHERE id IN ({','.join('?' * len(chunk))})",
                            [now, *chunk])
        new_rows = [values for values in wanted if values not in current]
        if new_rows:
            self.db.conn.executemany(
                f"INSERT INTO assertions (source_id, {', '.join(_ASSERTION_WRITE)}, observed_at, snapshot_id) "
                f"VALUES (?, {', '.join('?' * len(_ASSERTION_WRITE))}, ?, ?)",
                [(source_id, *values, now, snapshot_id) for values in sorted(new_rows, key=lambda v: tuple(
                    str(x) for x in v))],
            )

    def _keep_evidence(self, document: EvidenceDocument, now: str) -> str:
        """Store a fetched document once (compressed); returns its key."""
        self.db.execute(
            "INSERT OR IGNORE INTO evidence (sha256, body, encoding, size, content_type, url, first_seen) "
            "VALUES (?,?,?,?,?,?,?)",
            [document.sha256, zlib.compress(document.body, 6), EVIDENCE_ENCODING, len(document.body),
             document.content_type or None, document.url or None, now])
        return document.sha256

    def add_events(self, source_id: str, drafts: list[EventDraft], now: str) -> list[int]:
        """Events that no fetch caused (the calendar tick's `~calendar` events, an `article` event written
        after the status change it follows); inside the open transaction when there is one."""
        ids = []
        with self.transaction():
            for event in drafts:
                cursor = self.db.execute(
                    "INSERT INTO events (kind, source_id, jurisdiction, detected_at, title, summary, diff, url, data) "
                    "VALUES (?,?,?,?,?,?,?,?,?)",
                    [event.kind, source_id, event.jurisdiction, now, event.title, event.summary, event.diff, event.url,
                     json.dumps(event.data, ensure_ascii=False, sort_keys=True)])
                ids.append(cursor.lastrowid)
        return ids

    def has_event_key(self, source_id: str, key: str) -> bool:
        """Whether an event of this source carries `data.key` = key (what makes a derived event once-only)."""
        return self.db.execute("SELECT 1 FROM events WHERE source_id = ? AND json_extract(data, '$.key') = ? LIMIT 1",
                               [source_id, key]).fetchone() is not None

    # -- reading -------------------------------------------------------------------------------------

    def events(self, region: str | None = None, kind: str | None = None, since: str | None = None,
               limit: int | None = None, before_id: int | None = None,
               source_id: str | None = None, until: str | None = None, with_above: bool = False) -> list[Event]:
        """Events newest first; `region` covers the region and everything below it (a county its cities),
        and with `with_above` the levels above it too: what applies there (a region's feed). `since` is
        inclusive, `until` exclusive."""
        where, params = [], []
        if region:
            clause, region_params = _region_clause(region, with_above)
            where.append(clause)
            params += region_params
        if until:
            where.append("detected_at < ?")
            params.append(until)
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

    def last_change_at(self) -> str | None:
        """When anything a reader sees last changed: the newest event or fetch (HTTP Last-Modified)."""
        row = self.db.execute("SELECT MAX(t) FROM (SELECT MAX(detected_at) AS t FROM events "
                              "UNION ALL SELECT MAX(last_fetch_at) FROM sources)").fetchone()
        return row[0] if row else None

    def newest_event_at(self, region: str | None = None, with_above: bool = False) -> str | None:
        events = self.events(region=region, with_above=with_above, limit=1)
        return events[0].detected_at if events else None

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
        return [_stored_assertion(row) for row in self.db.execute(sql, params).fetchall()]

    def assertion_date_changes(self, after: str, through: str) -> list[tuple[str, str]]:
        """(jurisdiction, day) for every current assertion that takes effect or expires on a day in
        (after, through]: the places whose answer may change on that day without any edit."""
        rows = self.db.execute(
            "SELECT jurisdiction, effective_date FROM assertions WHERE retired_at IS NULL "
            "AND effective_date > ? AND effective_date <= ? "
            "UNION SELECT jurisdiction, expiry_date FROM assertions WHERE retired_at IS NULL "
            "AND expiry_date > ? AND expiry_date <= ? ORDER BY 2, 1", [after, through, after, through]).fetchall()
        return [(row[0], row[1]) for row in rows]

    def evidence_for_event(self, event_id: int) -> EvidenceDocument | None:
        """The fetched document kept for an event (None when the event has none)."""
        row = self.db.execute(
            "SELECT e.sha256, e.body, e.encoding, e.content_type, e.url, e.first_seen FROM events v "
            "JOIN evidence e ON e.sha256 = v.evidence_sha256 WHERE v.id = ?", [event_id]).fetchone()
        if row is None:
            return None
        sha256, body, encoding, content_type, url, first_seen = row
        if encoding != EVIDENCE_ENCODING:
            raise StoreError(f"evidence {sha256} is stored as {encoding!r}, which this kratom-tracker cannot read")
        return EvidenceDocument(sha256=sha256, body=zlib.decompress(body), content_type=content_type or "",
                                url=url or "", first_seen=first_seen)

    def event(self, event_id: int) -> Event | None:
        row = self.db.execute(f"SELECT {_EVENT_SELECT} FROM events WHERE id = ?", [event_id]).fetchone()
        return Event.from_row(row) if row else None

    def assertion_jurisdictions_below(self, region: str) -> list[str]:
        """Codes strictly below `region` (a county's cities too) that have current assertions of their own."""
        ranges = regions.sql_ranges(region)
        members = regions.members(region)
        if not ranges and not members:
            return []
        clauses = ["(jurisdiction >= ? AND jurisdiction < ?)" for _ in ranges]
        params = [bound for pair in ranges for bound in pair]
        if members:
            clauses.append(f"jurisdiction IN ({','.join('?' * len(members))})")
            params += members
        clause = " OR ".join(clauses)
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

    # -- watched articles --------------------------------------------------------------------------------

    def watched_article(self, article_id: str) -> WatchedArticle | None:
        row = self.db.execute(f"SELECT {', '.join(_WATCHED_COLUMNS)} FROM watched_articles WHERE id = ?",
                              [article_id]).fetchone()
        return _watched(row) if row else None

    def watched_articles(self) -> list[WatchedArticle]:
        rows = self.db.execute(f"SELECT {', '.join(_WATCHED_COLUMNS)} FROM watched_articles ORDER BY id").fetchall()
        return [_watched(row) for row in rows]

    def save_watched_article(self, article: WatchedArticle) -> None:
        """The reading of an article (a new version, or the same one checked again)."""
        self.db.execute(
            f"INSERT INTO watched_articles ({', '.join(_WATCHED_COLUMNS)}) VALUES (?,?,?,?,?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET location = excluded.location, title = excluded.title, "
            "sha256 = excluded.sha256, claims = excluded.claims, checked_at = excluded.checked_at, "
            "changed_at = excluded.changed_at, last_error = excluded.last_error",
            [article.id, article.location, article.title, article.sha256,
             json.dumps([list(version) for version in article.claims]), article.checked_at, article.changed_at,
             article.last_error])

    def watched_article_failed(self, article_id: str, location: str, error: str, now: str) -> None:
        """A reading that failed: an outcome, kept beside the last good version (which stays the reference)."""
        self.db.execute(
            "INSERT INTO watched_articles (id, location, checked_at, last_error) VALUES (?,?,?,?) "
            "ON CONFLICT(id) DO UPDATE SET checked_at = excluded.checked_at, last_error = excluded.last_error",
            [article_id, location, now, error])

    # -- the notification outbox -------------------------------------------------------------------------

    def outbox_add(self, target: str, event_id: int | None, kind: str, title: str, body: str, now: str) -> bool:
        """Queue one message; False when this (target, event, kind) is queued already (idempotent)."""
        cursor = self.db.execute(
            "INSERT OR IGNORE INTO outbox (target, event_id, kind, title, body, created_at) VALUES (?,?,?,?,?,?)",
            [target, event_id, kind, title, body, now])
        return cursor.rowcount > 0

    def outbox_has(self, target: str, event_id: int | None, kind: str) -> bool:
        return self.db.execute("SELECT 1 FROM outbox WHERE target = ? AND event_id IS ? AND kind = ?",
                               [target, event_id, kind]).fetchone() is not None

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

    def snapshots(self, source_id: str) -> list[SnapshotInfo]:
        """Every stored version of one source, oldest first, with how many events cite each."""
        rows = self.db.execute(
            "SELECT n.id, n.source_id, n.hash, n.created_at, n.reason, LENGTH(n.content), "
            "(SELECT COUNT(*) FROM events e WHERE e.snapshot_id = n.id) FROM snapshots n WHERE n.source_id = ? "
            "ORDER BY n.id", [source_id]).fetchall()
        return [SnapshotInfo(*row) for row in rows]

    def snapshot_source(self, snapshot_id: int) -> str | None:
        row = self.db.execute("SELECT source_id FROM snapshots WHERE id = ?", [snapshot_id]).fetchone()
        return row[0] if row else None

    def source_ids(self) -> list[str]:
        """The ids of every source the database holds rows of."""
        return [row[0] for row in self.db.execute("SELECT id FROM sources ORDER BY id").fetchall()]

    def _snapshots_in_use(self) -> str:
        """SQL for the ids of the snapshots something points at: a source's current one, and every column
        with a foreign key to `snapshots` (events, assertions, and whatever table a later migration adds
        with one), found in the schema rather than listed here."""
        referring = self.db.execute(
            "SELECT m.name, f.\"from\" FROM sqlite_master m, pragma_foreign_key_list(m.name) f "
            "WHERE m.type = 'table' AND f.\"table\" = 'snapshots' ORDER BY m.name").fetchall()
        selects = ["SELECT snapshot_id FROM sources WHERE snapshot_id IS NOT NULL"]
        selects += [f'SELECT "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL' for table, column in referring]
        return " UNION ".join(selects)

    def gc(self, keep_fetches: int | None = None, keep_snapshots: int | None = None,
           older_than: str | None = None, dry_run: bool = False) -> GcReport:
        """Retention for the two logs that grow: fetch outcomes and snapshots. A row goes when it is
        beyond the newest `keep_*` of its source, or (with `older_than`, a timestamp) older than that.
        A snapshot something points at (see `_snapshots_in_use`) is never deleted."""
        def doomed(table: str, stamp: str, keep: int | None) -> str:
            clauses = []
            if keep is not None:
                clauses.append(f"id IN (SELECT id FROM (SELECT id, ROW_NUMBER() OVER (PARTITION BY source_id "
                               f"ORDER BY id DESC) AS rank FROM {table}) WHERE rank > :keep_{table})")
            if older_than is not None:
                clauses.append(f"{stamp} < :older_than")
            return " OR ".join(clauses) if clauses else "0"

        params = {"keep_fetches": keep_fetches, "keep_snapshots": keep_snapshots, "older_than": older_than}
        fetches = f"FROM fetches WHERE {doomed('fetches', 'started_at', keep_fetches)}"
        candidates = f"FROM snapshots WHERE ({doomed('snapshots', 'created_at', keep_snapshots)})"
        in_use = self._snapshots_in_use()
        snapshots = f"{candidates} AND id NOT IN ({in_use})"
        def count(sql: str) -> int:
            return self.db.execute(f"SELECT COUNT(*) {sql}", params).fetchone()[0]

        with self.transaction():
            report = GcReport(fetches_deleted=count(fetches), snapshots_deleted=count(snapshots),
                              snapshots_kept_in_use=count(f"{candidates} AND id IN ({in_use})"), dry_run=dry_run)
            if not dry_run:
                self.db.execute(f"DELETE {fetches}", params)
                self.db.execute(f"DELETE {snapshots}", params)
        return report

    def vacuum(self) -> None:
        """Give the space freed back to the file system (outside any transaction; rewrites the file)."""
        self.db.execute("VACUUM")

    def forget_sources(self, prefix: str) -> None:
        """Delete every row of the sources whose id starts with `prefix` (the demo's own, before a rerun)."""
        with self.transaction():
            for table in ("events", "assertions", "fetches", "snapshots"):  # what refers first, then what it refers to
                self.db.execute(f"DELETE FROM {table} WHERE source_id LIKE ?", [prefix + "%"])
            self.db.execute("DELETE FROM sources WHERE id LIKE ?", [prefix + "%"])
            self.db.execute("DELETE FROM evidence WHERE sha256 NOT IN "
                            "(SELECT evidence_sha256 FROM events WHERE evidence_sha256 IS NOT NULL)")


_EVENT_SELECT = ", ".join(EVENT_COLUMNS)
_ASSERTION_COLUMNS = tuple(f.name for f in fields(StoredAssertion))
_ASSERTION_SELECT = ", ".join(_ASSERTION_COLUMNS)
_OPTIONAL = frozenset({"effective_date", "expiry_date", "threshold_value", "min_age", "preempts_local"})


_WATCHED_COLUMNS = ("id", "location", "title", "sha256", "claims", "checked_at", "changed_at", "last_error")


def _watched(row: tuple) -> WatchedArticle:
    try:
        versions = json.loads(row[4] or "[]")
    except ValueError:
        versions = []
    claims = tuple(tuple(str(c) for c in version) for version in versions if isinstance(version, list))
    return WatchedArticle(id=row[0], location=row[1], title=row[2], sha256=row[3], claims=claims,
                          checked_at=row[5], changed_at=row[6], last_error=row[7])


def _stored_assertion(row: tuple) -> StoredAssertion:
    """A row of `assertions` (the columns of StoredAssertion) typed: NULL text reads as "", a NULL term
    that has no empty form (a date, a number, the preemption flag) stays None."""
    values: dict[str, Any] = {}
    for name, value in zip(_ASSERTION_COLUMNS, row, strict=True):
        if name == "preempts_local":
            value = None if value is None else bool(value)
        elif value is None and name not in _OPTIONAL:
            value = ""
        values[name] = value
    return StoredAssertion(**values)
_HEALTH_COLUMNS = tuple(f.name for f in fields(SourceHealth))


def _region_clause(region: str, with_above: bool = False) -> tuple[str, list[str]]:
    """`jurisdiction` is the region or below it, as ranges of the sorted codes (an index range scan), plus
    the places no range reaches (a county's cities) and, `with_above`, the levels of its chain above it."""
    exact = [region] + regions.members(region) + (regions.chain(region)[:-1] if with_above else [])
    clauses, params = [f"jurisdiction IN ({','.join('?' * len(exact))})"], list(exact)
    for low, high in regions.sql_ranges(region):
        clauses.append("(jurisdiction >= ? AND jurisdiction < ?)")
        params += [low, high]
    return "(" + " OR ".join(clauses) + ")", params
