"""The reactive core: a glitch-free dependency graph of signals driven by a scheduler.

A :class:`Network` holds :class:`Event` and :class:`Signal` nodes. A scheduler owns a
network and drives it through time: :class:`HistoricNetworkScheduler` in virtual time for
backtests, :class:`RealtimeNetworkScheduler` on the asyncio loop for live trading. The same
graph runs under either. Operators live in :mod:`serenity.tau.signal`,
:mod:`serenity.tau.event` and :mod:`serenity.tau.math`. Time is integer nanoseconds since the
Unix epoch, UTC.

The node and network bases, the cycle and the per-event replay loop are compiled (Cython)
when a C compiler was present at install; :data:`NATIVE` says whether they are, and
``SERENITY_PURE_PYTHON=1`` runs the pure-Python definitions, which give the same results.
"""

from __future__ import annotations

from serenity.tau._time import format_ns, to_duration_ns, to_instant_ns
from serenity.tau.clock import Clock
from serenity.tau.core import NATIVE, Emitter, Event, MutableSignal, Network, Signal
from serenity.tau.historic import HistoricNetworkScheduler, RunStats
from serenity.tau.realtime import RealtimeNetworkScheduler
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = [
    "NATIVE",
    "Clock",
    "Emitter",
    "Event",
    "HistoricNetworkScheduler",
    "MutableSignal",
    "Network",
    "NetworkScheduler",
    "RealtimeNetworkScheduler",
    "RunStats",
    "Signal",
    "TimerHandle",
    "format_ns",
    "to_duration_ns",
    "to_instant_ns",
]
