"""Field access for venue payloads: every failure names the venue and the field's path."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, Final, TypeVar

from serenity.errors import DataError

V = TypeVar("V")

MAX_TIME_NS: Final = 4_102_444_800 * 1_000_000_000
"""2100-01-01T00:00:00Z in ns: venue times at or after it are refused as implausible (and
could not be journalled as 64-bit ns for long after)."""


def as_mapping(venue: str, where: str, value: Any) -> Mapping[str, Any]:
    """Return ``value`` if it is a JSON object, else raise DataError naming ``where``."""
    if not isinstance(value, Mapping):
        raise DataError(f"{venue}: {where} must be a JSON object, was {_short(value)}")
    return value


def as_list(venue: str, where: str, value: Any) -> list[Any]:
    """Return ``value`` if it is a JSON array, else raise DataError naming ``where``."""
    if not isinstance(value, list):
        raise DataError(f"{venue}: {where} must be a JSON array, was {_short(value)}")
    return value


def get(venue: str, where: str, obj: Mapping[str, Any], key: str) -> Any:
    """Return ``obj[key]``; a missing or null field is a DataError naming ``where.key``."""
    value = obj.get(key)
    if value is None:
        raise DataError(f"{venue}: {where}.{key} is missing")
    return value


def text(venue: str, where: str, obj: Mapping[str, Any], key: str) -> str:
    """Return the non-empty string ``obj[key]``."""
    value = get(venue, where, obj, key)
    if not isinstance(value, str) or not value.strip():
        raise DataError(f"{venue}: {where}.{key} must be a non-empty string, was {_short(value)}")
    return value.strip()


def integer(venue: str, where: str, obj: Mapping[str, Any], key: str) -> int:
    """Return the integer ``obj[key]`` (an integral JSON number or numeric string)."""
    value = get(venue, where, obj, key)
    number = to_decimal(venue, f"{where}.{key}", value)
    if number != number.to_integral_value():
        raise DataError(f"{venue}: {where}.{key} must be an integer, was {_short(value)}")
    return int(number)


def decimal(venue: str, where: str, obj: Mapping[str, Any], key: str) -> Decimal:
    """Return ``obj[key]`` (a JSON number or numeric string) as an exact Decimal."""
    return to_decimal(venue, f"{where}.{key}", get(venue, where, obj, key))


def optional_decimal(venue: str, where: str, obj: Mapping[str, Any], key: str) -> Decimal | None:
    """Return ``obj[key]`` as a Decimal, or None when it is absent, null or empty."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    return to_decimal(venue, f"{where}.{key}", value)


def to_decimal(venue: str, where: str, value: Any) -> Decimal:
    """Return a JSON number or numeric string as a Decimal (floats via their shortest repr)."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise DataError(f"{venue}: {where} must be a number, was {_short(value)}")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise DataError(f"{venue}: {where} must be a number, was {_short(value)}") from None
    if not number.is_finite():
        raise DataError(f"{venue}: {where} must be finite, was {_short(value)}")
    return number


def spelling(venue: str, where: str, table: Mapping[str, V], raw: Any) -> V:
    """Return ``table[raw]``: the domain value for a venue's spelling of it."""
    try:
        return table[raw]
    except (KeyError, TypeError):
        raise DataError(
            f"{venue}: unknown {where} {_short(raw)}, expected one of {sorted(table)}"
        ) from None


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
