"""Phemex's REST envelope, and decoding private messages entry by entry.

An entry that does not parse is reported as a :class:`~serenity.errors.DataError` and the
others are still delivered.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

import msgspec

from serenity.errors import DataError
from serenity.exchange.phemex.endpoints import VENUE

__all__ = ["RestResponse", "decode_entries", "decode_rows"]

T = TypeVar("T")


class RestResponse(msgspec.Struct):
    """The REST envelope: ``code`` 0 and ``data`` on success, else ``code`` and ``msg``."""

    code: int = 0
    msg: str = ""
    data: msgspec.Raw = msgspec.Raw(b"null")


_DECODERS: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(kind: type[T]) -> msgspec.json.Decoder[T]:
    found = _DECODERS.get(kind)
    if found is None:
        found = _DECODERS[kind] = msgspec.json.Decoder(kind)
    return found


def decode_entries(
    raws: Iterable[msgspec.Raw], kind: type[T], *, where: str
) -> tuple[list[T], list[DataError]]:
    """Decode each raw entry as ``kind``; a bad entry is an error, the others still decode."""
    decoder = _decoder(kind)
    out: list[T] = []
    errors: list[DataError] = []
    for i, raw in enumerate(raws):
        try:
            out.append(decoder.decode(raw))
        except (msgspec.ValidationError, msgspec.DecodeError) as exc:
            text = bytes(raw)[:120].decode(errors="replace")
            errors.append(DataError(f"{VENUE}: {where}[{i}] is malformed ({exc}): {text}"))
    return out, errors


def decode_rows(data: msgspec.Raw, kind: type[T], *, where: str) -> tuple[list[T], list[DataError]]:
    """Decode a REST ``data`` that is a list, ``{"rows": [...]}``, or one object, entry by entry.

    Raises
    ------
    DataError
        When ``data`` is none of those.
    """
    try:
        value = msgspec.json.decode(data, type=list[msgspec.Raw] | dict[str, Any] | None)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: {where} is malformed: {exc}") from None
    if value is None:
        return [], []
    if isinstance(value, dict):
        rows = value.get("rows")
        if rows is None:
            return decode_entries([data], kind, where=where)
        if not isinstance(rows, list):
            raise DataError(f"{VENUE}: {where}.rows must be a JSON array, was {rows!r:.80}")
        return decode_entries(
            [msgspec.Raw(msgspec.json.encode(r)) for r in rows], kind, where=f"{where}.rows"
        )
    return decode_entries(value, kind, where=where)
