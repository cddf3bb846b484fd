"""Argument checks shared by the command groups: Fire passes whatever the text parsed as."""

from __future__ import annotations

from serenity.errors import ConfigError

__all__ = ["optional_text", "text"]


def text(value: object, *, flag: str) -> str:
    """Return ``value`` as a non-empty string, naming ``flag`` when it is not one."""
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise ConfigError(f"{flag} needs a text value, was {value!r}")
    return str(value).strip()


def optional_text(value: object, *, flag: str) -> str | None:
    """Return ``value`` as a string, or None when the flag was not given."""
    return None if value is None else text(value, flag=flag)
