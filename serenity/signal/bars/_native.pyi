# Types of the compiled open bar (serenity/signal/bars/_native.pyx), for type checkers.
from collections import deque
from typing import Any

from serenity.tau._native import FastPath

class OpenBar(FastPath):
    open: float
    high: float
    low: float
    close: float
    volume: float
    notional: float
    count: int
    first_ts: int
    last_ts: int
    end: int
    closed_until: int
    pending: deque[Any]
    trades: Any
    def __init__(self, trades: Any, pending: deque[Any]) -> None: ...
