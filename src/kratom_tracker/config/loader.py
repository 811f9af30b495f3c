"""Load and validate sources.yaml. Every mistake is collected with its file and line and the whole
file is refused before anything runs (exit status 2 at the command line)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

import yaml

from kratom_tracker import checks, shipped
from kratom_tracker.config import cache
from kratom_tracker.config.model import (
    DEFAULT_ARTICLE_INTERVAL,
    DEFAULT_USER_AGENT,
    DIGEST_PERIODS,
    INTERVAL_MAX,
    INTERVAL_MIN,
    MAX_BYTES_MAX,
    MAX_BYTES_MIN,
    RETRIES_MAX,
    TIMEOUT_MAX,
    WORKERS_MAX,
    ArticleConfig,
    Config,
    ConfigError,
    FetchSettings,
    NotifyTarget,
    Politeness,
    PublishSettings,
    SchedulerSettings,
    SourceConfig,
)
from kratom_tracker.durations import format_duration, parse_duration, parse_size
from kratom_tracker.privacy import display_name
from kratom_tracker.vocab import EventKind, NoticeKind

MAX_CONFIG_BYTES = 2 * 1024 * 1024
MAX_YAML_NODES = 200_000
# A real sources.yaml nests about 5 levels; 50 leaves room for any hand-written file and stays far below both
# libyaml's own limit (1000, whose wording changed in PyYAML 6.0.4) and Python's recursion limit.
MAX_YAML_DEPTH = 50
_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")

_COMMON_SOURCE_KEYS = {"id", "name", "type", "url", "jurisdiction", "tags", "interval", "timeout", "note",
                       "max_bytes", "enabled"}
_DEFAULT_KEYS = {"interval", "timeout", "max_bytes", "jitter"}
_POLITENESS_KEYS = {"per_host_concurrency", "per_host_delay", "robots"}
_TOP_KEYS = {"defaults", "user_agent", "politeness", "sources", "notify", "scheduler", "publish", "fetch", "articles"}


def load(path: str | Path) -> Config:
    path = Path(path)
    try:
        raw = path.read_bytes() if path.stat().st_size <= MAX_CONFIG_BYTES else None
    except OSError as exc:
        raise ConfigError([f"{path}: cannot read: {exc.strerror or exc}"]) from None
    if raw is None:
        raise ConfigError([f"{path}: the file is larger than {MAX_CONFIG_BYTES // 1024} KiB; refused"])
    cached = cache.lookup(path, raw)
    if cached is not None:
        return cached
    config = loads(raw, path)
    cache.remember(path, raw, config)
    return config


def loads(raw: bytes | str, path: str | Path = "sources.yaml") -> Config:
    path = Path(path)
    text = _decode(raw, path)
    document, lines = _parse_yaml(text, path)
    return _Validator(path, lines).config(document)


def _decode(raw: bytes | str, path: Path) -> str:
    if isinstance(raw, str):
        return raw
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError([f"{path}:{line}: the file is not valid UTF-8 (byte {raw[exc.start]:#04x})"]) from None


# -- YAML with line numbers -------------------------------------------------------------------------


def _parse_yaml(text: str, path: Path) -> tuple[Any, dict[tuple, int]]:
    # libyaml's parser (when built in) is ~10x faster on a 10 000-source file; same nodes and marks.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise ConfigError([f"{path}:1: the file is empty; it needs at least a `sources:` list"])
        lines: dict[tuple, int] = {}
        _index_lines(node, (), lines, [0], path)
        document = loader.construct_document(node)
    except (yaml.YAMLError, RecursionError) as exc:
        _refuse_deep_nesting(text, path)  # our own message first, whatever the parser's wording
        _refuse_parse_error(exc, text, path)
    finally:
        loader.dispose()
    return document, lines


def _refuse_deep_nesting(text: str, path: Path) -> None:
    """Raise the project's "nests too deeply" refusal if the document nests deeper than MAX_YAML_DEPTH.

    Runs only after a parse failed: it walks the pure-Python parser's events (iterative, no depth limit of its
    own) up to where the document breaks, so it answers the same however the installed PyYAML or libyaml
    words (or raises) its own limit. libyaml cannot be used here: its scanner looks ahead over every opening
    bracket and stops at its own limit before yielding a single event.
    """
    depth = 0
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    _too_deep(path, event.start_mark.line + 1)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except (yaml.YAMLError, RecursionError):
        return


def _too_deep(path: Path, line: int) -> NoReturn:
    raise ConfigError([f"{path}:{line}: the YAML nests too deeply (more than {MAX_YAML_DEPTH} levels)"])


def _refuse_parse_error(exc: BaseException, text: str, path: Path) -> NoReturn:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark and exc.context_mark and mark.line >= len(text.splitlines()):
            mark = exc.context_mark  # "unexpected end of stream": where the unclosed thing began helps more
        line = mark.line + 1 if mark else 1
        reason = " ".join(str(p) for p in (exc.context, exc.problem) if p)
        offending = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
        if "\t" in reason or "'\\t'" in reason or "\t" in offending[: len(offending) - len(offending.lstrip())]:
            reason += " (YAML does not allow tabs for indentation; use spaces)"
        raise ConfigError([f"{path}:{line}: YAML syntax error: {reason}"]) from None
    if isinstance(exc, yaml.reader.ReaderError):  # a character YAML does not allow (control characters, ...)
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise ConfigError([f"{path}:{line}: character U+{code:04X} is not allowed in YAML ({exc.reason})"]) from None
    if isinstance(exc, RecursionError):
        _too_deep(path, 1)
    raise ConfigError([f"{path}:1: YAML error: {exc}"]) from None


def _index_lines(node: yaml.Node, at: tuple, lines: dict[tuple, int], count: list[int], path: Path) -> None:
    """Record the line of every mapping key and sequence item; refuse duplicate keys and alias bombs."""
    count[0] += 1
    if count[0] > MAX_YAML_NODES:
        raise ConfigError([f"{path}:{node.start_mark.line + 1}: the YAML expands to more than "
                           f"{MAX_YAML_NODES} nodes (an alias bomb?); refused"])
    if len(at) > MAX_YAML_DEPTH:  # parsed fine, but deeper than any sources.yaml: same refusal
        _too_deep(path, node.start_mark.line + 1)
    lines.setdefault(at, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
            line = key_node.start_mark.line + 1
            if key in seen and key != "<<":
                raise ConfigError([f"{path}:{line}: duplicate key {key!r} (first at line {seen[key]})"])
            seen[key] = line
            lines[at + (key,)] = line
            _index_lines(value_node, at + (key,), lines, count, path)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, at + (index,), lines, count, path)


# -- validation --------------------------------------------------------------------------------------


class _Validator:
    def __init__(self, path: Path, lines: dict[tuple, int]):
        self.path = path
        self.lines = lines
        self.problems: list[str] = []

    def fail(self, at: tuple, reason: str) -> None:
        line = next((self.lines[at[:n]] for n in range(len(at), -1, -1) if at[:n] in self.lines), 1)
        self.problems.append(f"{self.path}:{line}: {self._where(at)}{reason}")

    @staticmethod
    def _where(at: tuple) -> str:
        if not at:
            return ""
        parts = [f"[{p}]" if isinstance(p, int) else (str(p) if i == 0 else f".{p}") for i, p in enumerate(at)]
        return "".join(parts) + ": "

    def config(self, doc: Any) -> Config:
        if not isinstance(doc, dict):
            raise ConfigError([f"{self.path}:1: the top level must be a mapping with a `sources:` list"])
        for key in doc:
            if key not in _TOP_KEYS:
                self.fail((key,), f"unknown key {key!r}; allowed: {', '.join(sorted(_TOP_KEYS))}")
        defaults = self.defaults(doc.get("defaults"))
        politeness = self.politeness(doc.get("politeness"))
        user_agent = doc.get("user_agent", DEFAULT_USER_AGENT)
        if not isinstance(user_agent, str) or not user_agent.strip():
            self.fail(("user_agent",), "expected a non-empty text")
            user_agent = DEFAULT_USER_AGENT
        elif bad := _header_problem(user_agent):
            self.fail(("user_agent",), f"the user agent {bad}; it is sent as an HTTP header")
            user_agent = DEFAULT_USER_AGENT
        sources = self.sources(doc.get("sources"), defaults)
        config = Config(
            path=self.path,
            sources=tuple(sources),
            user_agent=user_agent,
            politeness=politeness,
            notify=tuple(self.notify(doc.get("notify"))),
            scheduler=self.scheduler(doc.get("scheduler"), defaults),
            publish=self.publish(doc.get("publish")),
            fetch=self.fetch(doc.get("fetch")),
            articles=tuple(self.articles(doc.get("articles"), doc.get("notify"))),
        )
        if self.problems:
            raise ConfigError(self.problems)
        return config

    def _mapping(self, value: Any, at: tuple, allowed: set[str]) -> dict:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(at, "expected a mapping of keys to values")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(at + (key,), f"unknown key {key!r}; allowed: {', '.join(sorted(allowed))}")
        return value

    def _value(self, at: tuple, value: Any, check, fallback: Any) -> Any:
        try:
            return check(value)
        except ValueError as exc:
            self.fail(at, str(exc))
            return fallback

    def _setting(self, section: str, raw: dict[str, Any], key: str, check, default: Any) -> Any:
        """`raw[key]` checked, or `default` (taken from the settings dataclass, the one place defaults
        live) when the file does not set it."""
        if key not in raw:
            return default
        return self._value((section, key), raw[key], check, default)

    def defaults(self, value: Any) -> dict[str, Any]:
        raw = self._mapping(value, ("defaults",), _DEFAULT_KEYS)
        base = SourceConfig(id="", type="", name="", jurisdiction="")  # the per-source defaults live there
        out: dict[str, Any] = {"interval": base.interval, "timeout": base.timeout, "max_bytes": base.max_bytes}
        for key, check in (("interval", _interval), ("timeout", _timeout),
                           ("max_bytes", _max_bytes), ("jitter", _fraction)):
            if key in raw:
                out[key] = self._value(("defaults", key), raw[key], check, out.get(key))
        return out

    def politeness(self, value: Any) -> Politeness:
        raw = self._mapping(value, ("politeness",), _POLITENESS_KEYS)
        base = Politeness()
        return Politeness(
            per_host_concurrency=self._setting("politeness", raw, "per_host_concurrency", _positive_int,
                                               base.per_host_concurrency),
            per_host_delay=self._setting("politeness", raw, "per_host_delay", _timeout_or_zero, base.per_host_delay),
            robots=self._setting("politeness", raw, "robots", _boolean, base.robots),
        )

    def sources(self, value: Any, defaults: dict[str, Any]) -> list[SourceConfig]:
        if value is None:
            self.fail(("sources",) if ("sources",) in self.lines else (), "a `sources:` list is required")
            return []
        if not isinstance(value, list):
            self.fail(("sources",), "expected a list of sources (each starting with `- id: ...`)")
            return []
        out: list[SourceConfig] = []
        first_line: dict[str, int] = {}
        for index, raw in enumerate(value):
            source = self.source(index, raw, defaults)
            if source is None:
                continue
            if source.id in first_line:
                self.fail(("sources", index, "id"),
                          f"duplicate id {source.id!r} (first used at line {first_line[source.id]})")
                continue
            first_line[source.id] = source.line
            out.append(source)
        return out

    def source(self, index: int, raw: Any, defaults: dict[str, Any]) -> SourceConfig | None:
        from kratom_tracker import extractors, regions

        at = ("sources", index)
        if not isinstance(raw, dict):
            self.fail(at, "each source must be a mapping (id, type, url, jurisdiction, ...)")
            return None
        before = len(self.problems)
        source_id = raw.get("id")
        if not isinstance(source_id, str) or not _ID.match(source_id):
            self.fail(at + ("id",), f"id must be lowercase letters, digits and dashes ([a-z0-9-]+); got {source_id!r}"
                      if "id" in raw else "missing required key `id`")
            source_id = f"#{index}"
        type_name = raw.get("type")
        if type_name not in extractors.known_types():
            self.fail(at + ("type",), f"unknown type {type_name!r}; known: {', '.join(extractors.known_types())}"
                      if "type" in raw else f"missing required key `type` (one of {', '.join(extractors.known_types())})")
            return None
        extractor = extractors.get(type_name)
        allowed = _COMMON_SOURCE_KEYS | set(extractor.options)
        for key in raw:
            if key not in allowed:
                self.fail(at + (key,), f"unknown key {key!r} for a {type_name} source; allowed: {', '.join(sorted(allowed))}")
        url = raw.get("url")
        if extractor.needs_url or url is not None:
            url = self._value(at + ("url",), url, _http_url, None) if "url" in raw or extractor.needs_url else None
        jurisdiction = raw.get("jurisdiction")
        if not isinstance(jurisdiction, str) or not regions.is_valid_code(jurisdiction):
            self.fail(at + ("jurisdiction",),
                      f"unknown jurisdiction {jurisdiction!r}; use an ISO 3166 code (US, US-FL), a locality "
                      "(US-FL/sarasota-county) or `international`" if "jurisdiction" in raw
                      else "missing required key `jurisdiction`")
        options: dict[str, Any] = {}
        for key, option in extractor.options.items():
            if key not in raw:
                if option.required:
                    self.fail(at, f"missing required key `{key}` for a {type_name} source" +
                              (f" ({option.help})" if option.help else ""))
                continue  # the `Options` dataclass holds the default
            value = self._value(at + (key,), raw[key], option.check or (lambda v: v), None)
            if option.path and isinstance(value, str):
                value = str(shipped.resolve_data_file(value, self.path.parent))
                if not Path(value).exists():
                    self.fail(at + (key,), f"file {raw[key]!r} does not exist (relative to {self.path.parent}/)")
            options[key] = value
        tags = raw.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            self.fail(at + ("tags",), "expected a list of words, e.g. [advisory, federal]")
            tags = []
        name = raw.get("name", source_id)
        if not isinstance(name, str):
            self.fail(at + ("name",), "expected a text")
        note = raw.get("note", "")
        if not isinstance(note, str):
            self.fail(at + ("note",), "expected a text")
        if len(self.problems) > before:
            return None
        return SourceConfig(
            id=source_id,
            type=type_name,
            name=name,
            jurisdiction=jurisdiction,
            url=url,
            interval=self._value(at + ("interval",), raw.get("interval", defaults["interval"]), _interval, 0),
            timeout=self._value(at + ("timeout",), raw.get("timeout", defaults["timeout"]), _timeout, 0),
            max_bytes=self._value(at + ("max_bytes",), raw.get("max_bytes", defaults["max_bytes"]), _max_bytes, 0),
            tags=tuple(tags),
            note=note,
            enabled=self._value(at + ("enabled",), raw.get("enabled", True), _boolean, True),
            options=extractor.make_options(options),
            line=self.lines.get(at, 0),
        )

    def notify(self, value: Any) -> list[NotifyTarget]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(("notify",), "expected a list of targets, each with an Apprise `url`")
            return []
        out = []
        for index, raw in enumerate(value):
            at = ("notify", index)
            if isinstance(raw, str):
                raw = {"url": raw}
            item = self._mapping(raw, at, {"url", "name", "regions", "kinds", "digest"})
            url = item.get("url")
            if not isinstance(url, str) or "://" not in url:
                self.fail(at + ("url",), "expected an Apprise URL such as mailto://user:pass@example.org "
                          "or json://127.0.0.1:8000/hook")
                continue
            if not _apprise_knows(url):
                scheme = url.split("://", 1)[0]
                self.fail(at + ("url",), f"unknown notification scheme {scheme[:40]!r}; see Apprise's list of "
                          "services (mailto://, json://, ntfy://, ...)")
                continue
            region_list = self.region_codes(_as_list(item.get("regions", [])), at + ("regions",))
            kind_list = _as_list(item.get("kinds", []))
            for kind in kind_list:
                known = [k.value for k in EventKind] + [k.value for k in NoticeKind]
                if kind not in known:
                    self.fail(at + ("kinds",), f"unknown kind {kind!r}; use {', '.join(known)}")
            digest = item.get("digest")
            if digest is not None and digest not in DIGEST_PERIODS:
                self.fail(at + ("digest",), f"unknown digest {digest!r}; use {' or '.join(DIGEST_PERIODS)} "
                          "(or leave it out for one message per change)")
                digest = None
            out.append(NotifyTarget(url=url, name=str(item.get("name") or display_name(url)),
                                    regions=tuple(map(str, region_list)), kinds=tuple(map(str, kind_list)),
                                    line=self.lines.get(at, 0), digest=digest))
        return out

    def articles(self, value: Any, notify: Any) -> list[ArticleConfig]:
        """`articles:` — each a URL or a file (`url:` or `path:`, or just the text), an optional `name`,
        `regions` (codes), `notify` (names of notify targets: the article's maintainers) and `interval`
        (how often the daemon reads it again to notice its edits)."""
        from kratom_tracker import regions

        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(("articles",), "expected a list of articles, each a `url:` or a `path:`")
            return []
        target_names = {str(t.get("name")) for t in notify if isinstance(t, dict) and t.get("name")} if isinstance(
            notify, list) else set()
        out: list[ArticleConfig] = []
        seen: set[str] = set()
        for index, raw in enumerate(value):
            at = ("articles", index)
            if isinstance(raw, str):
                raw = {"url": raw} if "://" in raw else {"path": raw}
            item = self._mapping(raw, at, {"url", "path", "name", "regions", "notify", "id", "interval"})
            url, path = item.get("url"), item.get("path")
            if (url is None) == (path is None):
                self.fail(at, "give exactly one of `url:` (http or https) or `path:` (a file)")
                continue
            if url is not None:
                url = self._value(at + ("url",), url, _http_url, None)
                if url is None:
                    continue
            else:
                if not isinstance(path, str) or not path.strip():
                    self.fail(at + ("path",), "expected a file path")
                    continue
                resolved = (self.path.parent / path).resolve()
                if not resolved.is_file():
                    self.fail(at + ("path",), f"no file {path!r} (paths are relative to {self.path.name})")
                    continue
                path = str(resolved)
            region_list = _as_list(item.get("regions", []))
            for region in region_list:
                if not isinstance(region, str) or not regions.is_valid_code(region):
                    self.fail(at + ("regions",), f"unknown region {region!r}; use codes such as US-FL")
            maintainers = _as_list(item.get("notify", []))
            for name in maintainers:
                if str(name) not in target_names:
                    self.fail(at + ("notify",), f"no notify target named {name!r}; name one under `notify:`")
            name = item.get("name") or url or Path(str(path)).stem
            ident = str(item.get("id") or re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")[:60] or f"a{index}")
            if ident in seen:
                self.fail(at, f"duplicate article id {ident!r}; give each an `id:`")
                continue
            seen.add(ident)
            interval = self._value(at + ("interval",), item.get("interval", DEFAULT_ARTICLE_INTERVAL), _interval,
                                   DEFAULT_ARTICLE_INTERVAL)
            out.append(ArticleConfig(id=ident, name=str(name), url=url, path=path if url is None else None,
                                     regions=tuple(str(r) for r in region_list), notify=tuple(map(str, maintainers)),
                                     interval=interval, line=self.lines.get(at, 0)))
        return out

    def scheduler(self, value: Any, defaults: dict[str, Any]) -> SchedulerSettings:
        raw = self._mapping(value, ("scheduler",), {"jitter", "failure_threshold", "stale_factor", "publish_delay"})
        base = SchedulerSettings(jitter=defaults.get("jitter"))
        return SchedulerSettings(
            jitter=self._setting("scheduler", raw, "jitter", _optional_fraction, base.jitter),
            failure_threshold=self._setting("scheduler", raw, "failure_threshold", _positive_int,
                                            base.failure_threshold),
            stale_factor=self._setting("scheduler", raw, "stale_factor", _positive_number, base.stale_factor),
            publish_delay=self._setting("scheduler", raw, "publish_delay", _timeout_or_zero, base.publish_delay),
        )

    def publish(self, value: Any) -> PublishSettings:
        raw = self._mapping(value, ("publish",), {"max_entries", "base_url", "title", "regions"})
        base = PublishSettings()
        return PublishSettings(
            regions=self.feed_regions(raw.get("regions")),
            max_entries=self._setting("publish", raw, "max_entries", _positive_int, base.max_entries),
            base_url=self._setting("publish", raw, "base_url", _http_url, base.base_url).rstrip("/"),
            title=self._setting("publish", raw, "title", checks.text, base.title),
        )

    def feed_regions(self, value: Any) -> tuple[str, ...]:
        """`publish: regions:` — the region feeds written even before they have events."""
        if value is None:
            return ()
        if not isinstance(value, list):
            self.fail(("publish", "regions"), "expected a list of regions, e.g. [US-FL, 'Tampa, Florida']")
            return ()
        return tuple(self.region_codes(value, ("publish", "regions")))

    def region_codes(self, values: list, at: tuple) -> list[str]:
        """Codes or names (`US-FL`, `Tampa, Florida`), each resolved to its code; an unknown or ambiguous
        one is refused with the close names or the candidates."""
        from kratom_tracker import regions

        codes: list[str] = []
        for text in values:
            if not isinstance(text, str):
                self.fail(at, f"unknown region {text!r}; use codes such as US-FL or names such as 'Tampa, Florida'")
                continue
            try:
                code = regions.lookup(text).code
            except regions.UnknownRegion as exc:
                self.fail(at, str(exc))
                continue
            if code not in codes:
                codes.append(code)
        return codes

    def fetch(self, value: Any) -> FetchSettings:
        raw = self._mapping(value, ("fetch",), {"workers", "retries", "max_retry_wait"})
        base = FetchSettings()
        return FetchSettings(
            workers=self._setting("fetch", raw, "workers", _bounded_int(1, WORKERS_MAX), base.workers),
            retries=self._setting("fetch", raw, "retries", _bounded_int(0, RETRIES_MAX), base.retries),
            max_retry_wait=self._setting("fetch", raw, "max_retry_wait", _timeout_or_zero, base.max_retry_wait),
        )


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _http_url(value: Any) -> str:
    """An http(s) URL the fetcher can request as written: a host (an IDN is fine: it is sent as
    punycode), a port in range, no whitespace, control characters or markup characters (a URL is
    printed into feeds and pages)."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected an http(s) URL")
    text = value.strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL")
    bad = next((c for c in text if c.isspace() or ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 or c in '<>"`\\{}|^'),
               None)
    if bad is not None:
        raise ValueError(f"{value!r} is not a usable URL: character U+{ord(bad):04X} must be percent-encoded")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} is not a usable URL: its port is not a number from 1 to 65535") from None
    if port == 0:
        raise ValueError(f"{value!r} is not a usable URL: its port is not a number from 1 to 65535")
    try:
        host = parts.hostname.encode("idna") if not parts.hostname.isascii() else parts.hostname.encode()
    except UnicodeError:
        raise ValueError(f"{value!r} is not a usable URL: its host name is not a valid domain name") from None
    if len(host) > 253 or any(len(label) > 63 for label in host.split(b".")) or b"" in host.split(b".")[:-1]:
        raise ValueError(f"{value!r} is not a usable URL: its host name is not a valid domain name")
    return text


