"""API keys for the API source types (legislation, json/regulations.gov): read from an environment
variable the source names (`key_env`), at request time, never from sources.yaml, never stored.

A source whose variable is not set is not fetched: its run is a `missing-key` outcome (recorded for the
operator, no event). The key is sent in a header when the API accepts one (it never appears in a URL,
so no error text or log line can quote it); the pipeline also removes the key's value from any error
text it records (`Extractor.secrets`), for APIs that only take it in the query (LegiScan)."""

from __future__ import annotations

import os
import re
from typing import Any

from kratom_tracker.values import Response
from kratom_tracker.vocab import Outcome

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def env_name(value: Any) -> str:
    """A `key_env` value: the NAME of an environment variable (the key itself never goes in the file)."""
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise ValueError("expected the name of an environment variable (letters, digits, _), e.g. "
                         "OPENSTATES_API_KEY; the key itself goes in the environment, never in sources.yaml")
    return value


def api_key(name: str | None) -> str:
    """The key in environment variable `name` ('' when unset or no variable is named)."""
    return os.environ.get(name, "").strip() if name else ""


def missing_key(url: str, name: str) -> Response:
    return Response(url=url, outcome=Outcome.MISSING_KEY,
                    error=f"environment variable {name} is not set; this API needs a key (not fetched)")
