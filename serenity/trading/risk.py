"""Pre-trade risk: limits every order is checked against before any placer sees it."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

from serenity.errors import ConfigError
from serenity.model import InstrumentId, OrderStatus, Side
from serenity.trading.contract import ContractSpec
from serenity.trading.orders import ZERO, Order, to_decimal

if TYPE_CHECKING:
    from serenity.trading.oms import OrderManagerService

__all__ = ["PreTradeRisk", "RiskLimits"]

_NS_PER_S: Final = 10**9


@dataclass(frozen=True, slots=True, kw_only=True)
class RiskLimits:
    """Limits on what may be sent; None means no limit.

    Attributes
    ----------
    max_order_qty
        The largest quantity of one order.
    max_notional
        The largest notional of one order, in the instrument's currency (market orders are
        valued at the reference price).
    max_position
        The largest absolute position per account and instrument, counting the order and
        the account's working orders on the same side.
    max_open_orders
        The most working orders per account.
    max_order_rate
        The most new orders per account in any one second.
    price_band
        The largest relative distance of a limit price from the reference price
        (``0.05`` is 5%).
    """

    max_order_qty: Decimal | None = None
    max_notional: Decimal | None = None
    max_position: Decimal | None = None
    max_open_orders: int | None = None
    max_order_rate: int | None = None
    price_band: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("max_order_qty", "max_notional", "max_position", "price_band"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
                raise ConfigError(f"risk limit {name} must be a number, was {value!r}")
            number = to_decimal(value, what=f"risk limit {name}")
            if not number > 0:
                raise ConfigError(f"risk limit {name} must be > 0, was {value!r}")
            object.__setattr__(self, name, number)
        for name in ("max_open_orders", "max_order_rate"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"risk limit {name} must be an int >= 1, was {value!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> RiskLimits:
        """Return limits from a config mapping, refusing unknown keys by name.

        Raises
        ------
        ConfigError
            For an unknown key or a bad value.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown risk limit(s) {unknown}; known: {sorted(known)}")
        return cls(**dict(values))


class PreTradeRisk:
    """Check orders against :class:`RiskLimits`; each refusal names the limit.

    Use it as one of the order manager's ``checks``.

    Parameters
    ----------
    limits
        The limits.
    oms
        The order manager, for working orders.
    position
        ``(account, instrument) -> qty`` of the current position (signed).
    ref_price
        The reference price of an instrument (last trade or mid), for market-order notional
        and the price band.
    specs
        Contract arithmetic by instrument, for notionals (linear in units otherwise).
    """

    def __init__(
        self,
        limits: RiskLimits,
        oms: OrderManagerService,
        *,
        position: Callable[[str, InstrumentId], Decimal] | None = None,
        ref_price: Callable[[InstrumentId], float | None] | None = None,
        specs: Mapping[InstrumentId, ContractSpec] | None = None,
    ) -> None:
        self.limits = limits
        self._oms = oms
        self._position = position
        self._ref_price = ref_price
        self._specs = dict(specs or {})
        self._recent: dict[str, deque[int]] = {}

    def __call__(self, order: Order, qty: Decimal, price: Decimal | None) -> str | None:
        """Return why ``order`` (with ``qty`` and ``price``) breaks a limit, or None."""
        limits = self.limits
        is_new = order.status is OrderStatus.PENDING_NEW
        if limits.max_order_qty is not None and qty > limits.max_order_qty:
            return f"max_order_qty: qty {qty} exceeds the limit {limits.max_order_qty}"
        ref = self._ref(order.instrument)
        if limits.max_notional is not None:
            px = price if price is not None else ref
            if px is not None:
                spec = self._specs.get(order.instrument) or ContractSpec(order.instrument, "")
                notional = spec.notional(qty, px)
                if notional > limits.max_notional:
                    return (
                        f"max_notional: notional {notional:.8g} exceeds the limit "
                        f"{limits.max_notional}"
                    )
        if limits.price_band is not None and price is not None and ref is not None and ref > 0:
            distance = abs(price / ref - 1)
            if distance > limits.price_band:
                return (
                    f"price_band: price {price} is {distance:.2%} from the last price {ref}, "
                    f"beyond {limits.price_band:.2%}"
                )
        working = self._oms.working_orders(account=order.account)
        if is_new and limits.max_open_orders is not None:
            if len(working) >= limits.max_open_orders:
                return (
                    f"max_open_orders: {len(working)} orders are working, the limit is "
                    f"{limits.max_open_orders}"
                )
        if limits.max_position is not None and not order.reduce_only:
            current = self._position(order.account, order.instrument) if self._position else ZERO
            sign = 1 if order.side is Side.BUY else -1
            pending = sum(
                (
                    w.leaves_qty
                    for w in working
                    if w is not order and w.instrument == order.instrument and w.side is order.side
                ),
                ZERO,
            )
            projected = current + sign * (pending + qty - (order.cum_qty if not is_new else ZERO))
            if abs(projected) > limits.max_position:
                return (
                    f"max_position: position would reach {projected}, beyond the limit "
                    f"{limits.max_position}"
                )
        if is_new and limits.max_order_rate is not None:
            now = self._oms.scheduler.get_time()
            recent = self._recent.setdefault(order.account, deque())
            while recent and recent[0] <= now - _NS_PER_S:
                recent.popleft()
            if len(recent) >= limits.max_order_rate:
                return (
                    f"max_order_rate: {len(recent)} orders in the last second, the limit is "
                    f"{limits.max_order_rate}"
                )
            recent.append(now)
        return None

    def _ref(self, instrument: InstrumentId) -> Decimal | None:
        if self._ref_price is None:
            return None
        value = self._ref_price(instrument)
        if value is None or not math.isfinite(value):
            return None
        return to_decimal(value, what="reference price")
