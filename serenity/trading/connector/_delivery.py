"""How a venue connector tells the order manager what became of its orders (internal).

:class:`ReportDelivery` is the bottom layer of
:class:`~serenity.trading.connector.base.VenueConnector`: the connector's orders by client
order id (and the venue-side ids they are known by), the exec ids already delivered, and
the turning of a venue's :class:`~serenity.exchange.execution.OrderUpdate` into the order
manager's reports (execution reports, rejects, cancel rejects, adopted orders), scheduled
on the loop thread. What it cannot square with its orders it records as a
:class:`~serenity.trading.connector.reconcile.Difference`.
"""

from __future__ import annotations

import itertools
import logging
import time
from abc import ABC, abstractmethod
from collections import deque
from dataclasses import replace
from typing import ClassVar, Final

from serenity.errors import InvalidValueError
from serenity.exchange.execution import OrderUpdate, VenueFill
from serenity.exchange.product import Product
from serenity.model import ExecType, InstrumentId, OrderStatus
from serenity.tau import NetworkScheduler
from serenity.trading.connector._updates import STATE_EXEC, exec_id_of, order_of, report_of
from serenity.trading.connector.reconcile import Difference, DifferenceKind
from serenity.trading.orders import Order
from serenity.trading.placer import ExecutionSink
from serenity.trading.reports import CancelReject, OrderEvent, Reject, RejectSource

__all__ = ["ReportDelivery"]

log = logging.getLogger(__name__)

_SEEN_CAP: Final = 200_000


class ReportDelivery(ABC):
    """The orders of one connector and the delivery of their reports (see the module
    docstring); :class:`~serenity.trading.connector.base.VenueConnector` sets the state
    declared here and supplies :meth:`request_reconcile` and :meth:`stop`."""

    venue: ClassVar[str]
    account: str
    scheduler: NetworkScheduler
    products: dict[InstrumentId, Product]
    differences: deque[Difference]
    failure: BaseException | None
    _sink: ExecutionSink | None
    _orders: dict[str, Order]
    _aliases: dict[str, str]  # a venue-side client id -> our cl_ord_id
    _seen: dict[str, None]  # exec ids delivered, oldest first (bounded)

    @abstractmethod
    def request_reconcile(self) -> None:
        """Ask for a reconciliation soon."""

    @abstractmethod
    def stop(self) -> None:
        """Ask the connector to stop."""

    # -- reports ---------------------------------------------------------------------------

    def _on_update(self, update: OrderUpdate) -> None:
        update = self._canonical(update)
        order = self._orders.get(update.cl_ord_id)
        if order is None:
            self._record(
                Difference(
                    venue=self.venue,
                    kind=DifferenceKind.UNKNOWN_ORDER,
                    ts=time.time_ns(),
                    cl_ord_id=update.cl_ord_id,
                    instrument=update.instrument,
                    details={
                        "venue_order_id": update.venue_order_id,
                        "exec_type": str(update.exec_type),
                        "status": str(update.status),
                    },
                )
            )
            if (
                not update.status.is_terminal
                and update.exec_type is not ExecType.TRADE
                and update.instrument in self.products
            ):
                self.request_reconcile()  # reconciliation adopts it
            return
        self._apply(order, update)

    def _fail(self, exc: BaseException) -> None:
        if self.failure is None:
            self.failure = exc
            log.error("connector.failed", extra={"venue": self.venue, "error": str(exc)})
        self.stop()

    def _canonical(self, update: OrderUpdate) -> OrderUpdate:
        mapped = self._aliases.get(update.cl_ord_id)
        return update if mapped is None else replace(update, cl_ord_id=mapped)

    def _canonical_fill(self, fill: VenueFill) -> VenueFill:
        if fill.cl_ord_id is None:
            return fill
        mapped = self._aliases.get(fill.cl_ord_id)
        return fill if mapped is None else replace(fill, cl_ord_id=mapped)

    def _apply(self, order: Order, update: OrderUpdate) -> None:
        """Deliver a change the venue reported for ``order``."""
        if update.exec_type is ExecType.ORDER_STATUS:
            self._apply_state(order, update)
            return
        exec_id = exec_id_of(update)
        if exec_id in self._seen:
            return
        self._mark_seen(exec_id)
        self._deliver(report_of(order, update, exec_id))

    def _apply_state(self, order: Order, state: OrderUpdate) -> bool:
        """Deliver what a statement of ``order``'s state implies; return True when it
        finished the order. Fills are never inferred from a state: a filled quantity the
        order manager lacks is fetched by a reconciliation."""
        kind = STATE_EXEC.get(state.status)
        if kind is not None:
            self._apply(order, replace(state, exec_type=kind, exec_id=None))
            return True
        if order.status is OrderStatus.PENDING_NEW and not state.status.is_terminal:
            self._apply(order, replace(state, exec_type=ExecType.NEW, exec_id=None))
        if state.cum_qty > order.cum_qty:
            self.request_reconcile()
        return state.status.is_terminal

    def _adopt(self, update: OrderUpdate) -> None:
        adopt = getattr(self._sink, "adopt", None)
        problem = None
        order = None
        if update.cl_ord_id in self._orders:
            problem = "its client order id is already used"
        elif adopt is None:
            problem = "the order manager cannot adopt orders"
        else:
            try:
                order = order_of(update, self.account)
            except InvalidValueError as exc:
                problem = str(exc)
        if order is None or adopt is None:
            self._record(
                Difference(
                    venue=self.venue,
                    kind=DifferenceKind.ADOPT_FAILED,
                    ts=time.time_ns(),
                    cl_ord_id=update.cl_ord_id,
                    instrument=update.instrument,
                    details={"reason": problem},
                )
            )
            return
        self._orders[order.cl_ord_id] = order
        self.scheduler.schedule(lambda: adopt(order))

    def _reject(self, order: Order, reason: str, source: RejectSource) -> None:
        self._deliver(
            Reject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                account=order.account,
                instrument=order.instrument,
                reason=reason,
                source=source,
                ts=self.scheduler.get_time(),
            )
        )

    def _cancel_reject(self, order: Order, reason: str, is_replace: bool) -> None:
        self._deliver(
            CancelReject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                reason=reason,
                ts=self.scheduler.get_time(),
                is_replace=is_replace,
            )
        )

    def _deliver(self, event: OrderEvent) -> None:
        sink = self._sink
        if sink is None:
            log.error(
                "connector.unbound",
                extra={"venue": self.venue, "cl_ord_id": getattr(event, "cl_ord_id", "")},
            )
            return
        self.scheduler.schedule(lambda: sink.apply(event))

    def _mark_seen(self, exec_id: str) -> None:
        seen = self._seen
        seen[exec_id] = None
        if len(seen) > _SEEN_CAP:
            for old in list(itertools.islice(seen, len(seen) - _SEEN_CAP)):
                del seen[old]

    def _record(self, difference: Difference) -> None:
        self.differences.append(difference)
        log.warning(
            "connector.difference",
            extra={
                "venue": difference.venue,
                "kind": str(difference.kind),
                "cl_ord_id": difference.cl_ord_id,
                "instrument": None if difference.instrument is None else str(difference.instrument),
                "details": difference.details,
            },
        )
