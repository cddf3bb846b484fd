"""Net positions per account and instrument, updated from fill reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final

from serenity.model import InstrumentId, Side
from serenity.tau import Network, NetworkScheduler, Signal
from serenity.tau.signal import Function
from serenity.trading.contract import ContractSpec
from serenity.trading.reports import ExecutionReport

__all__ = ["Position", "PositionService"]

_ZERO: Final = Decimal(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    """One account's net position in one instrument after its latest fill.

    Attributes
    ----------
    account, instrument
        Whose position in what.
    qty
        Signed quantity: > 0 long, < 0 short.
    avg_price
        Average entry price of the open quantity (harmonic for inverse contracts); None
        when flat.
    realised_pnl
        P&L of the quantity closed so far, in :attr:`currency`, before fees.
    fees
        Fees paid in :attr:`currency` (rebates negative).
    other_fees
        Fees paid in other currencies (such as a venue token), by currency.
    currency
        The currency of P&L and fees (:class:`~serenity.trading.ContractSpec`).
    ts
        Time of the latest fill (int ns, UTC).
    """

    account: str
    instrument: InstrumentId
    qty: Decimal = _ZERO
    avg_price: Decimal | None = None
    realised_pnl: Decimal = _ZERO
    fees: Decimal = _ZERO
    other_fees: Mapping[str, Decimal] = field(default_factory=dict)
    currency: str = ""
    ts: int = 0

    @property
    def is_flat(self) -> bool:
        """Return True when nothing is held."""
        return self.qty == 0


def apply_fill(position: Position, report: ExecutionReport, spec: ContractSpec) -> Position:
    """Return ``position`` after the fill ``report``: netting, with flips through zero."""
    qty, price = report.last_qty, report.last_px
    assert price is not None  # fills carry a price
    signed = qty if report.side is Side.BUY else -qty
    held, avg, realised = position.qty, position.avg_price, position.realised_pnl
    if held == 0 or (held > 0) == (signed > 0):
        avg = price if held == 0 or avg is None else spec.average_entry(abs(held), avg, qty, price)
        held += signed
    else:
        closing = min(qty, abs(held))
        assert avg is not None  # an open position has an entry price
        realised += spec.pnl(closing if held > 0 else -closing, avg, price)
        held += signed
        if held == 0:
            avg = None
        elif (held > 0) != (position.qty > 0):
            avg = price  # flipped: the rest opens at the fill price
    fees, other = position.fees, dict(position.other_fees)
    if report.fee_currency in ("", spec.currency):
        fees += report.fee
    else:
        other[report.fee_currency] = other.get(report.fee_currency, _ZERO) + report.fee
    return Position(
        account=position.account,
        instrument=position.instrument,
        qty=held,
        avg_price=avg,
        realised_pnl=realised,
        fees=fees,
        other_fees=other,
        currency=spec.currency,
        ts=report.ts,
    )


class _Positions(Function[Position]):
    """Emit the position each fill changed, in the fill's cycle."""

    __slots__ = ("_fills", "_service")

    def __init__(self, network: Network, fills: Signal[ExecutionReport], service: PositionService):
        self._fills = fills
        self._service = service
        super().__init__(network, [fills], name="positions")

    def _call(self) -> bool:
        self._update(self._service._on_fill(self._fills._value))
        return True


class _OnePosition(Function[Position]):
    """One (account, instrument)'s positions among all."""

    __slots__ = ("_key", "_positions")

    def __init__(
        self, network: Network, positions: Signal[Position], key: tuple[str, InstrumentId]
    ):
        self._positions = positions
        self._key = key
        super().__init__(network, [positions], name=f"position:{key[0]}:{key[1]}")

    def _call(self) -> bool:
        p = self._positions._value
        if (p.account, p.instrument) != self._key:
            return False
        self._update(p)
        return True


class PositionService:
    """Keep every account's net position per instrument from fill reports.

    Parameters
    ----------
    scheduler
        The scheduler whose network carries the signals.
    fills
        Fill reports, e.g. :attr:`OrderManagerService.fills
        <serenity.trading.OrderManagerService.fills>`.
    specs
        Contract arithmetic by instrument; a linear spec in ``default_currency`` otherwise.
    default_currency
        The P&L currency of instruments without a spec.
    """

    def __init__(
        self,
        scheduler: NetworkScheduler,
        fills: Signal[ExecutionReport],
        *,
        specs: Mapping[InstrumentId, ContractSpec] | None = None,
        default_currency: str = "USD",
    ) -> None:
        self.scheduler = scheduler
        self._specs = dict(specs or {})
        self._default_currency = default_currency
        self._positions: dict[tuple[str, InstrumentId], Position] = {}
        self._signals: dict[tuple[str, InstrumentId], Signal[Position]] = {}
        self.positions: Signal[Position] = _Positions(scheduler.network, fills, self)
        """Every position change, in the cycle of the fill that made it."""

    def spec(self, instrument: InstrumentId) -> ContractSpec:
        """Return the contract arithmetic used for ``instrument``."""
        spec = self._specs.get(instrument)
        if spec is None:
            spec = self._specs[instrument] = ContractSpec(instrument, self._default_currency)
        return spec

    def get_position(self, account: str, instrument: InstrumentId) -> Signal[Position]:
        """Return a signal of ``account``'s position in ``instrument``, updated per fill."""
        key = (account, instrument)
        signal = self._signals.get(key)
        if signal is None:
            signal = _OnePosition(self.scheduler.network, self.positions, key)
            self._signals[key] = signal
        return signal

    def position(self, account: str, instrument: InstrumentId) -> Position:
        """Return ``account``'s current position in ``instrument`` (flat if none)."""
        found = self._positions.get((account, instrument))
        if found is None:
            spec = self.spec(instrument)
            return Position(account=account, instrument=instrument, currency=spec.currency)
        return found

    def qty(self, account: str, instrument: InstrumentId) -> Decimal:
        """Return ``account``'s signed quantity in ``instrument``."""
        found = self._positions.get((account, instrument))
        return found.qty if found is not None else _ZERO

    def all(self) -> list[Position]:
        """Return every position seen, flat ones included."""
        return list(self._positions.values())

    def _on_fill(self, report: ExecutionReport) -> Position:
        current = self.position(report.account, report.instrument)
        updated = apply_fill(current, report, self.spec(report.instrument))
        self._positions[(report.account, report.instrument)] = updated
        return updated
