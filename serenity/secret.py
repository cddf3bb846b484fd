"""A credential that never shows itself in a repr, a str, a log record or an error message."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Secret"]


@dataclass(frozen=True, slots=True)
class Secret:
    """Hold an API key, passphrase or connection string; print as ``***``.

    Read the value only where it is used (signing a request, opening a client) through
    :attr:`value`, and never put it in a message.

    Examples
    --------
    >>> key = Secret("s3cr3t")
    >>> f"{key}", repr(key)
    ('***', '***')
    """

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "***"

    def __str__(self) -> str:
        return "***"
