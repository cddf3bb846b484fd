"""Azure Blob Storage adapter of the tick store (needs the ``azure`` extra).

The version index is updated with blob ETag conditions: ``If-Match: <etag read>`` to replace
it, ``If-None-Match: *`` to create it. A lost race comes back as HTTP 412 or 409 and becomes a
:class:`~serenity.marketdata.tickstore.blobstore.BlobConflictError`, on which the tick store
re-reads and retries. Parquet files are read with ranged GETs, so a time-window read downloads
only the footer and the row groups it needs.

The connection string is a secret: it is kept in a :class:`~serenity.secret.Secret`, whose
``repr`` is ``***``, and no error message or log record built here contains it or the SDK's
own error text.

Clients built on Rust's ``object_store`` crate (delta-rs and so the ``deltalake`` package,
Polars) open the same container as ``az://<container>/<path>`` with the storage options
:func:`azure_storage_options` derives from the connection string:

- Azure: ``account_name`` and ``account_key`` (or ``sas_token``); with a ``BlobEndpoint`` or
  an ``EndpointSuffix`` other than ``core.windows.net`` also ``endpoint``.
- An emulator such as Azurite (a ``BlobEndpoint`` with the account in its path, e.g.
  ``http://127.0.0.1:10000/devstoreaccount1``): ``use_emulator`` = ``"true"``,
  ``account_name`` and ``account_key``. ``object_store`` takes the emulator's address only
  from the environment variable ``AZURITE_BLOB_STORAGE_URL`` (default
  ``http://127.0.0.1:10000``), which :func:`azure_storage_options` sets for another address.
  An ``endpoint`` instead of ``use_emulator`` reads but cannot commit twice: ``object_store``
  then lists the log with Azure's ``startFrom`` parameter, which Azurite ignores, and delta-rs
  fails with "Invalid table version".
"""

from __future__ import annotations

import io
import logging
import os
import re
import urllib.parse
from collections.abc import Iterator
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from serenity.errors import ConfigError, InvalidValueError, StoreError
from serenity.marketdata.tickstore.blobstore import BlobConflictError, ObjectLocation, StoredBlob
from serenity.marketdata.tickstore.store import BlobTickstore
from serenity.secret import Secret

if TYPE_CHECKING:
    from azure.core.exceptions import AzureError
    from azure.storage.blob import BlobClient, ContainerClient

__all__ = [
    "AZURITE_URL_ENV",
    "AzureBlobStore",
    "AzureBlobTickstore",
    "azure_storage_options",
    "check_container",
]

log = logging.getLogger(__name__)

_CONTAINER: Final = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}")
_WHOLE_READ_MAX: Final = 32 * 1024 * 1024
"""Blobs up to this size are downloaded in one GET; bigger ones are read by ranges."""
_UPLOAD_CONCURRENCY: Final = 4
_RETRY_TOTAL: Final = 3
"""Retries of a failed request (the SDK's default backoff waits ~85 s before giving up)."""
_RETRY_FIRST_BACKOFF_S: Final = 1
_CONNECTION_TIMEOUT_S: Final = 10
AZURITE_URL_ENV: Final = "AZURITE_BLOB_STORAGE_URL"
"""Where ``object_store`` (delta-rs, Polars) looks for the emulator when ``use_emulator`` is on."""
_AZURITE_DEFAULT: Final = "http://127.0.0.1:10000"


def check_container(container: object) -> str:
    """Return ``container`` if it is a valid Azure container name.

    Raises
    ------
    InvalidValueError
        Unless it is 3-63 lower-case letters, digits and single hyphens.
    """
    if not isinstance(container, str) or not _CONTAINER.fullmatch(container):
        raise InvalidValueError(
            f"Azure container must be 3-63 lower-case letters, digits and single hyphens, "
            f"was {container!r}"
        )
    return container


def _connection_parts(connection_string: str) -> dict[str, str]:
    parts = {}
    for item in connection_string.split(";"):
        name, eq, value = item.strip().partition("=")
        if eq and name:
            parts[name.strip().lower()] = value.strip()
    return parts


