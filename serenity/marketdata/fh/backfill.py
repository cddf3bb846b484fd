"""Trades a trade-id gap lost, fetched from the venue's REST API and recorded after all.

Binance and Coinbase number each symbol's trades consecutively, and both serve past trades
by id over REST. When a symbol's :class:`~serenity.marketdata.fh.trade_ids.TradeIdSequencer`
sees ids skip (the last id recorded ``L``, the next one received ``N > L + 1``), it records a
``gap`` event and calls :meth:`TradeBackfill.schedule` with ``L+1..N-1``. The backfill opens
a hole in the sequencer for at most ``max_ids`` of those ids, and its own task
(:meth:`TradeBackfill.run`, beside the connection) fetches them page by page with the
venue's ``fetch`` function. Each trade fetched goes through the handler's ``accept`` (the
plausibility checks, then :meth:`~serenity.marketdata.fh.trade_ids.TradeIdSequencer.fill`),
so it is journalled, counted and seen by every sink exactly as a streamed one, with its venue
timestamp; an id already recorded (the stream brought it meanwhile) is dropped.

The bounds: one range is fetched at a time (so one per symbol), a request waits
``interval_s`` after the one before (a simple rate limit), each waits at most ``timeout_s``,
and at most ``max_pending`` ranges wait. Nothing here stops or slows the live stream. When
a range is done a ``resync`` event on the ``trades`` stream names the ids recorded
(``first``, ``last``, ``count``, ``source`` = ``rest``, ``reason`` = ``backfill``); ids that
could not be had (an error, a timeout, the venue had none, a gap beyond ``max_ids``, too many
waiting ranges) are a ``gap`` event naming the range that stays missing (``first``,
``last``, ``missing``, ``reason``, ``source``). The journal's trade rows and its manifests'
event kinds are unchanged, so these events' details are how a consumer tells backfilled
trades from streamed ones.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import aiohttp

from serenity.errors import DataError, VenueError
from serenity.marketdata.journal import TRADES
from serenity.marketdata.quality import DataQualityEvent, DataQualityKind
from serenity.marketdata.types import Trade

if TYPE_CHECKING:
    from serenity.marketdata.fh.trade_ids import TradeIdSequencer

__all__ = [
    "DEFAULT_MAX_IDS",
    "REASON",
    "SOURCE",
    "FetchTrades",
    "ServerError",
    "TradeBackfill",
    "TradeRange",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_IDS: Final = 10_000
"""The most ids fetched for one gap."""
SOURCE: Final = "rest"
"""The ``source`` of backfill events' details."""
REASON: Final = "backfill"
"""The ``reason`` of the ``resync`` event that reports trades backfilled."""

FetchTrades = Callable[
    [aiohttp.ClientSession, str, int, int], Awaitable[Sequence[tuple[int, Trade]]]
]
"""``fetch(http, symbol, first, last)``: one page of the trades with ids in ``first..last``
(starting at ``first``, or with ``ascending=False`` ending at ``last``, where the venue has
them), as ``(id, trade)`` pairs in any order.
An empty page means the venue has none of them. Raises for an HTTP error or a bad answer."""


class ServerError(VenueError):
    """The venue failed to answer a trades request (HTTP 5XX): worth a retry, unlike a
    refusal. A venue's ``fetch`` raises it, keeping the venue's code and text."""


@dataclass(frozen=True, slots=True)
class TradeRange:
    """The ids ``first..last`` (inclusive) of one symbol's trades, to fetch."""

    symbol: str
    first: int
    last: int


