"""Credentials that never show themselves: :class:`Secret`, and :func:`redact` for text.

:class:`Secret` holds a credential Serenity owns. :func:`redact` hides the credentials that
reach text from elsewhere: a password in a database URL, an Azure SAS ``sig=`` in a request
URL logged by urllib3, an ``AccountKey=`` in a connection string. The CLI's log formatters
and its one-line errors pass everything through it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

__all__ = ["REDACTED", "Secret", "redact"]

REDACTED: Final = "***"
"""What a hidden credential is replaced with."""

_URL_PASSWORD: Final = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*://[^\s:/?#@\"']*:)[^\s\"']*@")
"""``scheme://user:password@``: everything from the user's colon to the last ``@`` is hidden."""
_CONNECTION_KEY: Final = re.compile(
    r"(?i)(?<![a-z0-9_])(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;\s\"']+"
)
"""Azure connection-string parts, whose values run to the next ``;``."""
_QUERY_KEY: Final = re.compile(
    r"(?i)(?<![a-z0-9_])(sig|signature|password|passwd|pwd|passphrase|secret|client_secret"
    r"|token|access_token|api[_-]?key)=[^&;\s\"']+"
)
"""Query-string or ``key=value`` credentials, whose values run to ``&``, ``;`` or a space."""


def redact(text: str) -> str:
    """Return ``text`` with the credentials it may carry replaced by ``***``.

    Hides the password of ``scheme://user:password@host`` URLs (well formed or not), Azure
    ``AccountKey=``, ``SharedAccessSignature=`` and ``SharedAccessKey=`` values, and query
    values such as ``sig=``, ``password=`` and ``token=``.

    Examples
    --------
    >>> redact("postgresql://me:hunter2@db:5432/serenity")
    'postgresql://me:***@db:5432/serenity'
    >>> redact("GET /c?restype=container&sv=2024-08-04&sig=abc%2Bdef HTTP/1.1")
    'GET /c?restype=container&sv=2024-08-04&sig=*** HTTP/1.1'
    """
    text = _URL_PASSWORD.sub(rf"\1{REDACTED}@", text)
    text = _CONNECTION_KEY.sub(rf"\1={REDACTED}", text)
    return _QUERY_KEY.sub(rf"\1={REDACTED}", text)


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
