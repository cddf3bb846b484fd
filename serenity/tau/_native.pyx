# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""The compiled core of tau: node and network bases, the cycle, and a replay loop.

Built from this file when a C compiler is present (``pip install`` does it); where it is
absent, or with ``SERENITY_PURE_PYTHON=1``, :mod:`serenity.tau.core` runs its pure-Python
definitions instead, with the same behaviour. What is compiled here:

- :class:`NodeBase` and :class:`NetworkBase`, the C layout under ``Event`` and ``Network``;
  ``NetworkBase.activate`` is the cycle of ``core.Network.activate``, line for line.
- :class:`FastPath`: a node may carry one (``node._fast``) to run its common case in C; it
  answers 0 (did not fire), 1 (fired) or 2 (not my case: run ``on_activate``).
- :class:`RowView` and :func:`run_rows`: per-event replay of a table source's rows through
  a reused view of the row, for sources whose every listener has a fast path. Python code
  never sees a view: before any Python ``on_activate`` runs in the cycle, and when the loop
  hands control back, the source's value is replaced by the row built as an object.
"""

from functools import partial
from operator import attrgetter

from serenity.errors import NodeError

cdef object _by_id = attrgetter("_id")


cdef class FastPath:
    """A node's compiled common case; the base answers 2 (not handled) always."""

    cdef int run(self, NodeBase node, NetworkBase network) except -1:
        return 2


cdef class NodeBase:
    """The C layout of every tau node (see ``core.Event``)."""

    def __cinit__(self, *args, **kwargs):
        self._children = []
        self._fired = -1
        self._queued = -1
        self._valid = False
        self._plain = getattr(type(self), "on_activate") is _BASE_ON_ACTIVATE

    def on_activate(self):
        """Evaluate the node for the current cycle; return False to stop propagation."""
        return True


cdef object _BASE_ON_ACTIVATE = NodeBase.on_activate


cdef class RowView:
    """Row ``i`` of a batch of trade-shaped rows (``ts``, ``price``, ``qty``), reused from row
    to row; compiled fast paths read it, and :meth:`materialize` builds the row's object."""

    def bind(self, batch, ts, price, qty):
        """Point the view at a batch's ``ts``, ``price`` and ``qty`` arrays (contiguous)."""
        self.batch = batch
        self.ts = ts
        self.price = price
        self.qty = qty
        self.i = 0

    def materialize(self):
        """Return the current row as the source's per-event value."""
        return self.batch.row(self.i)


cdef inline int _call(NodeBase node, NetworkBase network, NodeBase source) except -1:
    cdef int r
    if node._fast is not None:
        r = node._fast.run(node, network)
        if r != 2:
            return r
    elif node._plain:
        return 1
    if type(source._value) is RowView:
        source._value = (<RowView>source._value).materialize()
    return 1 if node.on_activate() else 0


cdef inline Py_ssize_t _enqueue(list kids, list buckets, long long c, Py_ssize_t top):
    """Queue each of ``kids`` not yet queued in cycle ``c`` in its rank's bucket; return the
    highest rank queued (at least ``top``)."""
    cdef NodeBase kid
    cdef Py_ssize_t r
    for obj in kids:
        kid = <NodeBase>obj
        if kid._queued != c:
            kid._queued = c
            r = kid._rank
            (<list>buckets[r]).append(kid)
            if r > top:
                top = r
    return top


cdef class NetworkBase:
    """The C layout of ``core.Network`` and its cycle."""

    def __cinit__(self, *args, **kwargs):
        self._buckets = [[]]
        self._deferred = None

    cpdef bint activate(self, NodeBase source) except -1:
        """Run one cycle starting at ``source``; return whether ``source`` propagated."""
        if self._in_cycle:
            self._deferred.append(partial(self.activate, source))
            return False
        if source._network is not self:
            (<object>self).attach(source)
        cdef long long c = self._cycle + 1
        self._cycle = c
        self._in_cycle = True
        cdef NodeBase node = source
        cdef list buckets = self._buckets
        cdef list kids
        cdef list bucket
        cdef Py_ssize_t rank = source._rank
        cdef Py_ssize_t top = rank
        cdef Py_ssize_t k
        try:
            if not _call(source, self, source):
                return False
            source._fired = c
            kids = source._children
            # A chain of only children runs directly (see core.Network.activate).
            while len(kids) == 1:
                node = <NodeBase>kids[0]
                node._queued = c
                if not _call(node, self, source):
                    return True
                node._fired = c
                kids = node._children
                rank = top = node._rank
            top = _enqueue(kids, buckets, c, top)
            while rank < top:
                rank += 1
                bucket = <list>buckets[rank]
                if not bucket:
                    continue
                if len(bucket) > 1:
                    bucket.sort(key=_by_id)
                for k in range(len(bucket)):
                    node = <NodeBase>bucket[k]
                    if _call(node, self, source):
                        node._fired = c
                        top = _enqueue(node._children, buckets, c, top)
                bucket.clear()
            return True
        except Exception as exc:
            for bucket in buckets[rank : top + 1]:
                bucket.clear()
            raise NodeError(
                f"node {node!r} raised {type(exc).__name__}: {exc}", node=node
            ) from exc
        finally:
            self._in_cycle = False
            if self._deferred:
                (<object>self)._run_deferred()


def run_rows(
    NetworkBase network,
    NodeBase signal,
    RowView view,
    object scheduler,
    Py_ssize_t lo,
    Py_ssize_t limit,
):
    """Run rows ``[lo, limit)`` of the view's batch as cycles of ``signal``, setting the
    scheduler's time to each row's; stop after a cycle that scheduled a timer or edited the
    graph. Return the index of the next row. The signal holds the last row's object after."""
    cdef Py_ssize_t j = lo
    cdef long long version = network._version
    pushes = scheduler._pushes
    try:
        while j < limit:
            view.i = j
            signal._value = view
            signal._valid = True
            scheduler._now = view.ts[j]
            j += 1
            network.activate(signal)
            if scheduler._pushes != pushes or network._version != version:
                break
    finally:
        if signal._value is view:
            signal._value = view.materialize()
    return j
