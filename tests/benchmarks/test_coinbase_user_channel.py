"""Coinbase ``user`` channel messages: bytes to typed Structs to order updates.

Run with ``python -m pytest tests/benchmarks/test_coinbase_user_channel.py --benchmark-only``.

- ``decode``: 10,000 ``match`` frames of our orders decoded by
  :func:`~serenity.exchange.coinbase.schemas.decode_user_message` (msgspec, typed and
  validated in one pass), against ``orjson.loads`` plus the field checks and ``Decimal``
  conversions the Structs do, for comparison.
- ``read``: the same frames decoded and read by a
  :class:`~serenity.exchange.coinbase.user_channel.UserChannel` into fills of tracked orders.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import orjson
import pytest

from serenity.exchange.coinbase.schemas import decode_user_message
from serenity.exchange.coinbase.user_channel import TrackedOrder, UserChannel
from serenity.model import InstrumentId, OrderType, Side

N = 10_000
ORDERS = 100


@pytest.fixture(scope="module")
def frames() -> list[bytes]:
    return [
        orjson.dumps(
            {
                "type": "match",
                "trade_id": 1_000_000 + i,
                "maker_order_id": f"order-{i % ORDERS}",
                "taker_order_id": "someone-else",
                "product_id": "BTC-USD",
                "side": "buy",
                "size": "0.00010000",
                "price": f"{60000 + i % 50}.25",
                "time": "2024-05-01T12:00:00.123456Z",
                "maker_user_id": "u",
                "maker_profile_id": "p",
                "maker_fee_rate": "0.004",
            }
        )
        for i in range(N)
    ]


def _checked(frame: bytes) -> dict[str, Any]:
    msg: dict[str, Any] = orjson.loads(frame)
    for name in ("maker_order_id", "taker_order_id", "product_id", "side", "time"):
        if type(msg.get(name)) is not str:
            raise ValueError(name)
    if type(msg.get("trade_id")) is not int:
        raise ValueError("trade_id")
    msg["size"], msg["price"] = Decimal(msg["size"]), Decimal(msg["price"])
    msg["maker_fee_rate"] = Decimal(msg["maker_fee_rate"])
    return msg


def test_decode_match_frames_with_msgspec(benchmark: Any, frames: list[bytes]) -> None:
    decoded = benchmark(lambda: [decode_user_message(f) for f in frames])
    benchmark.extra_info["msgs_per_s"] = N / benchmark.stats["mean"]
    assert len(decoded) == N


def test_decode_match_frames_with_orjson_and_checks(benchmark: Any, frames: list[bytes]) -> None:
    decoded = benchmark(lambda: [_checked(f) for f in frames])
    benchmark.extra_info["msgs_per_s"] = N / benchmark.stats["mean"]
    assert len(decoded) == N


def test_read_match_frames_into_fills(benchmark: Any, frames: list[bytes]) -> None:
    def run() -> int:
        channel = UserChannel()
        for k in range(ORDERS):
            channel.expect(
                f"c{k}",
                TrackedOrder(
                    cl_ord_id=f"ours-{k}",
                    instrument=InstrumentId("coinbase", "BTC-USD"),
                    side=Side.BUY,
                    order_type=OrderType.LIMIT,
                    qty=Decimal(1000),
                    price=Decimal(60050),
                ),
            )
            channel.bind(f"order-{k}", f"c{k}")
        return sum(len(channel.read(decode_user_message(f))) for f in frames)

    updates = benchmark(run)
    benchmark.extra_info["msgs_per_s"] = N / benchmark.stats["mean"]
    assert updates == N