_MALFORMED: Final = (
    "the Azure connection string is malformed; expected "
    "'DefaultEndpointsProtocol=...;AccountName=...;AccountKey=...' or a SAS form"
)


def _point_at_emulator(url: str) -> None:
    """Set ``$AZURITE_BLOB_STORAGE_URL`` to the emulator's address, which object_store reads."""
    current = os.environ.get(AZURITE_URL_ENV)
    if current is None:
        if url != _AZURITE_DEFAULT:
            os.environ[AZURITE_URL_ENV] = url
    elif current.rstrip("/") != url:
        raise ConfigError(
            f"${AZURITE_URL_ENV} is {current} but the connection string's emulator is at {url}; "
            "object_store reaches one emulator per process"
        )


def azure_storage_options(connection_string: str) -> dict[str, str]:
    """Return the ``object_store`` options that open the account of an Azure connection string.

    delta-rs (``deltalake``), Polars and dask-deltatable take these as ``storage_options``
    with ``az://<container>/<path>`` URIs. The result holds the account key or SAS: never log
    it. For an emulator (a ``BlobEndpoint`` whose path names the account, as Azurite's does)
    the options say ``use_emulator`` and the emulator's address goes to
    ``$AZURITE_BLOB_STORAGE_URL`` (set here when it is not Azurite's default), the only place
    ``object_store`` reads it from.

    Parameters
    ----------
    connection_string
        ``AccountName=...;AccountKey=...`` (with an optional ``BlobEndpoint``,
        ``EndpointSuffix`` or ``DefaultEndpointsProtocol``), ``BlobEndpoint=...;
        SharedAccessSignature=...``, or ``UseDevelopmentStorage=true``.

    Raises
    ------
    ConfigError
        When the string names no account or has neither a key nor a SAS, or when
        ``$AZURITE_BLOB_STORAGE_URL`` names another emulator.

    Examples
    --------
    >>> opts = azure_storage_options(
    ...     "DefaultEndpointsProtocol=https;AccountName=myaccount;AccountKey=a2V5;"
    ...     "EndpointSuffix=core.windows.net"
    ... )
    >>> sorted(opts)
    ['account_key', 'account_name']
    >>> opts = azure_storage_options(
    ...     "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;"
    ...     "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"
    ... )
    >>> sorted(opts), opts["use_emulator"]
    (['account_key', 'account_name', 'use_emulator'], 'true')
    """
    parts = _connection_parts(connection_string)
    if parts.get("usedevelopmentstorage", "").lower() == "true":
        return {"use_emulator": "true"}
    options: dict[str, str] = {}
    endpoint = parts.get("blobendpoint", "").rstrip("/")
    account = parts.get("accountname", "")
    if endpoint:
        where = urllib.parse.urlsplit(endpoint)
        if where.scheme not in ("http", "https") or not where.hostname:
            raise ConfigError(_MALFORMED)
        path = where.path.strip("/")
        if path:  # path-style addressing: an emulator such as Azurite
            account = account or path.split("/")[0]
            _point_at_emulator(f"{where.scheme}://{where.netloc}")
            options["use_emulator"] = "true"
        else:
            account = account or where.hostname.split(".")[0]
            options["endpoint"] = endpoint
            if where.scheme == "http":
                options["allow_http"] = "true"
    elif account and parts.get("endpointsuffix", "core.windows.net") != "core.windows.net":
        protocol = parts.get("defaultendpointsprotocol", "https")
        options["endpoint"] = f"{protocol}://{account}.blob.{parts['endpointsuffix']}"
        if protocol == "http":
            options["allow_http"] = "true"
    if not account:
        raise ConfigError(_MALFORMED)
    options["account_name"] = account
    if parts.get("accountkey"):
        options["account_key"] = parts["accountkey"]
    elif parts.get("sharedaccesssignature"):
        options["sas_token"] = parts["sharedaccesssignature"].lstrip("?")
    else:
        raise ConfigError(
            "the Azure connection string has neither AccountKey nor SharedAccessSignature"
        )
    return options


