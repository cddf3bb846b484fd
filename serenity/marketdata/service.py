"""The market-data port (:class:`MarketdataService`) and a router over several venues."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.marketdata.book import OrderBook
from serenity.marketdata.types import BookUpdate, Trade
from serenity.model import InstrumentId
from serenity.tau import Network, Signal
from serenity.tau.signal import Function

__all__ = ["MarketdataService", "RoutingMarketdataService"]

log = logging.getLogger(__name__)


@runtime_checkable
class MarketdataService(Protocol):
    """Where strategies get market data as tau signals, live or historic.

    Every method returns a signal of the scheduler's network that the service runs in. Asking
    twice for the same instrument returns the same signal.
    """

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        """Return a signal of the set of instruments subscribed; it activates on changes."""
        ...

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        """Return a signal that activates with each trade of ``instrument``.

        Raises
        ------
        UnknownSymbolError
            When the service cannot supply ``instrument``.
        """
        ...

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        """Return a signal that activates with each book snapshot and delta of ``instrument``.

        Raises
        ------
        UnknownSymbolError
            When the service cannot supply ``instrument``.
        """
        ...

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        """Return a signal of the current :class:`OrderBook`, activating after each update.

        Raises
        ------
        UnknownSymbolError
            When the service cannot supply ``instrument``.
        """
        ...


class _Union(Function[frozenset[InstrumentId]]):
    """The union of several signals of instrument sets, re-emitted when any of them changes."""

    __slots__ = ()

    def __init__(self, network: Network, parents: list[Signal[frozenset[InstrumentId]]]) -> None:
        super().__init__(network, parents, name="subscribed_instruments")
        self._update(self._union())

    def _union(self) -> frozenset[InstrumentId]:
        out: set[InstrumentId] = set()
        for p in self.parameters:
            value = getattr(p, "_value", None)
            if value:
                out.update(value)
        return frozenset(out)

    def _call(self) -> bool:
        self._update(self._union())
        return True


class RoutingMarketdataService:
    """Route each instrument to the :class:`MarketdataService` registered for its venue.

    Parameters
    ----------
    network
        The network the services' signals live in; the combined subscribed-instruments signal
        is built there.
    services
        Venue code (as in :attr:`InstrumentId.venue`, e.g. ``"phemex"``) to service.

    Raises
    ------
    InvalidValueError
        When ``services`` is empty.
    """

    def __init__(self, network: Network, services: Mapping[str, MarketdataService]) -> None:
        if not services:
            raise InvalidValueError("RoutingMarketdataService needs at least one venue's service")
        self._network = network
        self._services = dict(services)
        self._subscribed: _Union | None = None

    @property
    def venues(self) -> list[str]:
        """Return the venues routed, sorted."""
        return sorted(self._services)

    def service_for(self, instrument: InstrumentId) -> MarketdataService:
        """Return the service registered for ``instrument``'s venue.

        Raises
        ------
        UnknownSymbolError
            When no service is registered for the venue.
        """
        try:
            return self._services[instrument.venue]
        except KeyError:
            close = difflib.get_close_matches(instrument.venue, self._services, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownSymbolError(
                f"no market-data service for venue {instrument.venue!r} of {instrument}; "
                f"routed venues are {self.venues}{hint}"
            ) from None

    def get_subscribed_instruments(self) -> Signal[frozenset[InstrumentId]]:
        """Return the union of every routed service's subscribed instruments."""
        if self._subscribed is None:
            parents = [s.get_subscribed_instruments() for s in self._services.values()]
            self._subscribed = _Union(self._network, parents)
        return self._subscribed

    def get_trades(self, instrument: InstrumentId) -> Signal[Trade]:
        """Return the venue service's trade signal for ``instrument``.

        Raises
        ------
        UnknownSymbolError
            When no service is registered for the venue (or the service lacks the symbol).
        """
        return self.service_for(instrument).get_trades(instrument)

    def get_order_book_events(self, instrument: InstrumentId) -> Signal[BookUpdate]:
        """Return the venue service's book-update signal for ``instrument``.

        Raises
        ------
        UnknownSymbolError
            When no service is registered for the venue (or the service lacks the symbol).
        """
        return self.service_for(instrument).get_order_book_events(instrument)

    def get_order_books(self, instrument: InstrumentId) -> Signal[OrderBook]:
        """Return the venue service's order-book signal for ``instrument``.

        Raises
        ------
        UnknownSymbolError
            When no service is registered for the venue (or the service lacks the symbol).
        """
        return self.service_for(instrument).get_order_books(instrument)
