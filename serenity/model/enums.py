"""Enums shared by runtime code, wire formats and database columns.

Every enum is a ``@unique`` :class:`~enum.StrEnum` with lower-case values, stored in the
database as VARCHAR, so adding a member needs no ``ALTER TYPE``. A venue's own spellings are
mapped to these in its ``serenity.exchange`` module.
"""

from __future__ import annotations

from enum import StrEnum, unique

__all__ = [
    "ExecType",
    "InstrumentStatus",
    "InstrumentType",
    "Liquidity",
    "OrderStatus",
    "OrderType",
    "RunKind",
    "RunStatus",
    "Side",
    "TimeInForce",
    "TransferType",
    "VenueType",
]


@unique
class Side(StrEnum):
    """Buy or sell; for a trade, always the aggressor's (taker's) side."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for buy and -1 for sell."""
        return 1 if self is Side.BUY else -1

    def opposite(self) -> Side:
        """Return the other side."""
        return Side.SELL if self is Side.BUY else Side.BUY


@unique
class OrderType(StrEnum):
    """How an order is priced."""

    MARKET = "market"
    LIMIT = "limit"
    STOP_MARKET = "stop_market"
    STOP_LIMIT = "stop_limit"


@unique
class TimeInForce(StrEnum):
    """How long an order rests; post-only is an execution instruction, not a time in force."""

    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    DAY = "day"
    GTD = "gtd"


@unique
class OrderStatus(StrEnum):
    """Where an order is in its life (FIX 4.4 ``OrdStatus``).

    A successful amend is reported with exec type ``REPLACED``; the order's status then goes
    back to ``NEW`` or ``PARTIALLY_FILLED``, as in FIX 4.4.
    """

    PENDING_NEW = "pending_new"
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_terminal(self) -> bool:
        """Return True when the order can change no more."""
        return self in _TERMINAL


_TERMINAL = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELED, OrderStatus.REJECTED, OrderStatus.EXPIRED}
)


@unique
class ExecType(StrEnum):
    """What an execution report reports."""

    NEW = "new"
    TRADE = "trade"
    CANCELED = "canceled"
    REPLACED = "replaced"
    REJECTED = "rejected"
    EXPIRED = "expired"
    PENDING_NEW = "pending_new"
    PENDING_CANCEL = "pending_cancel"
    PENDING_REPLACE = "pending_replace"
    ORDER_STATUS = "order_status"


@unique
class InstrumentType(StrEnum):
    """What kind of instrument."""

    CASH = "cash"
    CURRENCY_PAIR = "currency_pair"
    PERPETUAL_FUTURE = "perpetual_future"
    DATED_FUTURE = "dated_future"
    EQUITY = "equity"
    INDEX = "index"


@unique
class VenueType(StrEnum):
    """What kind of venue."""

    CRYPTO_EXCHANGE = "crypto_exchange"
    BROKER = "broker"
    SIMULATOR = "simulator"


@unique
class Liquidity(StrEnum):
    """Whether a fill added (maker) or took (taker) liquidity."""

    MAKER = "maker"
    TAKER = "taker"


@unique
class TransferType(StrEnum):
    """A movement of funds to, from or between accounts."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    INTERNAL = "internal"
    FEE = "fee"


@unique
class InstrumentStatus(StrEnum):
    """Whether a venue's listing can be traded now; each venue's spellings map onto these."""

    PRE_TRADING = "pre_trading"
    TRADING = "trading"
    HALTED = "halted"
    DELISTED = "delisted"


@unique
class RunKind(StrEnum):
    """What a strategy run was: a backtest, a paper run or a live run."""

    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


@unique
class RunStatus(StrEnum):
    """Where a strategy run is in its life."""

    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
