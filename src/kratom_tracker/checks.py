"""Value checks shared by the config loader and the extractors' option declarations. Each takes the
raw YAML value and returns the value to keep, or raises ValueError with a reason."""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11 keeps the regex parser here; the old name warns
    import re._parser as _sre_parse  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse as _sre_parse  # type: ignore[no-redef]

_MAX_REPEAT = _sre_parse.MAXREPEAT
_REPEATS = {_sre_parse.MAX_REPEAT, _sre_parse.MIN_REPEAT, getattr(_sre_parse, "POSSESSIVE_REPEAT", None)}


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty text")
    return value


def regex(value: Any) -> str:
    """A regular expression that compiles and cannot backtrack catastrophically (no nested unbounded
    repeats such as `(a+)+`): a scraped page must never be able to hang a run."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected a regular expression (text)")
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    if _has_nested_unbounded_repeat(_sre_parse.parse(value), inside_repeat=False):
        raise ValueError(
            f"regular expression {value!r} nests unbounded repeats (like (a+)+) and can take "
            "exponential time on some pages; rewrite it without the nested repeat"
        )
    return value


def regex_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected a list of regular expressions")
    return tuple(regex(v) for v in value)


def css_selector(value: Any) -> str:
    from cssselect import GenericTranslator, SelectorError

    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a CSS selector (text)")
    try:
        GenericTranslator().css_to_xpath(value)
    except SelectorError as exc:
        raise ValueError(f"invalid CSS selector {value!r}: {exc}") from None
    return value


def one_of(*allowed: str):
    def check(value: Any) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}; got {value!r}")
        return value

    return check


def _has_nested_unbounded_repeat(pattern: Any, inside_repeat: bool) -> bool:
    for op, arg in pattern:
        if op in _REPEATS and op is not None:
            _low, high, sub = arg
            unbounded = high == _MAX_REPEAT or high > 1000
            if unbounded and inside_repeat and _can_match_variable(sub):
                return True
            children = [(sub, inside_repeat or unbounded)]
        elif op is _sre_parse.SUBPATTERN:
            children = [(arg[-1], inside_repeat)]
        elif op is _sre_parse.BRANCH:
            children = [(branch, inside_repeat) for branch in arg[1]]
        elif op in (_sre_parse.ASSERT, _sre_parse.ASSERT_NOT):
            children = [(arg[1], inside_repeat)]
        else:
            children = []
        if any(_has_nested_unbounded_repeat(child, nested) for child, nested in children):
            return True
    return False


def _can_match_variable(sub: Any) -> bool:
    return bool(list(sub))
