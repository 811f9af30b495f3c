"""Extractors turn one fetched document into an Extraction. One module per source type; each declares
its `type_name`, the sources.yaml keys it accepts (`options`) and an `extract` method.

To add a source type: write `extractors/<name>.py` with a subclass of `Extractor` and add the module
name to `_MODULES` below. Config validation, `sources check`, collect and `sources test` pick it up."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from ..config import SourceConfig
    from ..models import Extraction, Response

# The one place where source types are registered.
_MODULES = ("page", "feed", "baseline", "wikipedia", "federal_register", "status_table")


@dataclass(frozen=True)
class Option:
    """A type-specific sources.yaml key. `check` turns the raw YAML value into the stored value or
    raises ValueError with a reason a person can act on."""

    required: bool = False
    default: Any = None
    check: Callable[[Any], Any] | None = None
    help: str = ""
    path: bool = False  # a file path, resolved relative to the sources.yaml directory


class Extractor:
    type_name: ClassVar[str] = ""
    needs_url: ClassVar[bool] = True
    options: ClassVar[dict[str, Option]] = {}
    help: ClassVar[str] = ""

    def request_url(self, source: SourceConfig) -> str:
        """The URL to fetch; an API extractor builds it from its options."""
        assert source.url is not None
        return source.url

    def local_document(self, source: SourceConfig) -> Response | None:
        """A source that reads a local file instead of fetching returns it here."""
        return None

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        raise NotImplementedError

    def settings_fingerprint(self, source: SourceConfig) -> str:
        """Options that change what is extracted from the same bytes; part of the skip-unchanged hash."""
        return repr(sorted((k, repr(v)) for k, v in source.options.items()))


_REGISTRY: dict[str, Extractor] = {}


def register(cls: type[Extractor]) -> type[Extractor]:
    _REGISTRY[cls.type_name] = cls()
    return cls


def _load_all() -> None:
    if len(_REGISTRY) < len(_MODULES):
        for name in _MODULES:
            importlib.import_module(f"{__name__}.{name}")


def get(type_name: str) -> Extractor:
    _load_all()
    return _REGISTRY[type_name]


def known_types() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)
