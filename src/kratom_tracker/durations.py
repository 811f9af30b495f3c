"""Durations ("6h", "1h30m", "0s") and sizes ("10MB") as written in sources.yaml."""

from __future__ import annotations

import math
import re

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb|kib|mib|gib)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}


def parse_duration(value: object) -> float:
    """Seconds from '30s', '6h', '1h30m' or a bare number of seconds. Raises ValueError."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 10m, 6h or 1d")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not a duration; use a finite number with a unit (e.g. 6h)")
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if not isinstance(value, str):
        raise ValueError("expected a duration such as 30s, 10m, 6h or 1d")
    text = value.strip().lower()
    pos, total = 0, 0.0
    for match in _DURATION_PART.finditer(text):
        if text[pos : match.start()].strip():
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos == 0 or text[pos:].strip() or not math.isfinite(total):
        raise ValueError(f"{value!r} is not a duration; use a number with a unit s, m, h or d (e.g. 6h)")
    return total


def parse_size(value: object) -> int:
    """Bytes from '10MB', '512KiB' or a bare integer."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as 10MB")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError("a size must be positive")
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size; use e.g. 10MB or 512KiB")
    size = int(float(match.group(1)) * _SIZE_UNITS[(match.group(2) or "b").lower()])
    if size <= 0:
        raise ValueError("a size must be positive")
    return size


def format_duration(seconds: float) -> str:
    for unit, length in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= length and seconds % length == 0:
            return f"{int(seconds // length)}{unit}"
    return f"{seconds:g}s"
