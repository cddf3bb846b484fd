"""Text the demo prints: aligned tables and the rows it tabulates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from serenity.marketdata.batch import SplayResult
from serenity.signal import OHLC, Bands

_QUALITY: Final = ("gap", "resync", "reconnect", "crossed_book", "parse_error")


@dataclass(frozen=True, slots=True)
class BarRow:
    """One replayed bar and the Bollinger bands of its close (None while warming up)."""

    bar: OHLC
    bands: Bands | None


def table(rows: Sequence[Sequence[object]], header: Sequence[str], *, indent: int = 6) -> str:
    """Return ``rows`` under ``header`` as aligned text; numbers are right-aligned."""
    cells = [[str(c) for c in header]] + [[_cell(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    numeric = [bool(rows) and all(_is_number(row[i]) for row in rows) for i in range(len(header))]
    lines = []
    for r in cells:
        parts = [
            c.rjust(w) if is_num else c.ljust(w)
            for c, w, is_num in zip(r, widths, numeric, strict=True)
        ]
        lines.append(" " * indent + "  ".join(parts).rstrip())
    return "\n".join(lines)


def quality_text(quality: Mapping[str, Any]) -> str:
    """Return a splay's data-quality facts as ``clean`` or ``gap=1 reconnect=2 ...``."""
    found = [f"{kind}={quality[kind]}" for kind in _QUALITY if quality.get(kind)]
    defects = quality.get("defects") or []
    if defects:
        found.append(f"journal_defects={len(defects)}")
    return " ".join(found) or "clean"


def splay_rows(results: Sequence[SplayResult]) -> list[list[object]]:
    """Return one row per stored partition: table, symbol, day, rows, version, state, quality."""
    return [
        [
            r.table,
            r.symbol,
            r.day.isoformat(),
            r.rows,
            r.version,
            "new" if r.created else "unchanged",
            quality_text(r.quality),
        ]
        for r in results
    ]


def bar_rows(rows: Sequence[BarRow]) -> list[list[object]]:
    """Return the bars as table rows: time, OHLC, volume, trades and the three bands."""
    out: list[list[object]] = []
    for row in rows:
        bar, bands = row.bar, row.bands
        when = dt.datetime.fromtimestamp(bar.start // 1_000_000_000, dt.UTC)
        lines = ["-", "-", "-"] if bands is None else [bands.lower, bands.middle, bands.upper]
        out.append(
            [
                f"{when:%H:%M}",
                bar.open,
                bar.high,
                bar.low,
                bar.close,
                bar.volume,
                bar.trade_count,
                *lines,
            ]
        )
    return out


BAR_HEADER: Final = ("time", "open", "high", "low", "close", "volume", "trades")
BAR_HEADER_BANDS: Final = (*BAR_HEADER, "bb lower", "bb middle", "bb upper")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) or value == "-"


def _cell(value: object) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) >= 1 or value == 0 else f"{value:.4f}"
    return str(value)
