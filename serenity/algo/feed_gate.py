"""Order entry that follows the feeds: strategies start when every feed is live, and new
orders are refused, naming the feed, while one is not."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from decimal import Decimal

from serenity.marketdata.fh import FeedState
from serenity.tau import Network, Signal
from serenity.tau.event import Lambda
from serenity.trading import Order

__all__ = ["FeedGate"]

log = logging.getLogger(__name__)


class FeedGate:
    """Watch the feed-state signals of a run's venues.

    The first time every feed is :attr:`~serenity.marketdata.fh.FeedState.LIVE`, ``on_live``
    is called (the live engine starts its strategies there). Afterwards, whenever a feed
    leaves LIVE (a drop, a stall, a book resync), order entry is paused: called as a
    pre-trade check (``gate(order, qty, price)``, see
    :data:`~serenity.trading.PreTradeCheck`) it returns a reason naming the feeds that are
    not live, so the order manager rejects new orders and amends; cancels still go out.
    Entry resumes when every feed is LIVE again. A feed that goes silent is closed by its
    stall timeout and reconnected, so staleness shows as a state that is not LIVE.

    Every feed of the run gates every order: a strategy may trade one venue on another's
    prices, so no order goes out on a partial view of the market.

    Parameters
    ----------
    network
        The run's network (the gate listens to the state signals in it).
    states
        The state signal of each venue's feed, by venue.
    on_live
        Called once, in the cycle in which every feed is first LIVE.
    """

    def __init__(
        self,
        network: Network,
        states: Mapping[str, Signal[FeedState]],
        *,
        on_live: Callable[[], object] | None = None,
    ) -> None:
        self._states = dict(states)
        self._on_live = on_live
        self.has_been_live = False
        self.pauses = 0
        self._paused = False
        self._closed = False
        self._listeners: list[Callable[[bool], object]] = []
        Lambda(network, list(self._states.values()), self._changed, name="algo:feed-gate")

    def add_listener(self, listener: Callable[[bool], object]) -> None:
        """Also call ``listener(is_open)`` whenever order entry opens or closes."""
        self._listeners.append(listener)

    def close(self) -> None:
        """Stop reporting transitions (the run is stopping and the feeds with it)."""
        self._closed = True

    @property
    def is_open(self) -> bool:
        """Return True when every feed is LIVE (orders may go out)."""
        return not self.not_live()

    def not_live(self) -> list[tuple[str, FeedState]]:
        """Return ``(venue, state)`` of each feed that is not LIVE, by venue."""
        return [
            (venue, state.get_value())
            for venue, state in sorted(self._states.items())
            if state.get_value() is not FeedState.LIVE
        ]

    def __call__(self, order: Order, qty: Decimal, price: Decimal | None) -> str | None:
        """Return why ``order`` may not go out now, or None when every feed is LIVE."""
        down = self.not_live()
        if not down:
            return None
        feeds = ", ".join(f"the {venue} feed is {state}" for venue, state in down)
        return f"order entry paused: {feeds}, not live"

    def _changed(self, *values: FeedState) -> None:
        if self._closed:
            return
        down = self.not_live()
        if not down:
            if not self.has_been_live:
                self.has_been_live = True
                log.info("algo.feeds.live", extra={"feeds": ",".join(sorted(self._states))})
                self._notify(True)
                if self._on_live is not None:
                    self._on_live()
            elif self._paused:
                self._paused = False
                log.warning("algo.order_entry.resumed", extra={"feeds": ",".join(self._states)})
                self._notify(True)
        elif self.has_been_live and not self._paused:
            self._paused = True
            self.pauses += 1
            log.warning(
                "algo.order_entry.paused",
                extra={"feeds": ",".join(f"{v}={s}" for v, s in down)},
            )
            self._notify(False)

    def _notify(self, is_open: bool) -> None:
        for listener in self._listeners:
            listener(is_open)
