"""Signal operators: computed signals over other signals.

Operators take the :class:`~serenity.tau.Network` first (or a scheduler when they need
time), then their inputs, as in ``Map(network, prices, fn)`` or
``BufferWithTime(scheduler, trades, timedelta(minutes=5))``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from serenity.errors import InvalidValueError
from serenity.tau._time import Duration, to_duration_ns
from serenity.tau.core import Event, MutableSignal, Network, Signal
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = [
    "AllActivated",
    "AnyActivated",
    "BufferWithCount",
    "BufferWithTime",
    "FlatMap",
    "Filter",
    "From",
    "Function",
    "Just",
    "Map",
    "Merge",
    "Pipe",
    "Scan",
    "WindowWithCount",
    "WindowWithTime",
]

T = TypeVar("T")
U = TypeVar("U")
A = TypeVar("A")


def _positive_count(count: int, what: str) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise InvalidValueError(f"{what} must be an int >= 1, was {count!r}")
    return count


class Function(Signal[T], ABC):
    """A signal computed from parent events; the base of every operator.

    Subclasses implement :meth:`_call`, which reads the parents' values, calls
    ``self._update(value)`` to emit, and returns True when it emitted.

    Parameters
    ----------
    network
        The network the node joins.
    parameters
        The parent events; the node is evaluated in any cycle where one of them activated.
    """

    __slots__ = ("network", "parameters")

    def __init__(
        self, network: Network, parameters: Sequence[Event], *, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        self.network = network
        self.parameters = tuple(parameters)
        network.attach(self)
        for p in self.parameters:
            network.connect(p, self)

    def on_activate(self) -> bool:
        """Evaluate the node; return True if it emitted a value."""
        return self._call()

    @abstractmethod
    def _call(self) -> bool:
        """Compute and emit (``self._update``) from the parents; return True if emitted."""


class Map(Function[U], Generic[T, U]):
    """Emit ``fn(value)`` for every value of ``values``."""

    __slots__ = ("_fn", "_source")

    def __init__(
        self, network: Network, values: Signal[T], fn: Callable[[T], U], *, name: str | None = None
    ) -> None:
        self._source = values
        self._fn = fn
        super().__init__(network, [values], name=name)

    def on_activate(self) -> bool:  # the hot path: skip _call's extra frame
        """Emit ``fn`` of the input's value."""
        self._value = self._fn(self._source._value)
        self._valid = True
        return True

    def _call(self) -> bool:
        return self.on_activate()


class Filter(Function[T]):
    """Pass on the values of ``values`` for which ``predicate`` is true; stop the others."""

    __slots__ = ("_predicate", "_source")

    def __init__(
        self,
        network: Network,
        values: Signal[T],
        predicate: Callable[[T], bool],
        *,
        name: str | None = None,
    ) -> None:
        self._source = values
        self._predicate = predicate
        super().__init__(network, [values], name=name)

    def _call(self) -> bool:
        value = self._source._value
        if self._predicate(value):
            self._value = value
            self._valid = True
            return True
        return False


class Scan(Function[A], Generic[T, A]):
    """Fold ``values``: emit ``acc = fn(acc, value)`` for every value, starting at ``initial``."""

    __slots__ = ("_fn", "_source")

    def __init__(
        self,
        network: Network,
        values: Signal[T],
        fn: Callable[[A, T], A],
        initial: A,
        *,
        name: str | None = None,
    ) -> None:
        self._source = values
        self._fn = fn
        super().__init__(network, [values], name=name)
        self._value = initial

    def _call(self) -> bool:
        self._value = self._fn(self._value, self._source._value)
        self._valid = True
        return True


class Merge(Function[T]):
    """Emit the value of whichever input activated.

    Inputs usually activate in separate cycles. When several activate in one cycle (they
    share an ancestor), the value of the last of them in argument order is emitted.
    """

    __slots__ = ()

    def __init__(self, network: Network, signals: Iterable[Signal[T]], *, name: str | None = None):
        signals = list(signals)
        if not signals:
            raise InvalidValueError("Merge needs at least one input signal")
        super().__init__(network, signals, name=name)

    def _call(self) -> bool:
        emitted = False
        cycle = self.network._cycle
        for p in self.parameters:
            if p._fired == cycle:
                self._value = p._value  # type: ignore[attr-defined]  # inputs are signals
                emitted = True
        self._valid = self._valid or emitted
        return emitted


