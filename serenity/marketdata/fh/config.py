"""What one feedhandler records, where it connects, and the bounds it holds its input to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from serenity.errors import ConfigError
from serenity.marketdata.fh.backfill import DEFAULT_MAX_IDS
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.connection import ConnectionConfig
from serenity.marketdata.fh.plausibility import DEFAULT_PRICE_BAND
from serenity.marketdata.fh.sequence import DEFAULT_MAX_JUMP, DEFAULT_STUCK_AFTER
from serenity.marketdata.journal import BOOK, TRADES

__all__ = ["CHANNELS", "FeedConfig"]

CHANNELS: Final = (TRADES, BOOK)
"""The channels a feedhandler can record: trades and full-depth books."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedConfig:
    """What one feedhandler records and where it connects.

    Parameters
    ----------
    venue
        Venue code, e.g. ``phemex``.
    symbols
        The venue's symbols to record, e.g. ``("BTCUSD",)``.
    ws_url
        The websocket URL (from ``serenity.exchange.<venue>`` endpoints, or a test server).
    rest_url
        The REST base URL, for venues whose books start from a REST snapshot.
    channels
        Any of ``trades`` and ``book``.
    heartbeat_s, stall_timeout_s, connect_timeout_s
        See :class:`~serenity.marketdata.fh.ConnectionConfig`.
    backoff_initial_s, backoff_max_s
        The first reconnect delay and the cap of the delays (see
        :class:`~serenity.marketdata.fh.Backoff`); the delays restart from the first once a
        new connection delivers data.
    max_seq_jump
        The largest forward jump of a sequence number or trade id that is taken as a gap;
        larger jumps (and numbers from 2**62 up) are implausible, never new state.
    stuck_after
        Valid-looking messages dropped in a row (stale, duplicate or implausible) after
        which a stream is taken to be stuck: a ``stuck`` event is recorded and it resyncs.
    price_band
        How many times above or below the market (the last trade, or the book's mid) a
        trade's price may be; None for no band. Prices must also be finite, positive and,
        with a catalog, on the tick grid.
    backfill
        Fetch the trades a trade-id gap lost from the venue's REST API and record them
        (venues that number trades consecutively: Binance, Coinbase); see
        :mod:`~serenity.marketdata.fh.backfill`.
    backfill_max_ids
        The most ids fetched for one gap; the rest of a larger gap stays missing (a ``gap``
        event names them).

    Raises
    ------
    ConfigError
        For no symbols, an unknown channel, a bad URL or timeout, or a bound out of range.
    """

    venue: str
    symbols: tuple[str, ...]
    ws_url: str
    rest_url: str | None = None
    channels: tuple[str, ...] = CHANNELS
    heartbeat_s: float = 10.0
    stall_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    max_seq_jump: int = DEFAULT_MAX_JUMP
    stuck_after: int = DEFAULT_STUCK_AFTER
    price_band: float | None = DEFAULT_PRICE_BAND
    backfill: bool = True
    backfill_max_ids: int = DEFAULT_MAX_IDS

    def __post_init__(self) -> None:
        if not self.symbols:
            raise ConfigError(f"{self.venue}: no symbols to record; give at least one")
        if len(set(self.symbols)) != len(self.symbols):
            raise ConfigError(f"{self.venue}: symbols listed twice in {list(self.symbols)}")
        bad = [c for c in self.channels if c not in CHANNELS]
        if bad or not self.channels:
            raise ConfigError(
                f"{self.venue}: channels must be among {list(CHANNELS)}, was {list(self.channels)}"
            )
        self.connection_config()  # validates the URL and the timeouts
        self.backoff()  # validates the delays
        for name in ("max_seq_jump", "stuck_after", "backfill_max_ids"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{self.venue}: {name} must be an integer >= 1, was {value!r}")
        if self.price_band is not None and not 1.0 < self.price_band < float("inf"):
            raise ConfigError(
                f"{self.venue}: price_band must be a factor > 1 (or None), was {self.price_band!r}"
            )

    def connection_config(self) -> ConnectionConfig:
        """Return the websocket settings of this feed."""
        return ConnectionConfig(
            venue=self.venue,
            url=self.ws_url,
            heartbeat_s=self.heartbeat_s,
            stall_timeout_s=self.stall_timeout_s,
            connect_timeout_s=self.connect_timeout_s,
        )

    def backoff(self) -> Backoff:
        """Return a fresh :class:`~serenity.marketdata.fh.Backoff` with this feed's delays.

        Raises
        ------
        ConfigError
            When the delays are out of range.
        """
        try:
            return Backoff(initial_s=self.backoff_initial_s, max_s=self.backoff_max_s)
        except ConfigError as exc:
            raise ConfigError(f"{self.venue}: {exc}") from None
