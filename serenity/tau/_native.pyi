# Types of the compiled core (serenity/tau/_native.pyx), for type checkers.
from typing import Any

class FastPath: ...

class NodeBase:
    _children: list[Any]
    _fired: int
    _queued: int
    _rank: int
    _id: int
    _network: Any
    name: str | None
    _value: Any
    _valid: bool
    _fast: FastPath | None
    @property
    def _plain(self) -> bool: ...
    def on_activate(self) -> bool: ...

class NetworkBase:
    _cycle: int
    _version: int
    _in_cycle: bool
    _draining: bool
    _deferred: Any
    _buckets: list[list[Any]]
    _size: int
    _ids: Any
    def activate(self, source: NodeBase) -> bool: ...

class RowView:
    i: int
    batch: Any
    def bind(self, batch: Any, ts: Any, price: Any, qty: Any) -> None: ...
    def materialize(self) -> Any: ...

def run_rows(
    network: NetworkBase,
    signal: NodeBase,
    view: RowView,
    scheduler: Any,
    lo: int,
    limit: int,
) -> int: ...
