"""P&L per account and instrument, and totals per account and currency."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from serenity.model import InstrumentId
from serenity.pnl.marks import MarkService
from serenity.position import Position, PositionService
from serenity.tau import Emitter, NetworkScheduler, to_duration_ns
from serenity.tau.event import Do, RepeatingTimer
from serenity.trading.orders import to_decimal

__all__ = ["PnL", "PnLService", "PnLSnapshot"]

_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PnL:
    """P&L of one account in one instrument (or, with ``instrument`` None, its total in
    one currency), at ``ts``.

    ``net`` is ``realised + unrealised - fees``; ``mark`` is the price the open quantity was
    valued at (None for totals, or before any mark).
    """

    account: str
    instrument: InstrumentId | None
    currency: str
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    ts: int
    qty: Decimal = _ZERO
    mark: Decimal | None = None

    @property
    def net(self) -> Decimal:
        """Return realised plus unrealised P&L, less fees."""
        return self.realised + self.unrealised - self.fees


@dataclass(frozen=True, slots=True)
class PnLSnapshot:
    """Every account's P&L at ``ts``: per instrument, and totals per account and currency."""

    ts: int
    instruments: tuple[PnL, ...]
    totals: tuple[PnL, ...]

    def total(self, account: str, currency: str) -> PnL | None:
        """Return ``account``'s total in ``currency``, or None."""
        return next(
            (t for t in self.totals if t.account == account and t.currency == currency), None
        )


class PnLService:
    """Value positions at marks: on every fill, and every ``interval`` of scheduler time.

    :attr:`pnl` emits a :class:`PnLSnapshot` of every position after each fill and at each
    sample; :meth:`snapshot` computes one on demand.

    Parameters
    ----------
    scheduler
        Supplies time and the sampling timer.
    positions
        The positions to value.
    marks
        The mark prices.
    interval
        Sampling interval (a timedelta or int ns); None samples only on fills.
    """

    def __init__(
        self,
        scheduler: NetworkScheduler,
        positions: PositionService,
        marks: MarkService,
        *,
        interval: dt.timedelta | int | None = dt.timedelta(minutes=1),
    ) -> None:
        self.scheduler = scheduler
        self.positions = positions
        self.marks = marks
        network = scheduler.network
        self.pnl: Emitter[PnLSnapshot] = Emitter(network, name="pnl")
        Do(network, positions.positions, self._publish, name="pnl:on_fill")
        self._timer: RepeatingTimer | None = None
        if interval is not None:
            first = _next_boundary(scheduler.get_time(), interval)
            self._timer = RepeatingTimer(scheduler, interval, start=first, name="pnl:sample")
            Do(network, self._timer, self._publish, name="pnl:on_sample")

    def value(self, position: Position) -> PnL:
        """Return ``position`` valued at its instrument's current mark."""
        mark_px = self.marks.mark(position.instrument)
        mark = None if mark_px is None else to_decimal(mark_px, what="mark")
        unrealised = _ZERO
        if position.qty and position.avg_price is not None and mark is not None:
            spec = self.positions.spec(position.instrument)
            unrealised = spec.pnl(position.qty, position.avg_price, mark)
        return PnL(
            account=position.account,
            instrument=position.instrument,
            currency=position.currency,
            realised=position.realised_pnl,
            unrealised=unrealised,
            fees=position.fees,
            ts=self.scheduler.get_time(),
            qty=position.qty,
            mark=mark,
        )

    def snapshot(self) -> PnLSnapshot:
        """Return every position's P&L and the totals now."""
        rows = tuple(self.value(p) for p in self.positions.all())
        return PnLSnapshot(
            self.scheduler.get_time(), rows, _totals(rows, self.scheduler.get_time())
        )

    def stop(self) -> None:
        """Stop sampling."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _publish(self) -> None:
        self.pnl.emit(self.snapshot())


def _totals(rows: Iterable[PnL], ts: int) -> tuple[PnL, ...]:
    sums: dict[tuple[str, str], list[Decimal]] = {}
    for row in rows:
        acc = sums.setdefault((row.account, row.currency), [_ZERO, _ZERO, _ZERO])
        acc[0] += row.realised
        acc[1] += row.unrealised
        acc[2] += row.fees
    return tuple(
        PnL(
            account=account,
            instrument=None,
            currency=currency,
            realised=r,
            unrealised=u,
            fees=f,
            ts=ts,
        )
        for (account, currency), (r, u, f) in sorted(sums.items())
    )


def _next_boundary(now: int, interval: dt.timedelta | int) -> int:
    step = to_duration_ns(interval, what="interval")
    return now - now % step + step
