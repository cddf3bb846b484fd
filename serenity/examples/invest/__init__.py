"""Example investment strategies for :mod:`serenity.strategy`, each with a config beside it.

``buy_and_hold`` (buy once, hold), ``equal_weight`` (every symbol of a price file at an equal
weight, rebalanced quarterly) and ``crypto_60_40`` (60% BTC, 40% ETH from the tick store,
rebalanced daily). ``sample_prices.csv`` is a small synthetic price file for 2024 on the
XNYS calendar: five made-up symbols (AAA to EEE) with dividends (BBB, DDD) and a 2-for-1
split (CCC on 2024-06-10).
"""

__all__: list[str] = []
