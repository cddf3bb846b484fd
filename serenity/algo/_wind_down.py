"""Stopping a paper or live run: the strategies stop, the working orders are cancelled and
their cancels awaited, and the outputs get the last P&L.

:class:`~serenity.algo.LiveRun` is asked to stop by a signal (:func:`stop_on_signals`), its
duration or a call; it winds down through :func:`wind_down`, and falls back on
:func:`stop_strategies` alone when the run fails or is cancelled before that finished, so
the cancels go out in every case.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final

from serenity.algo.engine import AlgoEngine
from serenity.analytics import RunWriter
from serenity.model import OrderStatus
from serenity.tau.event import Do

log = logging.getLogger(__name__)

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


@dataclass(frozen=True, slots=True)
class WindDown:
    """What stopping a run did.

    Attributes
    ----------
    cancelled
        Orders working when the run stopped that ended cancelled.
    stop_failed
        Whether a strategy's ``stop`` raised (logged; the cancels went out all the same).
    """

    cancelled: int
    stop_failed: bool


def stop_strategies(engine: AlgoEngine) -> None:
    """Stop the strategies (before they started: the P&L sampling) and, with the config's
    ``cancel_on_stop``, cancel the working orders, also when a strategy's ``stop`` raised."""
    try:
        if engine.started:
            engine.stop()
        else:
            engine.pnl.stop()
    finally:
        if engine.config.cancel_on_stop:
            engine.oms.cancel_all()  # also when a strategy's stop raised


async def wind_down(engine: AlgoEngine, writer: RunWriter, *, cancel_timeout_s: float) -> WindDown:
    """Stop the strategies, wait up to ``cancel_timeout_s`` for the cancels of the working
    orders, and write the last P&L and the outputs."""
    oms = engine.oms
    working = [o.order_id for o in oms.working_orders()]
    stop_failed = False
    try:
        stop_strategies(engine)
    except Exception:
        # A strategy's stop() failed: the cancels went out all the same; finish the run.
        stop_failed = True
        log.exception("algo.stop_failed", extra={"strategy": engine.config.name})
    if engine.config.cancel_on_stop and oms.working_orders():
        await until_no_working_orders(engine, cancel_timeout_s)
    cancelled = sum(
        1
        for order_id in working
        if (o := oms.get(order_id)) is not None and o.status is OrderStatus.CANCELED
    )
    engine.final_snapshot()
    writer.flush()
    return WindDown(cancelled=cancelled, stop_failed=stop_failed)


async def until_no_working_orders(engine: AlgoEngine, timeout_s: float) -> None:
    """Return once no order works, or after ``timeout_s`` (logging the orders left)."""
    oms = engine.oms
    idle = asyncio.Event()

    def check() -> None:
        if not oms.working_orders():
            idle.set()

    Do(engine.scheduler.network, oms.order_events, check, name="algo:until-idle")
    check()
    try:
        async with asyncio.timeout(timeout_s):
            await idle.wait()
    except TimeoutError:
        log.warning(
            "algo.cancel.timeout",
            extra={
                "seconds": timeout_s,
                "working": ",".join(o.cl_ord_id for o in oms.working_orders()),
            },
        )


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None], *, enabled: bool = True) -> Iterator[None]:
    """Call ``stop`` on SIGINT or SIGTERM while in the block, from the running loop.

    Signals are left alone when not ``enabled`` and off the main thread (where a loop
    cannot take them).
    """
    loop = asyncio.get_running_loop()
    installed = enabled and threading.current_thread() is threading.main_thread()
    if installed:
        for sig in _SIGNALS:
            loop.add_signal_handler(sig, _on_signal, stop, sig)
    try:
        yield
    finally:
        if installed:
            for sig in _SIGNALS:
                loop.remove_signal_handler(sig)


def _on_signal(stop: Callable[[], None], sig: signal.Signals) -> None:
    log.info("algo.signal", extra={"signal": sig.name})
    stop()