class BufferWithCount(Function[list[T]]):
    """Collect ``count`` values, then emit them as a list and start a new buffer."""

    __slots__ = ("_buffer", "_count", "_source")

    def __init__(
        self, network: Network, values: Signal[T], count: int, *, name: str | None = None
    ) -> None:
        self._count = _positive_count(count, "count")
        self._source = values
        self._buffer: list[T] = []
        super().__init__(network, [values], name=name)

    def _call(self) -> bool:
        self._buffer.append(self._source._value)
        if len(self._buffer) < self._count:
            return False
        self._update(self._buffer)
        self._buffer = []
        return True


class BufferWithTime(Function[list[T]]):
    """Collect values into time buckets aligned to ``origin`` and emit each at its close.

    Bucket k holds the values at times ``origin + k*interval <= t < origin + (k+1)*interval``
    (so with the default origin, the Unix epoch, 5-minute buckets close at :00, :05, ...).
    A non-empty bucket is emitted at its closing boundary: by a timer, or by the first value
    of a later bucket if that is processed first. Empty buckets emit nothing. The last,
    partial bucket is emitted when the scheduler's run ends. At most one timer is pending.

    Parameters
    ----------
    scheduler
        Supplies time and timers.
    values
        The input signal.
    interval
        Bucket width, a timedelta or int ns.
    origin
        The instant bucket boundaries are aligned to, int ns (default 0, the epoch).
    """

    __slots__ = ("_bucket", "_end", "_interval", "_origin", "_scheduler", "_source", "_timer")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        values: Signal[T],
        interval: Duration,
        *,
        origin: int = 0,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._interval = to_duration_ns(interval)
        self._origin = int(origin)
        self._source = values
        self._bucket: list[T] = []
        self._end = 0  # closing boundary of the open bucket (valid when _bucket is non-empty)
        self._timer: TimerHandle | None = None
        super().__init__(scheduler.network, [values], name=name)
        scheduler.at_end(self._flush_at_end)

    def _close_of(self, t: int) -> int:
        k = (t - self._origin) // self._interval
        return self._origin + (k + 1) * self._interval

    def _call(self) -> bool:
        emitted = False
        if self._bucket and self._scheduler.get_time() >= self._end:
            emitted = self._emit()
        if self.network.has_activated(self._source):
            if not self._bucket:
                self._end = self._close_of(self._scheduler.get_time())
                self._arm()
            self._bucket.append(self._source._value)
        return emitted

    def _emit(self) -> bool:
        self._update(self._bucket)
        self._bucket = []
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return True

    def _arm(self) -> None:
        self._timer = self._scheduler.schedule_at(self._on_timer, self._end)

    def _on_timer(self) -> None:
        self._timer = None
        if self._bucket and self._scheduler.get_time() >= self._end:
            self.network.activate(self)

    def _flush_at_end(self) -> None:
        if self._bucket:
            self._end = self._scheduler.get_time()
            self.network.activate(self)


class WindowWithCount(Function[tuple[T, ...]]):
    """Emit the last ``count`` values (oldest first) on every value, once ``count`` arrived."""

    __slots__ = ("_count", "_source", "_window")

    def __init__(
        self, network: Network, values: Signal[T], count: int, *, name: str | None = None
    ) -> None:
        self._count = _positive_count(count, "count")
        self._source = values
        self._window: deque[T] = deque(maxlen=self._count)
        super().__init__(network, [values], name=name)

    def _call(self) -> bool:
        self._window.append(self._source._value)
        if len(self._window) < self._count:
            return False
        self._update(tuple(self._window))
        return True


