"""What a strategy sees: its params, market data, order entry, positions, P&L and outputs."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from serenity.algo.config import parse_instrument
from serenity.algo.strategy import Mode
from serenity.errors import UnknownSymbolError
from serenity.marketdata.service import MarketdataService
from serenity.model import InstrumentId
from serenity.pnl import PnLService
from serenity.position import PositionService
from serenity.tau import Network, NetworkScheduler
from serenity.trading import Order, OrderFactory, OrderManagerService, OrderPlacerService

if TYPE_CHECKING:
    from serenity.algo.engine import AlgoEngine

__all__ = ["StrategyContext"]


class StrategyContext:
    """One strategy's view of the engine; built by the engine, one per strategy.

    Attributes
    ----------
    name
        The strategy's name in the config.
    mode
        :class:`~serenity.algo.Mode` ``BACKTEST``, ``PAPER`` or ``LIVE``.
    params
        This strategy's own params: an instance of its ``Params`` dataclass, or a read-only
        mapping. No other strategy sees them.
    scheduler, network
        The scheduler that drives the run and its tau network.
    marketdata
        The :class:`~serenity.marketdata.MarketdataService` (``get_trades``,
        ``get_order_books``, ...).
    order_factory
        Builds orders for the run's account.
    oms, positions, pnl
        The order manager, the positions and the P&L of the run.
    log
        A logger whose records carry the strategy's name.
    """

    def __init__(
        self,
        engine: AlgoEngine,
        name: str,
        params: Any,
        *,
        capture: Callable[..., None],
    ) -> None:
        self._engine = engine
        self.name = name
        self.params = params
        self.mode: Mode = engine.mode
        self.scheduler: NetworkScheduler = engine.scheduler
        self.network: Network = engine.scheduler.network
        self.marketdata: MarketdataService = engine.marketdata
        self.order_factory: OrderFactory = engine.order_factory
        self.oms: OrderManagerService = engine.oms
        self.positions: PositionService = engine.positions
        self.pnl: PnLService = engine.pnl
        self.log = logging.LoggerAdapter(
            logging.getLogger(f"serenity.strategy.{name}"), {"strategy": name}
        )
        self._capture = capture

    @property
    def account(self) -> str:
        """Return the account this strategy's orders are booked to."""
        return self.order_factory.account

    @property
    def instruments(self) -> tuple[InstrumentId, ...]:
        """Return the run's instruments."""
        return self._engine.config.instruments

    def instrument(self, code: str | InstrumentId) -> InstrumentId:
        """Return the run's instrument written ``VENUE:SYMBOL`` (``"PHEMEX:BTCUSD"``).

        Raises
        ------
        UnknownSymbolError
            When it is not one of the run's instruments, naming those.
        """
        inst = code if isinstance(code, InstrumentId) else parse_instrument(code)
        known = self._engine.config.instruments
        if inst not in known:
            names = [f"{i.venue.upper()}:{i.symbol}" for i in known]
            close = difflib.get_close_matches(f"{inst.venue.upper()}:{inst.symbol}", names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise UnknownSymbolError(
                f"instrument {code!r} is not traded in this run; its instruments: {names}{hint}"
            )
        return inst

    def now(self) -> int:
        """Return the scheduler's time (int ns, UTC)."""
        return self.scheduler.get_time()

    def position(self, instrument: InstrumentId | str) -> Decimal:
        """Return this strategy's account's signed position in ``instrument``."""
        inst = self.instrument(instrument)
        return self.positions.qty(self.account, inst)

    def submit(self, order: Order) -> Order:
        """Send ``order`` through pre-trade checks to its placer; return it."""
        return self._engine.submit(order)

    def cancel(self, order: Order | int) -> None:
        """Ask to cancel a working order."""
        self.oms.cancel(order)

    def replace(
        self,
        order: Order | int,
        price: Decimal | float | str | None = None,
        qty: Decimal | float | str | None = None,
    ) -> None:
        """Ask to amend a working order's price and/or quantity."""
        self.oms.replace(order, price=price, qty=qty)

    def capture(self, channel: str, **fields: Any) -> None:
        """Record a row of ``fields`` at the current time in the output channel ``channel``
        (``capture/<channel>.parquet``, and a panel of the report)."""
        self._capture(channel, self.scheduler.get_time(), **fields)

    # -- upstream Serenity's getters -------------------------------------------------------

    def get_scheduler(self) -> NetworkScheduler:
        """Return :attr:`scheduler` (upstream name)."""
        return self.scheduler

    def get_network(self) -> Network:
        """Return :attr:`network` (upstream name)."""
        return self.network

    def get_marketdata_service(self) -> MarketdataService:
        """Return :attr:`marketdata` (upstream name)."""
        return self.marketdata

    def get_order_placer_service(self) -> OrderPlacerService:
        """Return the run's order placers (upstream name)."""
        return self._engine.placers

    def get_order_manager_service(self) -> OrderManagerService:
        """Return :attr:`oms` (upstream name)."""
        return self.oms

    def get_position_service(self) -> PositionService:
        """Return :attr:`positions` (upstream name)."""
        return self.positions

    def get_configuration(self) -> Mapping[str, Any] | Any:
        """Return :attr:`params` (upstream's per-strategy environment)."""
        return self.params

    def get_strategy_id(self) -> str:
        """Return :attr:`name` (upstream name)."""
        return self.name
