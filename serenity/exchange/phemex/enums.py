"""Phemex's spellings of sides, order types, times in force, statuses and liquidity, both ways.

Each :class:`WireMap` maps a :mod:`serenity.model` enum to Phemex's spelling and back. A
domain value Phemex has no spelling for is listed in ``unsupported`` with the reason, so an
order that needs it is refused locally with that reason; a wire spelling Phemex may send
that has no domain twin is read by ``extra`` (many spellings to one domain value).

Post-only is not a time in force in :mod:`serenity.model` (it is an execution instruction on
the order), but Phemex spells it as ``timeInForce=PostOnly``: :func:`time_in_force_wire`
and :func:`parse_time_in_force` carry it separately, and reduce-only stays its own flag
(``reduceOnly``), never confused with post-only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Final, Generic, TypeVar

from serenity.errors import DataError, InvalidValueError
from serenity.exchange.phemex.endpoints import VENUE
from serenity.model.enums import ExecType, Liquidity, OrderStatus, OrderType, Side, TimeInForce

__all__ = [
    "EXEC_STATUSES",
    "LIQUIDITY",
    "ORDER_STATUSES",
    "ORDER_TYPES",
    "POST_ONLY",
    "SIDES",
    "TIMES_IN_FORCE",
    "TRIGGER_BY_LAST_PRICE",
    "WireMap",
    "parse_time_in_force",
    "time_in_force_wire",
]

E = TypeVar("E", bound=StrEnum)

POST_ONLY: Final = "PostOnly"
"""Phemex's ``timeInForce`` for a post-only (maker-only) limit order."""
TRIGGER_BY_LAST_PRICE: Final = "ByLastPrice"
"""The trigger of stop orders: the last trade price, as :class:`~serenity.trading.StopOrder`
documents (contracts may also trigger by mark price; spot only by last price)."""


@dataclass(frozen=True, slots=True)
class WireMap(Generic[E]):
    """A two-way map between a domain enum and Phemex's spellings.

    Parameters
    ----------
    what
        What the values are, for error messages (``side``, ``order type``).
    wire
        The spelling Phemex expects for each supported domain value.
    unsupported
        Domain values Phemex has no spelling for, each with the reason.
    extra
        Further wire spellings Phemex may send, read as these domain values.
    """

    what: str
    wire: Mapping[E, str]
    unsupported: Mapping[E, str] = field(default_factory=dict)
    extra: Mapping[str, E] = field(default_factory=dict)
    _domain: dict[str, E] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        domain = {spelling: value for value, spelling in self.wire.items()}
        if len(domain) != len(self.wire):
            raise ValueError(f"{VENUE}: {self.what} spellings are not unique: {self.wire}")
        overlap = set(self.wire) & set(self.unsupported)
        if overlap:
            raise ValueError(f"{VENUE}: {self.what} {overlap} both mapped and unsupported")
        domain.update(self.extra)
        object.__setattr__(self, "_domain", domain)

    def to_wire(self, value: E) -> str:
        """Return Phemex's spelling of ``value``.

        Raises
        ------
        InvalidValueError
            When Phemex has no such thing, with the reason.
        """
        try:
            return self.wire[value]
        except KeyError:
            reason = self.unsupported.get(value, "not supported")
            raise InvalidValueError(f"{VENUE}: {self.what} {value} is {reason}") from None

    def from_wire(self, raw: object) -> E:
        """Return the domain value of Phemex's spelling ``raw``.

        Raises
        ------
        DataError
            For a spelling Phemex is not documented to send, naming the known ones.
        """
        try:
            return self._domain[raw]  # type: ignore[index]  # an unhashable raw is a TypeError
        except (KeyError, TypeError):
            raise DataError(
                f"{VENUE}: unknown {self.what} {raw!r}, expected one of {sorted(self._domain)}"
            ) from None

    def spellings(self) -> list[str]:
        """Return every spelling :meth:`from_wire` reads, sorted."""
        return sorted(self._domain)


SIDES: Final[WireMap[Side]] = WireMap("side", {Side.BUY: "Buy", Side.SELL: "Sell"})

