from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest

from serenity.marketdata import DataQualityEvent, DataQualityKind
from serenity.marketdata.fh import FeedMetrics, FeedState


def value(registry: CollectorRegistry, name: str, **labels: str) -> float | None:
    return registry.get_sample_value(name, labels)


def test_metrics_count_data_quality_lag_and_state() -> None:
    registry = CollectorRegistry()
    metrics = FeedMetrics(registry)
    for kind in DataQualityKind:
        metrics.observe_data_quality(
            DataQualityEvent(venue="phemex", channel="book", symbol="BTCUSD", ts=1, kind=kind)
        )
    metrics.messages.labels(venue="phemex").inc(3)
    metrics.trades.labels(venue="phemex", symbol="BTCUSD").inc()
    metrics.observe_lag("phemex", 1_000_000_000, 1_002_000_000)
    metrics.set_state("phemex", FeedState.LIVE)
    v = "phemex"
    assert value(registry, "serenity_fh_gaps_total", venue=v, channel="book", symbol="BTCUSD") == 1
    assert value(registry, "serenity_fh_resyncs_total", venue=v, symbol="BTCUSD") == 1
    assert value(registry, "serenity_fh_crossed_books_total", venue=v, symbol="BTCUSD") == 1
    assert value(registry, "serenity_fh_reconnects_total", venue=v) == 1
    assert value(registry, "serenity_fh_parse_errors_total", venue=v) == 1
    labels = {"venue": v, "channel": "book", "symbol": "BTCUSD"}
    assert value(registry, "serenity_fh_stuck_total", **labels) == 1
    assert value(registry, "serenity_fh_venue_errors_total", venue=v) == 1
    assert value(registry, "serenity_fh_messages_total", venue=v) == 3
    assert value(registry, "serenity_fh_receive_lag_seconds_count", venue=v) == 1
    assert value(registry, "serenity_fh_receive_lag_seconds_bucket", venue=v, le="0.0025") == 1
    assert value(registry, "serenity_fh_state", venue=v, serenity_fh_state="live") == 1
    assert value(registry, "serenity_fh_state", venue=v, serenity_fh_state="syncing") == 0
    assert b"serenity_fh_trades_total" in generate_latest(registry)


def test_two_registries_do_not_clash() -> None:
    FeedMetrics(CollectorRegistry())
    FeedMetrics(CollectorRegistry())
