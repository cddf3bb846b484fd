"""The order requests of a venue connector, as tasks with the shared failure policy
(internal).

:class:`OrderRequests` is the middle layer of
:class:`~serenity.trading.connector.base.VenueConnector`: each request runs as a task on
the loop, after the first reconciliation and after the earlier requests for the same order.
A refusal of a new order is a reject, of a cancel or amend a cancel reject; an unknown
outcome is settled by querying the order with backoff (see the policy in
:mod:`serenity.trading.connector.base`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import abstractmethod
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from decimal import Decimal
from typing import Any, ClassVar

from serenity.errors import AuthError, SerenityError, VenueError
from serenity.exchange.execution import OrderUpdate
from serenity.exchange.product import Product
from serenity.model import OrderStatus
from serenity.trading.connector._delivery import ReportDelivery
from serenity.trading.connector.reconcile import vanished_update
from serenity.trading.connector.rest import OutcomeUnknownError
from serenity.trading.connector.settings import ConnectorSettings
from serenity.trading.orders import Order
from serenity.trading.reports import RejectSource

__all__ = ["OrderRequests"]

log = logging.getLogger(__name__)


class OrderRequests(ReportDelivery):
    """Requests for orders, run as tasks (see the module docstring);
    :class:`~serenity.trading.connector.base.VenueConnector` sets the state declared here
    and documents the venue hooks."""

    settings: ConnectorSettings
    _in_flight: dict[str, int]
    _cancels_sent: set[str]
    purges_unfilled_cancels: ClassVar[bool]
    _locks: dict[str, asyncio.Lock]
    _tasks: set[asyncio.Task[None]]
    _ready: asyncio.Event

    @abstractmethod
    async def place(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Send a new order."""

    @abstractmethod
    async def cancel_order(self, order: Order, product: Product) -> Sequence[OrderUpdate]:
        """Cancel a working order."""

    @abstractmethod
    async def amend(
        self, order: Order, product: Product, *, price: Decimal | None, qty: Decimal | None
    ) -> Sequence[OrderUpdate]:
        """Change a working order's price and/or total quantity."""

    @abstractmethod
    async def query(self, order: Order, product: Product) -> OrderUpdate | None:
        """Return the venue's current state of ``order``, or None."""

    # -- requests ----------------------------------------------------------------------------

    def _spawn(
        self, order: Order, what: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        cl = order.cl_ord_id
        self._in_flight[cl] = self._in_flight.get(cl, 0) + 1
        task = asyncio.get_running_loop().create_task(
            self._guard(order, what, work), name=f"{self.venue}:{what}:{cl}"
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guard(
        self, order: Order, what: str, work: Callable[[], Coroutine[Any, Any, None]]
    ) -> None:
        cl = order.cl_ord_id
        lock = self._locks.setdefault(cl, asyncio.Lock())
        try:
            await self._ready.wait()
            async with lock:
                await work()
        except AuthError as exc:
            self._fail(exc)
        except SerenityError as exc:
            log.error(
                "connector.request_failed",
                extra={"venue": self.venue, "what": what, "cl_ord_id": cl, "error": str(exc)},
            )
        finally:
            left = self._in_flight.get(cl, 1) - 1
            if left > 0:
                self._in_flight[cl] = left
            else:
                self._in_flight.pop(cl, None)
                if not lock.locked() and order.is_terminal:
                    self._locks.pop(cl, None)

    async def _do_submit(self, order: Order, product: Product) -> None:
        try:
            updates = await self.place(order, product)
        except OutcomeUnknownError as exc:
            self._warn_unknown(order, "submit", exc)
            await self._settle(order, product, is_new=True)
            return
        except AuthError as exc:
            self._reject(order, str(exc), RejectSource.VENUE)
            raise
        except VenueError as exc:
            self._reject(order, str(exc), RejectSource.VENUE)
            return
        for update in updates:
            self._apply(order, update)

    async def _do_cancel(self, order: Order, product: Product) -> None:
        self._cancels_sent.add(order.cl_ord_id)  # reconciliation reads a vanished order by it
        await self._do_change(order, product, "cancel", lambda: self.cancel_order(order, product))

    async def _do_amend(
        self, order: Order, product: Product, price: Decimal | None, qty: Decimal | None
    ) -> None:
        await self._do_change(
            order, product, "amend", lambda: self.amend(order, product, price=price, qty=qty)
        )

    async def _do_change(
        self,
        order: Order,
        product: Product,
        what: str,
        request: Callable[[], Awaitable[Sequence[OrderUpdate]]],
    ) -> None:
        """Send a cancel or an amend (``what``) of ``order``; a refusal is a cancel reject,
        with ``is_replace`` for an amend, once the order's state was queried."""
        is_replace = what == "amend"
        try:
            updates = await request()
        except OutcomeUnknownError as exc:
            self._warn_unknown(order, what, exc)
            settled = await self._settle(order, product, is_new=False)
            if is_replace:  # an amend not confirmed is refused, whatever the order's state
                self._cancel_reject(order, f"{exc}; the amend was not confirmed", True)
            elif not settled:
                self._cancel_reject(order, f"{exc}; the order is still working", False)
            return
        except AuthError as exc:
            self._cancel_reject(order, str(exc), is_replace)
            raise
        except VenueError as exc:
            await self._settle(order, product, is_new=False, attempts=1)
            self._cancel_reject(order, str(exc), is_replace)
            return
        for update in updates:
            self._apply(order, update)

    async def _settle(
        self, order: Order, product: Product, *, is_new: bool, attempts: int | None = None
    ) -> bool:
        """Query ``order`` until the venue answers; apply its state. Return True when the
        order was finished by it."""
        tries = self.settings.query_attempts if attempts is None else attempts
        delay = self.settings.query_delay_s
        unknown = 0
        for attempt in range(tries):
            if attempts is None:
                await asyncio.sleep(delay * 2**attempt)
            try:
                state = await self.query(order, product)
            except AuthError:
                raise
            except VenueError as exc:
                log.warning(
                    "connector.query_failed",
                    extra={"venue": self.venue, "cl_ord_id": order.cl_ord_id, "error": str(exc)},
                )
                continue
            if state is None:
                unknown += 1
                continue
            return self._apply_state(order, self._canonical(state))
        if (
            not is_new
            and unknown == tries
            and self.purges_unfilled_cancels
            and order.cl_ord_id in self._cancels_sent
            and order.cum_qty == 0
            and not order.is_terminal
        ):
            # The venue purges a canceled order without fills: one it knew, we asked to
            # cancel and it no longer knows was canceled (a filled one it would still know).
            update = vanished_update(
                self.venue, time.time_ns(), order, order.cum_qty, purged=True, by_us=True
            )
            return self._apply_state(order, update)
        if is_new and unknown == tries and order.status is OrderStatus.PENDING_NEW:
            self._reject(
                order,
                f"{self.venue}: no answer to the order and the venue does not know it after "
                f"{tries} queries",
                RejectSource.VENUE,
            )
            return True
        log.warning(
            "connector.unsettled",
            extra={"venue": self.venue, "cl_ord_id": order.cl_ord_id, "queries": tries},
        )
        return False

    def _warn_unknown(self, order: Order, what: str, exc: VenueError) -> None:
        log.warning(
            "connector.outcome_unknown",
            extra={
                "venue": self.venue,
                "what": what,
                "cl_ord_id": order.cl_ord_id,
                "error": str(exc),
            },
        )
