"""``report.html``: one self-contained page per run, made with plotly, that works offline.

The page holds the summary table, the equity curve with its drawdown, each instrument's
price with the run's entries and exits marked, one panel per capture channel, and the run's
config. plotly.js is inlined once (no CDN, no network), so the file can be mailed or opened
from a laptop without internet. Long series are thinned to ``max_points`` per line (the last
value of each time bucket; the drawdown keeps each bucket's deepest point).
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from serenity.analytics.reader import RunOutputs
from serenity.analytics.statistics import compute_statistics, fill_roles, starting_capital

__all__ = ["REPORT_FILE", "build_report"]

log = logging.getLogger(__name__)

REPORT_FILE: Final = "report.html"
"""The report's file name inside a run folder."""

_BUY: Final = "#2ca02c"
_SELL: Final = "#d62728"
_PERCENT: Final = frozenset(
    {"total_return", "annual_return", "volatility", "max_drawdown", "win_rate", "exposure_time"}
)
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table.summary { border-collapse: collapse; font-size: 0.9rem; }
table.summary td, table.summary th { padding: 0.2rem 0.8rem; border-bottom: 1px solid #ddd;
       text-align: left; }
table.summary td.value { text-align: right; font-variant-numeric: tabular-nums; }
pre.config { background: #f6f6f6; padding: 0.8rem; overflow-x: auto; font-size: 0.85rem; }
p.note { color: #666; font-size: 0.85rem; }
"""


def build_report(
    folder: str | Path,
    *,
    title: str | None = None,
    max_points: int = 5000,
    max_markers: int = 5000,
) -> Path:
    """Write ``report.html`` into a run folder and return its path.

    Parameters
    ----------
    folder
        The run folder (finished, or still being written).
    title
        The page's title; ``Run <folder name>`` when omitted.
    max_points
        Points kept per line; longer series are thinned.
    max_markers
        Fills marked per instrument; with more, every k-th is shown (the title says so).

    Raises
    ------
    DataError
        When ``folder`` is not a run folder.
    """
    outputs = RunOutputs(folder)
    pnl = outputs.pnl
    fills = outputs.fills
    marks = outputs.marks
    summary = outputs.summary if outputs.has_summary else _quick_summary(outputs, pnl, fills)
    heading = title or f"Run {outputs.folder.name}"
    panels: list[tuple[str, go.Figure | None, str]] = [
        ("Equity and drawdown", _equity_figure(pnl, max_points), "")
    ]
    instruments = sorted(
        set(marks["instrument"].astype(str)) | set(fills["instrument"].astype(str))
    )
    roles = fill_roles(fills)
    for instrument in instruments:
        figure, note = _price_figure(instrument, marks, fills, roles, max_points, max_markers)
        panels.append((f"{instrument}: price, entries and exits", figure, note))
    for channel in outputs.channels:
        figure, note = _channel_figure(channel, outputs.capture(channel), max_points)
        panels.append((f"Capture channel: {channel}", figure, note))

    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(heading)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(heading)}</h1>",
        "<h2>Summary</h2>",
        _summary_table(summary),
    ]
    first = True
    for name, figure, note in panels:
        parts.append(f"<h2>{html.escape(name)}</h2>")
        if note:
            parts.append(f'<p class="note">{html.escape(note)}</p>')
        if figure is not None:
            parts.append(
                figure.to_html(
                    full_html=False,
                    include_plotlyjs=first,
                    config={"displaylogo": False, "responsive": True},
                )
            )
            first = False
    config = outputs.config_text
    parts.append("<h2>Config</h2>")
    parts.append(
        f'<pre class="config">{html.escape(config)}</pre>'
        if config is not None
        else '<p class="note">The run recorded no config.</p>'
    )
    parts.append("</body></html>")
    path = outputs.folder / REPORT_FILE
    path.write_text("\n".join(parts), encoding="utf-8")
    log.info("run.report.written", extra={"path": str(path), "panels": len(panels)})
    return path


def _quick_summary(outputs: RunOutputs, pnl: pd.DataFrame, fills: pd.DataFrame) -> dict[str, Any]:
    orders = outputs.table("orders", ["order_id"])
    return compute_statistics(pnl, fills, orders=int(orders["order_id"].nunique())).to_dict()


def _times(ts: Any) -> pd.DatetimeIndex:
    """Return UTC times for plotly, to the microsecond (plotly.js has no nanoseconds)."""
    micros = np.asarray(ts, dtype="int64") // 1000
    return pd.DatetimeIndex(pd.to_datetime(micros, unit="us", utc=True))


def _thin(
    ts: np.ndarray, values: np.ndarray, max_points: int, how: str = "last"
) -> tuple[np.ndarray, np.ndarray]:
    """Return at most about ``max_points`` points: per time bucket the last (or min) value."""
    if ts.size <= max_points or ts.size == 0:
        return ts, values
    span = int(ts[-1] - ts[0]) + 1
    bucket = (ts - ts[0]).astype("float64") * max_points // span
    frame = pd.DataFrame({"b": bucket, "ts": ts, "v": values})
    if how == "min":  # NaN sorts last, so a bucket keeps its lowest value
        frame = frame.sort_values(["b", "v"], kind="stable")
        picked = frame.drop_duplicates("b", keep="first").sort_values("ts", kind="stable")
    else:
        picked = frame.drop_duplicates("b", keep="last")
    return picked["ts"].to_numpy(dtype="int64"), picked["v"].to_numpy()


def _equity_figure(pnl: pd.DataFrame, max_points: int) -> go.Figure:
    frame = pnl.sort_values("ts", kind="stable")
    ts = frame["ts"].to_numpy(dtype="int64")
    equity = frame["equity"].to_numpy(dtype="float64")
    capital = starting_capital(pnl)
    peaks = np.maximum.accumulate(np.concatenate(([capital], equity)))[1:] if ts.size else equity
    with np.errstate(divide="ignore", invalid="ignore"):
        drawdown = np.where(peaks > 0, equity / peaks - 1.0, np.nan)
    figure = make_subplots(
        rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.04
    )
    t_eq, v_eq = _thin(ts, equity, max_points)
    figure.add_trace(
        go.Scatter(x=_times(t_eq), y=v_eq, name="equity", mode="lines", line={"width": 1.5}),
        row=1,
        col=1,
    )
    t_dd, v_dd = _thin(ts, drawdown, max_points, how="min")
    figure.add_trace(
        go.Scatter(
            x=_times(t_dd),
            y=v_dd,
            name="drawdown",
            mode="lines",
            fill="tozeroy",
            line={"width": 1, "color": _SELL},
        ),
        row=2,
        col=1,
    )
    currency = str(frame["currency"].iloc[-1]) if len(frame) else ""
    figure.update_yaxes(title_text=f"equity {currency}".strip(), row=1, col=1)
    figure.update_yaxes(title_text="drawdown", tickformat=".1%", row=2, col=1)
    figure.update_layout(height=520, margin={"l": 60, "r": 20, "t": 20, "b": 40})
    return figure


def _price_figure(
    instrument: str,
    marks: pd.DataFrame,
    fills: pd.DataFrame,
    roles: pd.Series,
    max_points: int,
    max_markers: int,
) -> tuple[go.Figure, str]:
    figure = go.Figure()
    prices = marks[marks["instrument"] == instrument].sort_values("ts", kind="stable")
    ts, price = _thin(
        prices["ts"].to_numpy(dtype="int64"), prices["price"].to_numpy(dtype="float64"), max_points
    )
    figure.add_trace(
        go.Scatter(
            x=_times(ts), y=price, name="price", mode="lines", line={"width": 1, "color": "#555"}
        )
    )
    mine = fills[fills["instrument"] == instrument]
    note = ""
    step = 1
    if len(mine) > max_markers:
        step = -(-len(mine) // max_markers)
        note = f"{len(mine):,} fills; one in every {step} is marked."
    for side, symbol, colour in (("BUY", "triangle-up", _BUY), ("SELL", "triangle-down", _SELL)):
        rows = mine[mine["side"] == side].iloc[::step]
        if rows.empty:
            continue
        text = [
            f"{roles.loc[i]} {side.lower()} {q:g} @ {p:g} (fee {f:g})"
            for i, q, p, f in zip(rows.index, rows["qty"], rows["price"], rows["fee"], strict=True)
        ]
        figure.add_trace(
            go.Scatter(
                x=_times(rows["ts"]),
                y=rows["price"].to_numpy(dtype="float64"),
                name="buys" if side == "BUY" else "sells",
                mode="markers",
                marker={"symbol": symbol, "size": 9, "color": colour},
                text=text,
                hoverinfo="x+text",
            )
        )
    if prices.empty and mine.empty:
        note = "No prices or fills."
    figure.update_layout(height=420, margin={"l": 60, "r": 20, "t": 20, "b": 40})
    return figure, note


def _channel_figure(
    channel: str, frame: pd.DataFrame, max_points: int
) -> tuple[go.Figure | None, str]:
    frame = frame.sort_values("ts", kind="stable")
    numeric = [
        c
        for c in frame.columns
        if c != "ts"
        and (pd.api.types.is_numeric_dtype(frame[c]) or pd.api.types.is_bool_dtype(frame[c]))
    ]
    skipped = [c for c in frame.columns if c != "ts" and c not in numeric]
    note = f"Not plotted (not numbers): {', '.join(skipped)}." if skipped else ""
    if not numeric:
        return None, note or f"Channel {channel} has no fields."
    ts = frame["ts"].to_numpy(dtype="int64")
    series = {c: frame[c].to_numpy(dtype="float64", na_value=np.nan) for c in numeric}
    groups = _by_scale(series)
    figure = make_subplots(
        rows=len(groups), cols=1, shared_xaxes=True, vertical_spacing=0.06 / len(groups)
    )
    for row, names in enumerate(groups, start=1):
        for column in names:
            t, v = _thin(ts, series[column], max_points)
            figure.add_trace(
                go.Scatter(x=_times(t), y=v, name=column, mode="lines", line={"width": 1.2}),
                row=row,
                col=1,
            )
    figure.update_layout(
        height=200 + 180 * len(groups), margin={"l": 60, "r": 20, "t": 20, "b": 40}
    )
    return figure, note


def _by_scale(series: Mapping[str, np.ndarray]) -> list[list[str]]:
    """Group fields whose typical size (median of |value|) is within 10x, in field order.

    Fields on very different scales (a price and a z-score) get their own row of the panel.
    """
    scales: dict[str, float] = {}
    for name, values in series.items():
        finite = np.abs(values[np.isfinite(values)])
        typical = float(np.median(finite)) if finite.size else 0.0
        scales[name] = math.log10(typical) if typical > 0 else 0.0
    groups: list[list[str]] = []
    for name in series:
        for group in groups:
            if all(abs(scales[name] - scales[other]) < 1.0 for other in group):
                group.append(name)
                break
        else:
            groups.append([name])
    return groups


_LABELS: Final = {
    "start": "start (UTC)",
    "end": "end (UTC)",
    "ticks": "ticks",
    "wall_seconds": "wall seconds",
    "ticks_per_second": "ticks per second",
    "orders": "orders",
    "fills": "fills",
    "round_trips": "round trips (closed)",
    "starting_capital": "starting capital",
    "ending_equity": "ending equity",
    "realised_pnl": "realised P&L",
    "unrealised_pnl": "unrealised P&L",
    "fees": "fees",
    "net_pnl": "net P&L",
    "total_return": "return",
    "annual_return": "annualised return",
    "volatility": "annualised volatility",
    "sharpe": "Sharpe (annualised)",
    "sortino": "Sortino (annualised)",
    "max_drawdown": "max drawdown",
    "traded_notional": "traded notional",
    "turnover": "turnover (× capital)",
    "win_rate": "win rate",
    "exposure_time": "exposure time",
    "return_frequency": "return frequency",
    "periods_per_year": "periods per year",
    "periods": "return periods",
    "currency": "currency",
}


def _format(name: str, value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if name in _PERCENT:
        return f"{value:.2%}"
    if isinstance(value, int):
        return f"{value:,}"
    if name in ("sharpe", "sortino", "beta", "correlation", "turnover"):
        return f"{value:.2f}"
    return f"{value:,.2f}"


def _summary_table(summary: Mapping[str, Any]) -> str:
    rows = []
    for name, label in _LABELS.items():
        if name in summary:
            rows.append((label, _format(name, summary[name])))
    bench = summary.get("benchmark")
    if isinstance(bench, Mapping):
        label = f"vs {bench.get('name', 'benchmark')}"
        for key in ("benchmark_return", "excess_return", "alpha", "beta", "correlation"):
            shown = key in ("benchmark_return", "excess_return", "alpha")
            value = bench.get(key)
            text = f"{value:.2%}" if shown and isinstance(value, float) else _format(key, value)
            rows.append((f"{label}: {key.replace('_', ' ')}", text))
    cells = "\n".join(
        f'<tr><th>{html.escape(k)}</th><td class="value">{html.escape(v)}</td></tr>'
        for k, v in rows
    )
    return f'<table class="summary">\n{cells}\n</table>'
