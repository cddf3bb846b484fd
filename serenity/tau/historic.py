"""Virtual-time scheduler for backtests: lazy k-way merge of time-ordered sources."""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np

from serenity.errors import DataError, InvalidValueError, NodeError
from serenity.tau._sources import BatchReplay, Replay, checked_column, open_source, pair
from serenity.tau._time import Instant, format_ns, to_instant_ns
from serenity.tau.batch import Batch, ColumnRows, RowFactory, TupleRows, time_column
from serenity.tau.core import Event, MutableSignal, Network, _native
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = ["HistoricNetworkScheduler", "RunStats"]

# The compiled core's per-event replay loop (None in pure Python, where no source is ever
# ``viewable``).
_run_rows: Any = None if _native is None else _native.run_rows

_FOREVER: Final = 2**63 - 1
_NO_KERNEL: Final = "no batch kernel"
_FORCED: Final = "per-event mode forced"
_CUT: Final = "its batch kernel asked for these rows one by one"


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
    batched
        Rows of table sources consumed as batch slices by batch kernels.
    per_event
        Rows of table sources delivered one by one as cycles.
    timers
        Timer actions run (included in ``events``).
    per_event_nodes
        Why rows ran per event: node label to ``(rows, reason)``, for the nodes that caused
        it (a listener without a batch kernel, or a kernel that asked for the row). Rows that
        ran per event only because a timer or another source's event fell between them are
        not attributed to a node.
    """

    events: int
    before_start: int
    after_end: int
    batched: int = 0
    per_event: int = 0
    timers: int = 0
    per_event_nodes: Mapping[str, tuple[int, str]] = field(default_factory=dict)


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
    batch
        Let table sources hand row slices to nodes with a batch kernel (the default); False
        forces per-event delivery of every row, for debugging. Results are the same.

    Raises
    ------
    InvalidValueError
        For naive datetimes or ``end`` before ``start``.
    """

    def __init__(
        self, start: Instant, end: Instant, network: Network | None = None, *, batch: bool = True
    ) -> None:
        super().__init__(network)
        self.batch_mode = bool(batch)
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
        self._batched = 0
        self._per_event = 0
        self._timers = 0
        self._why: dict[Event, list[Any]] = {}  # node -> [rows, reason]
        self._pushes = 0  # timers scheduled; a batch source re-checks its bound when it moves
        self._running = False

    def get_time(self) -> int:
        """Return the virtual time in ns since the epoch, UTC."""
        return self._now

    @property
    def events(self) -> int:
        """Return the events run so far (source rows and timer actions)."""
        return self._events

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
        self._pushes += 1
        return handle

    def replay(
        self,
        signal: MutableSignal[Any],
        source: Any,
        *,
        time_column: str = "ts",
        value_column: str | None = None,
        rows: RowFactory | None = None,
        name: str | None = None,
    ) -> None:
        """Feed ``source`` into ``signal`` in time order, lazily.

        Parameters
        ----------
        signal
            The source signal that takes each value.
        source
            An iterable of ``(t_ns, value)`` pairs in time order; or a table: a pandas
            DataFrame, a pyarrow Table or RecordBatch, or an iterable of RecordBatches, with
            a time column. Tables are replayed as :class:`~serenity.tau.batch.Batch` es, so
            nodes with a batch kernel can take their rows as slices.
        time_column
            The column holding int64 ns or timezone-aware timestamps (tables only).
        value_column
            The column whose values to emit instead of whole rows (tables only).
        rows
            How a table's rows become values (tables only); namedtuples of every column
            by default, or ``value_column``'s values.
        name
            A label for error messages; the signal's by default.

        Raises
        ------
        DataError
            Later, during :meth:`run`, when the source goes back in time.
        InvalidValueError
            For a table without the time column or with naive timestamps.
        """
        label = name or repr(signal)
        self.network.attach(signal)
        batches, is_table = open_source(source)
        if not is_table:
            entry = Replay(signal, batches, label)
            self._advance(entry)
            return
        if rows is None:
            rows = ColumnRows(value_column) if value_column is not None else TupleRows()
        elif value_column is not None:
            raise InvalidValueError("give value_column or rows, not both")
        if value_column is not None:
            batches = checked_column(batches, value_column)
        table_entry = BatchReplay(signal, batches, label, rows, time_column)
        self._next_batch(table_entry)

    def _next_batch(self, entry: BatchReplay) -> bool:
        """Load ``entry``'s next batch with a row in the window and push it; False at its end."""
        start, end = self.start, self.end
        for table in entry.batches:
            ts = time_column(table, entry.time_column)
            n = len(ts)
            if not n:
                continue
            if ts[0] < entry.last_t or (n > 1 and bool((ts[1:] < ts[:-1]).any())):
                bad = entry.last_t if ts[0] < entry.last_t else int(ts[:-1][ts[1:] < ts[:-1]][0])
                raise DataError(
                    f"replay source {entry.label} went back in time after {format_ns(bad)}; "
                    "sources must be sorted by time"
                )
            entry.last_t = int(ts[-1])
            i = int(np.searchsorted(ts, start, "left"))
            self._before += i
            if i == n:
                continue
            batch = Batch(table, ts, entry.rows, time_column=entry.time_column)
            entry.batch = batch
            entry.i = i
            entry.end_idx = int(np.searchsorted(ts, end, "right"))
            if i >= entry.end_idx:
                self._after += 1
                entry.batch = None
                return False
            heapq.heappush(self._heap, (int(ts[i]), next(self._seq), entry, None))
            return True
        entry.batch = None
        return False

    def _advance(self, entry: Replay) -> None:
        """Read ``entry``'s next event into the heap, skipping those before start."""
        for item in entry.it:
            t, value = pair(item, entry.label)
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
            self._guard(self._run_start_hooks, "start-of-run hook")
            self._drain()
            if self._now < self.end:
                self._now = self.end
            self._guard(self._run_end_hooks, "end-of-run hook")
            self._drain()
        finally:
            self._running = False
        self._after += sum(1 for e in self._heap if not getattr(e[2], "cancelled", False))
        why = {repr(node): (rows, reason) for node, (rows, reason) in self._why.items()}
        return RunStats(
            self._events,
            self._before,
            self._after,
            self._batched,
            self._per_event,
            self._timers,
            why,
        )

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
                        self._timers += 1
                        self._guard(entry.action, entry.action)
                    continue
                if entry.__class__ is BatchReplay:
                    self._run_batches(entry)
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
                        t, value = pair(nxt, entry.label)
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

    def _plan(self, entry: BatchReplay) -> list[Any] | None:
        """Return the kernels of the source's listeners, or None when its rows must run
        one by one (per-event mode forced, or a listener without a batch kernel)."""
        entry.plan_version = self.network._version
        kids = entry.signal._children
        entry.kernels = None
        # With the compiled core, rows run per event through a reused row view (no object
        # per row) when every listener has a compiled fast path (see tau._native).
        entry.viewable = (
            _native is not None
            and bool(kids)
            and all(getattr(k, "_fast", None) is not None for k in kids)
        )
        if not self.batch_mode:
            entry.blockers = [(entry.signal, _FORCED)]
        else:
            entry.blockers = [(k, _NO_KERNEL) for k in kids if not hasattr(k, "batch_scan")]
            if not entry.blockers:
                entry.kernels = list(kids)
        return entry.kernels

    def _blame(self, node: Event, rows: int, reason: str) -> None:
        record = self._why.get(node)
        if record is None:
            self._why[node] = [rows, reason]
        else:
            record[0] += rows

    def _run_batches(self, entry: BatchReplay) -> None:
        """Run ``entry``'s rows while they come before every other event, then yield.

        With kernels, the rows up to the first one a kernel wants per event are absorbed as
        a slice and that row runs as a cycle; without, each row runs as a cycle. Either way
        the bound (the next timer or other source's event) is re-read after every cycle.
        """
        heap = self._heap
        signal = entry.signal
        network = self.network
        activate = network.activate
        batch = entry.batch
        assert batch is not None  # an entry in the heap has a batch
        ts = batch.ts
        won = 1  # row entry.i won the heap; rows after it run only while strictly earliest
        while True:
            i = entry.i
            end_idx = entry.end_idx
            kernels = entry.kernels if entry.plan_version == network._version else self._plan(entry)
            n = len(heap)
            if n > 1:
                t_other = heap[1][0]
                if n > 2 and heap[2][0] < t_other:
                    t_other = heap[2][0]
                # Rows go on only while strictly earlier than the next other event (ties go
                # to the event scheduled first, as per event), except the row that won.
                lo = i + won
                if kernels is not None:
                    limit = lo + int(ts[lo:end_idx].searchsorted(t_other))
                else:
                    limit = bisect_left(batch.ts_list(), t_other, lo, end_idx)
            else:
                limit = end_idx
            won = 0
            if kernels is not None and i < limit:
                k = limit
                cutter: Any = None
                for kernel in kernels:
                    c = kernel.batch_scan(batch, i, k)
                    if c < k:
                        k, cutter = c, kernel
                        if k == i:
                            break
                if k > i:
                    pushes = self._pushes
                    for kernel in kernels:
                        kernel.batch_absorb(batch, i, k)
                    self._batched += k - i
                    self._events += k - i
                    entry.i = i = k
                    if self._pushes != pushes or i >= limit:
                        # Something else runs next (a timer a kernel armed after its rows, or
                        # another source): the signal holds the last row absorbed. Otherwise
                        # row i runs at once below and sets both itself.
                        self._now = int(ts[k - 1])
                        signal._value = batch.row(k - 1)
                        signal._valid = True
                        if i < limit:
                            continue  # re-read the bound
                if i < limit:
                    if cutter is not None:
                        self._blame(cutter, 1, _CUT)
                    self._now = int(ts[i])
                    signal._value = batch.row(i)
                    signal._valid = True
                    entry.i = i = i + 1
                    self._per_event += 1
                    self._events += 1
                    activate(signal)
            elif kernels is None:
                if entry.viewable and entry.bind_view(batch):
                    j = _run_rows(network, signal, entry.view, self, i, limit)
                else:
                    j = self._run_objects(entry, batch, i, limit)
                entry.i = j
                self._per_event += j - i
                self._events += j - i
                for node, reason in entry.blockers:
                    self._blame(node, j - i, reason)
                i = j
            if i < limit:
                continue  # a cycle may have scheduled something earlier: re-read the bound
            if i < end_idx:  # the next row is not strictly earliest: back into the heap
                self._replace_top(entry, (int(ts[i]), next(self._seq), entry, None))
                return
            self._replace_top(entry, None)
            if end_idx < batch.size:  # the next row is past the end: this source is done
                self._after += 1
                entry.batch = None
                return
            self._next_batch(entry)
            return

    def _run_objects(self, entry: BatchReplay, batch: Batch, i: int, limit: int) -> int:
        """Run rows ``[i, limit)`` as cycles, each row's object the signal's value; stop
        after a cycle that scheduled a timer or edited the graph. Return the next row.

        ``Batch.row`` builds the first rows one by one and then all at once, so a listener
        connected on demand for a few rows (a working order's fill watcher) does not cost a
        whole batch of objects."""
        signal, network = entry.signal, self.network
        activate, row, tl = network.activate, batch.row, batch.ts_list()
        pushes, version = self._pushes, network._version
        j = i
        while j < limit:
            signal._value = row(j)
            signal._valid = True
            self._now = tl[j]
            j += 1
            activate(signal)
            if self._pushes != pushes or network._version != version:
                break
        return j

    def _replace_top(self, entry: Any, item: tuple[int, int, Any, Any] | None) -> None:
        """Replace (or with None, remove) ``entry``'s heap item, normally the top."""
        heap = self._heap
        if heap[0][2] is entry:
            if item is None:
                heapq.heappop(heap)
            else:
                heapq.heapreplace(heap, item)
            return
        # A source registered during a cycle can sort before the running one: find ours.
        idx = next(k for k, e in enumerate(heap) if e[2] is entry)
        heap[idx] = heap[-1]
        heap.pop()
        heapq.heapify(heap)
        if item is not None:
            heapq.heappush(heap, item)

    def _guard(self, action: Callable[[], object], what: object) -> None:
        try:
            action()
        except (NodeError, DataError):
            raise
        except Exception as exc:
            label = what if isinstance(what, str) else getattr(what, "__qualname__", repr(what))
            raise NodeError(
                f"{label} raised {type(exc).__name__}: {exc}", node=what, time_ns=self._now
            ) from exc
