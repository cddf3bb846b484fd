"""Structured logging for the CLI: ``key=value`` lines, or JSON lines with ``--log-json``.

The library never configures logging; only the CLI calls :func:`configure_logging`.
"""

from __future__ import annotations

import datetime as dt
import logging
import sys
from typing import Any, Final

import orjson

__all__ = ["KeyValueFormatter", "JsonFormatter", "configure_logging"]

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED}


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")


def _text(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="'):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """Format a record as ``ts level logger event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one ``key=value`` line."""
        parts = [_timestamp(record), record.levelname, record.name, record.getMessage()]
        parts += [f"{k}={_text(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as a JSON line."""
        doc: dict[str, Any] = {
            "ts": _timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
        }
        doc.update(_fields(record))
        if record.exc_info:
            doc["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(doc, default=str).decode()


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Send Serenity's log records to stderr, formatted for people or for machines.

    Parameters
    ----------
    level
        A logging level name such as ``INFO`` or ``DEBUG``.
    json
        Write JSON lines instead of ``key=value`` text.

    Raises
    ------
    ConfigError
        When ``level`` is not a logging level name.
    """
    from serenity.errors import ConfigError

    name = str(level).upper()
    if name not in logging.getLevelNamesMapping():
        raise ConfigError(f"--log-level must be one of DEBUG, INFO, WARNING, ERROR, was {level!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json else KeyValueFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_serenity", False):
            root.removeHandler(old)
    handler._serenity = True  # type: ignore[attr-defined]  # marks our own handler for reconfig
    root.addHandler(handler)
    root.setLevel(name)
