"""Virtual-time scheduler for backtests: lazy k-way merge of time-ordered sources."""

from __future__ import annotations

import heapq
import itertools
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Final

from serenity.errors import DataError, InvalidValueError, NodeError
from serenity.tau._time import Instant, format_ns, to_instant_ns
from serenity.tau.core import MutableSignal, Network
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = ["HistoricNetworkScheduler", "RunStats"]

_BATCH_ROWS: Final = 65_536


@dataclass(frozen=True, slots=True)
class RunStats:
    """What a historic run did.

    Attributes
    ----------
    events
        Timer actions and source events that ran.
    before_start
        Events dated before the scheduler's start: counted and skipped.
    after_end
        Events found dated after the end: each source is read only up to its first such
        event, so this counts pending timers plus one per source that reached past the end.
    """

    events: int
    before_start: int
    after_end: int


class _Replay:
    __slots__ = ("signal", "it", "last_t", "label")

    def __init__(self, signal: MutableSignal[Any], it: Iterator[tuple[int, Any]], label: str):
        self.signal = signal
        self.it = it
        self.last_t = -(2**63)
        self.label = label


class HistoricNetworkScheduler(NetworkScheduler):
    """Run a network in virtual time over ``[start, end]``.

    Sources given to :meth:`replay` are merged lazily, so memory stays proportional to the
    number of sources and pending timers, not to the number of events. Events at the same
    instant run in the order they were scheduled (for a replay source: the order its events
    were read).

    Parameters
    ----------
    start, end
        The window, as aware datetimes or int ns since the epoch (UTC). Events before
        ``start`` are counted and skipped; the run ends at ``end``.
    network
        A network to share; by default the scheduler creates its own.

    Raises
    ------
    InvalidValueError
        For naive datetimes or ``end`` before ``start``.
    """

    def __init__(self, start: Instant, end: Instant, network: Network | None = None) -> None:
        super().__init__(network)
        self.start = to_instant_ns(start, what="start")
        self.end = to_instant_ns(end, what="end")
        if self.end < self.start:
            raise InvalidValueError(
                f"end must not be before start, was start={format_ns(self.start)} "
                f"end={format_ns(self.end)}"
            )
        self._now = self.start
        self._heap: list[tuple[int, int, Any, Any]] = []
        self._seq = itertools.count()
        self._events = 0
        self._before = 0
        self._after = 0
        self._running = False

    def get_time(self) -> int:
        """Return the virtual time in ns since the epoch, UTC."""
        return self._now

    def schedule_at(self, action: Callable[[], object], t: Instant) -> TimerHandle:
        """Run ``action`` at virtual instant ``t``.

        Raises
        ------
        InvalidValueError
            When ``t`` is earlier than the current virtual time during a run.
        """
        t_ns = to_instant_ns(t)
        if self._running and t_ns < self._now:
            raise InvalidValueError(
                f"cannot schedule in the past: {format_ns(t_ns)} is before the current "
                f"virtual time {format_ns(self._now)}"
            )
        handle = TimerHandle(action, t_ns)
        heapq.heappush(self._heap, (t_ns, next(self._seq), handle, None))
        return handle

    def replay(
        self,
        signal: MutableSignal[Any],
        source: Any,
        *,
        time_column: str = "ts",
        value_column: str | None = None,
        name: str | None = None,
    ) -> None:
        """Feed ``source`` into ``signal`` in time order, lazily.

        Parameters
        ----------
        signal
            The source signal that takes each value.
        source
            An iterable of ``(t_ns, value)`` pairs in time order; or a pandas DataFrame, a
            pyarrow Table or RecordBatch, or an iterable of RecordBatches with a time column.
            For tables each value is the row as a named tuple, or one column's value.
        time_column
            The column holding int64 ns or timezone-aware timestamps (tables only).
        value_column
            The column whose values to emit instead of whole rows (tables only).
        name
            A label for error messages; the signal's by default.

        Raises
        ------
        DataError
            Later, during :meth:`run`, when the source goes back in time.
        InvalidValueError
            For a table without the time column or with naive timestamps.
        """
        it = _as_pairs(source, time_column=time_column, value_column=value_column)
        entry = _Replay(signal, it, name or repr(signal))
        self.network.attach(signal)
        self._advance(entry)

    def _advance(self, entry: _Replay) -> None:
        """Read ``entry``'s next event into the heap, skipping those before start."""
        for item in entry.it:
            t, value = _pair(item, entry.label)
            if t < entry.last_t:
                raise DataError(
                    f"replay source {entry.label} went back in time: {format_ns(t)} after "
                    f"{format_ns(entry.last_t)}; sources must be sorted by time"
                )
            entry.last_t = t
            if t < self.start:
                self._before += 1
                continue
            heapq.heappush(self._heap, (t, next(self._seq), entry, value))
            return

    def run(self) -> RunStats:
        """Run every event up to ``end``, then the end-of-run hooks; return the counts.

        Raises
        ------
        NodeError
            When a node or action raises, naming it and the virtual time.
        DataError
            When a replay source is out of time order.
        """
        self._running = True
        try:
            self._drain()
            if self._now < self.end:
                self._now = self.end
            self._guard(self._run_end_hooks, "end-of-run hook")
            self._drain()
        finally:
            self._running = False
        self._after += sum(1 for e in self._heap if not getattr(e[2], "cancelled", False))
        return RunStats(self._events, self._before, self._after)

    def _drain(self) -> None:
        heap, end, seq = self._heap, self.end, self._seq
        pop, replace = heapq.heappop, heapq.heapreplace
        activate = self.network.activate
        events = 0
        try:
            while heap:
                top = heap[0]
                t = top[0]
                if t > end:
                    break
                entry = top[2]
                if t < self.start:  # a timer scheduled before start
                    pop(heap)
                    self._before += 1
                    continue
                self._now = t
                if entry.__class__ is TimerHandle:
                    pop(heap)
                    if not entry.cancelled:
                        events += 1
                        self._guard(entry.action, entry.action)
                    continue
                # A replay source: stay on it while its next event is strictly earliest, and
                # otherwise put the next event in its place with one heap operation.
                signal = entry.signal
                it = entry.it
                value = top[3]
                last = t
                while True:
                    signal._value = value
                    signal._valid = True
                    events += 1
                    activate(signal)
                    nxt = next(it, None)
                    if nxt is None:
                        pop(heap)
                        break
                    try:
                        t, value = nxt
                        if t.__class__ is not int:
                            raise TypeError
                    except (TypeError, ValueError):
                        t, value = _pair(nxt, entry.label)
                    if t < last:
                        raise DataError(
                            f"replay source {entry.label} went back in time: {format_ns(t)} "
                            f"after {format_ns(last)}; sources must be sorted by time"
                        )
                    last = t
                    if t > end:
                        self._after += 1
                        pop(heap)
                        break
                    n = len(heap)
                    if n > 1 and (heap[1][0] <= t or (n > 2 and heap[2][0] <= t)):
                        replace(heap, (t, next(seq), entry, value))
                        break
                    self._now = t
                entry.last_t = last
        except NodeError as exc:
            raise NodeError(
                f"{exc} at virtual time {format_ns(self._now)}", node=exc.node, time_ns=self._now
            ) from exc.__cause__
        finally:
            self._events += events

    def _guard(self, action: Callable[[], object], what: object) -> None:
        try:
            action()
        except (NodeError, DataError):
            raise
        except Exception as exc:
            raise NodeError(
                f"{what!r} raised {type(exc).__name__}: {exc}", node=what, time_ns=self._now
            ) from exc


