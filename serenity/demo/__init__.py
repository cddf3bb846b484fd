"""``serenity demo``: the embedded default built end to end, with no network and no services.

:func:`run_demo` migrates an SQLite database in ``SERENITY_HOME`` and loads bundled Coinbase
reference data into it, records a generated trading day streamed by a local Coinbase
(:class:`DemoCoinbaseServer`) with the real feedhandler, splays the journal into a local tick
store, and replays the stored trades through five-minute bars and Bollinger bands.
"""

from __future__ import annotations

from serenity.demo.run import DEFAULT_DAY, DEFAULT_EVENTS, SYMBOLS, DemoResult, run_demo
from serenity.demo.server import DemoCoinbaseServer

__all__ = [
    "DEFAULT_DAY",
    "DEFAULT_EVENTS",
    "SYMBOLS",
    "DemoCoinbaseServer",
    "DemoResult",
    "run_demo",
]
