"""``serenity algo``: run a strategy config on live data, paper (simulated fills) or live.

The engine is imported when a command runs, so ``serenity --help`` stays quick.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from serenity.cli._args import optional_text, switch, text
from serenity.errors import ConfigError

if TYPE_CHECKING:
    from serenity.algo.live import LiveResult

__all__ = ["AlgoCommands", "parse_urls"]


def parse_urls(value: object, venues: list[str], *, flag: str) -> dict[str, str]:
    """Return endpoint overrides by venue from ``URL`` (a run on one venue) or
    ``venue=URL,venue=URL``.

    Raises
    ------
    ConfigError
        For an empty value, a bare URL when the run uses several venues, or an unknown venue.
    """
    if value is None:
        return {}
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    parts = [text(item, flag=flag) for item in items if str(item).strip()]
    if not parts:
        raise ConfigError(f"{flag} needs a URL or venue=URL pairs, was {value!r}")
    out: dict[str, str] = {}
    for part in parts:
        venue, sep, url = part.partition("=")
        if not sep or "://" in venue:
            if len(parts) != 1 or len(venues) != 1:
                raise ConfigError(
                    f"{flag} {part!r} names no venue and the run uses {', '.join(venues)}; "
                    f"write venue=URL, e.g. {venues[0]}={part}"
                )
            return {venues[0]: part}
        venue = venue.strip().lower()
        if venue not in venues:
            raise ConfigError(
                f"{flag} names venue {venue!r}, which the run does not use; its venues: "
                f"{', '.join(venues)}"
            )
        out[venue] = url.strip()
    return out


def _seconds(value: object, *, flag: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{flag} must be a number of seconds, was {value!r}")
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a number of seconds, was {value!r}") from None
    if not seconds > 0:
        raise ConfigError(f"{flag} must be > 0 seconds, was {value!r}")
    return seconds


class AlgoCommands:
    """Run strategies on live market data: paper trading on simulated fills, or live."""

    def run(
        self,
        config: str,
        paper: bool = False,
        out: str | None = None,
        duration: float | None = None,
        metrics_port: int | None = None,
        ws_url: str | None = None,
        rest_url: str | None = None,
        environment: str = "prod",
        db_url: str | None = None,
        stall_timeout: float = 30.0,
        cancel_timeout: float = 5.0,
        report: bool = True,
    ) -> None:
        """Run a strategy config on the venues' live feeds until SIGINT/SIGTERM or --duration.

        The feeds of the config's instruments connect first; the strategies start once
        every feed is live, and order entry pauses while a feed is not (a drop, a stall, a
        resync). With ``--paper`` orders fill in the exchange simulator on the live data;
        without it they go to the venue connector named by the config's ``placer``. Orders,
        fills, positions and P&L are written to the run folder as the run goes. On a signal
        the strategies stop, working orders are cancelled (unless the config says
        ``cancel_on_stop: false``), ``summary.json`` and ``report.html`` are written, and
        the command exits 0.

        Parameters
        ----------
        config
            The run's YAML config.
        paper
            Simulated fills on live data, no venue orders.
        out
            The run folder; ``$SERENITY_HOME/runs/<strategy>/<run id>`` by default.
        duration
            Stop after this many seconds.
        metrics_port
            Serve Prometheus metrics on 127.0.0.1 at this port.
        ws_url
            Websocket URL replacing the venue's: ``URL`` for a run on one venue, else
            ``venue=URL,venue=URL``.
        rest_url
            REST base URL replacing the venue's, written like ``--ws-url``.
        environment
            ``prod`` or ``testnet`` market data.
        db_url
            Database to record the run in (when it exists); default ``$SERENITY_DB_URL``,
            else ``sqlite:///$SERENITY_HOME/serenity.db``.
        stall_timeout
            Seconds without a frame before a feed is reconnected (order entry pauses).
        cancel_timeout
            Seconds to wait for cancels to be confirmed when stopping.
        report
            Write ``report.html`` at the end (``--noreport`` skips it).

        Examples
        --------
        serenity algo run examples/strategies/peg.yaml --paper --metrics-port 9108
        serenity algo run live.yaml --duration 3600 --out runs/live-1
        """
        from serenity.algo import load_config
        from serenity.algo.live import run_live_sync

        cfg = load_config(text(config, flag="CONFIG"))
        venues = list(dict.fromkeys(i.venue for i in cfg.instruments))
        port = None
        if metrics_port is not None:
            if isinstance(metrics_port, bool) or not isinstance(metrics_port, int):
                raise ConfigError(f"--metrics-port must be a port number, was {metrics_port!r}")
            port = metrics_port
        result = run_live_sync(
            cfg,
            paper=switch(paper, flag="--paper"),
            out=optional_text(out, flag="--out"),
            duration_s=_seconds(duration, flag="--duration"),
            metrics_port=port,
            ws_urls=parse_urls(ws_url, venues, flag="--ws-url"),
            rest_urls=parse_urls(rest_url, venues, flag="--rest-url"),
            environment=text(environment, flag="--environment"),
            db_url=optional_text(db_url, flag="--db-url"),
            stall_timeout_s=_seconds(stall_timeout, flag="--stall-timeout") or 30.0,
            cancel_timeout_s=_seconds(cancel_timeout, flag="--cancel-timeout") or 5.0,
            report=switch(report, flag="--report"),
        )
        print("\n".join(_summary(cfg.name, result)))


def _summary(name: str, result: LiveResult) -> list[str]:
    stats = result.statistics
    lines = [
        f"{result.mode} run of {name}: {stats.orders} orders, {stats.fills} fills, "
        f"net P&L {stats.net_pnl:,.2f} {stats.currency}, {result.ticks:,} ticks "
        f"in {result.wall_s:,.1f} s",
    ]
    if not result.started:
        lines.append("the strategies never started: not every feed went live")
    if result.pauses:
        lines.append(f"order entry paused {result.pauses} time(s) while a feed was not live")
    if result.cancelled or result.left_working:
        lines.append(
            f"working orders at stop: {result.cancelled} cancelled, "
            f"{result.left_working} left working"
        )
    lines.append(f"outputs: {result.folder}")
    if result.run_id is not None:
        lines.append(f"run id: {result.run_id}")
    return lines
