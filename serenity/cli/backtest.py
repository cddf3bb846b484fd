"""``serenity backtest``: run a strategy config over stored market data, and rerun a run."""

from __future__ import annotations

import sys
import time
from typing import Any

from serenity.cli._args import hide_progress, instant, optional_instant, optional_text, switch, text
from serenity.cli._summary import headline, num

__all__ = ["BacktestCommands"]


class BacktestCommands:
    """Backtest strategies on the tick store; every run writes orders, fills, P&L and a report."""

    def run(
        self,
        config: str,
        start: str,
        end: str,
        store: str | None = None,
        out: str | None = None,
        as_of: str | None = None,
        per_event: bool = False,
        db_url: str | None = None,
    ) -> None:
        """Backtest a strategy config over ``[START, END)`` of the tick store.

        Writes orders, fills, positions, P&L, marks and capture channels as Parquet, then
        ``summary.json`` and a self-contained ``report.html``, and prints where they are and
        the headline statistics. The run is recorded in the database when one exists.

        Parameters
        ----------
        config
            The run's YAML config (see docs/algo.rst), e.g.
            ``examples/strategies/bbands1.yaml``, or the name of an example strategy
            (``bbands1``, ``peg``, ``reference_bbands``).
        start
            First instant, ``YYYY-MM-DD`` (UTC midnight) or ISO-8601 with a zone.
        end
            End of the window (excluded), same forms.
        store
            Tick store URL; default ``$SERENITY_TICKSTORE``, else
            ``file://$SERENITY_HOME/demo/ticks`` (where ``serenity demo`` splays).
        out
            The run folder; default ``$SERENITY_HOME/runs/<strategy>/<run id>``.
        as_of
            Replay the store as it was known at this time (its bitemporal reads).
        per_event
            Run every row per event instead of the columnar fast path (same results; for
            debugging).
        db_url
            Database URL for the run record; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db`` (skipped when it does not exist).

        Examples
        --------
        serenity backtest run examples/strategies/bbands1.yaml --start 2024-01-02 --end 2024-01-03
        """
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        from serenity.algo import backtest

        start_ns = instant(start, flag="--start")
        end_ns = instant(end, flag="--end")
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
        total_min = max((end_ns - start_ns) // (60 * 10**9), 1)
        with (
            logging_redirect_tqdm(),
            tqdm(total=total_min, file=sys.stderr, unit="min", desc="backtest", **off) as bar,
        ):
            clock = time.perf_counter()

            def advance(done_ns: int, events: int) -> None:
                bar.n = min(done_ns // (60 * 10**9), total_min)
                elapsed = time.perf_counter() - clock
                if elapsed > 0:
                    bar.set_postfix_str(f"{events / elapsed:,.0f} ticks/s", refresh=False)
                bar.refresh()

            result = backtest(
                _config(config),
                start=start_ns,
                end=end_ns,
                store=_store(store),
                out=optional_text(out, flag="--out"),
                as_of=optional_instant(as_of, flag="--as-of"),
                batch=not switch(per_event, flag="--per-event"),
                db_url=optional_text(db_url, flag="--db-url"),
                progress=advance,
            )
        print(_summary(result))

    def rerun(self, run: str, out: str | None = None, db_url: str | None = None) -> None:
        """Run a recorded backtest again on the data it read, and say whether it matches.

        Parameters
        ----------
        run
            The run folder, or its run id (``serenity runs ls``).
        out
            Where the new run's outputs go; next to the old run by default.
        db_url
            Database URL; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db``.

        Examples
        --------
        serenity backtest rerun ~/.serenity/runs/bbands1/20240105T101500-3f2a1c
        """
        from serenity.algo import rerun

        result, differences = rerun(
            text(run, flag="RUN"),
            out=optional_text(out, flag="--out"),
            db_url=optional_text(db_url, flag="--db-url"),
        )
        print(_summary(result))
        if differences:
            print("outputs differ from the original run:")
            for line in differences:
                print(f"  {line}")
        else:
            print("outputs match the original run exactly")


def _config(value: object) -> Any:
    """Return the config file given, or the bundled example config of that name."""
    from importlib.resources import files
    from pathlib import Path

    from serenity.errors import ConfigError

    name = text(value, flag="CONFIG")
    path = Path(name).expanduser()
    if path.is_file():
        return path
    example = files("serenity.examples") / f"{name}.yaml"
    if example.is_file():
        return Path(str(example))
    examples = sorted(
        p.name[:-5] for p in files("serenity.examples").iterdir() if p.name.endswith(".yaml")
    )
    raise ConfigError(
        f"no config file {name!r}, and no example of that name; examples: {', '.join(examples)}"
    )


def _store(value: object) -> str:
    import os

    from serenity.db.settings import serenity_home

    given = optional_text(value, flag="--store")
    if given is not None:
        return given
    return os.environ.get("SERENITY_TICKSTORE") or f"file://{serenity_home() / 'demo' / 'ticks'}"


def _summary(result: Any) -> str:
    s = result.statistics
    rate = f"{result.ticks / result.wall_s:,.0f} ticks/s" if result.wall_s > 0 else "-"
    return headline(
        result,
        [
            f"ticks     {result.ticks:,} in {result.wall_s:.2f} s ({rate})",
            f"orders    {s.orders:,}   fills {s.fills:,}   round trips {s.round_trips:,}",
            f"net P&L   {num(s.net_pnl, ',.2f')} {s.currency} (fees {num(s.fees, ',.2f')}), "
            f"return {num(s.total_return, '.2%')}",
        ],
    )