class TradeBackfill:
    """Fetch the trades of a sequencer's gaps from REST and record them (see the module).

    Parameters
    ----------
    venue
        The venue, for events and logs.
    sequencer
        The sequencer whose gaps are filled; its ``on_gap`` calls :meth:`schedule`.
    fetch
        The venue's page fetch (see :data:`FetchTrades`).
    accept
        Called with each fetched ``(id, trade)``; returns True when it was recorded. Raises
        :class:`~serenity.errors.DataError` for an implausible trade (it stays missing).
    publish_quality
        Called with each ``backfill`` and ``gap`` event.
    max_ids
        The most ids fetched for one gap.
    interval_s
        The least time between two requests.
    timeout_s
        The longest wait for one request.
    max_pending
        The most ranges waiting; a gap beyond that stays missing.
    retries
        How many times a request that failed for a transient reason (a network error, a
        timeout, an HTTP 5XX) is sent again, after ``retry_delay_s``, then twice that, and so
        on. A refusal (a 4XX, a rate limit) or a bad answer is not retried.
    retry_delay_s
        The wait before the first retry.
    ascending
        True when ``fetch`` pages from ``first`` up (Binance's ``fromId``), False when from
        ``last`` down (Coinbase's newest-first pages).

    Attributes
    ----------
    pending
        The ranges waiting to be fetched, oldest first.
    filled, missed, requests, errors
        Trades recorded, ids given up, requests sent and requests that failed.
    """

    def __init__(
        self,
        venue: str,
        sequencer: TradeIdSequencer,
        fetch: FetchTrades,
        accept: Callable[[int, Trade], bool],
        publish_quality: Callable[[DataQualityEvent], object],
        *,
        max_ids: int = DEFAULT_MAX_IDS,
        interval_s: float = 0.5,
        timeout_s: float = 10.0,
        max_pending: int = 100,
        ascending: bool = True,
        retries: int = 2,
        retry_delay_s: float = 1.0,
    ) -> None:
        self.venue = venue
        self.sequencer = sequencer
        self.max_ids = max_ids
        self.interval_s = interval_s
        self.timeout_s = timeout_s
        self.max_pending = max_pending
        self.ascending = ascending
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self.pending: deque[TradeRange] = deque()
        self.filled = 0
        self.missed = 0
        self.requests = 0
        self.errors = 0
        self._fetch = fetch
        self._accept = accept
        self._publish_quality = publish_quality
        self._wake: asyncio.Event | None = None
        self._last_request = -float("inf")

    def schedule(self, symbol: str, first: int, last: int, ts_recv: int) -> None:
        """Queue the ids ``first..last`` of ``symbol`` (a gap), at most :attr:`max_ids`."""
        stop = min(last, first + self.max_ids - 1)
        if stop < last:
            self._missing(symbol, stop + 1, last, f"more than {self.max_ids} ids", ts_recv)
        if len(self.pending) >= self.max_pending:
            self._missing(symbol, first, stop, "too many gaps waiting", ts_recv)
            return
        self.sequencer.open_hole(symbol, first, stop)
        self.pending.append(TradeRange(symbol, first, stop))
        if self._wake is not None:
            self._wake.set()

    async def run(self) -> None:
        """Fetch the waiting ranges, one at a time, until cancelled; never raise."""
        self._wake = asyncio.Event()  # bound to this run's loop
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                if not self.pending:
                    self._wake.clear()
                    await self._wake.wait()
                    continue
                await self._backfill(http, self.pending[0])
                self.pending.popleft()

    async def _backfill(self, http: aiohttp.ClientSession, todo: TradeRange) -> None:
        symbol, first, last = todo.symbol, todo.first, todo.last
        count, reason = 0, ""
        while first <= last and self._is_open(symbol, first, last):
            page, reason = await self._fetch_page(http, symbol, first, last)
            if page is None:
                break
            ids = [i for i, _ in page if first <= i <= last]
            if not ids:
                reason = "the venue has none of them"
                break
            for trade_id, trade in sorted(page, key=lambda p: p[0]):
                if first <= trade_id <= last:
                    try:
                        count += self._accept(trade_id, trade)
                    except DataError as exc:
                        log.warning(
                            "fh.backfill_refused",
                            extra={"venue": self.venue, "symbol": symbol, "error": str(exc)},
                        )
            if self.ascending:
                first = max(ids) + 1
            else:
                last = min(ids) - 1
        now = time.time_ns()
        self.filled += count
        if count:
            details = {"first": todo.first, "last": todo.last, "count": count, "source": SOURCE}
            log.info("fh.backfill", extra={"venue": self.venue, "symbol": symbol, **details})
            self._event(symbol, now, DataQualityKind.RESYNC, {**details, "reason": REASON})
        for lo, hi in self.sequencer.close_holes(symbol, todo.first, todo.last):
            self._missing(symbol, lo, hi, reason or "the venue did not send them", now)

    async def _fetch_page(
        self, http: aiohttp.ClientSession, symbol: str, first: int, last: int
    ) -> tuple[Sequence[tuple[int, Trade]] | None, str]:
        """Return one page, or None and why it could not be had (after the retries a
        transient failure earns)."""
        attempt = 0
        while True:
            wait = self._last_request + self.interval_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            self._last_request = time.monotonic()
            self.requests += 1
            try:
                return await self._fetch(http, symbol, first, last), ""
            except (
                aiohttp.ClientError,
                OSError,
                TimeoutError,
                VenueError,
                DataError,
                ValueError,
            ) as exc:
                self.errors += 1
                reason = f"{type(exc).__name__}: {exc}"[:300] or type(exc).__name__
                if attempt >= self.retries or not _transient(exc):
                    return None, reason
                log.info(
                    "fh.backfill_retry",
                    extra={"venue": self.venue, "symbol": symbol, "error": reason},
                )
                await asyncio.sleep(self.retry_delay_s * 2**attempt)
                attempt += 1

    def _is_open(self, symbol: str, first: int, last: int) -> bool:
        """Return True while some id of ``first..last`` waits in the sequencer's holes."""
        return any(lo <= last and hi >= first for lo, hi in self.sequencer.holes(symbol))

    def _missing(self, symbol: str, first: int, last: int, reason: str, ts: int) -> None:
        """Record that ``first..last`` stays missing."""
        self.missed += last - first + 1
        details = {
            "first": first,
            "last": last,
            "missing": last - first + 1,
            "reason": f"not backfilled: {reason}",
            "source": SOURCE,
        }
        log.warning("fh.backfill_missing", extra={"venue": self.venue, "symbol": symbol, **details})
        self._event(symbol, ts, DataQualityKind.GAP, details)

    def _event(
        self, symbol: str, ts: int, kind: DataQualityKind, details: dict[str, object]
    ) -> None:
        self._publish_quality(
            DataQualityEvent(
                venue=self.venue, channel=TRADES, symbol=symbol, ts=ts, kind=kind, details=details
            )
        )


def _transient(exc: BaseException) -> bool:
    """Return True for a failure worth a retry: the network, a timeout, an HTTP 5XX."""
    return isinstance(exc, ServerError | aiohttp.ClientError | OSError | TimeoutError)
