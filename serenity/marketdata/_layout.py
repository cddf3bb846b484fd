"""Where journal streams and segments live on disk, and how their names are spelled.

``ROOT/<venue>/<channel>/<symbol>/<YYYYMMDD>T<HH>Z.<part>.journal``, each name
percent-encoded so any symbol makes a safe, reversible file name. ``part`` numbers the
segments of one hour in the order they were opened: a restarted writer takes the next one.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final
from urllib.parse import quote, unquote

from serenity.errors import InvalidValueError

__all__ = [
    "NS_PER_HOUR",
    "SEGMENT_SUFFIX",
    "Segment",
    "StreamKey",
    "decode_name",
    "encode_name",
    "find_segments",
    "find_streams",
    "hour_of",
    "next_part",
    "segment_name",
]

NS_PER_HOUR: Final = 3_600 * 1_000_000_000
SEGMENT_SUFFIX: Final = ".journal"
_SEGMENT_RE: Final = re.compile(r"^(\d{8})T(\d{2})Z\.(\d{4,})\.journal$")


def encode_name(text: str, *, what: str) -> str:
    """Return ``text`` as a safe file name: percent-encoded, never starting with a dot.

    Raises
    ------
    InvalidValueError
        When ``text`` is empty or not a string.
    """
    if not isinstance(text, str) or not text:
        raise InvalidValueError(f"journal {what} must be a non-empty string, was {text!r}")
    name = quote(text, safe="")
    return "%2E" + name[1:] if name.startswith(".") else name


def decode_name(name: str) -> str:
    """Return the text that :func:`encode_name` spelled as ``name``."""
    return unquote(name)


def hour_of(t: int) -> int:
    """Return the start of the UTC hour that contains ``t`` (int ns)."""
    return t - t % NS_PER_HOUR


def segment_name(hour: int, part: int) -> str:
    """Return the file name of segment ``part`` of the UTC hour starting at ``hour`` (ns)."""
    stamp = dt.datetime.fromtimestamp(hour // 1_000_000_000, tz=dt.UTC)
    return f"{stamp:%Y%m%dT%H}Z.{part:04d}{SEGMENT_SUFFIX}"


def _parse_segment_name(name: str) -> tuple[int, int] | None:
    match = _SEGMENT_RE.match(name)
    if match is None:
        return None
    day, hh, part = match.groups()
    stamp = dt.datetime.strptime(day + hh, "%Y%m%d%H").replace(tzinfo=dt.UTC)
    return int(stamp.timestamp()) * 1_000_000_000, int(part)


@dataclass(frozen=True, slots=True, order=True)
class StreamKey:
    """One journal stream: a venue's channel for one symbol, e.g. phemex/trades/BTCUSD."""

    venue: str
    channel: str
    symbol: str

    def __str__(self) -> str:
        return f"{self.venue}/{self.channel}/{self.symbol}"

    def directory(self, root: Path) -> Path:
        """Return the stream's folder under the journal ``root``.

        Raises
        ------
        InvalidValueError
            When the venue, channel or symbol is empty.
        """
        return (
            root
            / encode_name(self.venue, what="venue")
            / encode_name(self.channel, what="channel")
            / encode_name(self.symbol, what="symbol")
        )


@dataclass(frozen=True, slots=True, order=True)
class Segment:
    """One segment file of a stream: the records of one UTC hour from one writer run.

    Attributes
    ----------
    stream
        The stream it belongs to.
    hour
        Start of its UTC hour, int ns.
    part
        Its number within the hour (a restarted writer opens the next part).
    path
        The file.
    """

    stream: StreamKey
    hour: int
    part: int
    path: Path


def _subdirs(path: Path) -> list[tuple[str, Path]]:
    try:
        with os.scandir(path) as it:
            return sorted((e.name, Path(e.path)) for e in it if e.is_dir())
    except FileNotFoundError:
        return []


def find_streams(root: Path) -> list[tuple[StreamKey, Path]]:
    """Return every stream under ``root`` with its folder, sorted."""
    out = []
    for venue, vdir in _subdirs(root):
        for channel, cdir in _subdirs(vdir):
            for symbol, sdir in _subdirs(cdir):
                key = StreamKey(decode_name(venue), decode_name(channel), decode_name(symbol))
                out.append((key, sdir))
    return sorted(out)


def find_segments(stream: StreamKey, directory: Path) -> list[Segment]:
    """Return the segments in a stream's ``directory``, in (hour, part) order."""
    out = []
    try:
        with os.scandir(directory) as it:
            for entry in it:
                parsed = _parse_segment_name(entry.name)
                if parsed is not None and entry.is_file():
                    out.append(Segment(stream, parsed[0], parsed[1], Path(entry.path)))
    except FileNotFoundError:
        return []
    return sorted(out)


def next_part(directory: Path, hour: int) -> int:
    """Return the first part number after every segment of ``hour`` already in ``directory``."""
    prefix = segment_name(hour, 0).split(".", 1)[0] + "."
    parts = [-1]
    with os.scandir(directory) as it:
        for entry in it:
            if entry.name.startswith(prefix):
                parsed = _parse_segment_name(entry.name)
                if parsed is not None:
                    parts.append(parsed[1])
    return max(parts) + 1
