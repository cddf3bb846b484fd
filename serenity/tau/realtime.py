"""Wall-clock scheduler: every activation and timer runs on one asyncio loop thread."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from serenity.tau._time import NS_PER_S, Instant, to_instant_ns
from serenity.tau.core import MutableSignal, Network
from serenity.tau.scheduler import NetworkScheduler, TimerHandle

__all__ = ["RealtimeNetworkScheduler"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class RealtimeNetworkScheduler(NetworkScheduler):
    """Run a network in wall-clock time on the running asyncio loop.

    ``await scheduler.run()`` binds the scheduler to the current loop and runs until
    :meth:`shutdown`. Actions scheduled before ``run`` wait for it. Other threads may call
    ``schedule*`` and :meth:`shutdown` safely: their requests are handed to the loop thread.
    A node that raises is logged and counted (:attr:`error_count`) and its cycle abandoned;
    the loop goes on.

    Parameters
    ----------
    network
        A network to share; by default the scheduler creates its own.
    """

    def __init__(self, network: Network | None = None) -> None:
        super().__init__(network)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread_id: int | None = None
        self._pending: list[TimerHandle] = []
        self._lock = threading.Lock()
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self.error_count = 0
        self.last_error: BaseException | None = None

    def get_time(self) -> int:
        """Return the wall-clock time in ns since the epoch, UTC."""
        return time.time_ns()

    def schedule_at(self, action: Callable[[], object], t: Instant) -> TimerHandle:
        """Run ``action`` on the loop thread at instant ``t`` (at once if ``t`` has passed)."""
        handle = TimerHandle(action, to_instant_ns(t))
        with self._lock:
            loop = self._loop
            if loop is None:
                self._pending.append(handle)
                return handle
        if threading.get_ident() == self._thread_id:
            self._arm(handle)
        else:
            loop.call_soon_threadsafe(self._arm, handle)
        return handle

    def publish(self, signal: MutableSignal[T], value: T) -> None:
        """Set ``signal`` and propagate at once when called on the loop thread during
        :meth:`run` (a live feed's path); otherwise the same as :meth:`schedule_update`.

        A node that raises is logged and counted, as for scheduled work.
        """
        if self._thread_id is None or threading.get_ident() != self._thread_id:
            self.schedule_update(signal, lambda: value)
            return
        signal._update(value)
        try:
            self.network.activate(signal)
        except Exception as exc:
            self._count_error(exc)

    def is_running(self) -> bool:
        """Return True while :meth:`run` is active."""
        return self._loop is not None

    async def run(self) -> None:
        """Run scheduled work on the current loop until :meth:`shutdown`, then the end hooks."""
        loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        with self._lock:
            self._loop = loop
            self._thread_id = threading.get_ident()
            pending, self._pending = self._pending, []
            if self._stop_requested:
                self._stop.set()
        self._run_start_hooks()
        for handle in pending:
            self._arm(handle)
        log.info("tau.realtime.started")
        try:
            await self._stop.wait()
        finally:
            with self._lock:
                self._loop = None
                self._thread_id = None
            self._run_end_hooks()
            log.info("tau.realtime.stopped", extra={"errors": self.error_count})

    def shutdown(self) -> None:
        """Stop :meth:`run`; safe from any thread, and before ``run`` starts."""
        with self._lock:
            self._stop_requested = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            if threading.get_ident() == self._thread_id:
                stop.set()
            else:
                loop.call_soon_threadsafe(stop.set)

    def _arm(self, handle: TimerHandle) -> None:
        if handle.cancelled:
            return
        loop = self._loop
        if loop is None:  # stopped meanwhile
            return
        delay = (handle.time_ns - time.time_ns()) / NS_PER_S
        if delay <= 0:
            handle._native = loop.call_soon(self._fire, handle)
        else:
            handle._native = loop.call_later(delay, self._fire, handle)

    def _fire(self, handle: TimerHandle) -> None:
        if handle.cancelled:
            return
        try:
            handle.action()
        except Exception as exc:
            self._count_error(exc)

    def _count_error(self, exc: Exception) -> None:
        self.error_count += 1
        self.last_error = exc
        log.error("tau.node_error", exc_info=exc, extra={"errors": self.error_count})