class WindowWithTime(Function[tuple[T, ...]]):
    """Emit, on every value at time t, the values with ``t - duration < ts <= t``, oldest first."""

    __slots__ = ("_duration", "_scheduler", "_source", "_window")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        values: Signal[T],
        duration: Duration,
        *,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._duration = to_duration_ns(duration, what="duration")
        self._source = values
        self._window: deque[tuple[int, T]] = deque()
        super().__init__(scheduler.network, [values], name=name)

    def _call(self) -> bool:
        now = self._scheduler.get_time()
        window = self._window
        window.append((now, self._source._value))
        horizon = now - self._duration
        while window[0][0] <= horizon:
            window.popleft()
        self._update(tuple(v for _, v in window))
        return True


class FlatMap(Function[U], Generic[T, U]):
    """Emit each element of ``fn(value)`` (or of ``value`` itself) in its own cycle.

    The elements are emitted in order at the current time, in the cycles right after the
    one in which the input activated.
    """

    __slots__ = ("_fn", "_out", "_scheduler", "_source")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        values: Signal[T],
        fn: Callable[[T], Iterable[U]] | None = None,
        *,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._source = values
        self._fn = fn
        self._out = False
        super().__init__(scheduler.network, [values], name=name)

    def _call(self) -> bool:
        value = self._source._value
        items = self._fn(value) if self._fn is not None else value
        network = self.network
        for item in items:
            self._scheduler.schedule(self._emitter(item, network))
        return False

    def _emitter(self, item: U, network: Network) -> Callable[[], None]:
        def emit() -> None:
            self._update(item)
            self._fire_self(network)

        return emit

    def _fire_self(self, network: Network) -> None:
        # Activated directly (not as a child of the input), so _call must not re-run: mark
        # it so on_activate only propagates.
        self._out = True
        network.activate(self)

    def on_activate(self) -> bool:
        """Propagate an element scheduled by :meth:`_call`, or expand a new input value."""
        if self._out:
            self._out = False
            return True
        return self._call()


class Pipe(Function[T]):
    """Forward every value of ``source`` into ``target``, in the next cycle at the same time.

    Use it to feed a value back upstream (``target`` may be an ancestor of ``source``)
    without a cycle in the graph, or to cross into another network.
    """

    __slots__ = ("_scheduler", "_source", "_target")

    def __init__(
        self,
        scheduler: NetworkScheduler,
        source: Signal[T],
        target: MutableSignal[T],
        *,
        name: str | None = None,
    ) -> None:
        self._scheduler = scheduler
        self._source = source
        self._target = target
        super().__init__(scheduler.network, [source], name=name)

    def _call(self) -> bool:
        value = self._source._value
        self._scheduler.schedule_update(self._target, lambda: value)
        self._update(value)
        return True


class Just(MutableSignal[T]):
    """A constant signal.

    Given a scheduler, it also activates once, at the scheduler's current time; given a
    network, it only holds the value for other nodes to read.
    """

    __slots__ = ()

    def __init__(self, owner: Network | NetworkScheduler, value: T, *, name: str | None = None):
        super().__init__(name=name)
        self._update(value)
        if isinstance(owner, NetworkScheduler):
            owner.network.attach(self)
            owner.schedule(lambda: owner.network.activate(self))
        else:
            owner.attach(self)


class From(MutableSignal[T]):
    """Emit each of ``values`` in its own cycle, in order, at the scheduler's current time."""

    __slots__ = ()

    def __init__(
        self, scheduler: NetworkScheduler, values: Iterable[T], *, name: str | None = None
    ) -> None:
        super().__init__(name=name)
        scheduler.network.attach(self)
        for v in values:
            scheduler.schedule_update(self, (lambda x: lambda: x)(v))


class AllActivated(Function[tuple[Any, ...]]):
    """Activate in a cycle in which every input activated; the value is their values."""

    __slots__ = ()

    def _call(self) -> bool:
        cycle = self.network._cycle
        for p in self.parameters:
            if p._fired != cycle:
                return False
        self._update(tuple([getattr(p, "_value", None) for p in self.parameters]))
        return True


class AnyActivated(Function[tuple[Any, ...]]):
    """Activate in a cycle in which any input activated; the value is all inputs' values."""

    __slots__ = ()

    def _call(self) -> bool:
        self._update(tuple([getattr(p, "_value", None) for p in self.parameters]))
        return True
