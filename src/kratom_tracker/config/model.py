"""The configuration as typed values, and every default in one place.

The validator (`config.loader`) builds these from sources.yaml; every other layer reads them. Defaults live
only here: the validator reads them from the dataclasses instead of restating them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kratom_tracker import shipped

DEFAULT_SOURCES = "sources.yaml"
DEFAULT_DB = "data/tracker.db"
DEFAULT_USER_AGENT = "kratom-tracker/0.1 (+https://github.com/kratom-tracker/kratom-tracker)"
DEFAULT_FEEDS = "data/feeds"
DEFAULT_GC_KEEP_FETCHES = 200  # `gc` keeps this many fetch outcomes per source (the store's own log cap)
DEFAULT_JITTER = 0.1  # fraction of a source's interval, when `scheduler.jitter` is not set
# A watched article is read again this often by the daemon (and on every `collect`) to notice its edits;
# a status change that touches it has it read at once whatever the interval.
DEFAULT_ARTICLE_INTERVAL = 12 * 3600.0
# A document equal to one of the source's last COMPARED_VERSIONS versions is not a change (a page that
# alternates between two versions, a load balancer with one stale node), as urlwatch's compared_versions.
COMPARED_VERSIONS = 3
# Events one source may write in one pass; the rest are summed up in one more event (a 100 000-item feed
# must not become 100 000 notifications).
MAX_EVENTS_PER_SOURCE = 50
# Withdrawals this large at once (at least this many items, and at least this fraction of the known ones)
# are held as UNCONFIRMED until a later fetch shows the same list: an empty or cut answer is not a withdrawal.
MASS_WITHDRAWAL_ITEMS = 1
MASS_WITHDRAWAL_FRACTION = 0.5
# Bounds the validator holds configuration values to (beyond them a value is a typo or an attack).
INTERVAL_MIN = 0.1  # seconds; the scheduler's tests run on intervals of 0.2 s and up
INTERVAL_MAX = 366 * 86400.0
TIMEOUT_MAX = 3600.0
MAX_BYTES_MIN = 1024  # a cap below one KiB refuses every real document
MAX_BYTES_MAX = 1024**3
WORKERS_MAX = 64
RETRIES_MAX = 10


class ConfigError(Exception):
    """One or more problems in a sources.yaml, each `file:line: reason`."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Politeness:
    per_host_concurrency: int = 2
    per_host_delay: float = 1.0
    robots: bool = True


DIGEST_PERIODS = ("daily", "weekly")


@dataclass(frozen=True)
class NotifyTarget:
    url: str
    name: str
    regions: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    line: int = 0
    digest: str | None = None  # "daily" or "weekly": one message per period instead of one per event


@dataclass(frozen=True)
class SchedulerSettings:
    jitter: float | None = None  # fraction of the interval; None means DEFAULT_JITTER
    failure_threshold: int = 3
    stale_factor: float = 4.0
    publish_delay: float = 60.0


@dataclass(frozen=True)
class PublishSettings:
    max_entries: int = 200
    base_url: str = "http://127.0.0.1:8080"
    title: str = "kratom-tracker changes"
    regions: tuple[str, ...] = ()  # region feeds written even before they have events (canonical codes)


@dataclass(frozen=True)
class FetchSettings:
    workers: int = 8
    retries: int = 2
    max_retry_wait: float = 30.0


@dataclass(frozen=True)
class SourceConfig:
    id: str
    type: str
    name: str
    jurisdiction: str
    url: str | None = None
    interval: float = 6 * 3600
    timeout: float = 30.0
    max_bytes: int = 10 * 1000 * 1000
    tags: tuple[str, ...] = ()
    note: str = ""
    enabled: bool = True
    # The type's typed options: an instance of its extractor's `Options` dataclass (`options.select`).
    options: Any = None
    line: int = 0

    def option(self, key: str, default: Any = None) -> Any:
        """One option by name (for code that handles any type, e.g. the cache and `sources types`)."""
        return getattr(self.options, key, default)


@dataclass(frozen=True)
class ArticleConfig:
    """A watched article (`articles:` in sources.yaml): a page its maintainers keep true. When a status changes
    in a region it names or is read in, an `article` event goes to its maintainers (`notify` target names;
    none means every target that takes `article` events)."""

    id: str
    name: str
    url: str | None = None
    path: str | None = None  # resolved against the folder of sources.yaml
    regions: tuple[str, ...] = ()
    notify: tuple[str, ...] = ()
    interval: float = DEFAULT_ARTICLE_INTERVAL  # how often the daemon reads it again
    line: int = 0

    @property
    def location(self) -> str:
        return self.url or self.path or ""


@dataclass(frozen=True)
class Config:
    path: Path
    sources: tuple[SourceConfig, ...]
    user_agent: str = DEFAULT_USER_AGENT
    politeness: Politeness = Politeness()
    notify: tuple[NotifyTarget, ...] = ()
    scheduler: SchedulerSettings = SchedulerSettings()
    publish: PublishSettings = PublishSettings()
    fetch: FetchSettings = FetchSettings()
    articles: tuple[ArticleConfig, ...] = ()

    def source(self, source_id: str) -> SourceConfig:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise KeyError(source_id)


def sources_path(cli_value: str | None) -> Path:
    """--sources, else $KRATOM_TRACKER_SOURCES, else ./sources.yaml, else the list shipped in the package."""
    chosen = cli_value or os.environ.get("KRATOM_TRACKER_SOURCES")
    if chosen:
        return Path(chosen)
    local = Path(DEFAULT_SOURCES)
    return local if local.exists() else shipped.SOURCES


def is_packaged(path: Path) -> bool:
    """Whether `path` is the source list shipped inside the package (not an editable copy)."""
    try:
        return path.resolve() == shipped.SOURCES
    except OSError:
        return False


def db_path(cli_value: str | None) -> Path:
    return Path(cli_value or os.environ.get("KRATOM_TRACKER_DB") or DEFAULT_DB)


