"""Fixtures for the analytics tests: tiny runs written by the real RunWriter."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from serenity.analytics import RunWriter

T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
MIN = 60_000_000_000
INSTRUMENT = "BTC-USD@coinbase"
CONFIG = "api-version: v1\nstrategy: {name: tiny, params: {window: 3}}\naccount: sim\n"
ENTRY, EXIT = 10, 75  # minutes of the tiny run's buy (at 110) and sell (at 114)


def tiny_price(minute: int) -> float:
    """Return the tiny run's price at a minute: a saw-tooth drifting down."""
    return 100.0 + (minute % 20) - (minute // 40)


def order_kwargs(order_id: int, side: str, **rest: Any) -> dict[str, Any]:
    """Return the keyword arguments of a market order event of the tiny run."""
    return {
        "cl_ord_id": f"c{order_id}",
        "account": "sim",
        "instrument": INSTRUMENT,
        "side": side,
        "order_type": "market",
        "tif": "ioc",
        "qty": 1.0,
        **rest,
    }


def fill_kwargs(order_id: int, side: str, qty: float, price: float, fee: float) -> dict[str, Any]:
    """Return the keyword arguments of one fill."""
    return {
        "cl_ord_id": f"c{order_id}",
        "exec_id": f"x{order_id}",
        "account": "sim",
        "instrument": INSTRUMENT,
        "side": side,
        "qty": qty,
        "price": price,
        "fee": fee,
        "fee_currency": "USD",
        "liquidity": "taker",
    }


def write_tiny_run(folder: Path) -> Path:
    """Write a two-hour run with one long round trip (bought at 110, sold at 114, fees 1 and
    1: +2), minute marks, positions and P&L, and a capture channel of bands."""
    with RunWriter(folder, starting_capital=1000.0, config=CONFIG, flush_rows=50) as out:
        position, cash, fees = 0.0, 0.0, 0.0
        for m in range(120):
            ts, price = T0 + m * MIN, tiny_price(m)
            out.mark(ts, INSTRUMENT, price=price)
            if m in (ENTRY, EXIT):
                side, oid = ("BUY", 1) if m == ENTRY else ("SELL", 2)
                new = {"exec_type": "new", "status": "new", "cum_qty": 0.0, "leaves_qty": 1.0}
                done = {"exec_type": "trade", "status": "filled", "cum_qty": 1.0, "leaves_qty": 0.0}
                out.order(ts, oid, **order_kwargs(oid, side, **new))
                out.order(ts, oid, **order_kwargs(oid, side, **done))
                out.fill(ts, oid, **fill_kwargs(oid, side, 1.0, price, 1.0))
                position += 1.0 if side == "BUY" else -1.0
                cash += -price if side == "BUY" else price
                fees += 1.0
            realised = 0.0 if position else cash
            unrealised = position * price + cash if position else 0.0
            out.position(
                ts,
                account="sim",
                instrument=INSTRUMENT,
                qty=position,
                avg_price=tiny_price(ENTRY) if position else None,
                realised_pnl=realised,
                unrealised_pnl=unrealised,
                fees=fees,
                currency="USD",
            )
            out.pnl(ts, realised=realised, unrealised=unrealised, fees=fees)
            out.capture("bands", ts, upper=price + 2.0, lower=price - 2.0, signal=m % 3 - 1)
    return folder


@pytest.fixture
def tiny_run(tmp_path: Path) -> Path:
    """Return the folder of a tiny finished run (no summary, no report yet)."""
    return write_tiny_run(tmp_path / "tiny")