def _header_problem(value: str) -> str:
    """Why `value` cannot be an HTTP header value ("" if it can): a line break would inject a header."""
    bad = next((c for c in value if ord(c) < 0x20 or ord(c) == 0x7F), None)
    if bad is not None:
        return f"contains the control character U+{ord(bad):04X}"
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return "contains characters outside Latin-1"
    if len(value) > 512:
        return "is longer than 512 characters"
    return ""


def _apprise_knows(url: str) -> bool:
    """Whether Apprise has a service for the URL's scheme (an unknown one would fail at every send).
    Only the scheme: the rest of a URL is the service's to judge when it sends (and may hold secrets)."""
    scheme = url.split("://", 1)[0].lower()
    if scheme in ("http", "https"):
        return True  # a service's own web address (a Discord or Slack webhook): Apprise matches those itself
    try:
        from apprise.manager_plugins import NotificationManager

        return scheme in NotificationManager().schemas()
    except Exception:  # noqa: BLE001 - an Apprise without that API: let the notifier judge the URL
        return True


def _bounded_duration(low: float, high: float, what: str):
    def check(value: Any) -> float:
        seconds = parse_duration(value)
        if seconds <= 0 and low > 0:
            raise ValueError("must be longer than 0s")
        if seconds < low:
            raise ValueError(f"{what} must be at least {format_duration(low)}; got {seconds:g}s")
        if seconds > high:
            raise ValueError(f"{what} must be at most {format_duration(high)}; got {seconds:g}s")
        return seconds

    return check


_interval = _bounded_duration(INTERVAL_MIN, INTERVAL_MAX, "an interval")
_timeout = _bounded_duration(0.001, TIMEOUT_MAX, "a timeout")
_timeout_or_zero = _bounded_duration(0.0, TIMEOUT_MAX, "a delay")


def _max_bytes(value: Any) -> int:
    size = parse_size(value)
    if not MAX_BYTES_MIN <= size <= MAX_BYTES_MAX:
        raise ValueError(f"max_bytes must be from {MAX_BYTES_MIN} bytes to {MAX_BYTES_MAX // 1024**3} GiB; "
                         f"got {size}")
    return size


def _bounded_int(low: int, high: int):
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"expected a whole number of at least {low} and at most {high}; got {value!r}")
        return value

    return check


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"expected a whole number of at least 1; got {value!r}")
    return value


def _positive_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ValueError(f"expected a number above 0; got {value!r}")
    return float(value)


def _fraction(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"expected a fraction from 0 to 1 (of the interval); got {value!r}")
    return float(value)


def _optional_fraction(value: Any) -> float | None:
    return None if value is None else _fraction(value)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false; got {value!r}")
    return value
