"""``sweep.html``: a sweep's results on one self-contained page (plotly inlined, offline).

A two-parameter grid gets a heatmap of the chosen metric (one axis per parameter), a
one-parameter grid a line of the metric against its values; every sweep gets the results
table, best first, with failed points and their errors at the end.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import pandas as pd
import plotly.graph_objects as go

__all__ = ["SWEEP_PAGE", "build_sweep_page"]

log = logging.getLogger(__name__)

SWEEP_PAGE: Final = "sweep.html"
"""The page's file name inside a sweep folder."""

_SHOWN: Final = (
    "total_return",
    "annual_return",
    "sharpe",
    "sortino",
    "max_drawdown",
    "volatility",
    "fills",
    "fees",
    "net_pnl",
)
_STYLE: Final = """
body { font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 1200px;
       color: #222; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; }
td, th { padding: 0.2rem 0.6rem; border-bottom: 1px solid #ddd; text-align: right; }
td.error { color: #b00; text-align: left; }
"""


def build_sweep_page(
    folder: str | Path,
    results: pd.DataFrame,
    *,
    params: Sequence[str],
    metric: str,
    title: str,
) -> Path:
    """Write ``sweep.html`` into ``folder`` and return its path.

    Parameters
    ----------
    folder
        The sweep folder.
    results
        The results table (one row per point: the params, the statistics, ``error``).
    params
        The grid keys, in grid order.
    metric
        The statistic to chart.
    title
        The page's heading.
    """
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    figure = _figure(results, list(params), metric)
    if figure is not None:
        parts.append(f"<h2>{html.escape(metric)} by {html.escape(' and '.join(params))}</h2>")
        parts.append(
            figure.to_html(
                full_html=False,
                include_plotlyjs=True,
                config={"displaylogo": False, "responsive": True},
            )
        )
    parts.append("<h2>Results, best first</h2>")
    parts.append(_table(results, list(params), metric))
    parts.append("</body></html>")
    path = Path(folder) / SWEEP_PAGE
    path.write_text("\n".join(parts), encoding="utf-8")
    log.info("sweep.page.written", extra={"path": str(path)})
    return path


def _figure(results: pd.DataFrame, params: list[str], metric: str) -> go.Figure | None:
    if metric not in results.columns or len(params) not in (1, 2):
        return None
    values = pd.to_numeric(results[metric], errors="coerce")
    if len(params) == 1:
        frame = pd.DataFrame({"x": results[params[0]], "y": values}).sort_values("x")
        figure = go.Figure(go.Scatter(x=frame["x"], y=frame["y"], mode="lines+markers"))
        figure.update_xaxes(title_text=params[0])
        figure.update_yaxes(title_text=metric)
    else:
        x, y = params
        frame = pd.DataFrame({"x": results[x], "y": results[y], "z": values})
        grid = frame.pivot_table(index="y", columns="x", values="z", aggfunc="first", dropna=False)
        text = [["–" if pd.isna(v) else f"{v:.3g}" for v in row] for row in grid.to_numpy()]
        figure = go.Figure(
            go.Heatmap(
                z=grid.to_numpy(),
                x=[str(c) for c in grid.columns],
                y=[str(i) for i in grid.index],
                text=text,
                texttemplate="%{text}",
                colorscale="RdYlGn",
                colorbar={"title": {"text": metric}},
            )
        )
        figure.update_xaxes(title_text=x, type="category")
        figure.update_yaxes(title_text=y, type="category")
    figure.update_layout(height=480, margin={"l": 60, "r": 20, "t": 20, "b": 50})
    return figure


def _table(results: pd.DataFrame, params: list[str], metric: str) -> str:
    columns = ["point", *params, metric, *(c for c in _SHOWN if c != metric)]
    columns = [c for c in dict.fromkeys(columns) if c in results.columns]
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [*columns, "error"])
    rows = []
    for _, row in results.iterrows():
        cells = "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns)
        error = row.get("error")
        cells += (
            f'<td class="error">{html.escape(str(error)) if isinstance(error, str) else ""}</td>'
        )
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><tr>{head}</tr>\n" + "\n".join(rows) + "\n</table>"


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)
