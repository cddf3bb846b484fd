"""Trading costs: basis points of notional, plus a fee per unit or per order, with a floor.

``fee = |qty| × price × bps / 10,000 + |qty| × per_share + per_order``, then at least
``minimum``. Every fill pays it in the portfolio's currency. A daily order fills at most
once, so the per-order fee is charged once per order that fills.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from serenity.errors import ConfigError
from serenity.trading.orders import to_decimal

__all__ = ["CostModel"]

_ZERO: Final = Decimal(0)
_BPS: Final = Decimal(10_000)


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """What a fill costs.

    Parameters
    ----------
    bps
        Basis points of the fill's notional (commission, spread and impact together).
    per_share
        A fee per unit filled (e.g. 0.005 USD a share).
    per_order
        A fee per order filled (e.g. 1 USD).
    minimum
        The least a fill pays.
    """

    bps: Decimal = _ZERO
    per_share: Decimal = _ZERO
    per_order: Decimal = _ZERO
    minimum: Decimal = _ZERO

    def __post_init__(self) -> None:
        for name in ("bps", "per_share", "per_order", "minimum"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or value < 0:
                raise ConfigError(f"costs.{name} must be a number >= 0, was {value!r}")

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CostModel:
        """Return the cost model of a config's ``costs`` mapping.

        Raises
        ------
        ConfigError
            For an unknown key or a value that is not a number >= 0.
        """
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(f"unknown costs key(s) {unknown}; known: {', '.join(sorted(known))}")
        kwargs = {}
        for name, value in values.items():
            if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
                raise ConfigError(f"costs.{name} must be a number >= 0, was {value!r}")
            try:
                kwargs[name] = to_decimal(value, what=f"costs.{name}")
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
        return cls(**kwargs)

    @property
    def is_free(self) -> bool:
        """Return True when every fill costs nothing."""
        return not (self.bps or self.per_share or self.per_order or self.minimum)

    def fee(self, qty: Decimal, price: Decimal) -> Decimal:
        """Return the fee of filling ``qty`` at ``price`` (0 for no quantity)."""
        if not qty:
            return _ZERO
        size = abs(qty)
        fee = size * price * self.bps / _BPS + size * self.per_share + self.per_order
        return max(fee, self.minimum)

    def affordable(self, cash: Decimal, price: Decimal) -> Decimal:
        """Return the (unrounded) quantity that ``cash`` buys at ``price`` with its fee."""
        if cash <= self.per_order or cash <= self.minimum or price <= 0:
            return _ZERO
        per_unit = price * (1 + self.bps / _BPS) + self.per_share
        qty = (cash - self.per_order) / per_unit
        # The floor: when it binds, the fee is the minimum.
        if self.minimum and self.fee(qty, price) < self.minimum:
            qty = (cash - self.minimum) / price
        return max(qty, _ZERO)

    def as_dict(self) -> dict[str, str]:
        """Return the model as text values (for a run's config)."""
        return {name: str(getattr(self, name)) for name in self.__dataclass_fields__}
