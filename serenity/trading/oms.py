"""The order manager: the one owner of order state, publishing every change as a signal."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from collections.abc import Callable, Iterator, Mapping
from decimal import Decimal
from typing import Final

from serenity.errors import InvalidValueError, SerenityError
from serenity.exchange.product import Product
from serenity.model import ExecType, InstrumentId, OrderStatus
from serenity.tau import Emitter, NetworkScheduler, Signal
from serenity.trading._order_events import ChangedOrders, Fills, stamped
from serenity.trading.orders import ZERO, Order, to_decimal
from serenity.trading.placer import OrderPlacerService
from serenity.trading.reports import (
    CancelReject,
    ExecutionReport,
    OrderError,
    OrderEvent,
    Reject,
    RejectSource,
)
from serenity.trading.validation import check_order

__all__ = ["OrderManagerService", "PreTradeCheck"]

log = logging.getLogger(__name__)

_PENDING: Final = frozenset({OrderStatus.PENDING_CANCEL, OrderStatus.PENDING_REPLACE})

PreTradeCheck = Callable[[Order, Decimal, Decimal | None], str | None]
"""A pre-trade check, ``(order, qty, price) -> reason or None``: see :class:`PreTradeRisk`."""


class OrderManagerService:
    """Own every order's state: submit, cancel and amend orders, apply what placers report.

    Every change is published on :attr:`order_events` (execution reports, rejects, cancel
    rejects and refused reports), each in a cycle of its own and in the order it happened;
    :attr:`fills` carries the fill reports and :attr:`orders` the order each event changed.
    States follow FIX: ``PENDING_NEW -> NEW -> PARTIALLY_FILLED -> FILLED``, ``PENDING_CANCEL
    -> CANCELED``, ``PENDING_REPLACE -> NEW/PARTIALLY_FILLED`` (exec type ``REPLACED``),
    ``REJECTED`` and ``EXPIRED``. A fill that would overfill an order, or that arrives for a
    finished or unknown order, is never applied: it is published as an
    :class:`~serenity.trading.OrderError` and logged. A report whose ``exec_id`` was seen
    before is ignored, so replayed fills count once.

    Before an order reaches its placer it is checked against its instrument's filters
    (:func:`~serenity.trading.check_order`, when ``products`` has the instrument), the kill
    switch, and the pre-trade ``checks``; a refusal is a :class:`~serenity.trading.Reject`
    naming the filter or limit.

    Parameters
    ----------
    scheduler
        The scheduler whose network carries the signals and whose clock stamps orders.
    placers
        Where each account's orders go; every placer is bound to this order manager.
    products
        Instrument filters by instrument, for the local checks.
    checks
        Pre-trade checks run in order (e.g. :class:`~serenity.trading.PreTradeRisk`).
    ref_price
        The reference price of an instrument (last trade or mid), for notional and band
        checks of market orders.
    """

    def __init__(
        self,
        scheduler: NetworkScheduler,
        placers: OrderPlacerService,
        *,
        products: Mapping[InstrumentId, Product] | None = None,
        checks: list[PreTradeCheck] | None = None,
        ref_price: Callable[[InstrumentId], float | None] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.placers = placers
        self.products = dict(products or {})
        self.checks = list(checks or [])
        self._ref_price = ref_price
        network = scheduler.network
        self._orders: dict[int, Order] = {}
        self._by_cl: dict[tuple[str, str], Order] = {}
        self._working: dict[int, Order] = {}
        self._exec_ids: set[str] = set()
        self._before_pending: dict[int, OrderStatus] = {}
        self._pending_replace: dict[int, tuple[Decimal | None, Decimal | None]] = {}
        self._ids = itertools.count(1)
        self._exec_seq = itertools.count(1)
        self._killed: str | None = None
        self.order_events: Emitter[OrderEvent] = Emitter(network, name="order_events")
        self.fills: Signal[ExecutionReport] = Fills(network, self.order_events)
        self.orders: Signal[Order] = ChangedOrders(network, self.order_events, self._orders)
        self.error_count = 0
        placers.bind(self)

    # -- queries -----------------------------------------------------------------------

    def get(self, order_id: int) -> Order | None:
        """Return the order with ``order_id``, or None."""
        return self._orders.get(order_id)

    def get_by_cl_ord_id(self, account: str, cl_ord_id: str) -> Order | None:
        """Return ``account``'s order with ``cl_ord_id``, or None."""
        return self._by_cl.get((account, cl_ord_id))

    def working_orders(
        self, instrument: InstrumentId | None = None, account: str | None = None
    ) -> list[Order]:
        """Return the working orders, oldest first, optionally of one instrument/account."""
        return [
            o
            for o in self._working.values()
            if (instrument is None or o.instrument == instrument)
            and (account is None or o.account == account)
        ]

    def all_orders(self) -> Iterator[Order]:
        """Return every order submitted, oldest first."""
        return iter(self._orders.values())

    @property
    def is_killed(self) -> bool:
        """Return True while the kill switch is on."""
        return self._killed is not None

    # -- requests ----------------------------------------------------------------------

    def submit(self, order: Order) -> Order:
        """Check ``order`` and send it to its account's placer; return it.

        A refused order is published as a :class:`~serenity.trading.Reject` and never
        reaches the placer.

        Raises
        ------
        InvalidValueError
            When the order was submitted before or its client id is taken.
        """
        key = self._new_key(order, "was already submitted")
        now = self.scheduler.get_time()
        order.order_id = next(self._ids)
        order.created_ts = order.updated_ts = now
        order.status = OrderStatus.PENDING_NEW
        self._orders[order.order_id] = order
        self._by_cl[key] = order
        refusal = self._precheck(order, order.qty, order.price)
        if refusal is not None:
            self._refuse(order, *refusal)
            return order
        try:
            placer = self.placers.placer_for(order.account)
        except SerenityError as exc:
            self._refuse(order, str(exc), RejectSource.VALIDATION)
            return order
        self._working[order.order_id] = order
        self._publish_state(order, ExecType.PENDING_NEW)
        placer.submit(order)
        return order

    def adopt(self, order: Order) -> Order:
        """Take over a working order placed elsewhere (found on a venue when a connector
        reconciled); return it.

        The order keeps the state given (status, ``cum_qty``, ``avg_px``, venue order id),
        gets an order id, and is published as an ``ORDER_STATUS`` report. It is not sent to
        a placer and no pre-trade check runs: it already works on the venue.

        Raises
        ------
        InvalidValueError
            When the order was submitted or adopted before, its client id is taken, or it
            is not working.
        """
        key = self._new_key(order, "is already managed")
        if not order.is_working:
            raise InvalidValueError(
                f"only a working order can be adopted; order {order.cl_ord_id!r} is {order.status}"
            )
        now = self.scheduler.get_time()
        order.order_id = next(self._ids)
        order.created_ts = order.created_ts or now
        order.updated_ts = now
        self._orders[order.order_id] = order
        self._by_cl[key] = order
        self._working[order.order_id] = order
        log.info(
            "oms.order_adopted",
            extra={"cl_ord_id": order.cl_ord_id, "venue_order_id": order.venue_order_id},
        )
        self._publish_state(order, ExecType.ORDER_STATUS)
        return order

    def cancel(self, order: Order | int) -> None:
        """Ask to cancel a working order; a cancel that cannot be done is a
        :class:`~serenity.trading.CancelReject`, never an exception."""
        target = self._resolve(order)
        if target is None:
            return
        if target.status is OrderStatus.PENDING_CANCEL:
            self._cancel_reject(target, "a cancel is already pending", is_replace=False)
            return
        self._before_pending.setdefault(target.order_id, target.status)
        target.status = OrderStatus.PENDING_CANCEL
        target.updated_ts = self.scheduler.get_time()
        self._publish_state(target, ExecType.PENDING_CANCEL)
        self.placers.placer_for(target.account).cancel(target)

    def replace(
        self,
        order: Order | int,
        *,
        price: Decimal | float | int | str | None = None,
        qty: Decimal | float | int | str | None = None,
    ) -> None:
        """Ask to amend a working order's price and/or quantity.

        The new quantity is the order's total (filled included), so it must exceed what is
        filled. An amend that cannot be done is a :class:`~serenity.trading.CancelReject`.

        Raises
        ------
        InvalidValueError
            When neither price nor qty is given, or one is not a number.
        """
        if price is None and qty is None:
            raise InvalidValueError("replace needs a new price, a new qty, or both")
        new_px = None if price is None else to_decimal(price, what="price")
        new_qty = None if qty is None else to_decimal(qty, what="qty")
        target = self._resolve(order, is_replace=True)
        if target is None:
            return
        if target.status in _PENDING:
            self._cancel_reject(target, f"order is {target.status}", is_replace=True)
            return
        if new_px is not None and target.price is None:
            self._cancel_reject(target, "a market or stop order has no price", is_replace=True)
            return
        if new_qty is not None and new_qty <= target.cum_qty:
            self._cancel_reject(
                target,
                f"new qty {new_qty} does not exceed the filled {target.cum_qty}",
                is_replace=True,
            )
            return
        refusal = self._precheck(
            target, new_qty if new_qty is not None else target.qty, new_px or target.price
        )
        if refusal is not None:
            self._cancel_reject(target, refusal[0], is_replace=True)
            return
        self._before_pending.setdefault(target.order_id, target.status)
        self._pending_replace[target.order_id] = (new_px, new_qty)
        target.status = OrderStatus.PENDING_REPLACE
        target.updated_ts = self.scheduler.get_time()
        self._publish_state(target, ExecType.PENDING_REPLACE)
        self.placers.placer_for(target.account).replace(target, price=new_px, qty=new_qty)

    def cancel_all(self, instrument: InstrumentId | None = None, account: str | None = None) -> int:
        """Cancel every working order (of one instrument/account); return how many."""
        targets = [
            o
            for o in self.working_orders(instrument, account)
            if o.status is not OrderStatus.PENDING_CANCEL
        ]
        for order in targets:
            self.cancel(order)
        return len(targets)

    def kill(self, reason: str = "kill switch") -> int:
        """Turn the kill switch on: cancel every working order and refuse new ones.

        Returns the number of cancels sent.
        """
        self._killed = str(reason)
        log.warning("oms.kill_switch", extra={"reason": self._killed})
        return self.cancel_all()

    def revive(self) -> None:
        """Turn the kill switch off."""
        if self._killed is not None:
            log.warning("oms.kill_switch_off", extra={"reason": self._killed})
        self._killed = None

    # -- reports -----------------------------------------------------------------------

    def apply(self, event: OrderEvent) -> None:
        """Apply what a placer reported and publish it (see the class docstring)."""
        if isinstance(event, ExecutionReport):
            self._apply_report(event)
        elif isinstance(event, Reject):
            order = self._orders.get(event.order_id)
            if order is None or order.is_terminal:
                self._error(event.order_id, event.cl_ord_id, "reject for an unknown or done order")
                return
            self._finish(order, OrderStatus.REJECTED, event.reason, event.ts)
            self.order_events.emit(event)
        elif isinstance(event, CancelReject):
            order = self._orders.get(event.order_id)
            if order is not None:
                self._restore(order)
                event = dataclasses.replace(event, status=order.status)
            self.order_events.emit(event)
        else:
            self.error_count += 1
            self.order_events.emit(event)

    def _apply_report(self, report: ExecutionReport) -> None:
        order = self._orders.get(report.order_id)
        if order is None:
            order = self._by_cl.get((report.account, report.cl_ord_id))
        if order is None:
            self._error(report.order_id, report.cl_ord_id, "report for an unknown order", report)
            return
        if report.exec_id in self._exec_ids:
            log.debug("oms.duplicate_report", extra={"exec_id": report.exec_id})
            return
        self._exec_ids.add(report.exec_id)
        kind = report.exec_type
        if report.venue_order_id:
            order.venue_order_id = report.venue_order_id
        if kind is ExecType.TRADE:
            if order.is_terminal:
                self._error(
                    order.order_id, order.cl_ord_id, f"fill on a {order.status} order", report
                )
                return
            last_qty, last_px = report.last_qty, report.last_px
            if not last_qty > 0 or last_px is None:
                self._error(order.order_id, order.cl_ord_id, "fill without qty or price", report)
                return
            cum = order.cum_qty + last_qty
            if cum > order.qty:
                self._error(
                    order.order_id,
                    order.cl_ord_id,
                    f"overfill: {order.cum_qty} filled + {last_qty} exceeds qty {order.qty}",
                    report,
                )
                return
            paid = (order.avg_px or ZERO) * order.cum_qty + last_px * last_qty
            order.cum_qty = cum
            order.avg_px = paid / cum
            if cum == order.qty:
                self._finish(order, OrderStatus.FILLED, None, report.ts)
            elif order.status not in _PENDING:
                order.status = OrderStatus.PARTIALLY_FILLED
        elif order.is_terminal:
            # A late ack or cancel for a finished order changes nothing; it is not an error.
            log.debug("oms.late_report", extra={"order_id": order.order_id, "exec": str(kind)})
            return
        elif kind is ExecType.NEW:
            if order.status is OrderStatus.PENDING_NEW:
                order.status = OrderStatus.NEW
            else:
                self._before_pending[order.order_id] = OrderStatus.NEW
        elif kind is ExecType.CANCELED:
            self._finish(order, OrderStatus.CANCELED, report.text, report.ts)
        elif kind is ExecType.EXPIRED:
            self._finish(order, OrderStatus.EXPIRED, report.text, report.ts)
        elif kind is ExecType.REJECTED:
            self._finish(order, OrderStatus.REJECTED, report.text, report.ts)
            self.order_events.emit(
                Reject(
                    order_id=order.order_id,
                    cl_ord_id=order.cl_ord_id,
                    account=order.account,
                    instrument=order.instrument,
                    reason=report.text or "rejected by the venue",
                    source=RejectSource.VENUE,
                    ts=report.ts,
                )
            )
            return
        elif kind is ExecType.REPLACED:
            new_px, new_qty = self._pending_replace.pop(order.order_id, (None, None))
            order.price = report.price if report.price is not None else new_px or order.price
            order.qty = report.qty if report.qty > 0 else new_qty or order.qty
            self._restore(order)
            if order.cum_qty >= order.qty:
                self._finish(order, OrderStatus.FILLED, None, report.ts)
        elif kind is ExecType.ORDER_STATUS:
            order.status = report.status
            if order.is_terminal:
                self._finish(order, report.status, report.text, report.ts)
        order.updated_ts = report.ts
        self.order_events.emit(stamped(order, report))

    # -- internals ---------------------------------------------------------------------

    def _new_key(self, order: Order, managed: str) -> tuple[str, str]:
        """Return ``order``'s (account, client order id), refusing an order managed already
        (``managed`` says how) or whose client id its account has used."""
        if order.order_id:
            raise InvalidValueError(f"order {order.cl_ord_id!r} {managed}")
        key = (order.account, order.cl_ord_id)
        if key in self._by_cl:
            raise InvalidValueError(
                f"client order id {order.cl_ord_id!r} is already used by account {order.account!r}"
            )
        return key

    def _precheck(
        self, order: Order, qty: Decimal, price: Decimal | None
    ) -> tuple[str, RejectSource] | None:
        if self._killed is not None:
            return f"kill switch is on ({self._killed})", RejectSource.RISK
        product = self.products.get(order.instrument)
        if product is not None:
            ref = self._ref(order.instrument)
            refusal = check_order(order, product, qty=qty, price=price, ref_price=ref)
            if refusal is not None:
                return str(refusal), RejectSource.VALIDATION
        for check in self.checks:
            reason = check(order, qty, price)
            if reason is not None:
                return reason, RejectSource.RISK
        return None

    def _ref(self, instrument: InstrumentId) -> Decimal | None:
        if self._ref_price is None:
            return None
        value = self._ref_price(instrument)
        return None if value is None else to_decimal(value, what="reference price")

    def _resolve(self, order: Order | int, *, is_replace: bool = False) -> Order | None:
        key = order if isinstance(order, int) else order.order_id
        target = self._orders.get(key)
        if target is None:
            cl = "" if isinstance(order, int) else order.cl_ord_id
            self.order_events.emit(
                CancelReject(
                    order_id=0,
                    cl_ord_id=cl,
                    reason=f"unknown order {order!r}",
                    ts=self.scheduler.get_time(),
                    is_replace=is_replace,
                )
            )
            return None
        if not target.is_working:
            self._cancel_reject(target, f"order is {target.status}", is_replace=is_replace)
            return None
        return target

    def _cancel_reject(self, order: Order, reason: str, *, is_replace: bool) -> None:
        self.order_events.emit(
            CancelReject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                reason=reason,
                ts=self.scheduler.get_time(),
                is_replace=is_replace,
                status=order.status,
            )
        )

    def _restore(self, order: Order) -> None:
        """Put back the status an order had before a cancel or amend was requested."""
        previous = self._before_pending.pop(order.order_id, None)
        self._pending_replace.pop(order.order_id, None)
        if order.status in _PENDING and previous is not None:
            order.status = previous
        if order.status is OrderStatus.NEW and order.cum_qty:
            order.status = OrderStatus.PARTIALLY_FILLED

    def _finish(self, order: Order, status: OrderStatus, reason: str | None, ts: int) -> None:
        order.status = status
        order.reason = reason
        order.updated_ts = ts
        self._working.pop(order.order_id, None)
        self._before_pending.pop(order.order_id, None)
        self._pending_replace.pop(order.order_id, None)

    def _refuse(self, order: Order, reason: str, source: RejectSource) -> None:
        now = self.scheduler.get_time()
        self._finish(order, OrderStatus.REJECTED, reason, now)
        log.info(
            "oms.order_refused",
            extra={"cl_ord_id": order.cl_ord_id, "reason": reason, "source": str(source)},
        )
        self.order_events.emit(
            Reject(
                order_id=order.order_id,
                cl_ord_id=order.cl_ord_id,
                account=order.account,
                instrument=order.instrument,
                reason=reason,
                source=source,
                ts=now,
            )
        )

    def _error(
        self, order_id: int, cl_ord_id: str, reason: str, report: ExecutionReport | None = None
    ) -> None:
        self.error_count += 1
        log.error(
            "oms.report_refused",
            extra={
                "order_id": order_id,
                "cl_ord_id": cl_ord_id,
                "reason": reason,
                "exec_id": report.exec_id if report else None,
            },
        )
        self.order_events.emit(
            OrderError(
                order_id=order_id,
                cl_ord_id=cl_ord_id,
                reason=reason,
                ts=report.ts if report else self.scheduler.get_time(),
                report=report,
            )
        )

    def _publish_state(self, order: Order, kind: ExecType) -> None:
        self.order_events.emit(
            stamped(
                order,
                exec_id=f"oms-{next(self._exec_seq)}",
                exec_type=kind,
                ts=self.scheduler.get_time(),
            )
        )
