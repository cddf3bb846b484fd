"""Example strategies for :mod:`serenity.algo`, each with a config beside it.

``bbands1`` (upstream Serenity's Bollinger-band strategy, with a protective stop and a
cool-off), ``peg`` (a limit order pegged to the near touch or the mid) and
``reference_bbands`` (the reference strategy of the benchmarks). The repository's
``examples/strategies`` folder is this one.
"""

__all__: list[str] = []
