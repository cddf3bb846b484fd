# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled open bar: its state, and the time bars' common case run in C.

The same fields as ``_builder.OpenBar`` (the pure-Python fallback), so the Python code of
the bar builders works on either. ``run`` is ``TimeBars.on_activate``'s hot path: a trade
that extends the open bar, read from the replay's row view or from a trade object.
"""

from serenity.tau._native cimport FastPath, NetworkBase, NodeBase, RowView


cdef class OpenBar(FastPath):
    """The bar in progress: prices, sums, count and times; ``end`` and ``closed_until`` are
    the time bars' bounds (the open bar's closing boundary, the end of the last bar out)."""

    cdef public double open
    cdef public double high
    cdef public double low
    cdef public double close
    cdef public double volume
    cdef public double notional
    cdef public long long count
    cdef public long long first_ts
    cdef public long long last_ts
    cdef public long long end
    cdef public long long closed_until
    cdef public object pending
    cdef public NodeBase trades

    def __init__(self, trades, pending):
        nan = float("nan")
        self.open = self.high = self.low = self.close = nan
        self.volume = self.notional = 0.0
        self.count = self.first_ts = self.last_ts = self.end = 0
        self.closed_until = -(2**63)
        self.pending = pending
        self.trades = trades

    cdef int run(self, NodeBase node, NetworkBase network) except -1:
        cdef NodeBase trades = self.trades
        cdef long long ts
        cdef double price, qty
        cdef RowView view
        if trades._fired != network._cycle or self.count == 0 or len(self.pending):
            return 2
        value = trades._value
        if type(value) is RowView:
            view = <RowView>value
            ts = view.ts[view.i]
            price = view.price[view.i]
            qty = view.qty[view.i]
        else:
            # Only exact ints and floats: anything else keeps Python's arithmetic (Python path).
            t, p, q = value.ts, value.price, value.qty
            if type(t) is not int or type(p) is not float or type(q) is not float:
                return 2
            ts = t
            price = p
            qty = q
        if not (self.closed_until <= ts < self.end):
            return 2
        if price > self.high:
            self.high = price
        elif price < self.low:
            self.low = price
        self.close = price
        self.last_ts = ts
        self.volume += qty
        self.notional += price * qty
        self.count += 1
        return 0
