"""``serenity journal``: read market-data journals as JSON lines or a per-stream table."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from serenity.cli._args import optional_instant
from serenity.errors import InvalidValueError
from serenity.marketdata import JournalReader, SegmentManifest, StreamKey
from serenity.marketdata.journal_reader import record_to_dict
from serenity.tau import format_ns

__all__ = ["JournalCommands", "parse_name"]


def parse_name(value: object, *, flag: str) -> str | None:
    """Return a venue, channel or symbol given on the command line as text.

    Fire turns ``--symbol=1000`` into an int and a bare ``--symbol`` into True, so both are
    handled here.

    Raises
    ------
    InvalidValueError
        For a bare flag, an empty value or a list, dict or float.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidValueError(f"{flag} needs a non-empty name, was {value!r}")
    return str(value)


def _journal_dir(value: object) -> Path:
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise InvalidValueError(f"DIR must be a journal folder, was {value!r}")
    path = Path(str(value))
    if not path.is_dir():
        raise InvalidValueError(f"journal folder {str(path)!r} does not exist or is not a folder")
    return path


def _stamp(t: int | None) -> str:
    return "-" if t is None else format_ns(t)[:19] + "Z"


def _write_lines(lines: Iterable[bytes]) -> None:
    out = sys.stdout
    try:
        for line in lines:
            out.write(line.decode())
        out.flush()
    except BrokenPipeError:  # e.g. piped into `head`: stop quietly, as cat does
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, out.fileno())


class JournalCommands:
    """Read market-data journals: dump records, or summarise streams from their manifests."""

    def dump(
        self,
        root: str,
        venue: str | None = None,
        channel: str | None = None,
        symbol: str | None = None,
        start: str | int | None = None,
        end: str | int | None = None,
    ) -> None:
        """Print records as JSON lines, stream by stream, each stream in written order.

        Parameters
        ----------
        root
            The journal folder.
        venue
            Only this venue, e.g. ``phemex``.
        channel
            Only this channel, e.g. ``trades`` or ``book``.
        symbol
            Only this venue symbol, e.g. ``BTCUSD``.
        start
            Only records received at or after this time: int ns, ISO UTC with up to nine
            fractional digits (``2024-01-02T03:00:00.123456789Z``) or a UTC day.
        end
            Only records received before this time, as for ``start``.

        Examples
        --------
        serenity journal dump ~/.serenity/journal --venue coinbase --symbol BTC-USD | head
        """
        path = _journal_dir(root)
        lo = optional_instant(start, flag="--start")
        hi = optional_instant(end, flag="--end")
        if lo is not None and hi is not None and hi <= lo:
            raise InvalidValueError(f"--end must be after --start, was start={start} end={end}")
        reader = JournalReader(
            path,
            venue=parse_name(venue, flag="--venue"),
            channel=parse_name(channel, flag="--channel"),
            symbol=parse_name(symbol, flag="--symbol"),
            start=lo,
            end=hi,
        )
        dumps, newline = orjson.dumps, orjson.OPT_APPEND_NEWLINE

        def lines() -> Iterable[bytes]:
            for key, record in reader.entries():
                doc: dict[str, Any] = {"stream": str(key), "channel": key.channel}
                doc.update(record_to_dict(record))
                yield dumps(doc, option=newline)

        _write_lines(lines())
        for defect in reader.defects:
            print(f"serenity: journal defect: {defect}", file=sys.stderr)

    def stats(self, root: str) -> None:
        """Print a table per stream: segments, records by kind, data-quality counts, times.

        Manifests that are missing or stale (a segment still open, or left by a crash) are
        rebuilt from their segments in memory; nothing is written.

        Parameters
        ----------
        root
            The journal folder.

        Examples
        --------
        serenity journal stats ~/.serenity/demo/journal
        """
        reader = JournalReader(_journal_dir(root))
        per_stream: dict[StreamKey, list[SegmentManifest]] = {}
        for manifest in reader.manifests():
            key = StreamKey(manifest.venue, manifest.channel, manifest.symbol)
            per_stream.setdefault(key, []).append(manifest)
        if not per_stream:
            print(f"no journal streams under {root}")
            return
        header = (
            "stream",
            "segments",
            "trades",
            "books",
            "events",
            "raw",
            "gaps",
            "resyncs",
            "reconnects",
            "crossed",
            "parse_errors",
            "defects",
            "first",
            "last",
        )
        rows = [header]
        for key in sorted(per_stream):
            ms = per_stream[key]
            firsts = [m.first_ts_recv for m in ms if m.first_ts_recv is not None]
            lasts = [m.last_ts_recv for m in ms if m.last_ts_recv is not None]
            rows.append(
                (
                    str(key),
                    str(len(ms)),
                    str(sum(m.counts.get("trade", 0) for m in ms)),
                    str(sum(m.counts.get("book", 0) for m in ms)),
                    str(sum(m.counts.get("event", 0) for m in ms)),
                    str(sum(m.counts.get("raw", 0) for m in ms)),
                    str(sum(m.gaps for m in ms)),
                    str(sum(m.resyncs for m in ms)),
                    str(sum(m.reconnects for m in ms)),
                    str(sum(m.crossed_books for m in ms)),
                    str(sum(m.parse_errors for m in ms)),
                    str(sum(m.defect is not None for m in ms)),
                    _stamp(min(firsts, default=None)),
                    _stamp(max(lasts, default=None)),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        for row in rows:
            cells = [
                cell.ljust(w) if i == 0 or i >= len(header) - 2 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            print("  ".join(cells).rstrip())
