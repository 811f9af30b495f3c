"""Notification URLs hold secrets (bot tokens, passwords, API keys): how a target is shown without them,
and how an error text that quotes its URL is cleaned. Used by the config (a target's display name) and by
notify (errors, logs); nothing here may ever return a secret part of a URL."""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlsplit

MIN_SECRET_CHARS = 4  # shorter URL parts (ports, flags) are not secrets; masking them would garble errors


_URL_DELIMITERS = re.compile(r"[/:@#,;\s]+")


_SECRET_KEY = re.compile(r"(?i)pass|secret|token|key|auth|sig")


@lru_cache(maxsize=256)
def display_name(url: str) -> str:
    """How a target without `name:` is shown: Apprise's privacy rendering (tokens and passwords masked)
    cut to scheme, account and host. Path and query are dropped because Apprise shows some secrets there
    as they are (a Pushover group key, `?-token=` GET arguments, headers). A URL Apprise cannot read is
    shown by its scheme alone."""
    scheme = url.partition("://")[0].strip().lower() or "notify"
    rendered = _privacy_url(url)
    try:
        parts = urlsplit(rendered) if rendered else None
    except ValueError:  # e.g. an unbalanced [ in the host
        parts = None
    if parts is None or not parts.scheme:
        return f"{scheme}://"
    shown = f"{parts.scheme}://{parts.netloc}"
    # Belt and braces: a password or query value must never survive, whatever the plugin renders.
    if any(secret in shown for secret in _must_hide(url)):
        return f"{scheme}://"
    return shown


def _privacy_url(url: str) -> str | None:
    import apprise

    keep_apprise_logs_private()
    try:
        plugin = apprise.Apprise.instantiate(url, asset=asset())
        return plugin.url(privacy=True) if plugin else None
    except Exception:  # a plugin that cannot render itself is shown by scheme
        return None


def _must_hide(url: str) -> list[str]:
    """The URL's password and the values of query arguments named like secrets (`pass=`, `token=`,
    `+X-Token=`, `apikey=`): secrets whatever the service."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return []
    query = parse_qsl(parts.query, keep_blank_values=True)
    values = [value for key, value in query if _SECRET_KEY.search(key)]
    return [v for v in [password or "", *values] if len(v) >= MIN_SECRET_CHARS]


def _secret_parts(url: str, shown: tuple[str, ...]) -> list[str]:
    public = {atom for name in shown for atom in _url_atoms(name)}
    secrets = {atom for atom in _url_atoms(url) if len(atom) >= MIN_SECRET_CHARS and atom not in public}
    secrets.add(url)
    # An error may quote a part as it was written, decoded or encoded.
    variants = {variant for s in secrets for variant in (s, unquote(s), quote(s, safe=""))}
    return sorted((v for v in variants if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)


def _url_atoms(url: str) -> list[str]:
    """The pieces of a URL after its scheme: user, password, host, port, path segments, query values
    (query keys such as `token` are vocabulary, not secrets)."""
    rest = url.partition("://")[2] if "://" in url else url
    rest, _, query = rest.partition("?")
    atoms = _URL_DELIMITERS.split(rest)
    for _, value in parse_qsl(query, keep_blank_values=True):
        atoms += _URL_DELIMITERS.split(value)
    return [atom for atom in atoms if atom]


def keep_apprise_logs_private() -> None:
    """Apprise logs tokens in some lines (a URL it cannot parse, HTTP errors at debug level). Its lines
    are read through `apprise.LogCapture` (a handler on its own logger) and redacted there; they must not
    also propagate to the application's handlers unredacted."""
    logging.getLogger("apprise").propagate = False


def asset() -> Any:
    import apprise

    # In memory: Apprise must not write state (e.g. a detected Telegram chat id) under the user's home.
    return apprise.AppriseAsset(storage_mode="memory", interpret_escapes=False)


def redact_url_parts(text: str, url: str, shown: tuple[str, ...]) -> str:
    """`text` (an error from a notifier or an HTTP library, which may quote the request URL) without any
    part of `url` that the names in `shown` do not already show."""
    for secret in _secret_parts(url, shown):
        text = text.replace(secret, "***")
    return text


def redact_values(text: str, secrets: tuple[str, ...] | list[str]) -> str:
    """`text` without any of `secrets` (API keys read from the environment), as written, URL-encoded or
    decoded: an HTTP library's error may quote the request URL, and the error is stored and shown."""
    variants = {v for s in secrets if len(s) >= MIN_SECRET_CHARS for v in (s, quote(s, safe=""), unquote(s))}
    for secret in sorted(variants, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