def _as_pairs(
    source: Any, *, time_column: str, value_column: str | None
) -> Iterator[tuple[int, Any]]:
    module = type(source).__module__
    if module.startswith("pandas"):
        import pyarrow as pa

        table = pa.Table.from_pandas(source, preserve_index=False)
        return _table_pairs(table.to_batches(_BATCH_ROWS), time_column, value_column)
    if module.startswith("pyarrow"):
        import pyarrow as pa

        if isinstance(source, pa.Table):
            return _table_pairs(source.to_batches(_BATCH_ROWS), time_column, value_column)
        if isinstance(source, pa.RecordBatch):
            return _table_pairs([source], time_column, value_column)
    it = iter(source)
    first = next(it, None)
    if first is None:
        return iter(())
    if type(first).__module__.startswith("pyarrow"):
        return _table_pairs(itertools.chain([first], it), time_column, value_column)
    return itertools.chain([first], it)


def _pair(item: Any, label: str) -> tuple[int, Any]:
    """Return a source item as ``(t_ns, value)``, converting an aware datetime time."""
    try:
        t, value = item
    except (TypeError, ValueError):
        raise DataError(
            f"replay source {label} yielded {item!r}; expected (t_ns, value) pairs"
        ) from None
    if t.__class__ is not int:
        t = to_instant_ns(t, what=f"replay source {label} time")
    return t, value


def _table_pairs(
    batches: Iterable[Any], time_column: str, value_column: str | None
) -> Iterator[tuple[int, Any]]:
    import pyarrow as pa

    row_type: Any = None
    for batch in batches:
        names = batch.schema.names
        if time_column not in names:
            raise InvalidValueError(
                f"replay table has no time column {time_column!r}; columns are {names}"
            )
        col = batch.column(time_column)
        if pa.types.is_timestamp(col.type):
            if col.type.tz is None:
                raise InvalidValueError(
                    f"replay time column {time_column!r} holds naive timestamps; localize to UTC"
                )
            col = col.cast(pa.timestamp("ns", tz="UTC")).cast(pa.int64())
        elif not pa.types.is_integer(col.type):
            raise InvalidValueError(
                f"replay time column {time_column!r} must be int64 ns or timestamps, was {col.type}"
            )
        times = col.to_pylist()
        if value_column is not None:
            if value_column not in names:
                raise InvalidValueError(
                    f"replay table has no value column {value_column!r}; columns are {names}"
                )
            values: Iterable[Any] = batch.column(value_column).to_pylist()
        else:
            if row_type is None or row_type._fields != tuple(names):
                row_type = namedtuple("Row", names, rename=True)  # type: ignore[misc, no-redef]  # built per schema
            values = map(row_type._make, zip(*(c.to_pylist() for c in batch.columns), strict=True))
        yield from zip(times, values, strict=False)
