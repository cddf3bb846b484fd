"""Store URLs: ``file:///path`` for a local directory, ``azure://container`` for Azure Blob."""

from __future__ import annotations

import os
import urllib.parse
from pathlib import Path
from typing import Final

from serenity.errors import ConfigError, InvalidValueError
from serenity.marketdata.tickstore.args import check_table, is_table
from serenity.marketdata.tickstore.blobstore import BlobStore, LocalBlobStore
from serenity.marketdata.tickstore.store import BlobTickstore, LocalTickstore

__all__ = ["AZURE_ENV", "list_tables", "open_blobstore", "open_tickstore"]

AZURE_ENV: Final = "AZURE_STORAGE_CONNECTION_STRING"
"""The environment variable that holds the connection string for ``azure://`` URLs."""


def _parse(url: object) -> tuple[str, str]:
    """Return ``("file", path)`` or ``("azure", container)`` for a store URL."""
    if not isinstance(url, str):
        raise InvalidValueError(f"store URL must be file:///path or azure://container, was {url!r}")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost") or not parts.path or parts.query:
            raise InvalidValueError(
                f"store URL must be file:///absolute/path (three slashes), was {url!r}"
            )
        return "file", urllib.parse.unquote(parts.path)
    if parts.scheme == "azure":
        if parts.path not in ("", "/") or parts.query or not parts.netloc:
            raise InvalidValueError(f"store URL must be azure://container, was {url!r}")
        return "azure", parts.netloc
    raise InvalidValueError(f"store URL must be file:///path or azure://container, was {url!r}")


def _connection_string(url: str) -> str:
    conn = os.environ.get(AZURE_ENV)
    if not conn:
        raise ConfigError(f"{url} needs the connection string in ${AZURE_ENV}")
    return conn


def open_blobstore(url: str) -> BlobStore:
    """Return the blob store a URL names.

    Parameters
    ----------
    url
        ``file:///absolute/path`` or ``azure://container``. The Azure connection string comes
        from the environment variable ``AZURE_STORAGE_CONNECTION_STRING``.

    Raises
    ------
    InvalidValueError
        For another scheme or a malformed URL.
    ConfigError
        For an ``azure://`` URL without ``AZURE_STORAGE_CONNECTION_STRING``.
    """
    scheme, where = _parse(url)
    if scheme == "file":
        return LocalBlobStore(Path(where))
    from serenity.marketdata.tickstore.azure import AzureBlobStore

    return AzureBlobStore(_connection_string(url), where)


def open_tickstore(url: str | BlobStore, table: str, *, publish: bool = True) -> BlobTickstore:
    """Return one table of the store a URL names.

    Parameters
    ----------
    url
        ``file:///path`` or ``azure://container`` (see :func:`open_blobstore`), or a blob store.
    table
        The table, e.g. ``PHEMEX_TRADES``.
    publish
        Publish every insert and delete to the table's Delta log (the default); see
        :class:`~serenity.marketdata.tickstore.BlobTickstore`.

    Raises
    ------
    InvalidValueError
        For a bad URL or table name.
    ConfigError
        For an ``azure://`` URL without ``AZURE_STORAGE_CONNECTION_STRING``.

    Examples
    --------
    >>> store = open_tickstore("file:///tmp/ticks", "PHEMEX_TRADES")
    >>> store.table
    'PHEMEX_TRADES'
    """
    check_table(table)
    if isinstance(url, BlobStore):
        return BlobTickstore(url, table, publish=publish)
    scheme, where = _parse(url)
    if scheme == "file":
        return LocalTickstore(where, table, publish=publish)
    from serenity.marketdata.tickstore.azure import AzureBlobTickstore

    return AzureBlobTickstore(_connection_string(url), where, table, publish=publish)


def list_tables(url: str | BlobStore) -> list[str]:
    """Return the names of the tables in a store, sorted."""
    blobs = url if isinstance(url, BlobStore) else open_blobstore(url)
    return [name for name in blobs.children("") if is_table(name)]
