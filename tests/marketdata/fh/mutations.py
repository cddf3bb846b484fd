"""A seeded mutator: hostile variants of a venue's valid frames, for the feedhandler fuzz tests.

:func:`mutate` turns one valid message (parsed JSON) into garbage of one of :data:`KINDS`:
truncated JSON, a wrong type or a missing field at one of the message's ``fields``, huge and
negative numbers and NaN strings in its ``numbers``, an unknown message type, binary garbage
or deep nesting. Each result says whether it is certainly malformed (no handler may accept
it) or only suspect (huge or negative numbers, which a handler refuses as implausible or
drops as stale, depending on where they land).
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

Path = tuple[str | int, ...]

KINDS = (
    "truncated",
    "wrong_type",
    "missing_field",
    "huge_number",
    "negative_number",
    "nan_string",
    "unknown_type",
    "binary",
    "deep_nesting",
)
MALFORMED = frozenset(KINDS) - {"huge_number", "negative_number"}
"""Kinds whose frames no handler may accept."""

HUGE: tuple[Any, ...] = (
    2**63 - 1,
    2**64 - 1,
    2**62,
    10**30,  # beyond 64 bits: orjson reads it as a float
    1e308,
    -1e308,
)
WRONG: tuple[Any, ...] = ([], {}, True, None, "x", [[1, 2]], {"a": 1}, 1.5)
NAN = ("NaN", "nan", "Infinity", "-inf", "1e400")


@dataclass(frozen=True, slots=True)
class Garbage:
    """One hostile frame and what went into it."""

    kind: str
    frame: str | bytes
    malformed: bool


def mutate(
    rng: random.Random,
    msg: dict[str, Any],
    *,
    fields: Sequence[Path],
    numbers: Sequence[Path],
    type_field: Path,
) -> Garbage:
    """Return a hostile variant of ``msg`` (left unchanged).

    Parameters
    ----------
    rng
        The seeded random source.
    msg
        A valid message.
    fields
        Paths of the fields a handler needs (for wrong types and missing fields).
    numbers
        Paths of its numeric fields, numbers or decimal strings (for huge, negative, NaN).
    type_field
        The path of the field naming the message's type or channel.
    """
    kind = rng.choice(KINDS)
    text = json.dumps(msg)
    out = copy.deepcopy(msg)
    if kind == "truncated":
        return Garbage(kind, text[: rng.randrange(1, len(text))], True)
    if kind == "binary":
        return Garbage(kind, rng.randbytes(rng.randint(1, 64)), True)
    if kind == "deep_nesting":
        depth = rng.choice((200, 1_100, 5_000))
        if depth > 1_000:  # past every parser's recursion limit
            return Garbage(kind, "[" * depth + "]" * depth, True)
        nested: Any = 1
        for _ in range(depth):
            nested = [nested]
        _set(out, rng.choice(fields), nested)
        return Garbage(kind, json.dumps(out), True)
    if kind == "unknown_type":
        _set(out, type_field, rng.choice(("mystery", "l3update", "tradez", "kline_9x")))
        return Garbage(kind, json.dumps(out), True)
    if kind == "wrong_type":
        path = rng.choice(fields)
        current = _get(out, path)
        value = rng.choice([w for w in WRONG if type(w) is not type(current)])
        _set(out, path, value)
        return Garbage(kind, json.dumps(out), True)
    if kind == "missing_field":
        path = rng.choice(fields)
        parent = _get(out, path[:-1])
        if isinstance(parent, dict):
            del parent[path[-1]]
        else:
            del parent[path[-1] : len(parent)]  # a level or row cut short
        return Garbage(kind, json.dumps(out), True)
    path = rng.choice(numbers)
    current = _get(out, path)
    if kind == "nan_string":
        value: Any = rng.choice(NAN)
    elif kind == "huge_number":
        value = rng.choice(HUGE)
    else:
        value = -abs(float(current)) - 1 if not isinstance(current, int) else -abs(current) - 1
    if isinstance(current, str) and kind != "nan_string":
        value = repr(value) if isinstance(value, float) else str(value)
    _set(out, path, value)
    return Garbage(kind, json.dumps(out), kind == "nan_string")


def _get(obj: Any, path: Path) -> Any:
    for key in path:
        obj = obj[key]
    return obj


def _set(obj: Any, path: Path, value: Any) -> None:
    _get(obj, path[:-1])[path[-1]] = value
