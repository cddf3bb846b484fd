"""Poll a condition against a deadline: the one way tests wait (never a bare sleep)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


async def until(
    predicate: Callable[[], object], timeout_s: float = 10.0, *, what: str = "the condition"
) -> None:
    """Return once ``predicate()`` holds; fail the test after ``timeout_s`` seconds."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        await asyncio.sleep(0.005)
