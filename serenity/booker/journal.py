"""A write-ahead journal of records waiting to be booked, so none is lost to a crash or restart.

The file is JSON lines. :meth:`BookingJournal.append` writes records with increasing sequence
numbers (``{"seq": 7, "kind": "order", ...}``) and flushes them (and fsyncs, by default)
before the database is touched; :meth:`BookingJournal.mark_booked` records that every record
up to a sequence number is in the database (``{"booked": 7}``) and empties the file once
nothing is left to book. :meth:`BookingJournal.load` returns what was journaled but never
marked booked: a restarted booker books those first. Booking is idempotent, so a record that
reached the database just before a crash (and was never marked) is booked again harmlessly.

A line cut short by a crash at the end of the file is dropped (those records had not been
flushed, so their batch had not reached the database either); a bad line anywhere else is a
:class:`~serenity.errors.DataError` naming the file and line, never skipped silently.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path

import orjson

from serenity.booker.records import BookingRecord, record_from_dict, record_to_dict
from serenity.errors import DataError, StoreError

__all__ = ["BookingJournal"]

log = logging.getLogger(__name__)


class BookingJournal:
    """Journal records before they are booked; give back the unbooked ones after a restart.

    Opens nothing until used; one writer at a time (the booking service's writer).

    Parameters
    ----------
    path
        The journal file; its folder is created when needed.
    fsync
        Also ``fsync`` every append and truncation. Without it, journaled records survive a
        crash of the process but not of the machine.
    """

    def __init__(self, path: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.path = Path(path)
        self.fsync = bool(fsync)
        self._next_seq: int | None = None
        self._last_seq = 0
        self._booked = 0

    @property
    def pending_count(self) -> int:
        """Return how many appended records are not yet marked booked."""
        return self._last_seq - self._booked

    def load(self) -> list[tuple[int, BookingRecord]]:
        """Return the journaled records never marked booked, with their sequence numbers.

        Raises
        ------
        DataError
            When a line other than the last one is not a journal line.
        StoreError
            When the file cannot be read.
        """
        entries: list[tuple[int, BookingRecord]] = []
        booked, last = 0, 0
        try:
            data = self.path.read_bytes() if self.path.exists() else b""
        except OSError as exc:
            raise StoreError(f"cannot read booking journal {self.path}: {exc}") from exc
        lines = data.split(b"\n")
        complete, tail = lines[:-1], lines[-1]
        for number, line in enumerate(complete, start=1):
            if not line.strip():
                continue
            try:
                item = orjson.loads(line)
                if "booked" in item:
                    booked = max(booked, int(item["booked"]))
                    continue
                seq = int(item.pop("seq"))
                entries.append((seq, record_from_dict(item)))
                last = max(last, seq)
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, DataError) as exc:
                raise DataError(
                    f"booking journal {self.path} line {number} is not a journal line: {exc}"
                ) from None
        if tail:
            log.warning(
                "booker.journal_torn_tail", extra={"path": str(self.path), "bytes": len(tail)}
            )
            self._rewrite(data[: len(data) - len(tail)])
        self._last_seq = max(last, booked)
        self._booked = booked
        self._next_seq = self._last_seq + 1
        return [(seq, record) for seq, record in entries if seq > booked]

    def append(self, records: Sequence[BookingRecord]) -> int:
        """Journal ``records`` (flushed, and fsynced if asked); return the last sequence number.

        Raises
        ------
        StoreError
            When the file cannot be written; nothing is then journaled.
        """
        if self._next_seq is None:
            self.load()
        assert self._next_seq is not None
        if not records:
            return self._next_seq - 1
        seq = self._next_seq
        lines = []
        for record in records:
            item = record_to_dict(record)
            item["seq"] = seq
            lines.append(orjson.dumps(item))
            seq += 1
        self._write(b"\n".join(lines) + b"\n", mode="ab")
        self._next_seq = seq
        self._last_seq = seq - 1
        return self._last_seq

    def mark_booked(self, through_seq: int) -> None:
        """Record that every record up to ``through_seq`` is in the database.

        The file is emptied when nothing after it is pending.

        Raises
        ------
        StoreError
            When the file cannot be written.
        """
        if through_seq <= self._booked:
            return
        self._booked = through_seq
        if through_seq >= self._last_seq:
            self._rewrite(b"")
        else:
            self._write(orjson.dumps({"booked": through_seq}) + b"\n", mode="ab")

    def _rewrite(self, data: bytes) -> None:
        self._write(data, mode="wb")

    def _write(self, data: bytes, *, mode: str) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, mode) as fh:
                fh.write(data)
                fh.flush()
                if self.fsync:
                    os.fsync(fh.fileno())
        except OSError as exc:
            raise StoreError(f"cannot write booking journal {self.path}: {exc}") from exc
