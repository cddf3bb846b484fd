"""Collect signals' values as a run goes, into a pandas DataFrame indexed by UTC time.

Research in a notebook ends in a table: bars with their bands, a price with its indicator.
:func:`collect` attaches one node to the signals; each cycle in which one of them updates
becomes a row, stamped with the scheduler's time. After ``scheduler.run()``,
:meth:`Collector.to_frame` returns the rows.

It lives in ``serenity.signal`` rather than ``serenity.tau`` because it brings pandas, which
the reactive core does without, and because its column rules follow the values this package
emits (:class:`~serenity.signal.OHLC`, :class:`~serenity.signal.Bands`, named tuples).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from serenity.errors import InvalidValueError
from serenity.tau import NetworkScheduler, Signal
from serenity.tau.event import Lambda

__all__ = ["Collector", "collect"]

TIME_FIELDS: Final = frozenset({"ts", "ts_recv", "start", "end"})
"""Fields holding int ns since the epoch; they become UTC datetimes in the frame."""


def _fields(value: Any) -> dict[str, Any] | None:
    """Return a structured value's fields by name, or None for a scalar."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return dict(value._asdict())
    if isinstance(value, Mapping):
        return {str(k): v for k, v in value.items()}
    return None


class Collector:
    """Rows of signal values, one per cycle in which any of the signals updated.

    Made by :func:`collect`; read with :meth:`to_frame` after the run.
    """

    __slots__ = (
        "_clash",
        "_columns",
        "_node",
        "_prefix",
        "_rows",
        "_scheduler",
        "_signals",
        "_times",
    )

    def __init__(
        self, scheduler: NetworkScheduler, signals: Mapping[str, Signal[Any]], *, prefix: bool
    ) -> None:
        if not signals:
            raise InvalidValueError("collect needs at least one signal")
        self._scheduler = scheduler
        self._signals = dict(signals)
        self._prefix = prefix
        self._times: list[int] = []
        self._rows: list[dict[str, Any]] = []
        self._columns: dict[str, tuple[int, int, str]] = {}  # column: (signal, field, key)
        self._clash: tuple[str, str, str] | None = None
        self._node = Lambda(
            scheduler.get_network(),
            list(self._signals.values()),
            self._record,
            name=f"collect:{','.join(self._signals)}",
        )

    def __len__(self) -> int:
        """Return the number of rows collected so far."""
        return len(self._rows)

    def _record(self, *_values: Any) -> None:
        network = self._scheduler.get_network()
        row: dict[str, Any] = {}
        for i, (key, signal) in enumerate(self._signals.items()):
            if not network.has_activated(signal):
                continue
            value = signal.get_value()
            fields = _fields(value)
            items = [(key, value)] if fields is None else self._named(key, fields)
            for j, (column, item) in enumerate(items):
                row[column] = item
                seen = self._columns.setdefault(column, (i, j, key))
                if seen[2] != key and self._clash is None:
                    self._clash = (column, seen[2], key)  # raised by to_frame, not mid-run
        self._times.append(self._scheduler.get_time())
        self._rows.append(row)

    def _named(self, key: str, fields: dict[str, Any]) -> list[tuple[str, Any]]:
        return [(f"{key}.{name}" if self._prefix else name, v) for name, v in fields.items()]

    def to_frame(self) -> pd.DataFrame:
        """Return the rows as a DataFrame indexed by the scheduler's time, as UTC datetimes.

        A scalar signal gives one column named by its key; a dataclass, named tuple or
        mapping gives one column per field (``key.field`` with ``prefix=True``). A signal
        that did not update in a row's cycle is missing (NaN) there, and one that never
        updated is a column of NaN named by its key. Int-ns time fields (``ts``, ``ts_recv``,
        ``start``, ``end``) become UTC datetimes too, to the nanosecond.

        Raises
        ------
        InvalidValueError
            When two signals gave a column of the same name; collect with ``prefix=True``.
        """
        if self._clash is not None:
            column, first, second = self._clash
            raise InvalidValueError(
                f"collect: column {column!r} comes from signals {first!r} and {second!r}; "
                "pass prefix=True to name columns key.field"
            )
        columns = dict(self._columns)
        for i, key in enumerate(self._signals):
            if not any(seen[2] == key for seen in columns.values()):
                columns[key] = (i, 0, key)
        order = sorted(columns, key=lambda c: columns[c][:2])
        index = pd.DatetimeIndex(pd.to_datetime(self._times, unit="ns", utc=True), name="time")
        data: dict[str, Any] = {}
        for name in order:
            values = [row.get(name) for row in self._rows]
            if name.rsplit(".", 1)[-1] in TIME_FIELDS and _all_ints(values):
                ns = pd.array(values, dtype="Int64")
                data[name] = pd.to_datetime(ns, unit="ns", utc=True)
            else:
                data[name] = values
        frame = pd.DataFrame(data, index=index)
        return frame.infer_objects()


def _all_ints(values: list[Any]) -> bool:
    present = [v for v in values if v is not None]
    return bool(present) and all(isinstance(v, int) and not isinstance(v, bool) for v in present)


def collect(
    scheduler: NetworkScheduler, *signals: Signal[Any], prefix: bool = False, **named: Signal[Any]
) -> Collector:
    """Record signals' values as the scheduler runs; read them as a DataFrame afterwards.

    Parameters
    ----------
    scheduler
        The scheduler that will run the signals (historic or realtime).
    *signals
        Signals keyed by their ``name`` (``value0``, ``value1``, ... when unnamed).
    prefix
        Name a structured value's columns ``key.field`` instead of ``field``.
    **named
        Signals keyed by the argument name, e.g. ``bars=bars, bands=bands``.

    Returns
    -------
    Collector
        Holds a row for each cycle in which any signal updated; :meth:`Collector.to_frame`.

    Raises
    ------
    InvalidValueError
        Without signals, or when two signals share a key.

    Examples
    --------
    >>> import datetime as dt
    >>> from serenity.tau import HistoricNetworkScheduler, MutableSignal
    >>> from serenity.signal import SMA
    >>> start = dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    >>> scheduler = HistoricNetworkScheduler(start, start + dt.timedelta(minutes=5))
    >>> price = MutableSignal(name="price")
    >>> rows = collect(scheduler, price, sma=SMA(scheduler.network, price, 2))
    >>> t0 = int(start.timestamp()) * 10**9
    >>> scheduler.replay(price, [(t0 + i * 60 * 10**9, 100.0 + i) for i in range(3)])
    >>> _ = scheduler.run()
    >>> rows.to_frame()  # doctest: +NORMALIZE_WHITESPACE
                               price    sma
    time
    2024-01-02 00:00:00+00:00  100.0    NaN
    2024-01-02 00:01:00+00:00  101.0  100.5
    2024-01-02 00:02:00+00:00  102.0  101.5
    """
    keyed: dict[str, Signal[Any]] = {}
    for i, signal in enumerate(signals):
        key = signal.name or f"value{i}"
        if key in keyed or key in named:
            raise InvalidValueError(f"collect: two signals are keyed {key!r}; name them")
        keyed[key] = signal
    keyed.update(named)
    return Collector(scheduler, keyed, prefix=prefix)
