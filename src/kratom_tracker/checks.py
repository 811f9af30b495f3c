"""Value checks shared by the config loader and the extractors' option declarations. Each takes the
raw YAML value and returns the value to keep, or raises ValueError with a reason."""

from __future__ import annotations

import re
from functools import lru_cache
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
    repeats such as `(a+)+`): a scraped page must never be able to hang a run. It is also one RE2 can
    run (`pattern`): matching then takes linear time whatever the pattern and the page, so a pattern
    this check lets through cannot hang a run either."""
    if not isinstance(value, str) or not value:
        raise ValueError("expected a regular expression (text)")
    return _safe_regex(value)


# Lines a pattern that drops "every line" matches; one that matches all of them (or the empty text)
# would leave a page with nothing to compare, so every later edit would go unseen.
_PROBE_LINES = ("Kratom", "the sale of kratom is prohibited", "2026-01-01", "§ 5.", "—", "Ж", "x", " ")


def ignore_regex_list(value: Any) -> tuple[str, ...]:
    """`regex_list` for patterns whose matches are dropped: one that matches every line is refused."""
    patterns = regex_list(value)
    for text in patterns:
        compiled = pattern(text)
        if all(compiled.search(line) for line in _PROBE_LINES):
            raise ValueError(f"regular expression {text!r} matches every line (any text at all); nothing "
                             "would be left to compare")
    return patterns


# The one lookaround RE2 is given in another form: "drop every line that does not start with A", written
# `^(?!(?:A)).*$` (with optional leading flags), as the shipped sources.yaml does to keep only the lines
# about kratom. It is run as "A does not match at the start", which RE2 can do in linear time.
_KEEP_ONLY = re.compile(r"^(\(\?[aiLmsux]+\))?\^\(\?!(.+)\)\.\*\$$", re.DOTALL)


class _Unless:
    """A compiled `^(?!(?:A)).*$`: `search` is truthy exactly when `A` does not match at the start."""

    def __init__(self, start: Any) -> None:
        self._start = start

    def search(self, text: str) -> bool | None:
        return True if self._start.search(text) is None else None


@lru_cache(maxsize=1024)
def pattern(value: str) -> Any:
    """A user's pattern compiled with RE2 (linear-time matching, no backtracking; `search` is all the
    callers use); raises ValueError for a pattern RE2 cannot run (backreferences, lookaround other
    than the keep-only form above), which `regex` refuses in the first place."""
    import re2

    options = re2.Options()
    options.log_errors = False  # its own error log would print to stderr; the reason is raised instead
    keep_only = _KEEP_ONLY.match(value)
    if keep_only:
        with_flags = (keep_only.group(1) or "") + "^(?:" + keep_only.group(2) + ")"
        try:
            return _Unless(re2.compile(with_flags, options))
        except re2.error:
            pass  # not that form after all (unbalanced): the general refusal below says why
    try:
        return re2.compile(value, options)
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        raise ValueError(f"regular expression {value!r} uses a feature the linear-time engine (RE2) cannot run "
                         f"({reason}); backreferences and lookarounds are not supported") from None


@lru_cache(maxsize=1024)  # a 10 000-source file repeats the same few patterns
def _safe_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"invalid regular expression {value!r}: {exc}") from None
    pattern(value)
    if _has_nested_unbounded_repeat(_sre_parse.parse(value), inside_repeat=False):
        raise ValueError(
            f"regular expression {value!r} nests unbounded repeats (like (a+)+, alternatives that can "
            "start alike inside a repeat like (a|ab)*, or a large bounded repeat around one like (.*a){20}) "
            "and can take exponential time on some pages; rewrite it without the nested repeat"
        )
    return value


def regex_list(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        raise ValueError("expected a list of regular expressions")
    return tuple(regex(v) for v in value)


def css_selector(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a CSS selector (text)")
    return _valid_selector(value)


@lru_cache(maxsize=1024)
def _valid_selector(value: str) -> str:
    from cssselect import GenericTranslator, SelectorError

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
            if high >= _MANY and not unbounded and _contains_unbounded_repeat(sub):
                return True  # (.*a){20}: twenty nested choices of where each .* stops
            children = [(sub, inside_repeat or unbounded)]
        elif op is _sre_parse.SUBPATTERN:
            children = [(arg[-1], inside_repeat)]
        elif op is _sre_parse.BRANCH:
            if inside_repeat and _branches_overlap(arg[1]):
                return True  # (a|a)*, (\w|\d)+: each character can be taken by two branches
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


_MANY = 10  # a bounded repeat this large around an unbounded one backtracks like a nested repeat
# Characters standing in for "any character" when comparing where alternatives can start.
_SAMPLE = [chr(c) for c in range(1, 128)] + ["é", "ß", "ж", "中", "\u00a0", "\u2028"]


def _contains_unbounded_repeat(pattern: Any) -> bool:
    for op, arg in pattern:
        if op in _REPEATS and op is not None:
            if arg[1] == _MAX_REPEAT or arg[1] > 1000 or _contains_unbounded_repeat(arg[2]):
                return True
        elif ((op is _sre_parse.SUBPATTERN and _contains_unbounded_repeat(arg[-1]))
              or (op is _sre_parse.BRANCH and any(_contains_unbounded_repeat(b) for b in arg[1]))):
            return True
    return False


def _branches_overlap(branches: list[Any]) -> bool:
    """True when two alternatives can start with the same character (or one can match nothing)."""
    seen: set[str] = set()
    for branch in branches:
        first = _first_chars(branch)
        if first is None or first & seen:
            return True
        seen |= first
    return False


def _first_chars(pattern: Any) -> set[str] | None:
    """The sample characters a match of `pattern` can start with; None when it can match nothing
    (or when it is too hard to tell, which counts the same: refuse rather than hang)."""
    for op, arg in pattern:
        if op is _sre_parse.AT:
            continue  # anchors take no character
        if op is _sre_parse.SUBPATTERN:
            return _first_chars(arg[-1])
        if op is _sre_parse.BRANCH:
            sets = [_first_chars(b) for b in arg[1]]
            return None if any(s is None for s in sets) else set().union(*sets)
        if op in _REPEATS and op is not None:
            return _first_chars(arg[2]) if arg[0] > 0 else None
        return {c for c in _SAMPLE if _matches_one(op, arg, c)}
    return None


def _matches_one(op: Any, arg: Any, char: str) -> bool:
    if op is _sre_parse.LITERAL:
        return ord(char) == arg
    if op is _sre_parse.NOT_LITERAL:
        return ord(char) != arg
    if op is _sre_parse.ANY:
        return char != "\n"
    if op is _sre_parse.CATEGORY:
        return _in_category(arg, char)
    if op is _sre_parse.IN:
        negate = bool(arg) and arg[0][0] is _sre_parse.NEGATE
        hit = any(_matches_one(o, a, char) for o, a in (arg[1:] if negate else arg))
        return hit != negate
    if op is _sre_parse.RANGE:
        return arg[0] <= ord(char) <= arg[1]
    return True  # anything else (backreference, lookaround): assume it can


def _in_category(category: Any, char: str) -> bool:
    name = str(category).upper()
    if "DIGIT" in name:
        hit = char.isdigit()
    elif "SPACE" in name:
        hit = char.isspace()
    elif "WORD" in name:
        hit = char.isalnum() or char == "_"
    else:
        return True
    return hit != ("NOT" in name)
