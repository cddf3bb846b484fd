"""``serenity marketdata``: record venues' trades and books into the journal."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING

from serenity.cli._args import optional_text, switch, text
from serenity.errors import ConfigError

if TYPE_CHECKING:  # the recorder pulls in aiohttp and the db layer: import it only to run
    from serenity.marketdata.recorder import RecordConfig, RecordSummary

__all__ = ["MarketdataCommands"]


def _names(value: object, *, flag: str) -> tuple[str, ...]:
    """Return a comma-separated list given on the command line (Fire may pass a tuple)."""
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    names = tuple(text(item, flag=flag) for item in items if str(item).strip())
    if not names or isinstance(value, bool):
        raise ConfigError(
            f"{flag} needs a comma-separated list such as BTCUSD,ETHUSD, was {value!r}"
        )
    return names


def _number(value: object, *, flag: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ConfigError(f"{flag} must be a number, was {value!r}")
    try:
        return float(value)
    except ValueError:
        raise ConfigError(f"{flag} must be a number, was {value!r}") from None


class MarketdataCommands:
    """Record market data from venues into the journal."""

    def record(
        self,
        venue: str,
        symbols: str,
        journal_dir: str | None = None,
        ws_url: str | None = None,
        rest_url: str | None = None,
        environment: str = "prod",
        channels: str = "trades,book",
        metrics_port: int | None = None,
        duration: float | None = None,
        stall_timeout: float = 30.0,
        backoff_max: float = 30.0,
        price_band: float | None = None,
        no_backfill: bool = False,
    ) -> None:
        """Record trades and full-depth books until SIGINT/SIGTERM or for a duration.

        The venue's product list is fetched first (from ``--rest-url`` when given) and
        unknown symbols are refused before connecting. Every trade, applied book update,
        data-quality event (gap, resync, reconnect, crossed book) and unparseable frame is
        journalled; the journal is flushed at least every second and sealed on exit.

        Parameters
        ----------
        venue
            ``phemex``, ``coinbase`` or ``binance``.
        symbols
            The venue's symbols, comma-separated, e.g. ``BTCUSD,ETHUSD``.
        journal_dir
            Journal folder; ``$SERENITY_HOME/journal`` by default.
        ws_url
            Websocket URL replacing the venue's (e.g. a local server).
        rest_url
            REST base URL replacing the venue's.
        environment
            ``prod`` or ``testnet``.
        channels
            ``trades``, ``book`` or both, comma-separated.
        metrics_port
            Serve Prometheus metrics on 127.0.0.1 at this port.
        duration
            Stop after this many seconds.
        stall_timeout
            Seconds without a frame before the connection is reopened.
        backoff_max
            The longest wait between reconnects, in seconds (the waits restart from the
            shortest once a connection delivers).
        price_band
            How many times above or below the market a trade may print before it is
            journalled raw as implausible (default 100; 0 turns the check off).
        no_backfill
            Do not fetch the trades a trade-id gap lost (a reconnect, a dropped frame) from
            the venue's REST API; the gap is only recorded. Backfill is on by default for
            Binance and Coinbase.

        Examples
        --------
        serenity marketdata record --venue phemex --symbols BTCUSD,ETHUSD --metrics-port 9100
        """
        from serenity.db.settings import serenity_home
        from serenity.marketdata.recorder import RecordConfig

        port = _number(metrics_port, flag="--metrics-port")
        if port is not None and port != int(port):
            raise ConfigError(f"--metrics-port must be a whole number, was {metrics_port!r}")
        folder = optional_text(journal_dir, flag="--journal-dir")
        config = RecordConfig(
            venue=text(venue, flag="--venue").lower(),
            symbols=_names(symbols, flag="--symbols"),
            journal_dir=Path(folder) if folder else serenity_home() / "journal",
            ws_url=optional_text(ws_url, flag="--ws-url"),
            rest_url=optional_text(rest_url, flag="--rest-url"),
            environment=text(environment, flag="--environment"),
            channels=_names(channels, flag="--channels"),
            duration_s=_number(duration, flag="--duration"),
            metrics_port=None if port is None else int(port),
            stall_timeout_s=_number(stall_timeout, flag="--stall-timeout") or 30.0,
            backoff_max_s=_positive(backoff_max, flag="--backoff-max"),
            price_band=_band(price_band),
            backfill=not switch(no_backfill, flag="--no-backfill"),
        )
        summary = asyncio.run(_record(config))
        print("\n".join(summary.lines()))


def _positive(value: object, *, flag: str) -> float:
    number = _number(value, flag=flag)
    if number is None or not number > 0:
        raise ConfigError(f"{flag} must be a number of seconds > 0, was {value!r}")
    return number


def _band(value: object) -> float | None:
    """Return the recorder's ``price_band``: its default when omitted, None (off) at 0."""
    from serenity.marketdata.fh.plausibility import DEFAULT_PRICE_BAND

    if value is None:
        return DEFAULT_PRICE_BAND
    band = _number(value, flag="--price-band")
    if band is None or band < 0 or (0 < band <= 1):
        raise ConfigError(f"--price-band must be 0 (off) or a factor > 1, was {value!r}")
    return band or None


async def _record(config: RecordConfig) -> RecordSummary:
    from serenity.marketdata.recorder import Recorder

    recorder = Recorder(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, recorder.stop)
    try:
        return await recorder.run()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
