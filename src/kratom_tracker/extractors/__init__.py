"""Extractors turn one fetched document into an Extraction. One module per source type; each declares
its `type_name`, the sources.yaml keys it accepts (`options`) and an `extract` method.

To add a source type: write `extractors/<name>.py` with a subclass of `Extractor` that sets `type_name`.
Declaring the class registers it (`__init_subclass__`); every module of this package whose name does not
start with `_` is discovered, so there is no second list. Config validation, `sources check`, `sources
types`, collect and `sources test` pick it up."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import MISSING, Field, dataclass, field, fields
from typing import TYPE_CHECKING, Any, ClassVar

from kratom_tracker.values import Extraction, normalized, sha256_hex
from kratom_tracker.vocab import Outcome

if TYPE_CHECKING:
    from kratom_tracker.config.model import SourceConfig
    from kratom_tracker.values import Response


@dataclass(frozen=True)
class Option:
    """A type-specific sources.yaml key, as the validator and `sources types` see it (derived from the
    type's `Options` dataclass). `check` turns the raw YAML value into the stored value or raises
    ValueError with a reason a person can act on."""

    required: bool = False
    default: Any = None
    check: Callable[[Any], Any] | None = None
    help: str = ""
    path: bool = False  # a file path, resolved relative to the sources.yaml directory


def option(default: Any = MISSING, *, check: Callable[[Any], Any] | None = None, help: str = "",
           path: bool = False) -> Any:
    """A field of an extractor's `Options` dataclass: its default (none: the key is required), how to
    check the YAML value, and the help shown by `sources check` and `sources types`."""
    meta = {"check": check, "help": help, "path": path}
    return field(default=default, metadata=meta) if default is not MISSING else field(metadata=meta)


@dataclass(frozen=True)
class NoOptions:
    """The options of a source type that takes none beyond the common keys."""


def _schema_entry(spec: Field) -> Option:
    return Option(required=spec.default is MISSING, default=None if spec.default is MISSING else spec.default,
                  check=spec.metadata.get("check"), help=spec.metadata.get("help", ""),
                  path=spec.metadata.get("path", False))


class Extractor:
    """Subclass with a `type_name` to add a source type; the subclass registers itself."""

    type_name: ClassVar[str] = ""
    needs_url: ClassVar[bool] = True
    # The type's own sources.yaml keys, typed: a frozen dataclass whose fields are made with `option()`.
    # A source's `options` is an instance of it (`source.options.select`); defaults live only here.
    Options: ClassVar[type] = NoOptions
    help: ClassVar[str] = ""
    # Raise it when the type's code reads the same bytes differently (existing sources then start again
    # from their next document instead of reporting the difference as a change).
    extraction_version: ClassVar[int] = 1

    @property
    def options(self) -> dict[str, Option]:
        """The schema of `Options`, key by key (what the validator checks and `sources types` prints)."""
        return {spec.name: _schema_entry(spec) for spec in fields(self.Options)}

    def make_options(self, values: dict[str, Any]) -> Any:
        """The typed options from validated values (keys the file leaves out take the field defaults)."""
        return self.Options(**values)

    def request_url(self, source: SourceConfig) -> str:
        """The URL to fetch; an API extractor builds it from its options."""
        assert source.url is not None
        return source.url

    def request_headers(self, source: SourceConfig) -> dict[str, str]:
        """Extra request headers (an API key from the environment, an Accept header)."""
        return {}

    def secrets(self, source: SourceConfig) -> tuple[str, ...]:
        """Values that must never be recorded: removed from every error text of this source's runs."""
        return ()

    def local_document(self, source: SourceConfig) -> Response | None:
        """A source that reads a local file instead of fetching returns it here."""
        return None

    def extract(self, source: SourceConfig, response: Response) -> Extraction:
        raise NotImplementedError

    def settings_fingerprint(self, source: SourceConfig) -> str:
        """Options that change what is extracted from the same bytes."""
        return repr(sorted((spec.name, repr(getattr(source.options, spec.name))) for spec in fields(source.options)))

    def settings_sha(self, source: SourceConfig) -> str:
        """Everything that decides what a document reads as: the type and its extraction version, the URL,
        the options. Part of the skip-unchanged hash, and kept with each snapshot: when it differs, the
        next document is a new starting point (`reconfigured`), not a change."""
        return sha256_hex("\x1f".join([source.type, str(self.extraction_version), source.url or "",
                                        self.settings_fingerprint(source)]))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.type_name:  # an abstract helper base without a type name is not a source type
            if cls.type_name in _REGISTRY and type(_REGISTRY[cls.type_name]).__qualname__ != cls.__qualname__:
                raise TypeError(f"source type {cls.type_name!r} is declared twice")
            _REGISTRY[cls.type_name] = cls()


_REGISTRY: dict[str, Extractor] = {}
_loaded = False


def _load_all() -> None:
    """Import every extractor module of this package once (a module per source type, `_*` are helpers)."""
    global _loaded
    if _loaded:
        return
    for module in pkgutil.iter_modules(__path__):
        if not module.name.startswith("_"):
            importlib.import_module(f"{__name__}.{module.name}")
    _loaded = True


def get(type_name: str) -> Extractor:
    _load_all()
    return _REGISTRY[type_name]


def known_types() -> list[str]:
    _load_all()
    return sorted(_REGISTRY)


def run(source: SourceConfig, response: Response) -> Extraction:
    """Run the source's extractor; a crash on hostile input is a parse-error outcome, never a traceback.
    Its text comes back normalised (`values.normalized`): what looks the same is stored the same."""
    try:
        return normalized(get(source.type).extract(source, response))
    except RecursionError:
        return Extraction(outcome=Outcome.PARSE_ERROR, error="document nests too deeply")
    except Exception as exc:  # noqa: BLE001 - any extractor bug on a hostile page must not stop the pass
        return Extraction(outcome=Outcome.PARSE_ERROR, error=f"{type(exc).__name__}: {exc}"[:300])
