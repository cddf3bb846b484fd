"""HistoricMarketdataService replays stored trades and rebuilt books in time order."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from tickstore_data import StoreSpec

from serenity.errors import UnknownSymbolError
from serenity.marketdata import BookUpdate, JournalWriter, OrderBook, Trade
from serenity.marketdata.batch import splay_day
from serenity.marketdata.historic import HistoricMarketdataService
from serenity.marketdata.synthetic import SyntheticMarket
from serenity.marketdata.tickstore import open_tickstore
from serenity.model import InstrumentId
from serenity.tau import HistoricNetworkScheduler
from serenity.tau.event import Do

DAY = dt.date(2024, 1, 2)
D0 = int(dt.datetime(2024, 1, 2, tzinfo=dt.UTC).timestamp()) * 10**9
NS_PER_DAY = 86_400 * 10**9
BTC = InstrumentId("coinbase", "BTC-USD")
ETH = InstrumentId("coinbase", "ETH-USD")


def record(folder: Path, instrument: InstrumentId, seed: int) -> list[Trade | BookUpdate]:
    messages = list(
        SyntheticMarket(
            instrument=instrument, start_ns=D0, end_ns=D0 + NS_PER_DAY - 1, events=3_000, seed=seed
        ).messages()
    )
    with JournalWriter(folder) as journal:
        for m in messages:
            journal.append_trade(m) if isinstance(m, Trade) else journal.append_book(m)
    return messages


@pytest.fixture
def stored(tmp_path: Path, spec: StoreSpec) -> dict[InstrumentId, list[Trade | BookUpdate]]:
    out = {BTC: record(tmp_path / "j", BTC, 1), ETH: record(tmp_path / "j", ETH, 2)}
    splay_day(tmp_path / "j", spec.url, DAY)
    return out


def service(
    spec: StoreSpec, start: int = D0, end: int = D0 + NS_PER_DAY
) -> HistoricMarketdataService:
    sched = HistoricNetworkScheduler(start, end)
    return HistoricMarketdataService(
        sched,
        open_tickstore(spec.url, "COINBASE_TRADES"),
        open_tickstore(spec.url, "COINBASE_BOOKS"),
    )


def test_trades_of_two_symbols_replay_merged_in_time_order(
    spec: StoreSpec, stored: dict[InstrumentId, list[Trade | BookUpdate]]
) -> None:
    svc = service(spec)
    seen: list[Trade] = []
    for inst in (BTC, ETH):
        sig = svc.get_trades(inst)
        Do(svc.scheduler.network, sig, lambda s=sig: seen.append(s.get_value()))
    svc.scheduler.run()
    expected = sorted(
        (m for msgs in stored.values() for m in msgs if isinstance(m, Trade)), key=lambda t: t.ts
    )
    assert [t.ts for t in seen] == sorted(t.ts for t in seen)
    assert sorted(
        (t.instrument.symbol, t.trade_id, t.side, t.price, t.qty) for t in seen
    ) == sorted((t.instrument.symbol, t.trade_id, t.side, t.price, t.qty) for t in expected)
    assert svc.get_subscribed_instruments().get_value() == frozenset({BTC, ETH})


def test_books_rebuilt_from_deltas_equal_the_recorded_book(
    spec: StoreSpec, stored: dict[InstrumentId, list[Trade | BookUpdate]]
) -> None:
    svc = service(spec)
    books = svc.get_order_books(BTC)
    svc.scheduler.run()
    truth = OrderBook(BTC)
    for m in stored[BTC]:
        if isinstance(m, BookUpdate):
            truth.apply(m)
    assert books.get_value().depth(50) == truth.depth(50)
    assert not books.get_value().is_crossed()


def test_window_limits_the_replay(
    spec: StoreSpec, stored: dict[InstrumentId, list[Trade | BookUpdate]]
) -> None:
    start, end = D0 + 6 * 3_600 * 10**9, D0 + 7 * 3_600 * 10**9
    svc = service(spec, start, end)
    times: list[int] = []
    sig = svc.get_trades(BTC)
    Do(svc.scheduler.network, sig, lambda: times.append(sig.get_value().ts))
    svc.scheduler.run()
    expected = [m.ts for m in stored[BTC] if isinstance(m, Trade) and start <= m.ts <= end]
    assert times == expected and expected


def test_unknown_symbols_and_tables_are_refused(
    spec: StoreSpec, stored: dict[InstrumentId, list[Trade | BookUpdate]]
) -> None:
    svc = service(spec)
    with pytest.raises(UnknownSymbolError, match="has no symbol 'SOL-USD'"):
        svc.get_trades(InstrumentId("coinbase", "SOL-USD"))
    with pytest.raises(UnknownSymbolError, match="no PHEMEX_TRADES table"):
        svc.get_trades(InstrumentId("phemex", "BTCUSD"))
