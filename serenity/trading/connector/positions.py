"""The venue's own account of balances and positions, as tau signals.

What the venue holds for the account, as it reports it (REST at reconciliation, the private
stream between): balances per currency and, for derivatives, positions per instrument.
They sit beside the positions Serenity keeps from its fills
(:class:`~serenity.position.PositionService`), so a strategy or a monitor can compare the
two. A margin balance is a balance: it is published on :attr:`ExchangePositionService.balances`,
never as a position.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from serenity.exchange.execution import VenueBalance, VenuePosition
from serenity.model import InstrumentId
from serenity.tau import Emitter, NetworkScheduler, Signal

__all__ = ["ExchangePositionService"]

log = logging.getLogger(__name__)


class ExchangePositionService:
    """Venue balances and positions of one account, each change a tau event.

    Call :meth:`update_balances` and :meth:`update_positions` on the loop thread (a
    connector does, outside any cycle); each changed value is emitted in a cycle of its own.

    Parameters
    ----------
    scheduler
        The scheduler whose network carries the signals.
    venue, account
        Whose balances these are (for logs).

    Attributes
    ----------
    balances
        Every balance that changed, one event each.
    positions
        Every position that changed, one event each.
    """

    def __init__(self, scheduler: NetworkScheduler, *, venue: str, account: str) -> None:
        self.scheduler = scheduler
        self.venue = venue
        self.account = account
        network = scheduler.network
        self.balances: Emitter[VenueBalance] = Emitter(network, name=f"{venue}:balances")
        self.positions: Emitter[VenuePosition] = Emitter(network, name=f"{venue}:positions")
        self._balances: dict[str, VenueBalance] = {}
        self._positions: dict[InstrumentId, VenuePosition] = {}

    @property
    def balance_signal(self) -> Signal[VenueBalance]:
        """Return the signal of balance changes."""
        return self.balances

    def get_balance(self, currency: str) -> VenueBalance | None:
        """Return the last balance of ``currency``, or None."""
        return self._balances.get(currency)

    def get_balances(self) -> dict[str, VenueBalance]:
        """Return the last balance of every currency, by code."""
        return dict(self._balances)

    def get_position(self, instrument: InstrumentId) -> VenuePosition | None:
        """Return the last position in ``instrument``, or None."""
        return self._positions.get(instrument)

    def get_positions(self) -> dict[InstrumentId, VenuePosition]:
        """Return the last position in every instrument."""
        return dict(self._positions)

    def update_balances(self, balances: Iterable[VenueBalance]) -> int:
        """Take balances the venue reported; emit those that changed and return how many.

        A report older than the balance held is ignored.
        """
        changed = 0
        for balance in balances:
            held = self._balances.get(balance.currency)
            if held is not None and (
                balance.ts < held.ts
                or (held.total, held.available, held.locked)
                == (balance.total, balance.available, balance.locked)
            ):
                continue
            self._balances[balance.currency] = balance
            self.balances.emit(balance)
            changed += 1
        if changed:
            log.debug("connector.balances", extra={"venue": self.venue, "changed": changed})
        return changed

    def update_positions(self, positions: Iterable[VenuePosition]) -> int:
        """Take positions the venue reported; emit those that changed and return how many."""
        changed = 0
        for position in positions:
            held = self._positions.get(position.instrument)
            if held is not None and (
                position.ts < held.ts
                or (held.qty, held.entry_price) == (position.qty, position.entry_price)
            ):
                continue
            self._positions[position.instrument] = position
            self.positions.emit(position)
            changed += 1
        return changed
