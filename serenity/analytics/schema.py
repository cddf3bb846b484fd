"""The run-output tables: their names, columns, Arrow types and which columns may be null.

Every table starts with ``ts``, int64 nanoseconds since the Unix epoch, UTC. Amounts are
float64 (callers convert ``Decimal`` once, at the writer); enum-like text (side, order type,
time in force, exec type, status, liquidity) is stored upper-case (``"BUY"``, ``"LIMIT"``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import pyarrow as pa

__all__ = [
    "FILLS",
    "MARKS",
    "ORDERS",
    "PNL",
    "POSITIONS",
    "TABLES",
    "Column",
    "TableSpec",
]


@dataclass(frozen=True, slots=True)
class Column:
    """One column of a run-output table.

    Parameters
    ----------
    name
        The column's name.
    kind
        ``"int"`` (int64), ``"float"`` (float64) or ``"str"`` (UTF-8 text).
    nullable
        Whether a row may leave it empty (None).
    upper
        Whether the writer upper-cases the value (enum-like text such as the side).
    choices
        The only values allowed (after upper-casing), when not empty.
    doc
        What the column holds, for the docs.
    """

    name: str
    kind: str
    nullable: bool = False
    upper: bool = False
    choices: tuple[str, ...] = ()
    doc: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        """Return the column's Arrow type."""
        return _ARROW[self.kind]


_ARROW: Final = {"int": pa.int64(), "float": pa.float64(), "str": pa.string()}


@dataclass(frozen=True, slots=True)
class TableSpec:
    """A run-output table: its name (the Parquet file's stem) and its columns in order."""

    name: str
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pa.Schema:
        """Return the table's Arrow schema."""
        return pa.schema(
            [pa.field(c.name, c.arrow_type, nullable=c.nullable) for c in self.columns]
        )

    @property
    def names(self) -> tuple[str, ...]:
        """Return the column names in order."""
        return tuple(c.name for c in self.columns)


_SIDES: Final = ("BUY", "SELL")
_LIQUIDITY: Final = ("MAKER", "TAKER")
_TS: Final = Column("ts", "int", doc="event time, int64 ns since the epoch, UTC")

ORDERS: Final = TableSpec(
    "orders",
    (
        _TS,
        Column("order_id", "int", doc="the order manager's id of the order"),
        Column("cl_ord_id", "str", doc="client order id"),
        Column("account", "str", doc="trading account"),
        Column("instrument", "str", doc='e.g. "BTC-USD@coinbase"'),
        Column("side", "str", upper=True, choices=_SIDES, doc='"BUY" or "SELL"'),
        Column("order_type", "str", upper=True, doc='"MARKET", "LIMIT", "STOP_MARKET", ...'),
        Column("tif", "str", upper=True, doc='time in force: "GTC", "IOC", ...'),
        Column("qty", "float", doc="order quantity"),
        Column("price", "float", nullable=True, doc="limit price; null for market orders"),
        Column("stop_price", "float", nullable=True, doc="stop trigger price; null if none"),
        Column("exec_type", "str", upper=True, doc='what happened: "NEW", "TRADE", ...'),
        Column("status", "str", upper=True, doc='order status after it: "NEW", "FILLED", ...'),
        Column("cum_qty", "float", doc="quantity filled so far"),
        Column("leaves_qty", "float", doc="quantity still working"),
        Column("reason", "str", nullable=True, doc="why it was rejected or canceled"),
    ),
)
"""One row per order event (execution report)."""

FILLS: Final = TableSpec(
    "fills",
    (
        _TS,
        Column("order_id", "int", doc="the order filled"),
        Column("cl_ord_id", "str", doc="its client order id"),
        Column("exec_id", "str", doc="the fill's execution id"),
        Column("account", "str", doc="trading account"),
        Column("instrument", "str", doc="instrument code"),
        Column("side", "str", upper=True, choices=_SIDES, doc='"BUY" or "SELL"'),
        Column("qty", "float", doc="filled quantity, > 0"),
        Column("price", "float", doc="fill price"),
        Column("fee", "float", doc="fee charged (negative for a rebate)"),
        Column("fee_currency", "str", doc="currency of the fee"),
        Column("liquidity", "str", upper=True, choices=_LIQUIDITY, doc='"MAKER" or "TAKER"'),
    ),
)
"""One row per fill."""

POSITIONS: Final = TableSpec(
    "positions",
    (
        _TS,
        Column("account", "str", doc="trading account"),
        Column("instrument", "str", doc="instrument code"),
        Column("qty", "float", doc="signed position: > 0 long, < 0 short"),
        Column("avg_price", "float", nullable=True, doc="average entry price; null when flat"),
        Column("realised_pnl", "float", doc="realised P&L so far"),
        Column("unrealised_pnl", "float", doc="unrealised P&L at the last mark"),
        Column("fees", "float", doc="fees paid so far"),
        Column("currency", "str", doc="currency of the amounts"),
    ),
)
"""One row per position change and per sample."""

PNL: Final = TableSpec(
    "pnl",
    (
        _TS,
        Column("realised", "float", doc="realised P&L of the run so far"),
        Column("unrealised", "float", doc="unrealised P&L at the marks"),
        Column("fees", "float", doc="fees paid so far"),
        Column("net", "float", doc="realised + unrealised - fees"),
        Column("equity", "float", doc="starting capital + net"),
        Column("currency", "str", doc="currency of the amounts"),
    ),
)
"""The equity curve: one row per sample and per fill."""

MARKS: Final = TableSpec(
    "marks",
    (
        _TS,
        Column("instrument", "str", doc="instrument code"),
        Column("price", "float", doc="the mark (e.g. last trade or mid)"),
    ),
)
"""The sampled price series of each instrument, for charts and benchmarks."""

TABLES: Final = {t.name: t for t in (ORDERS, FILLS, POSITIONS, PNL, MARKS)}
"""The fixed tables by name; capture channels come on top."""
