"""``serenity runs``: list the strategy runs recorded in the database and show one.

SQLAlchemy is imported when a command runs, so ``serenity --help`` stays quick.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from serenity.cli._args import optional_text
from serenity.errors import ConfigError

if TYPE_CHECKING:
    from serenity.analytics.runs import RunRecord

__all__ = ["RunsCommands", "format_run", "format_runs"]


class RunsCommands:
    """Strategy runs (backtest, paper, live): what ran, how it did, where its outputs are."""

    def ls(
        self,
        strategy: str | None = None,
        kind: str | None = None,
        status: str | None = None,
        limit: int = 20,
        db_url: str | None = None,
    ) -> None:
        """List runs, newest first, with their headline statistics.

        Parameters
        ----------
        strategy
            Only runs of this strategy.
        kind
            Only ``backtest``, ``paper`` or ``live`` runs.
        status
            Only ``running``, ``completed`` or ``failed`` runs.
        limit
            Show at most this many runs.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity runs ls --strategy bbands1 --kind backtest
        """
        from serenity.analytics.runs import list_runs
        from serenity.db.engine import create_engine_from_url
        from serenity.model import RunKind, RunStatus

        if isinstance(limit, bool) or not isinstance(limit, int) or limit <= 0:
            raise ConfigError(f"--limit must be a positive integer, was {limit!r}")
        kind_text = optional_text(kind, flag="--kind")
        status_text = optional_text(status, flag="--status")
        _check_choice(kind_text, [k.value for k in RunKind], "--kind")
        _check_choice(status_text, [s.value for s in RunStatus], "--status")
        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"))
        try:
            runs = list_runs(
                engine,
                strategy=optional_text(strategy, flag="--strategy"),
                kind=kind_text,
                status=status_text,
                limit=limit,
            )
        finally:
            engine.dispose()
        print(format_runs(runs) if runs else "no runs")

    def show(self, run: int, db_url: str | None = None) -> None:
        """Show one run: its window, statistics, outputs, data versions and config.

        Parameters
        ----------
        run
            The run's id (the first column of ``serenity runs ls``).
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity runs show 12
        """
        from serenity.analytics.runs import get_run
        from serenity.db.engine import create_engine_from_url

        if isinstance(run, bool) or not isinstance(run, int) or run <= 0:
            raise ConfigError(f"RUN must be a run id (a positive integer), was {run!r}")
        engine = create_engine_from_url(optional_text(db_url, flag="--db-url"))
        try:
            record = get_run(engine, run)
        finally:
            engine.dispose()
        print(format_run(record))


def _check_choice(value: str | None, choices: Sequence[str], flag: str) -> None:
    if value is not None and value.lower() not in choices:
        raise ConfigError(f"{flag} must be one of {', '.join(choices)}, was {value!r}")


def _time(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d %H:%M:%S}"


def _day(value: Any) -> str:
    return "" if value is None else f"{value:%Y-%m-%d}"


def _number(stats: dict[str, Any] | None, key: str, spec: str) -> str:
    value = None if stats is None else stats.get(key)
    return "" if not isinstance(value, int | float) else format(value, spec)


def format_runs(runs: Sequence[RunRecord]) -> str:
    """Return runs as an aligned text table with a header line."""
    header = ["ID", "KIND", "STRATEGY", "STATUS", "STARTED", "WINDOW", "NET_PNL", "RETURN"]
    header += ["SHARPE", "MAX_DD", "FILLS"]
    table = [header]
    for r in runs:
        s = r.statistics
        window = f"{_day(r.window_start)}..{_day(r.window_end)}" if r.window_start else ""
        table.append(
            [
                str(r.id),
                str(r.kind),
                r.strategy,
                str(r.status),
                _time(r.started_at),
                window,
                _number(s, "net_pnl", ",.2f"),
                _number(s, "total_return", ".2%"),
                _number(s, "sharpe", ".2f"),
                _number(s, "max_drawdown", ".2%"),
                _number(s, "fills", ",d"),
            ]
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )


def format_run(run: RunRecord) -> str:
    """Return one run as readable text: fields, statistics, data versions, config."""
    lines = [
        f"run {run.id}: {run.kind} of {run.strategy}, {run.status}",
        f"  started   {_time(run.started_at)} UTC",
        f"  finished  {_time(run.finished_at) + ' UTC' if run.finished_at else '-'}",
        f"  window    {_time(run.window_start) or '-'} .. {_time(run.window_end) or '-'}",
        f"  outputs   {run.output_uri or '-'}",
    ]
    report = Path(run.output_uri) / "report.html" if run.output_uri else None
    if report is not None and report.is_file():
        lines.append(f"  report    {report}")
    if run.error:
        lines.append(f"  error     {run.error}")
    if run.statistics:
        lines.append("statistics:")
        width = max(len(k) for k in run.statistics)
        for key, value in run.statistics.items():
            shown = json.dumps(value, sort_keys=True) if isinstance(value, dict) else value
            lines.append(f"  {key.ljust(width)}  {'-' if shown is None else shown}")
    if run.data_versions:
        lines.append("data versions:")
        lines.append(_indent(yaml.safe_dump(run.data_versions, sort_keys=True)))
    lines.append("config:")
    lines.append(_indent(yaml.safe_dump(run.config, sort_keys=False)) if run.config else "  -")
    return "\n".join(lines)


def _indent(text: str) -> str:
    return "\n".join(f"  {line}" for line in text.rstrip().splitlines())
