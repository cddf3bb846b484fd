"""Events, signals and the glitch-free network that propagates their activations."""

from __future__ import annotations

import importlib
import itertools
import os
from collections import deque
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from serenity.errors import InvalidValueError, NodeError

__all__ = ["NATIVE", "Emitter", "Event", "MutableSignal", "Network", "Signal"]

T = TypeVar("T")

_NEVER = -1


def compiled_module(name: str) -> ModuleType | None:
    """Return the compiled extension module ``name`` (such as ``serenity.tau._native``), or
    None when it was not built or ``SERENITY_PURE_PYTHON`` is set: then the caller runs its
    pure-Python definitions."""
    if os.environ.get("SERENITY_PURE_PYTHON", "").strip().lower() in {"1", "true", "yes"}:
        return None
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


_native = compiled_module("serenity.tau._native")

NATIVE = _native is not None
"""True when the compiled core runs (the node and network bases, the cycle, the per-event
replay loop and the compiled fast paths); False for the pure-Python fallback."""

if TYPE_CHECKING:
    _NodeBase = object
    _NetworkBase = object
else:
    _NodeBase = object if _native is None else _native.NodeBase
    _NetworkBase = object if _native is None else _native.NetworkBase


class Event(_NodeBase):
    """A node of a :class:`Network` that can be activated.

    Subclasses override :meth:`on_activate`; returning False stops propagation to the
    event's children for this cycle. An event belongs to at most one network, which it
    joins when first connected or activated.
    """

    # With the compiled core these fields (and Signal's) are the C layout of NodeBase.
    __slots__ = (
        ()
        if _native is not None
        else ("_children", "_fired", "_id", "_network", "_queued", "_rank", "name")
    )

    def __init__(self, *, name: str | None = None) -> None:
        self._rank = 0
        self._children: list[Event] = []
        self._network: Network | None = None
        self._queued = _NEVER
        self._fired = _NEVER
        self._id = 0
        self.name = name

    if TYPE_CHECKING or _native is None:  # compiled: NodeBase's, known to the C cycle

        def on_activate(self) -> bool:
            """Evaluate the event for the current cycle; return False to stop propagation."""
            return True

    @property
    def rank(self) -> int:
        """Return the node's topological rank: one more than its highest-ranked parent."""
        return self._rank

    def __repr__(self) -> str:
        label = self.name or type(self).__name__
        return f"<{label}#{self._id}>"


class Signal(Event, Generic[T]):
    """An event that carries a value: the last one it computed or was given.

    ``get_value()`` returns None until the signal first has a value; ``is_valid()`` says
    whether it has one.
    """

    __slots__ = () if _native is not None else ("_valid", "_value")

    def __init__(self, *, name: str | None = None) -> None:
        super().__init__(name=name)
        self._value: Any = None
        self._valid = False

    def get_value(self) -> T:
        """Return the current value (None before the first one)."""
        return self._value  # type: ignore[no-any-return]  # _value is Any to allow None before valid

    def is_valid(self) -> bool:
        """Return True once the signal holds a value."""
        return self._valid

    @property
    def value(self) -> T:
        """The current value; the same as :meth:`get_value`."""
        return self._value  # type: ignore[no-any-return]  # see get_value

    def _update(self, value: T) -> None:
        self._value = value
        self._valid = True


class MutableSignal(Signal[T]):
    """A source signal whose value is set from outside the network.

    Set it through a scheduler (``scheduler.schedule_update(signal, value)``) so that the
    change propagates; :meth:`set_value` alone changes the value without a cycle.

    Parameters
    ----------
    value
        An initial value; when given, the signal is valid from the start.
    """

    __slots__ = ()

    def __init__(self, value: T | None = None, *, name: str | None = None) -> None:
        super().__init__(name=name)
        if value is not None:
            self._update(value)

    def set_value(self, value: T) -> None:
        """Set the value without propagating it."""
        self._value = value
        self._valid = True


class Emitter(MutableSignal[T]):
    """A source signal for events raised by code, each propagated in a cycle of its own.

    :meth:`emit` outside a cycle propagates at once. Inside a cycle (a node emitting), the
    value is queued and propagated in its own cycle right after the current one, so two
    emits in one cycle are two cycles, in emit order, and neither value is lost.

    Parameters
    ----------
    network
        The network the signal joins.
    """

    __slots__ = ()

    def __init__(self, network: Network, *, name: str | None = None) -> None:
        super().__init__(name=name)
        network.attach(self)

    def emit(self, value: T) -> None:
        """Set the value and propagate it, after the current cycle if one is running."""
        network = self._network
        assert network is not None  # attached in __init__
        if network._in_cycle:
            network._deferred.append(lambda: self._publish(value))
        else:
            self._publish(value)

    def _publish(self, value: T) -> None:
        self._update(value)
        network = self._network
        assert network is not None
        network.activate(self)


def _node_id(node: Event) -> int:
    return node._id


