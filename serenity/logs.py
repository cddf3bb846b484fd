"""Structured logging for the CLI: ``key=value`` lines, or JSON lines with ``--log-json``.

The library never configures logging; only the CLI calls :func:`configure_logging`. Both
formats hide credentials (:func:`serenity.secret.redact`: database passwords, Azure SAS
signatures and keys), whoever logged them, urllib3 and the Azure SDK included. The text format
writes one record per line: control characters in the event and its values are escaped, and
the lines of a traceback are indented, so logged input (a venue frame, say) cannot forge a
record.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

import orjson

from serenity.secret import redact

__all__ = [
    "DEFAULT_LEVEL",
    "JsonFormatter",
    "KeyValueFormatter",
    "cli_logging",
    "configure_logging",
]

DEFAULT_LEVEL: Final = "WARNING"
"""The CLI's log level unless ``--log-level`` says otherwise: warnings and errors only."""

_CHATTY: Final = ("alembic.runtime.plugins", "azure", "distributed")
"""Libraries that log routine work at INFO (Alembic's plugin set-up, the Azure SDK's every
HTTP request, a Dask cluster's every worker and client); their records show only with
``--log-level DEBUG``."""

_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_ESCAPES: Final = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}

# Attributes every LogRecord has; anything else on a record came from ``extra``.
_RESERVED: Final = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys() | {"message", "asctime"}
)


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED}


def _timestamp(record: logging.LogRecord) -> str:
    return dt.datetime.fromtimestamp(record.created, tz=dt.UTC).isoformat(timespec="milliseconds")


def _escape_control(text: str) -> str:
    """Return ``text`` with control characters (newlines included) written as escapes."""

    def escape(match: re.Match[str]) -> str:
        char = match.group()
        return _ESCAPES.get(char) or (
            f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}"
        )

    return _CONTROL.sub(escape, text)


def _text(value: Any) -> str:
    text = str(value)
    if not text or any(c in text for c in ' ="\\') or _CONTROL.search(text):
        return '"' + _escape_control(text.replace("\\", "\\\\").replace('"', '\\"')) + '"'
    return text


class KeyValueFormatter(logging.Formatter):
    """Format a record as ``ts level logger event key=value ...`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """Return the record as one ``key=value`` line."""
        event = _escape_control(record.getMessage())
        parts = [_timestamp(record), record.levelname, record.name, event]
        parts += [f"{k}={_text(v)}" for k, v in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            trace = self.formatException(record.exc_info).splitlines()
            line += "".join("\n    " + _escape_control(t) for t in trace)
        return redact(line)


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
        return redact(orjson.dumps(doc, default=str).decode())


def configure_logging(level: str = DEFAULT_LEVEL, *, json: bool = False) -> None:
    """Send log records to stderr, formatted for people or for machines.

    Parameters
    ----------
    level
        A logging level name such as ``WARNING``, ``INFO`` or ``DEBUG``. Below DEBUG, chatty
        libraries (Alembic's plugin set-up, the Azure SDK's HTTP lines) show warnings only.
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
    quiet_libraries = logging.getLevelNamesMapping()[name] > logging.DEBUG
    for chatty in _CHATTY:
        logging.getLogger(chatty).setLevel(logging.WARNING if quiet_libraries else logging.NOTSET)


@contextmanager
def cli_logging(level: str = DEFAULT_LEVEL, *, json: bool = False) -> Iterator[None]:
    """Configure logging as :func:`configure_logging` does for a block, then put it back.

    The CLI runs each command inside one, so calling :func:`serenity.cli.main` in-process
    (tests, notebooks) leaves no handler behind.

    Raises
    ------
    ConfigError
        When ``level`` is not a logging level name.
    """
    root = logging.getLogger()
    level_before, handlers_before = root.level, list(root.handlers)
    chatty_before = {name: logging.getLogger(name).level for name in _CHATTY}
    configure_logging(level, json=json)
    try:
        yield
    finally:
        for handler in list(root.handlers):
            if handler not in handlers_before:
                root.removeHandler(handler)
        root.setLevel(level_before)
        for name, chatty_level in chatty_before.items():
            logging.getLogger(name).setLevel(chatty_level)
