"""Argument checks shared by the command groups: Fire passes whatever the text parsed as.

Also the global flags, read by :func:`split_global_flags` wherever they are on the line, and
the one time parser of the whole CLI (:func:`instant`), which keeps nanoseconds.
"""

from __future__ import annotations

import datetime as dt
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from serenity.errors import ConfigError, InvalidValueError

__all__ = [
    "OPTIONS",
    "GlobalOptions",
    "day",
    "hide_progress",
    "instant",
    "merge_repeated",
    "optional_instant",
    "optional_text",
    "repeatable",
    "split_global_flags",
    "switch",
    "text",
    "texts",
]

_LEVELS: Final = "DEBUG, INFO, WARNING or ERROR"
_INT: Final = re.compile(r"-?\d+")
_TRUE: Final = frozenset({"true", "yes", "1"})
_FALSE: Final = frozenset({"false", "no", "0"})
_F = TypeVar("_F", bound=Callable[..., Any])


@dataclass(slots=True)
class GlobalOptions:
    """The flags every command takes, before or after its name."""

    log_level: str = "WARNING"
    log_json: bool = False
    quiet: bool = False
    version: bool = False
    help: bool = False


OPTIONS: Final = GlobalOptions()
"""The global flags of the running command (set by :func:`serenity.cli.main`)."""


def _switch(arg: str, flag: str) -> bool | None:
    """Return the value of a boolean flag (``--x``, ``--x=true``, ``--nox``), else None."""
    name, eq, value = arg.partition("=")
    names = {flag, flag.replace("-", "_")}
    if name in names:
        return True if not eq else switch(value, flag=flag)
    if name in {"--no" + n[2:] for n in names}:
        return False
    return None


def split_global_flags(args: list[str]) -> tuple[GlobalOptions, list[str]]:
    """Return the global flags found anywhere before a ``--``, and the other arguments.

    Raises
    ------
    ConfigError
        For ``--log-level`` without a value, or a boolean flag with a value that is not one.
    """
    options, rest = GlobalOptions(), []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name, eq, value = arg.partition("=")
        if name in ("--log-level", "--log_level"):
            if not eq:
                if i + 1 >= len(args) or args[i + 1].startswith("-"):
                    raise ConfigError(f"--log-level needs a level: {_LEVELS}")
                i += 1
                value = args[i]
            options.log_level = value
        elif arg in ("-h", "--help"):
            options.help = True
        elif (on := _switch(arg, "--log-json")) is not None:
            options.log_json = on
        elif (on := _switch(arg, "--quiet")) is not None:
            options.quiet = on
        elif arg == "--version":
            options.version = True
        else:
            rest.append(arg)
        i += 1
    return options, rest


def hide_progress() -> bool:
    """Return whether progress bars are hidden: ``--quiet``, or stderr is not a terminal."""
    return OPTIONS.quiet or not sys.stderr.isatty()


def switch(value: object, *, flag: str) -> bool:
    """Return a boolean flag's value: a bare ``--flag``, or ``--flag=true|false|yes|no|1|0``.

    Raises
    ------
    InvalidValueError
        For any other value, naming ``flag``.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).strip().lower() in _TRUE | _FALSE:
        return str(value).strip().lower() in _TRUE
    raise InvalidValueError(f"{flag} takes no value (or true/false), was {value!r}")


def text(value: object, *, flag: str) -> str:
    """Return ``value`` as a non-empty string, naming ``flag`` when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ConfigError(f"{flag} needs a text value, was {value!r}")
    return str(value).strip()


def optional_text(value: object, *, flag: str) -> str | None:
    """Return ``value`` as a string, or None when the flag was not given."""
    return None if value is None else text(value, flag=flag)


def instant(value: object, *, flag: str) -> int:
    """Return a time given on the command line as int nanoseconds since the epoch, UTC.

    The one time parser of the CLI. It takes int ns (``1704164400123456789``), ISO-8601 with
    ``Z`` or an offset and up to nine fractional digits (``2024-01-02T03:00:00.123456789Z``),
    or a UTC day (``2024-01-02``, its midnight). Nanoseconds are kept.

    Raises
    ------
    InvalidValueError
        For a naive time, a float, a bare flag or text that is not a time; the message names
        ``flag``.
    """
    from serenity.marketdata.tickstore.args import to_ns

    if isinstance(value, str) and _INT.fullmatch(value.strip()):
        return int(value.strip())
    return to_ns(value, what=flag)


def optional_instant(value: object, *, flag: str) -> int | None:
    """Return :func:`instant` of ``value``, or None when the flag was not given."""
    return None if value is None else instant(value, flag=flag)


def day(value: object, *, flag: str) -> dt.date:
    """Return a UTC day given as ``YYYY-MM-DD`` (or ``YYYYMMDD``, which Fire makes an int).

    Raises
    ------
    InvalidValueError
        For anything else; the message names ``flag``.
    """
    from serenity.marketdata.tickstore.args import to_day

    if isinstance(value, bool):
        raise InvalidValueError(f"{flag} needs a UTC day as YYYY-MM-DD, was {value!r}")
    return to_day(value, what=flag)


def repeatable(*flags: str) -> Callable[[_F], _F]:
    """Mark flags of a command that may be given more than once (``--grid a --grid b``).

    Fire keeps only the last of a repeated flag; :func:`serenity.cli.main` hands a marked
    flag's values to the command as one list instead (:func:`merge_repeated`).
    """

    def mark(command: _F) -> _F:
        command.repeatable_flags = frozenset(f.replace("-", "_") for f in flags)  # type: ignore[attr-defined]
        return command

    return mark


def merge_repeated(args: list[str], flags: Iterable[str]) -> list[str]:
    """Return ``args`` with every value of each flag in ``flags`` gathered into one list.

    ``--grid a --grid=b`` becomes ``--grid=['a', 'b']``, which Fire reads as a list of text.
    Arguments after ``--`` are left alone.
    """
    wanted = set(flags)
    if not wanted:
        return list(args)
    values: dict[str, list[str]] = {}
    rest: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        name, eq, value = arg.partition("=")
        key = name[2:].replace("-", "_") if name.startswith("--") else ""
        if key in wanted:
            if not eq:
                if i + 1 >= len(args) or args[i + 1].startswith("--"):
                    raise ConfigError(f"{name} needs a value")
                i += 1
                value = args[i]
            values.setdefault(key, []).append(value)
        else:
            rest.append(arg)
        i += 1
    merged = [f"--{key}={[str(v) for v in found]!r}" for key, found in values.items()]
    cut = rest.index("--") if "--" in rest else len(rest)
    return rest[:cut] + merged + rest[cut:]


def texts(value: object, *, flag: str) -> list[str]:
    """Return a repeatable flag's values (a list, or one value) as non-empty strings.

    Raises
    ------
    ConfigError
        For a value that is not text, naming ``flag``.
    """
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [text(item, flag=flag) for item in items]
