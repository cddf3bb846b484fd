"""The storage port of the tick store (:class:`BlobStore`) and its local-directory adapter.

A blob store holds named byte strings (``/``-separated keys). The tick store needs four
things from it: immutable data blobs written once, random-access reads of them, listing, and
one *conditional* write for the version index. The conditional write is what makes concurrent
writers safe: ``write(key, data, etag=...)`` succeeds only if the blob still has the entity tag
the writer read, or, with ``etag=None``, only if the blob does not exist yet; otherwise it
raises :class:`BlobConflictError` and the writer re-reads and retries.

Other readers of the same files (delta-rs, Polars, Dask, DuckDB) reach them through an object
store client of their own; :meth:`BlobStore.object_location` tells them where a key is and
which storage options open it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, runtime_checkable

import pyarrow as pa

from serenity.errors import StoreError

__all__ = ["BlobConflictError", "BlobStore", "LocalBlobStore", "ObjectLocation", "StoredBlob"]

log = logging.getLogger(__name__)


class BlobConflictError(StoreError):
    """A conditional write lost a race: the blob changed (or appeared) since it was read."""


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """A blob's content and the entity tag that identifies this content."""

    data: bytes
    etag: str


@dataclass(frozen=True, slots=True)
class ObjectLocation:
    """Where an object-store client (delta-rs, Polars, Dask, DuckDB) finds a key of a store.

    Parameters
    ----------
    uri
        An absolute local path, or ``az://<container>/<key>`` for Azure Blob Storage.
    storage_options
        The options the client needs to open ``uri`` (credentials included, so they are left
        out of the ``repr``); empty for a local path.
    """

    uri: str
    storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)


@runtime_checkable
class BlobStore(Protocol):
    """Named byte strings with conditional writes; keys are ``/``-separated relative paths."""

    @property
    def url(self) -> str:
        """Return the store's URL (``file:///...`` or ``azure://...``), free of secrets."""
        ...

    def exists(self) -> bool:
        """Return True if the store itself (the folder or container) exists; no side effects."""
        ...

    def read(self, key: str) -> StoredBlob | None:
        """Return the blob and its entity tag, or None when it does not exist."""
        ...

    def write(self, key: str, data: bytes, *, etag: str | None) -> str:
        """Replace the blob if its entity tag is still ``etag`` (create it if ``etag`` is None).

        Returns the new entity tag; raises :class:`BlobConflictError` when the condition fails.
        """
        ...

    def put(self, key: str, data: bytes | memoryview) -> None:
        """Create an immutable blob; a reader never sees it half written."""
        ...

    def open(self, key: str) -> pa.NativeFile:
        """Return a random-access reader of the blob; :class:`StoreError` when it is missing."""
        ...

    def size(self, key: str) -> int | None:
        """Return the blob's size in bytes, or None when it does not exist."""
        ...

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Yield every key that starts with ``prefix``, at any depth."""
        ...

    def children(self, prefix: str) -> list[str]:
        """Return the names of the immediate sub-folders of ``prefix`` (which ends in ``/``)."""
        ...

    def remove(self, key: str) -> None:
        """Delete the blob if it exists."""
        ...

    def object_location(self, key: str) -> ObjectLocation:
        """Return where object-store clients find ``key`` (a blob or a folder), with options."""
        ...


def _etag(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SCRATCH = (".tmp", ".lock")


class LocalBlobStore:
    """A :class:`BlobStore` in a local directory.

    Blobs are files under ``root``. Each write goes to a temporary file that is fsynced and then
    renamed over the target with :func:`os.replace`, which is atomic, so a reader sees the old or
    the new content and never a torn one. A conditional write holds an exclusive ``fcntl`` lock
    on ``<key>.lock`` while it compares the current content's digest (the entity tag) with the
    caller's and renames, which serialises writers across processes on one machine (not across
    machines sharing a network file system).

    Parameters
    ----------
    root
        The directory; created on the first write.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self._root = Path(root).expanduser().absolute()

    def __repr__(self) -> str:
        return f"LocalBlobStore({str(self._root)!r})"

    @property
    def url(self) -> str:
        """Return ``file://`` and the absolute root."""
        return self._root.as_uri()

    @property
    def root(self) -> Path:
        """Return the root directory."""
        return self._root

    def exists(self) -> bool:
        """Return True if the root directory exists."""
        return self._root.is_dir()

    def _path(self, key: str) -> Path:
        parts = key.split("/")
        if not key or any(p in ("", ".", "..") for p in parts):
            raise StoreError(f"{self.url}: invalid blob key {key!r}")
        return self._root.joinpath(*parts)

    def read(self, key: str) -> StoredBlob | None:
        """Return the file's content and digest, or None when it does not exist."""
        try:
            data = self._path(key).read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot read {key}: {exc.strerror}") from exc
        return StoredBlob(data, _etag(data))

    def write(self, key: str, data: bytes, *, etag: str | None) -> str:
        """Replace the file under a lock if its digest is still ``etag`` (create if None)."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path.with_name(path.name + ".lock"), "ab") as lock:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
                current = self.read(key)
                have = current.etag if current is not None else None
                if have != etag:
                    raise BlobConflictError(f"{self.url}: {key} changed since it was read")
                self._replace(path, data)
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot write {key}: {exc.strerror}") from exc
        return _etag(data)

    def _replace(self, path: Path, data: bytes | memoryview) -> None:
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise
        _fsync_dir(path.parent)

    def put(self, key: str, data: bytes | memoryview) -> None:
        """Write an immutable file through a temporary file and an atomic rename."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.exists():
                raise StoreError(f"{self.url}: {key} already exists; data blobs are immutable")
            self._replace(path, data)
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot write {key}: {exc.strerror}") from exc

    def open(self, key: str) -> pa.NativeFile:
        """Return a memory map of the file."""
        try:
            return pa.memory_map(str(self._path(key)), "r")
        except FileNotFoundError as exc:
            raise StoreError(f"{self.url}: {key} is missing") from exc
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot open {key}: {exc}") from exc

    def size(self, key: str) -> int | None:
        """Return the file's size, or None when it does not exist."""
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:
            return None

    def list_keys(self, prefix: str) -> Iterator[str]:
        """Yield the keys of the files under ``prefix``, skipping temporary and lock files."""
        folder, _, start = prefix.rpartition("/")
        base = self._root.joinpath(*folder.split("/")) if folder else self._root
        if not base.is_dir():
            return
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self._root).as_posix()
            for name in sorted(filenames):
                if name.endswith(_SCRATCH):
                    continue
                key = name if rel == "." else f"{rel}/{name}"
                if key.startswith(prefix):
                    yield key

    def children(self, prefix: str) -> list[str]:
        """Return the sub-directories of ``prefix``."""
        base = self._root.joinpath(*[p for p in prefix.split("/") if p])
        try:
            return sorted(e.name for e in os.scandir(base) if e.is_dir())
        except (FileNotFoundError, NotADirectoryError):
            return []

    def remove(self, key: str) -> None:
        """Delete the file if it exists."""
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.url}: cannot remove {key}: {exc.strerror}") from exc

    def object_location(self, key: str) -> ObjectLocation:
        """Return the absolute path of ``key``; local paths need no storage options."""
        return ObjectLocation(str(self._path(key)))
