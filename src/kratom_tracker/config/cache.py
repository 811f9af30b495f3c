"""A cache of validated configurations, keyed by the exact bytes of sources.yaml.

`collect` run from cron re-reads the same sources.yaml every time; parsing and validating 1000 sources
(YAML, regexes, selectors, ISO 3166 codes) costs more than an unchanged pass's fetching. A file whose bytes,
location and kratom-tracker version match a cached entry skips straight to the validated values. Only
configurations that passed validation are cached; anything unexpected in the cache means a full
validation. The cache is JSON (never pickle): it is data, not code.

Set KRATOM_TRACKER_CACHE to a folder to move the cache, or to an empty value to turn it off."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from kratom_tracker import __version__, extractors
from kratom_tracker.config.model import (
    ArticleConfig,
    Config,
    FetchSettings,
    NotifyTarget,
    Politeness,
    PublishSettings,
    SchedulerSettings,
    SourceConfig,
)
from kratom_tracker.values import sha256_hex

_FORMAT = 5  # 2: notify targets without `name:` got a name that hides their secrets; 3: typed options; 4: publish.regions, digest; 5: articles


def cache_dir() -> Path | None:
    configured = os.environ.get("KRATOM_TRACKER_CACHE")
    if configured is not None:
        return Path(configured) if configured.strip() else None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kratom-tracker"


def _entry(path: Path, raw: bytes) -> Path | None:
    folder = cache_dir()
    if folder is None:
        return None
    key = sha256_hex(b"\0".join([raw, str(path.resolve()).encode(), __version__.encode(), str(_FORMAT).encode()]))
    return folder / f"config-{key[:32]}.json"


def lookup(path: Path, raw: bytes):
    """The validated Config for these bytes, or None (no entry, stale entry, unreadable entry)."""
    entry = _entry(path, raw)
    if entry is None or not entry.is_file():
        return None
    try:
        config = _decode(json.loads(entry.read_text(encoding="utf-8")), path)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return config if _paths_still_exist(config) else None


def remember(path: Path, raw: bytes, config) -> None:
    entry = _entry(path, raw)
    if entry is None:
        return
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=entry.parent, prefix=".config-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(_encode(config), handle)
        os.replace(tmp, entry)
    except OSError:
        pass  # a cache that cannot be written only costs time


def _encode(config) -> dict[str, Any]:
    return {
        "user_agent": config.user_agent,
        "politeness": asdict(config.politeness),
        "scheduler": asdict(config.scheduler),
        "publish": asdict(config.publish),
        "fetch": asdict(config.fetch),
        "notify": [asdict(n) for n in config.notify],
        "sources": [_encode_source(s) for s in config.sources],
        "articles": [asdict(a) for a in config.articles],
    }


def _encode_source(source) -> dict[str, Any]:
    out = {f.name: getattr(source, f.name) for f in fields(source) if f.name != "options"}
    out["tags"] = list(source.tags)
    out["options"] = [[key, list(value) if isinstance(value, tuple) else value, isinstance(value, tuple)]
                      for key, value in asdict(source.options).items()]
    return out


def _decode(doc: dict[str, Any], path: Path) -> Config:
    sources = []
    for raw in doc["sources"]:
        options = {key: tuple(value) if was_tuple else value for key, value, was_tuple in raw.pop("options")}
        raw["tags"] = tuple(raw["tags"])
        sources.append(SourceConfig(**raw, options=extractors.get(raw["type"]).make_options(options)))
    notify = tuple(NotifyTarget(**{**n, "regions": tuple(n["regions"]), "kinds": tuple(n["kinds"])})
                   for n in doc["notify"])
    return Config(path=path, sources=tuple(sources), user_agent=doc["user_agent"],
                  politeness=Politeness(**doc["politeness"]), notify=notify,
                  scheduler=SchedulerSettings(**doc["scheduler"]),
                  publish=PublishSettings(**{**doc["publish"], "regions": tuple(doc["publish"]["regions"])}),
                  fetch=FetchSettings(**doc["fetch"]),
                  articles=tuple(ArticleConfig(**{**a, "regions": tuple(a["regions"]), "notify": tuple(a["notify"])})
                                 for a in doc.get("articles", [])))


def _paths_still_exist(config: Config) -> bool:
    if any(a.path and not Path(a.path).is_file() for a in config.articles):
        return False
    for source in config.sources:
        extractor = extractors.get(source.type)
        for key, option in extractor.options.items():
            value = source.option(key)
            if option.path and isinstance(value, str) and not Path(value).exists():
                return False
    return True