ORDER_TYPES: Final[WireMap[OrderType]] = WireMap(
    "order type",
    {
        OrderType.MARKET: "Market",
        OrderType.LIMIT: "Limit",
        OrderType.STOP_MARKET: "Stop",
        OrderType.STOP_LIMIT: "StopLimit",
    },
)
"""``Stop``/``StopLimit`` trigger against the order's side (a buy stop at or above its
price); Phemex's ``MarketIfTouched``/``LimitIfTouched`` (take-profit direction) have no
domain twin and are not read."""

TIMES_IN_FORCE: Final[WireMap[TimeInForce]] = WireMap(
    "time in force",
    {
        TimeInForce.GTC: "GoodTillCancel",
        TimeInForce.IOC: "ImmediateOrCancel",
        TimeInForce.FOK: "FillOrKill",
    },
    unsupported={
        TimeInForce.DAY: "not offered by Phemex (GoodTillCancel, ImmediateOrCancel, FillOrKill)",
        TimeInForce.GTD: "not offered by Phemex (GoodTillCancel, ImmediateOrCancel, FillOrKill)",
    },
)

ORDER_STATUSES: Final[WireMap[OrderStatus]] = WireMap(
    "order status",
    {
        OrderStatus.NEW: "New",
        OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
        OrderStatus.FILLED: "Filled",
        OrderStatus.CANCELED: "Canceled",
        OrderStatus.REJECTED: "Rejected",
        OrderStatus.EXPIRED: "Expired",
    },
    unsupported={
        OrderStatus.PENDING_NEW: "never reported by Phemex (an order is acked as Created)",
        OrderStatus.PENDING_CANCEL: "never reported by Phemex (a cancel is acked as the order)",
        OrderStatus.PENDING_REPLACE: "never reported by Phemex (an amend is acked as the order)",
    },
    extra={
        "Created": OrderStatus.NEW,  # "order acked from order request", not yet booked
        "Init": OrderStatus.NEW,  # "same as Created"
        "Untriggered": OrderStatus.NEW,  # a stop order resting until its trigger
        "Triggered": OrderStatus.NEW,  # a stop order being triggered
        "Deactivated": OrderStatus.CANCELED,  # an untriggered stop order removed
    },
)

EXEC_STATUSES: Final[WireMap[ExecType]] = WireMap(
    "exec status",
    {
        ExecType.NEW: "New",
        ExecType.TRADE: "TakerFill",
        ExecType.CANCELED: "Canceled",
        ExecType.REPLACED: "Replaced",
        ExecType.REJECTED: "CreateRejected",
        ExecType.EXPIRED: "Expired",
        ExecType.PENDING_NEW: "PendingNew",
        ExecType.PENDING_CANCEL: "PendingCancel",
        ExecType.PENDING_REPLACE: "PendingReplace",
    },
    unsupported={ExecType.ORDER_STATUS: "a Serenity-side report of a queried state"},
    extra={
        "MakerFill": ExecType.TRADE,
        "Aborted": ExecType.REJECTED,
        "Init": ExecType.PENDING_NEW,
    },
)
"""``execStatus`` of an order event: what happened (a fill, an ack, a cancel, ...)."""

LIQUIDITY: Final[WireMap[Liquidity]] = WireMap(
    "liquidity",
    {Liquidity.MAKER: "AddedLiquidity", Liquidity.TAKER: "RemovedLiquidity"},
    extra={"MakerFill": Liquidity.MAKER, "TakerFill": Liquidity.TAKER},
)
"""``lastLiquidityInd`` of a fill; a fill's ``execStatus`` (``MakerFill``/``TakerFill``) says
the same."""


def time_in_force_wire(tif: TimeInForce, *, post_only: bool) -> str:
    """Return the ``timeInForce`` of an order: ``PostOnly`` for a post-only order.

    Raises
    ------
    InvalidValueError
        For a time in force Phemex does not offer, or post-only with anything but GTC.
    """
    if post_only:
        if tif is not TimeInForce.GTC:
            raise InvalidValueError(f"{VENUE}: a post-only order rests (GTC), was {tif}")
        return POST_ONLY
    return TIMES_IN_FORCE.to_wire(tif)


def parse_time_in_force(raw: object) -> tuple[TimeInForce, bool]:
    """Return ``(time in force, post_only)`` of a ``timeInForce`` Phemex sent.

    Raises
    ------
    DataError
        For an unknown spelling.
    """
    if raw == POST_ONLY:
        return TimeInForce.GTC, True
    return TIMES_IN_FORCE.from_wire(raw), False