def _describe(exc: AzureError) -> str:
    """Return what went wrong without the SDK's text, which can quote request URLs."""
    status = getattr(exc, "status_code", None)
    code = getattr(exc, "error_code", None)
    parts = [type(exc).__name__] + [str(p) for p in (status, code) if p]
    return " ".join(parts)


class _RangeReader(io.RawIOBase):
    """A seekable, read-only file over one blob that fetches each read with a ranged GET."""

    def __init__(self, blob: BlobClient, size: int) -> None:
        super().__init__()
        self._blob, self._size, self._pos = blob, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]  # RawIOBase's is loose
        n = min(len(buffer), self._size - self._pos)
        if n <= 0:
            return 0
        data = self._blob.download_blob(offset=self._pos, length=n).readall()
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)


class AzureBlobStore:
    """A :class:`~serenity.marketdata.tickstore.blobstore.BlobStore` in one Azure container.

    Creating the store opens no connection; the container is created on the first write.

    Parameters
    ----------
    connection_string
        An Azure Storage connection string (account key or SAS); never logged or shown.
    container
        The container's name.

    Raises
    ------
    ConfigError
        When the ``azure`` extra is missing or the connection string is malformed.
    InvalidValueError
        For an invalid container name.
    """

    def __init__(self, connection_string: str, container: str) -> None:
        self._name = check_container(container)
        try:
            from azure.storage.blob import BlobServiceClient, ExponentialRetry
        except ImportError as exc:
            raise ConfigError(
                "azure:// stores need azure-storage-blob: pip install 'serenity[azure]'"
            ) from exc
        if not isinstance(connection_string, str) or not connection_string.strip():
            raise ConfigError("the Azure connection string is empty")
        secret = Secret(connection_string)
        try:
            retry = ExponentialRetry(
                initial_backoff=_RETRY_FIRST_BACKOFF_S, increment_base=2, retry_total=_RETRY_TOTAL
            )
            service = BlobServiceClient.from_connection_string(
                secret.value, retry_policy=retry, connection_timeout=_CONNECTION_TIMEOUT_S
            )
        except (ValueError, TypeError, KeyError):
            raise ConfigError(_MALFORMED) from None  # the SDK's error could quote the string
        self._secret = secret
        self._container: ContainerClient = service.get_container_client(self._name)
        self._has_container = False

    def __repr__(self) -> str:
        return f"AzureBlobStore(container={self._name!r})"

    @property
    def url(self) -> str:
        """Return ``azure://`` and the container."""
        return f"azure://{self._name}"

    def _fail(self, action: str, key: str, exc: AzureError) -> StoreError:
        return StoreError(f"{self.url}: cannot {action} {key or 'the container'}: {_describe(exc)}")

    def _ensure_container(self) -> None:
        if self._has_container:
            return
        from azure.core.exceptions import AzureError, ResourceExistsError

        try:
            self._container.create_container()
            log.info("tickstore.container_created", extra={"store": self.url})
        except ResourceExistsError:
            pass
        except AzureError as exc:
            raise self._fail("create", "", exc) from exc
        self._has_container = True

    def exists(self) -> bool:
        """Return True if the container exists (asking the service; nothing is created)."""
        if self._has_container:
            return True
        from azure.core.exceptions import AzureError

        try:
            self._has_container = bool(self._container.exists())
        except AzureError as exc:
            raise self._fail("look up", "", exc) from exc
        return self._has_container

    def read(self, key: str) -> StoredBlob | None:
        """Return the blob and its ETag, or None when it (or the container) is missing."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            downloader = self._container.download_blob(key)
            data = downloader.readall()
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._fail("read", key, exc) from exc
        etag = downloader.properties.etag
        return StoredBlob(data, str(etag))

    def write(self, key: str, data: bytes, *, etag: str | None) -> str:
        """Upload ``data`` if the blob's ETag is still ``etag`` (``If-None-Match: *`` if None)."""
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            AzureError,
            HttpResponseError,
            ResourceExistsError,
            ResourceModifiedError,
        )

        self._ensure_container()
        blob = self._container.get_blob_client(key)
        try:
            if etag is None:
                result = blob.upload_blob(  # If-None-Match: *
                    data, overwrite=True, match_condition=MatchConditions.IfMissing
                )
            else:
                result = blob.upload_blob(
                    data, overwrite=True, etag=etag, match_condition=MatchConditions.IfNotModified
                )
        except (ResourceModifiedError, ResourceExistsError) as exc:
            raise BlobConflictError(f"{self.url}: {key} changed since it was read") from exc
        except HttpResponseError as exc:
            if exc.status_code in (409, 412):
                raise BlobConflictError(f"{self.url}: {key} changed since it was read") from exc
            raise self._fail("write", key, exc) from exc
        except AzureError as exc:
            raise self._fail("write", key, exc) from exc
        return str(result["etag"])

    def put(self, key: str, data: bytes | memoryview) -> None:
        """Upload an immutable blob; Azure commits it whole or not at all."""
        from azure.core.exceptions import AzureError, ResourceExistsError

        self._ensure_container()
        try:
            self._container.get_blob_client(key).upload_blob(
                bytes(data), overwrite=False, max_concurrency=_UPLOAD_CONCURRENCY
            )
        except ResourceExistsError as exc:
            raise StoreError(f"{self.url}: {key} already exists; data blobs are immutable") from exc
        except AzureError as exc:
            raise self._fail("write", key, exc) from exc

    def size(self, key: str) -> int | None:
        """Return the blob's size, or None when it does not exist."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            return int(self._container.get_blob_client(key).get_blob_properties().size)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self._fail("inspect", key, exc) from exc

    def open(self, key: str) -> pa.NativeFile:
        """Return the blob as a random-access file (ranged GETs for big blobs)."""
        from azure.core.exceptions import AzureError

        size = self.size(key)
        if size is None:
            raise StoreError(f"{self.url}: {key} is missing")
        blob = self._container.get_blob_client(key)
        if size > _WHOLE_READ_MAX:
            return pa.PythonFile(_RangeReader(blob, size), mode="r")
        try:
            return pa.BufferReader(blob.download_blob(max_concurrency=2).readall())
        except AzureError as exc:
            raise self._fail("read", key, exc) from exc

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Yield the names of the blobs under ``prefix``."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            for blob in self._container.list_blobs(name_starts_with=prefix):
                yield blob.name
        except ResourceNotFoundError:
            return
        except AzureError as exc:
            raise self._fail("list", prefix, exc) from exc

    def children(self, prefix: str) -> list[str]:
        """Return the virtual folders directly under ``prefix``."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            names = [
                item.name[len(prefix) : -1]
                for item in self._container.walk_blobs(name_starts_with=prefix, delimiter="/")
                if item.name.endswith("/")
            ]
        except ResourceNotFoundError:
            return []
        except AzureError as exc:
            raise self._fail("list", prefix, exc) from exc
        return sorted(names)

    def remove(self, key: str) -> None:
        """Delete the blob if it exists."""
        from azure.core.exceptions import AzureError, ResourceNotFoundError

        try:
            self._container.delete_blob(key)
        except ResourceNotFoundError:
            pass
        except AzureError as exc:
            raise self._fail("remove", key, exc) from exc

    def object_location(self, key: str) -> ObjectLocation:
        """Return ``az://<container>/<key>`` and the options of :func:`azure_storage_options`."""
        return ObjectLocation(
            f"az://{self._name}/{key}".rstrip("/"), azure_storage_options(self._secret.value)
        )


class AzureBlobTickstore(BlobTickstore):
    """A tick store table in an Azure Blob container.

    Parameters
    ----------
    connection_string
        An Azure Storage connection string; a secret, never logged or shown.
    container
        The container; created on the first write.
    table
        The table, e.g. ``PHEMEX_TRADES``.
    publish
        Publish every insert and delete to the table's Delta log (the default).
    """

    def __init__(
        self, connection_string: str, container: str, table: str, *, publish: bool = True
    ) -> None:
        super().__init__(AzureBlobStore(connection_string, container), table, publish=publish)
