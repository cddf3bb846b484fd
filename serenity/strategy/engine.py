"""The investment backtester's daily loop, session by session.

On each session of the window, in this order:

1. **splits** of the day scale holdings (the cost basis stays; a fraction below the lot size
   is paid in cash at the day's open) and the quantities and limits of orders waiting for
   the open;
2. units held are noted for the day's **dividends** (the holders of record);
3. orders waiting for the **open** fill (next-open runs);
4. at the **close**: dividends are paid; on a rebalance session the strategy's
   ``rebalance`` runs; dividends are reinvested by policy unless the rebalance traded;
   market-on-close orders fill (next-open orders wait for the next session);
5. the close is **recorded**: marks, positions and a point of the equity curve.

Orders still waiting when the run ends are canceled.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Final

from serenity.analytics import RunWriter
from serenity.errors import InvalidValueError
from serenity.strategy.base import InvestmentStrategy
from serenity.strategy.calendar import Session, TradingCalendar
from serenity.strategy.context import InvestContext
from serenity.strategy.dividends import DividendPolicy, reinvestment
from serenity.strategy.fills import Execution, FillSimulator, FillTiming, Order
from serenity.strategy.model import Portfolio, Universe
from serenity.strategy.pricing import PriceTable
from serenity.trading.orders import to_decimal

__all__ = ["InvestEngine"]

log = logging.getLogger(__name__)

_ZERO: Final = Decimal(0)


class InvestEngine:
    """Run an :class:`InvestmentStrategy` over the sessions of a window.

    Parameters
    ----------
    strategy, params
        The strategy and its params.
    universe, portfolio
        The tradables and the accounts (changed as the run trades).
    table
        The prices, on sessions that end with the window's.
    sessions
        The window's sessions (the last ``len(sessions)`` rows of ``table``).
    calendar
        The exchange calendar.
    rebalance
        The sessions on which :meth:`InvestmentStrategy.rebalance` runs.
    fills
        The fill model.
    dividends
        The dividend policy.
    writer
        Where the run's outputs go.
    marked
        Symbols whose closes are written as marks (the universe, and a benchmark).
    """

    def __init__(
        self,
        *,
        strategy: InvestmentStrategy,
        params: Any,
        universe: Universe,
        portfolio: Portfolio,
        table: PriceTable,
        sessions: Sequence[Session],
        calendar: TradingCalendar,
        rebalance: Sequence[dt.date],
        fills: FillSimulator,
        dividends: DividendPolicy,
        writer: RunWriter,
        marked: Sequence[str],
        name: str = "strategy",
    ) -> None:
        self.strategy = strategy
        self.universe = universe
        self.portfolio = portfolio
        self.table = table
        self.sessions = list(sessions)
        self.calendar = calendar
        self.rebalance_dates = set(rebalance)
        self.fills = fills
        self.dividend_policy = dividends
        self.writer = writer
        self.marked = list(marked)
        self.name = name
        self.session: Session | None = None
        self.row = -1
        self._first_row = len(table.dates) - len(self.sessions)
        if self.sessions and table.dates[self._first_row] != self.sessions[0].date:
            raise InvalidValueError("the price table's last rows must be the window's sessions")
        self._next_id = 1
        self._batch: list[Order] = []
        self._waiting: list[Order] = []
        self._orders_placed = 0
        self._fills = 0
        self._dividends_paid = _ZERO
        self._marks: dict[str, Decimal] = {}
        self._marks_row = -2
        self.ctx = InvestContext(self, params)

    # --- the loop -------------------------------------------------------------------------

    def run(self, progress: Callable[[int, int], None] | None = None) -> int:
        """Run every session; return the number run.

        ``progress(done, total)`` is called after each session when given.
        """
        self.strategy.init(self.ctx)
        if self.sessions:
            first = self.sessions[0]
            self.writer.pnl(first.open_ns, realised=0.0, unrealised=0.0, fees=0.0)
        for i, session in enumerate(self.sessions):
            self.session, self.row = session, self._first_row + i
            self._run_session(session)
            if progress is not None:
                progress(i + 1, len(self.sessions))
        if self._waiting and self.sessions:
            last = self.sessions[-1]
            for order in self._waiting:
                self._write_execution(
                    Execution(order, last.stamp_ns, _ZERO, None, _ZERO, "run ended")
                )
            self._waiting = []
        log.info(
            "invest.run.done",
            extra={
                "strategy": self.name,
                "sessions": len(self.sessions),
                "orders": self._orders_placed,
                "fills": self._fills,
            },
        )
        return len(self.sessions)

    def _run_session(self, session: Session) -> None:
        changed: set[tuple[str, str]] = set()
        self._apply_splits(session, changed)
        paying = {s: v for s, v in self.ctx.dividends.today().items()}
        entitled = {
            (account.name, symbol): account.qty(symbol)
            for account in self.portfolio.accounts.values()
            for symbol in paying
            if account.qty(symbol) > 0
        }
        if self._waiting:
            orders, self._waiting = self._waiting, []
            self._execute(orders, session.open_ns, changed)
        paid = self._pay_dividends(session, paying, entitled)
        if session.date in self.rebalance_dates:
            placed = self._orders_placed
            try:
                self.strategy.rebalance(self.ctx)
            except Exception as exc:
                exc.add_note(f"in {self.name}.rebalance at the close of {session.date}")
                raise
            if self._orders_placed != placed:
                paid = []  # the rebalance traded: the dividends were part of what it invested
        self._reinvest(paid)
        orders, self._batch = self._batch, []
        if self.fills.timing is FillTiming.MARKET_ON_CLOSE:
            self._execute(orders, session.stamp_ns, changed)
        else:
            self._waiting = orders
        self._record(session, changed)

    # --- orders and fills -----------------------------------------------------------------

    def place(
        self,
        account: str,
        symbol: str,
        side: str,
        qty: Decimal,
        limit: Decimal | None,
        *,
        tag: str = "rebalance",
    ) -> Order:
        """Place an order now (at the current session's close); it fills by the fill model."""
        if self.session is None:
            raise InvalidValueError("orders can be placed only in rebalance, not in init")
        order = Order(self._next_id, account, symbol, side, qty, limit, self.session.stamp_ns, tag)
        self._next_id += 1
        self._orders_placed += 1
        self._batch.append(order)
        self.writer.order(
            order.placed_ns,
            order.order_id,
            cl_ord_id=_cl_ord_id(order),
            account=account,
            instrument=symbol,
            side=side,
            order_type="MARKET" if limit is None else "LIMIT",
            tif=self.fills.timing.tif,
            qty=float(qty),
            price=None if limit is None else float(limit),
            exec_type="NEW",
            status="NEW",
            cum_qty=0.0,
            leaves_qty=float(qty),
        )
        return order

    def _execute(self, orders: list[Order], ts: int, changed: set[tuple[str, str]]) -> None:
        if not orders:
            return
        executions = self.fills.execute(
            orders,
            ts=ts,
            row=self.row,
            table=self.table,
            portfolio=self.portfolio,
            universe=self.universe,
        )
        for execution in executions:
            self._write_execution(execution)
            if execution.qty:
                changed.add((execution.order.account, execution.order.symbol))

    def _write_execution(self, e: Execution) -> None:
        order = e.order
        common: dict[str, Any] = {
            "cl_ord_id": _cl_ord_id(order),
            "account": order.account,
            "instrument": order.symbol,
            "side": order.side,
            "order_type": "MARKET" if order.limit is None else "LIMIT",
            "tif": self.fills.timing.tif,
            "qty": float(order.qty),
            "price": None if order.limit is None else float(order.limit),
        }
        if e.qty:
            assert e.price is not None
            self._fills += 1
            self.writer.fill(
                e.ts,
                order.order_id,
                cl_ord_id=common["cl_ord_id"],
                exec_id=f"{common['cl_ord_id']}-1",
                account=order.account,
                instrument=order.symbol,
                side=order.side,
                qty=float(e.qty),
                price=float(e.price),
                fee=float(e.fee),
                fee_currency=self.portfolio.currency,
                liquidity="TAKER",
            )
            self.writer.order(
                e.ts,
                order.order_id,
                **common,
                exec_type="TRADE",
                status="FILLED" if not e.leaves else "PARTIALLY_FILLED",
                cum_qty=float(e.qty),
                leaves_qty=float(e.leaves),
            )
        if e.leaves:
            self.writer.order(
                e.ts,
                order.order_id,
                **common,
                exec_type="CANCELED",
                status="CANCELED",
                cum_qty=float(e.qty),
                leaves_qty=0.0,
                reason=e.reason,
            )

    # --- corporate actions ----------------------------------------------------------------

    def _apply_splits(self, session: Session, changed: set[tuple[str, str]]) -> None:
        splits = self.ctx.dividends.splits_today()
        if not splits:
            return
        for account, held in self.portfolio.holdings():
            ratio = splits.get(held.symbol)
            if ratio is None or not held.qty:
                continue
            held.split(ratio)
            whole = self.universe.get(held.symbol).round_qty(held.qty)
            if whole != held.qty:  # cash in lieu of the fraction, at the day's open
                price = self.ctx.pricing.bar(held.symbol)
                value = price.open if price is not None else self.ctx.pricing.price(held.symbol)
                fraction = held.qty - whole
                held.sell(fraction, value or _ZERO, _ZERO)
                account.cash += fraction * (value or _ZERO)
            changed.add((account.name, held.symbol))
            self.writer.capture(
                "splits",
                session.stamp_ns,
                account=account.name,
                instrument=held.symbol,
                ratio=float(ratio),
                qty=float(held.qty),
            )
        for order in self._waiting:
            ratio = splits.get(order.symbol)
            if ratio is not None:
                order.qty = self.universe.get(order.symbol).round_qty(order.qty * ratio)
                if order.limit is not None:
                    order.limit = order.limit / ratio
        self._waiting = [o for o in self._waiting if o.qty > 0]

    def _pay_dividends(
        self,
        session: Session,
        paying: dict[str, Decimal],
        entitled: dict[tuple[str, str], Decimal],
    ) -> list[tuple[str, str, Decimal]]:
        """Pay the day's dividends into cash; return (account, symbol, amount) of each."""
        if not entitled or not self.dividend_policy.pays:
            return []
        paid = []
        for (name, symbol), units in sorted(entitled.items()):
            account = self.portfolio.account(name)
            amount = units * paying[symbol]
            held = account.holding(symbol)
            held.realised += amount
            held.dividends += amount
            account.cash += amount
            self._dividends_paid += amount
            paid.append((name, symbol, amount))
            self.writer.capture(
                "dividends",
                session.stamp_ns,
                account=name,
                instrument=symbol,
                per_unit=float(paying[symbol]),
                units=float(units),
                amount=float(amount),
            )
        return paid

    def _reinvest(self, paid: list[tuple[str, str, Decimal]]) -> None:
        if not paid:
            return
        closes = {
            s: c for s in self.universe.symbols if (c := self.ctx.pricing.close(s)) is not None
        }
        for name, symbol, amount in paid:
            buys = reinvestment(
                self.dividend_policy,
                account=self.portfolio.account(name),
                symbol=symbol,
                amount=amount,
                prices=closes,
                costs=self.fills.costs,
                universe=self.universe,
            )
            for target, qty in buys.items():
                self.place(name, target, "BUY", qty, None, tag="dividend")

    # --- records --------------------------------------------------------------------------

    def marks(self) -> dict[str, Decimal]:
        """Return the latest close of every tradable up to the current session."""
        if self._marks_row != self.row:
            out = {}
            for symbol in self.universe.symbols:
                value = self.table.last_close(self.row, symbol)
                if value == value:  # not NaN
                    out[symbol] = to_decimal(value, what="close")
            self._marks, self._marks_row = out, self.row
        return self._marks

    def capture(self, channel: str, **fields: Any) -> None:
        """Add a capture row at the current session's close."""
        if self.session is None:
            raise InvalidValueError("capture rows need a session; capture in rebalance")
        self.writer.capture(channel, self.session.stamp_ns, **fields)

    def _record(self, session: Session, changed: set[tuple[str, str]]) -> None:
        ts = session.stamp_ns
        writer = self.writer
        for symbol in self.marked:
            if self.table.has_bar(self.row, symbol):
                writer.mark(ts, symbol, price=self.table.value("close", self.row, symbol))
        marks = self.marks()
        realised = unrealised = fees = _ZERO
        currency = self.portfolio.currency
        for account, held in self.portfolio.holdings():
            mark = marks.get(held.symbol)
            open_pnl = held.unrealised(mark) if mark is not None and held.qty else _ZERO
            realised += held.realised
            unrealised += open_pnl
            fees += held.fees
            if held.qty or (account.name, held.symbol) in changed:
                avg = held.avg_price
                writer.position(
                    ts,
                    account=account.name,
                    instrument=held.symbol,
                    qty=float(held.qty),
                    avg_price=None if avg is None else float(avg),
                    realised_pnl=float(held.realised),
                    unrealised_pnl=float(open_pnl),
                    fees=float(held.fees),
                    currency=currency,
                )
        writer.pnl(ts, realised=float(realised), unrealised=float(unrealised), fees=float(fees))
        writer.capture(
            "cash",
            ts,
            **{f"cash_{a.name}": float(a.cash) for a in self.portfolio.accounts.values()},
        )

    @property
    def counts(self) -> dict[str, Any]:
        """Return what the run did: orders placed, fills, dividends paid."""
        return {
            "orders": self._orders_placed,
            "fills": self._fills,
            "dividends": self._dividends_paid,
        }


def _cl_ord_id(order: Order) -> str:
    return f"inv-{order.order_id}"
