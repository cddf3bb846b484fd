"""The scheduler contract shared by the historic and the realtime schedulers."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

from serenity.errors import InvalidValueError
from serenity.tau._time import Duration, Instant, to_duration_ns, to_instant_ns
from serenity.tau.clock import Clock
from serenity.tau.core import MutableSignal, Network

__all__ = ["NetworkScheduler", "TimerHandle"]

T = TypeVar("T")


class TimerHandle:
    """A scheduled action that can be cancelled before it runs."""

    __slots__ = ("action", "cancelled", "time_ns", "_native")

    def __init__(self, action: Callable[[], object], time_ns: int) -> None:
        self.action = action
        self.time_ns = time_ns
        self.cancelled = False
        self._native: Any = None  # the event loop's handle, for the realtime scheduler

    def cancel(self) -> None:
        """Stop the action from running; harmless after it ran."""
        self.cancelled = True
        if self._native is not None:
            self._native.cancel()

    def __repr__(self) -> str:
        state = " cancelled" if self.cancelled else ""
        return f"<TimerHandle t={self.time_ns}{state} {self.action!r}>"


class NetworkScheduler(ABC):
    """Drive a :class:`Network` through time: run actions and source updates at instants.

    A scheduler owns its network unless one is passed in to share.
    """

    def __init__(self, network: Network | None = None) -> None:
        self.network = network if network is not None else Network()
        self._clock = Clock(self.get_time)
        self._end_hooks: list[Callable[[], object]] = []
        self._start_hooks: list[Callable[[], object]] = []

    def get_network(self) -> Network:
        """Return the network this scheduler drives."""
        return self.network

    def get_clock(self) -> Clock:
        """Return a :class:`Clock` over this scheduler's time."""
        return self._clock

    @abstractmethod
    def get_time(self) -> int:
        """Return the current time in ns since the epoch, UTC."""

    @abstractmethod
    def schedule_at(self, action: Callable[[], object], t: Instant) -> TimerHandle:
        """Run ``action`` at instant ``t`` (an aware datetime or int ns)."""

    def schedule(self, action: Callable[[], object], offset: Duration = 0) -> TimerHandle:
        """Run ``action`` after ``offset`` (a timedelta or int ns) from now."""
        delay = to_duration_ns(offset, what="offset", positive=False)
        if delay < 0:
            raise InvalidValueError(f"offset must be >= 0, was {offset!r}")
        return self.schedule_at(action, self.get_time() + delay)

    def schedule_update(
        self, signal: MutableSignal[T], value: T | Callable[[], T], offset: Duration = 0
    ) -> TimerHandle:
        """Set ``signal`` to ``value`` after ``offset`` and propagate; a callable ``value``
        is called at fire time and its result used."""
        return self.schedule(self._updater(signal, value), offset)

    def schedule_update_at(
        self, signal: MutableSignal[T], value: T | Callable[[], T], t: Instant
    ) -> TimerHandle:
        """Set ``signal`` to ``value`` at instant ``t`` and propagate (see schedule_update)."""
        return self.schedule_at(self._updater(signal, value), to_instant_ns(t))

    def at_start(self, hook: Callable[[], object]) -> None:
        """Call ``hook`` when a run starts, before any event (e.g. to start strategies)."""
        self._start_hooks.append(hook)

    def at_end(self, hook: Callable[[], object]) -> None:
        """Call ``hook`` when the scheduler finishes a run (e.g. to flush a partial bucket)."""
        self._end_hooks.append(hook)

    def _updater(self, signal: MutableSignal[Any], value: Any) -> Callable[[], object]:
        network = self.network

        def fire() -> None:
            signal._update(value() if callable(value) else value)
            network.activate(signal)

        return fire

    def _run_start_hooks(self) -> None:
        for hook in self._start_hooks:
            hook()

    def _run_end_hooks(self) -> None:
        for hook in self._end_hooks:
            hook()
