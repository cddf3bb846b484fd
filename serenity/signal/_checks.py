"""Argument checks shared by the bar builders, the streaming indicators and their NumPy twins."""

from __future__ import annotations

from serenity.errors import InvalidValueError


def check_period(value: object, what: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int >= ``minimum``.

    Raises
    ------
    InvalidValueError
        Naming ``what`` and the bad value.
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidValueError(f"{what} must be an int >= {minimum}, was {value!r}")
    return value


def check_number(value: object, what: str) -> float:
    """Return ``value`` as a float if it is a finite real number.

    Raises
    ------
    InvalidValueError
        Naming ``what`` and the bad value.
    """
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise InvalidValueError(f"{what} must be a finite number, was {value!r}")
    if value in (float("inf"), float("-inf")):
        raise InvalidValueError(f"{what} must be a finite number, was {value!r}")
    return float(value)


def check_macd_spans(fast: object, slow: object, signal: object) -> None:
    """Check the MACD spans: ints with ``2 <= fast <= slow`` and ``signal >= 1``.

    TA-Lib swaps a ``fast`` above ``slow``; Serenity refuses it instead.

    Raises
    ------
    InvalidValueError
        Naming the bad span and its value.
    """
    f = check_period(fast, "fast", 2)
    s = check_period(slow, "slow", 2)
    check_period(signal, "signal", 1)
    if f > s:
        raise InvalidValueError(f"fast must be <= slow, was fast={fast!r} slow={slow!r}")