class Network(_NetworkBase):
    """A dependency graph of events, evaluated in topological rank order.

    ``activate(event)`` runs one *cycle*: every node reachable from ``event`` is evaluated at
    most once, after all of its parents that activated in the cycle, so a node never sees a
    mix of old and new parent values. Graph edits and activations requested during a cycle
    take effect after it.
    """

    def __init__(self) -> None:
        self._cycle = 0
        self._version = 0  # bumped by every graph edit; schedulers cache graph facts by it
        self._in_cycle = False
        self._draining = False
        self._deferred: deque[Callable[[], object]] = deque()
        self._ids = itertools.count(1)
        self._size = 0
        self._buckets: list[list[Event]] = [[]]  # the worklist of a cycle, one list per rank

    # -- graph ---------------------------------------------------------------------------

    def attach(self, node: Event) -> None:
        """Make ``node`` a member of this network (connecting does this implicitly).

        Raises
        ------
        InvalidValueError
            When ``node`` already belongs to another network.
        """
        owner = node._network
        if owner is self:
            return
        if owner is not None:
            raise InvalidValueError(f"{node!r} already belongs to another network")
        node._network = self
        node._id = next(self._ids)
        self._size += 1

    def connect(self, parent: Event, child: Event) -> None:
        """Add the edge ``parent -> child``; during a cycle, after the cycle.

        Raises
        ------
        InvalidValueError
            When the edge would close a cycle or a node belongs to another network.
        """
        if self._in_cycle:
            self._deferred.append(lambda: self.connect(parent, child))
            return
        self.attach(parent)
        self.attach(child)
        if child in parent._children:
            return
        if parent is child or self._reaches(child, parent):
            raise InvalidValueError(
                f"connecting {parent!r} -> {child!r} would create a cycle; "
                "use tau.signal.Pipe to feed a value back"
            )
        parent._children.append(child)
        self._raise_rank(child, parent._rank + 1)
        self._version += 1

    def disconnect(self, parent: Event, child: Event) -> None:
        """Remove the edge ``parent -> child`` if present; during a cycle, after the cycle."""
        if self._in_cycle:
            self._deferred.append(lambda: self.disconnect(parent, child))
            return
        if child in parent._children:
            parent._children.remove(child)
            self._version += 1

    def children(self, node: Event) -> tuple[Event, ...]:
        """Return the nodes ``node`` propagates to."""
        return tuple(node._children)

    def __len__(self) -> int:
        return self._size

    @staticmethod
    def _reaches(start: Event, target: Event) -> bool:
        stack, seen = [start], {id(start)}
        while stack:
            for nxt in stack.pop()._children:
                if nxt is target:
                    return True
                if id(nxt) not in seen:
                    seen.add(id(nxt))
                    stack.append(nxt)
        return False

    def _raise_rank(self, node: Event, rank: int) -> None:
        stack = [(node, rank)]
        buckets = self._buckets
        while stack:
            n, r = stack.pop()
            if n._rank >= r:
                continue
            n._rank = r
            while len(buckets) <= r:
                buckets.append([])
            stack.extend((c, r + 1) for c in n._children)

    # -- evaluation ----------------------------------------------------------------------

    @property
    def cycle(self) -> int:
        """Return the number of the current (or last) cycle."""
        return self._cycle

    def has_activated(self, node: Event) -> bool:
        """Return True if ``node`` activated (and propagated) in the current cycle."""
        return node._fired == self._cycle

    def in_cycle(self) -> bool:
        """Return True while a cycle is being evaluated."""
        return self._in_cycle

    if TYPE_CHECKING or _native is None:  # compiled: NetworkBase.activate, the same cycle in C

        def activate(self, source: Event) -> bool:
            """Run one cycle starting at ``source``; return whether ``source`` propagated.

            Called from inside a cycle (by a node), the activation is queued and runs as its own
            cycle right after the current one; the call then returns False.

            Raises
            ------
            NodeError
                When a node raises; the cycle is abandoned and the cause chained.
            """
            if self._in_cycle:
                self._deferred.append(lambda: self.activate(source))
                return False
            if source._network is not self:
                self.attach(source)
            self._cycle = c = self._cycle + 1
            self._in_cycle = True
            node = source
            # A worklist by rank: a node is queued in its rank's bucket when a parent fires, and
            # the buckets are visited in rank order, so every node runs once, after all of its
            # parents that activated in the cycle, and only queued nodes are visited.
            buckets = self._buckets
            rank = top = source._rank
            try:
                if not source.on_activate():
                    return False
                source._fired = c
                kids = source._children
                # A chain of only children runs directly: every node reachable from the source
                # is reachable through the chain, so no other parent of a link can fire first.
                while len(kids) == 1:
                    node = kids[0]
                    node._queued = c
                    if not node.on_activate():
                        return True
                    node._fired = c
                    kids = node._children
                    rank = top = node._rank
                for kid in kids:
                    if kid._queued != c:
                        kid._queued = c
                        r = kid._rank
                        buckets[r].append(kid)
                        if r > top:
                            top = r
                while rank < top:
                    rank += 1
                    bucket = buckets[rank]
                    if not bucket:
                        continue
                    if len(bucket) > 1:
                        bucket.sort(key=_node_id)
                    for node in bucket:
                        if node.on_activate():
                            node._fired = c
                            for kid in node._children:
                                if kid._queued != c:
                                    kid._queued = c
                                    r = kid._rank
                                    buckets[r].append(kid)
                                    if r > top:
                                        top = r
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
                    self._run_deferred()

    def _run_deferred(self) -> None:
        # Runs the edits and activations requested during cycles, in order. Activations it
        # starts leave their own requests to this loop (the _draining flag), so a chain of
        # requests runs iteratively instead of nesting one call deeper per cycle.
        if self._draining:
            return
        self._draining = True
        try:
            while self._deferred:
                action = self._deferred.popleft()
                action()
        finally:
            self._draining = False
