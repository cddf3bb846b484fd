"""Hypothesis strategies for market-data records."""

from __future__ import annotations

from hypothesis import strategies as st

from serenity.marketdata import BookUpdate, DataQualityEvent, DataQualityKind, RawFrame, Trade
from serenity.model import InstrumentId, Side

INSTRUMENT = InstrumentId("phemex", "BTCUSD")
T0 = 1_704_164_400_000_000_000  # 2024-01-02T03:00:00Z
HOUR = 3_600 * 10**9

times = st.integers(min_value=T0, max_value=T0 + HOUR - 1)
any_ns = st.integers(min_value=-(2**63), max_value=2**63 - 1)
finite = st.floats(allow_nan=False, allow_infinity=False)
levels = st.lists(st.tuples(finite, finite), max_size=20)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | finite | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def trades(draw: st.DrawFn, ts_recv: st.SearchStrategy[int] = times) -> Trade:
    return Trade(
        INSTRUMENT,
        draw(any_ns),
        draw(ts_recv),
        draw(st.text(max_size=40)),
        draw(st.sampled_from(Side)),
        draw(finite),
        draw(finite),
    )


@st.composite
def book_updates(draw: st.DrawFn, ts_recv: st.SearchStrategy[int] = times) -> BookUpdate:
    return BookUpdate(
        INSTRUMENT,
        draw(any_ns),
        draw(ts_recv),
        draw(any_ns),
        draw(levels),
        draw(levels),
        draw(st.booleans()),
    )


@st.composite
def events(draw: st.DrawFn, ts: st.SearchStrategy[int] = times) -> DataQualityEvent:
    return DataQualityEvent(
        venue=INSTRUMENT.venue,
        channel="book",
        symbol=INSTRUMENT.symbol,
        ts=draw(ts),
        kind=draw(st.sampled_from(DataQualityKind)),
        details=draw(st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
    )


@st.composite
def raw_frames(draw: st.DrawFn, ts_recv: st.SearchStrategy[int] = times) -> RawFrame:
    return RawFrame(
        venue=INSTRUMENT.venue,
        channel="raw",
        symbol=INSTRUMENT.symbol,
        ts_recv=draw(ts_recv),
        data=draw(st.binary(max_size=200)),
    )


def trade(i: int, *, ts_recv: int | None = None) -> Trade:
    """Return the i-th trade of a deterministic sequence."""
    return Trade(
        INSTRUMENT,
        T0 + i,
        T0 + i * 1000 if ts_recv is None else ts_recv,
        str(i),
        Side.BUY if i % 3 else Side.SELL,
        42_000.0 + (i % 17) * 0.5,
        0.001 * (1 + i % 7),
    )
