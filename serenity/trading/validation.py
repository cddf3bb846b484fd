"""Local order checks against an instrument's filters: one pure function for every placer.

The simulator and every venue connector call :func:`check_order` before an order leaves, so
an order a venue would refuse for its tick size, lot size, minimum quantity, minimum
notional or price band is refused locally, with the filter named, as a
:class:`~serenity.trading.Reject` from ``RejectSource.VALIDATION`` — never confused with
the venue's own rejects.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from serenity.exchange.product import Product
from serenity.model import InstrumentStatus
from serenity.trading.orders import Order

__all__ = ["FilterRefusal", "check_order"]


@dataclass(frozen=True, slots=True)
class FilterRefusal:
    """Why an order breaks an instrument filter: the filter's name and a sentence."""

    filter: str
    reason: str

    def __str__(self) -> str:
        return f"{self.reason} ({self.filter} filter)"


def _off_grid(value: Decimal, step: Decimal) -> bool:
    return step > 0 and value % step != 0


def check_order(
    order: Order,
    product: Product,
    *,
    price: Decimal | None = None,
    ref_price: Decimal | None = None,
    qty: Decimal | None = None,
    price_band: Decimal | None = None,
) -> FilterRefusal | None:
    """Return why ``order`` breaks ``product``'s filters, or None when it passes.

    Parameters
    ----------
    order
        The order (its own price and qty, unless overridden).
    product
        The instrument's listing: status, tick size, lot size, min/max qty, min notional.
    price, qty
        Check these instead of the order's (an amend's new values).
    ref_price
        A reference price (last trade or mid) for the notional of a market order and for
        the price band; both checks are skipped without one.
    price_band
        The largest allowed relative distance of the limit price from ``ref_price``
        (``Decimal("0.1")`` is 10%); no band check when None.
    """
    if product.status is not InstrumentStatus.TRADING:
        return FilterRefusal(
            "status", f"{product.symbol} on {product.venue} is {product.status}, not trading"
        )
    qty = order.qty if qty is None else qty
    px = order.price if price is None else price
    if _off_grid(qty, product.lot_size):
        return FilterRefusal(
            "lot_size", f"qty {qty} is not a multiple of the lot size {product.lot_size}"
        )
    if product.min_qty is not None and qty < product.min_qty:
        return FilterRefusal("min_qty", f"qty {qty} is below the minimum {product.min_qty}")
    if product.max_qty is not None and qty > product.max_qty:
        return FilterRefusal("max_qty", f"qty {qty} is above the maximum {product.max_qty}")
    for name, value in (("price", px), ("stop_price", order.stop_price)):
        if value is not None and _off_grid(value, product.tick_size):
            return FilterRefusal(
                "tick_size",
                f"{name} {value} is not a multiple of the tick size {product.tick_size}",
            )
    notional_px = px if px is not None else ref_price
    if (
        product.min_notional is not None
        and notional_px is not None
        and not product.is_inverse
        and qty * notional_px * (product.contract_size or 1) < product.min_notional
    ):
        return FilterRefusal(
            "min_notional",
            f"notional {qty * notional_px} is below the minimum {product.min_notional}",
        )
    if price_band is not None and ref_price is not None and px is not None and ref_price > 0:
        distance = abs(px / ref_price - 1)
        if distance > price_band:
            return FilterRefusal(
                "price_band",
                f"price {px} is {distance:.2%} from the reference {ref_price}, "
                f"beyond the band of {price_band:.2%}",
            )
    return None
