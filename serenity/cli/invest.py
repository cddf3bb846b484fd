"""``serenity invest``: backtest close-on-close investment strategies on daily prices."""

from __future__ import annotations

import sys
from typing import Any

from serenity.cli._args import hide_progress, instant, optional_text, text
from serenity.cli._summary import headline, num

__all__ = ["InvestCommands"]


class InvestCommands:
    """Backtest investment strategies that rebalance on daily closes; each run writes a report."""

    def run(
        self,
        config: str,
        start: str,
        end: str,
        prices: str | None = None,
        store: str | None = None,
        out: str | None = None,
        benchmark: str | None = None,
        db_url: str | None = None,
    ) -> None:
        """Backtest an investment config over the sessions in ``[START, END)``.

        Writes orders, fills, positions, the equity curve, marks and capture channels as
        Parquet, then ``summary.json`` (daily statistics over a 252-session year, 365 for
        the 24/7 calendar) and a self-contained ``report.html``, and prints where they are
        and the headline statistics. The run is recorded in the database when one exists.

        Parameters
        ----------
        config
            The run's YAML config (see docs/strategy.rst), or the name of an example
            (``buy_and_hold``, ``equal_weight``, ``crypto_60_40``).
        start
            First day, ``YYYY-MM-DD``, or an instant in ISO-8601 with a zone.
        end
            End of the window (excluded), same forms.
        prices
            A price file (CSV or Parquet: date, symbol, open, high, low, close, volume and
            optional dividend and split columns); overrides the config's ``prices``.
        store
            A tick store URL for daily bars of ``VENUE:SYMBOL`` tradables; default the
            config's ``store``, else ``$SERENITY_TICKSTORE``, else
            ``file://$SERENITY_HOME/demo/ticks``.
        out
            The run folder; default ``$SERENITY_HOME/runs/<strategy>/<run id>``.
        benchmark
            A symbol to compare with, bought at the first close and held (dividends
            reinvested); overrides the config's ``benchmark``.
        db_url
            Database URL for the run record; default ``$SERENITY_DB_URL``, else
            ``sqlite:///$SERENITY_HOME/serenity.db`` (skipped when it does not exist).

        Examples
        --------
        serenity invest run equal_weight --start 2024-01-01 --end 2025-01-01
        serenity invest run buy_and_hold --start 2024-01-01 --end 2025-01-01 --benchmark DDD
        serenity invest run crypto_60_40 --start 2024-01-02 --end 2024-01-03 --store file:///data/ticks
        """
        from tqdm import tqdm
        from tqdm.contrib.logging import logging_redirect_tqdm

        from serenity.strategy import backtest, load_invest_config

        cfg = load_invest_config(invest_config(config))
        given_prices = optional_text(prices, flag="--prices")
        given_store = optional_text(store, flag="--store")
        if given_store is None and given_prices is None and cfg.prices is None:
            if cfg.store is None and cfg.uses_store:
                from serenity.cli.backtest import _store

                given_store = _store(None)
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
        with (
            logging_redirect_tqdm(),
            tqdm(file=sys.stderr, unit="session", desc="invest", **off) as bar,
        ):

            def advance(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            result = backtest(
                cfg,
                start=instant(start, flag="--start"),
                end=instant(end, flag="--end"),
                prices=given_prices,
                store=given_store,
                out=optional_text(out, flag="--out"),
                benchmark=optional_text(benchmark, flag="--benchmark"),
                db_url=optional_text(db_url, flag="--db-url"),
                progress=advance,
            )
        print(summary_lines(result))


def invest_config(value: object) -> Any:
    """Return the config file given, or the bundled example of that name."""
    from importlib.resources import files
    from pathlib import Path

    from serenity.errors import ConfigError

    name = text(value, flag="CONFIG")
    path = Path(name).expanduser()
    if path.is_file():
        return path
    folder = files("serenity.examples.invest")
    example = folder / f"{name}.yaml"
    if example.is_file():
        return Path(str(example))
    examples = sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))
    raise ConfigError(
        f"no config file {name!r}, and no example of that name; examples: {', '.join(examples)}"
    )


def summary_lines(result: Any) -> str:
    """Return the headline of an investment run: where it is, and its main statistics."""
    s = result.statistics
    notes: list[str] = []
    if s.benchmark is not None:
        b = s.benchmark
        notes.append(
            f"benchmark {b.name}: {num(b.benchmark_return, '.2%')}, excess "
            f"{num(b.excess_return, '.2%')}, beta {num(b.beta, '.2f')}"
        )
    return headline(
        result,
        [
            f"sessions  {result.sessions:,} in {result.wall_s:.2f} s",
            f"orders    {s.orders:,}   fills {s.fills:,}   turnover {num(s.turnover, '.2f')}",
            f"equity    {num(s.ending_equity, ',.2f')} {s.currency} (fees {num(s.fees, ',.2f')}), "
            f"return {num(s.total_return, '.2%')}, annualised {num(s.annual_return, '.2%')}",
        ],
        notes,
    )
