"""The order-placer port and the registry that routes each account's orders to a placer.

A placer is where orders go: the exchange simulator (``simulator:default``) or a venue
connector (``phemex:prod``, ``binance:testnet``, ...). It never blocks: it sends the request
(a timer in virtual time, a task on the event loop when live) and later hands what happened
to the order manager through the :class:`ExecutionSink` it was bound to.
"""

from __future__ import annotations

import difflib
from decimal import Decimal
from typing import Protocol, runtime_checkable

from serenity.errors import ConfigError, UnknownSymbolError
from serenity.trading.orders import Order
from serenity.trading.reports import OrderEvent

__all__ = ["ExecutionSink", "OrderPlacer", "OrderPlacerService"]


@runtime_checkable
class ExecutionSink(Protocol):
    """Takes the reports, rejects and cancel rejects a placer produces."""

    def apply(self, event: OrderEvent) -> None:
        """Apply ``event`` to the order it concerns and publish it."""
        ...


@runtime_checkable
class OrderPlacer(Protocol):
    """Sends orders to one venue (or to the simulator) and reports back to its sink.

    The order manager calls :meth:`bind` once, then :meth:`submit`, :meth:`cancel` and
    :meth:`replace` for each request; none of them may block or raise for a venue's
    refusal (that is a :class:`~serenity.trading.Reject` or
    :class:`~serenity.trading.CancelReject` sent to the sink).
    """

    def bind(self, sink: ExecutionSink) -> None:
        """Send every later report to ``sink``."""
        ...

    def submit(self, order: Order) -> None:
        """Send a new order."""
        ...

    def cancel(self, order: Order) -> None:
        """Ask to cancel a working order."""
        ...

    def replace(self, order: Order, *, price: Decimal | None, qty: Decimal | None) -> None:
        """Ask to amend a working order's price and/or quantity."""
        ...


class OrderPlacerService:
    """Placers by URI (``simulator:default``, ``phemex:prod``) and which account uses which.

    An account without a route uses the only placer when exactly one is registered.
    """

    def __init__(self) -> None:
        self._placers: dict[str, OrderPlacer] = {}
        self._routes: dict[str, str] = {}

    def register(self, uri: str, placer: OrderPlacer) -> None:
        """Register ``placer`` under ``uri`` (``<venue>:<instance>``).

        Raises
        ------
        ConfigError
            When ``uri`` is not of that form or already taken.
        """
        venue, sep, instance = str(uri).partition(":")
        if not sep or not venue or not instance:
            raise ConfigError(f"placer URI must be '<venue>:<instance>', was {uri!r}")
        if uri in self._placers:
            raise ConfigError(f"a placer is already registered as {uri!r}")
        self._placers[uri] = placer

    def route(self, account: str, uri: str) -> None:
        """Send ``account``'s orders to the placer registered as ``uri``.

        Raises
        ------
        UnknownSymbolError
            When no placer is registered as ``uri``.
        """
        self.get(uri)
        self._routes[str(account)] = uri

    def get(self, uri: str) -> OrderPlacer:
        """Return the placer registered as ``uri``.

        Raises
        ------
        UnknownSymbolError
            When none is, naming the registered ones.
        """
        try:
            return self._placers[uri]
        except KeyError:
            close = difflib.get_close_matches(str(uri), self._placers, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownSymbolError(
                f"no order placer {uri!r}; registered: {sorted(self._placers) or 'none'}{hint}"
            ) from None

    def placer_for(self, account: str) -> OrderPlacer:
        """Return the placer that takes ``account``'s orders.

        Raises
        ------
        UnknownSymbolError
            When the account has no route and there is not exactly one placer.
        """
        uri = self._routes.get(account)
        if uri is not None:
            return self._placers[uri]
        if len(self._placers) == 1:
            return next(iter(self._placers.values()))
        raise UnknownSymbolError(
            f"no order placer routed for account {account!r}; routes: {self._routes or 'none'}"
        )

    def placers(self) -> dict[str, OrderPlacer]:
        """Return the registered placers by URI."""
        return dict(self._placers)

    def bind(self, sink: ExecutionSink) -> None:
        """Bind every registered placer to ``sink``."""
        for placer in self._placers.values():
            placer.bind(sink)
