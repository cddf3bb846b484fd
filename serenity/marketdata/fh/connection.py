"""The async shell around a sans-I/O feed: one websocket, kept open whatever happens.

:class:`WebsocketConnection` owns the socket and nothing else: it connects, sends the
session's subscription frames, hands every frame to the session with its receive time,
sends the session's application-level pings and any frame it is asked to :meth:`send
<WebsocketConnection.send>` (e.g. a resubscription), closes a stalled connection, and
reconnects with exponential backoff and jitter, resubscribing each time. Everything venue-specific
(parsing, sequence checks, book sync, journalling) lives in the :class:`FeedSession`.

The backoff restarts from its first delay as soon as a connection proves healthy: once the
session reports itself synced (subscribed, delivering data, books in sync) after a frame.
So a venue that drops connections every few seconds costs a short pause each time, not
delays that grow to the cap; a connection that never delivers keeps backing off.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import aiohttp

from serenity.errors import ConfigError
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.metrics import FeedMetrics
from serenity.marketdata.fh.state import FeedState

__all__ = ["ConnectionConfig", "FeedSession", "WebsocketConnection"]

log = logging.getLogger(__name__)


class FeedSession(Protocol):
    """A venue's side of a websocket feed, free of I/O.

    The connection calls these on the event loop thread. ``on_frame`` must not raise on bad
    input: a malformed frame is the session's to journal, count and log.
    """

    def subscriptions(self) -> list[str]:
        """Return the frames to send after each (re)connect, in order."""
        ...

    def on_connected(self, ts: int) -> None:
        """Note a new connection at ``ts`` (int ns), after the subscriptions were sent."""
        ...

    def on_frame(self, data: str | bytes, ts_recv: int) -> None:
        """Take one frame received at ``ts_recv`` (int ns)."""
        ...

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Note the connection was lost at ``ts``: e.g. record a reconnect, request resyncs."""
        ...

    def ping_frame(self) -> str | None:
        """Return an application-level ping to send every heartbeat, or None for none."""
        ...

    def is_synced(self) -> bool:
        """Return True when the session delivers data and every book is in sync.

        The feed is then LIVE, else SYNCING; the first True on a connection restarts the
        reconnect backoff.
        """
        ...


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectionConfig:
    """How to keep one websocket open.

    Parameters
    ----------
    venue
        Venue code, for logs and metrics.
    url
        The websocket URL (``wss://...``, or ``ws://127.0.0.1:...`` in tests).
    heartbeat_s
        Interval of websocket pings (a missing pong closes the connection) and of the
        session's application-level pings.
    stall_timeout_s
        A connection that delivers no frame for this long is closed and reopened.
    connect_timeout_s
        Longest wait to open the connection.
    backoff_reset_s
        A connection that lived this long restarts the backoff from its first delay (as
        does the first frame after which the session is synced).
    max_frame_bytes
        Largest frame accepted.
    close_timeout_s
        Longest wait for the server to answer our close frame.

    Raises
    ------
    ConfigError
        For a URL that is not ``ws://`` or ``wss://``, or a timeout that is not > 0.
    """

    venue: str
    url: str
    heartbeat_s: float = 10.0
    stall_timeout_s: float = 30.0
    connect_timeout_s: float = 10.0
    backoff_reset_s: float = 30.0
    max_frame_bytes: int = 16 * 1024 * 1024
    close_timeout_s: float = 1.0

    def __post_init__(self) -> None:
        if not self.url.startswith(("ws://", "wss://")):
            raise ConfigError(
                f"{self.venue}: websocket url must start with ws:// or wss://, was {self.url!r}"
            )
        for name in ("heartbeat_s", "stall_timeout_s", "connect_timeout_s", "close_timeout_s"):
            value = getattr(self, name)
            if not value > 0:
                raise ConfigError(f"{self.venue}: {name} must be > 0, was {value!r}")


class WebsocketConnection:
    """Keep a websocket open for a :class:`FeedSession` until :meth:`stop`.

    The constructor opens nothing; ``await connection.run()`` connects and returns after
    :meth:`stop` (state STOPPED). Run it in a task owned by a ``TaskGroup``.

    Parameters
    ----------
    config
        URL, timeouts and heartbeat.
    session
        The venue's sans-I/O side.
    backoff
        Reconnect delays; a default :class:`Backoff` when omitted.
    metrics
        Where to count messages and reconnects and publish the state.
    on_state
        Called with each new state (e.g. to update a tau signal).
    """

    def __init__(
        self,
        config: ConnectionConfig,
        session: FeedSession,
        *,
        backoff: Backoff | None = None,
        metrics: FeedMetrics | None = None,
        on_state: Callable[[FeedState], object] | None = None,
    ) -> None:
        self.config = config
        self.session = session
        self.backoff = backoff if backoff is not None else Backoff()
        self.metrics = metrics
        self._state_listeners: list[Callable[[FeedState], object]] = (
            [on_state] if on_state is not None else []
        )
        self.state = FeedState.INITIALIZING
        self.connects = 0
        self.frames = 0
        self._stop: asyncio.Event | None = None
        self._stop_requested = False
        self._closed_by = ""
        self._outbox: asyncio.Queue[str] | None = None  # while a connection is open

    def add_state_listener(self, listener: Callable[[FeedState], object]) -> None:
        """Also call ``listener`` with each new state (e.g. a live market-data service)."""
        self._state_listeners.append(listener)

    def send(self, frame: str) -> bool:
        """Send ``frame`` on the open connection, after the frames already queued.

        For requests a session makes mid-connection (e.g. a resubscription); call on the
        loop thread. Frames are sent in order by a task of the connection.

        Returns
        -------
        bool
            False when no connection is open: the frame is dropped (a new connection starts
            from :meth:`FeedSession.subscriptions` again).
        """
        outbox = self._outbox
        if outbox is None:
            return False
        outbox.put_nowait(frame)
        return True

    def stop(self) -> None:
        """Ask :meth:`run` to close the connection and return; call on the loop thread."""
        self._stop_requested = True
        if self._stop is not None:
            self._stop.set()

    async def run(self) -> None:
        """Connect, pump frames and reconnect until :meth:`stop`."""
        self._stop = asyncio.Event()
        if self._stop_requested:
            self._stop.set()
        venue = self.config.venue
        try:
            async with aiohttp.ClientSession() as http:
                while not self._stop.is_set():
                    self._set_state(FeedState.CONNECTING)
                    opened = time.monotonic()
                    reason = await self._connect_once(http)
                    if self._stop.is_set():
                        break
                    now = time.time_ns()
                    self.session.on_disconnected(now, reason)
                    self._set_state(FeedState.CONNECTING)  # not live while backing off
                    if self.metrics is not None:
                        self.metrics.reconnects.labels(venue=venue).inc()
                    if time.monotonic() - opened >= self.config.backoff_reset_s:
                        self.backoff.reset()
                    delay = self.backoff.next_delay()
                    log.warning(
                        "fh.reconnect",
                        extra={"venue": venue, "reason": reason, "delay_s": round(delay, 3)},
                    )
                    try:
                        async with asyncio.timeout(delay):
                            await self._stop.wait()
                    except TimeoutError:
                        pass
        finally:
            self._set_state(FeedState.STOPPED)

    async def _connect_once(self, http: aiohttp.ClientSession) -> str:
        config = self.config
        try:
            async with asyncio.timeout(config.connect_timeout_s):
                ws = await http.ws_connect(
                    config.url,
                    heartbeat=config.heartbeat_s,
                    max_msg_size=config.max_frame_bytes,
                    timeout=aiohttp.ClientWSTimeout(ws_close=config.close_timeout_s),
                )
        except TimeoutError:
            return "connect timeout"
        except (aiohttp.ClientError, OSError) as exc:
            return f"connect failed: {type(exc).__name__}: {exc}"
        async with ws:
            self.connects += 1
            try:
                for frame in self.session.subscriptions():
                    await ws.send_str(frame)
            except (aiohttp.ClientError, OSError) as exc:
                return f"subscribe failed: {exc}"
            self.session.on_connected(time.time_ns())
            self._set_state(FeedState.LIVE if self.session.is_synced() else FeedState.SYNCING)
            log.info("fh.connected", extra={"venue": config.venue, "url": config.url})
            self._closed_by = ""
            outbox: asyncio.Queue[str] = asyncio.Queue()
            self._outbox = outbox
            try:
                async with asyncio.TaskGroup() as tg:
                    watchdog = tg.create_task(self._watch(ws))
                    pinger = tg.create_task(self._ping(ws))
                    sender = tg.create_task(self._send_queued(ws, outbox))
                    try:
                        reason = await self._pump(ws)
                    finally:
                        watchdog.cancel()
                        pinger.cancel()
                        sender.cancel()
            finally:
                self._outbox = None  # frames still queued were for this connection only
            return self._closed_by or reason

    async def _pump(self, ws: aiohttp.ClientWebSocketResponse) -> str:
        session = self.session
        on_frame = session.on_frame
        counter = self.metrics.messages.labels(venue=self.config.venue) if self.metrics else None
        text, binary = aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY
        is_synced = session.is_synced
        live = self.state is FeedState.LIVE
        healthy = False  # whether this connection has been synced after a frame yet
        async for msg in ws:
            if msg.type is text or msg.type is binary:
                self.frames += 1
                on_frame(msg.data, time.time_ns())
                if counter is not None:
                    counter.inc()
                if is_synced() is not live:
                    live = not live
                    self._set_state(FeedState.LIVE if live else FeedState.SYNCING)
                if live and not healthy:
                    healthy = True
                    self.backoff.reset()
            elif msg.type is aiohttp.WSMsgType.ERROR:
                return f"error: {ws.exception()}"
        code = ws.close_code
        return f"closed (code {code})" if code is not None else "closed"

    async def _watch(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        """Close the socket on a stall or on stop, noting why in ``_closed_by``."""
        assert self._stop is not None  # run() sets it before connecting
        stall = self.config.stall_timeout_s
        seen, last = self.frames, time.monotonic()
        while not ws.closed:
            try:
                async with asyncio.timeout(min(stall / 4, 1.0)):
                    await self._stop.wait()
            except TimeoutError:
                pass
            if self._stop.is_set():
                self._closed_by = "stopped"
                await ws.close()
                return
            now = time.monotonic()
            if self.frames != seen:
                seen, last = self.frames, now
            elif now - last >= stall:
                log.warning("fh.stall", extra={"venue": self.config.venue, "silent_s": stall})
                self._closed_by = f"stalled: no frame for {stall:g} s"
                await ws.close()
                return

    async def _ping(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        frame = self.session.ping_frame()
        if frame is None:
            return
        while not ws.closed:
            await asyncio.sleep(self.config.heartbeat_s)
            try:
                await ws.send_str(frame)
            except (aiohttp.ClientError, OSError):
                return

    async def _send_queued(
        self, ws: aiohttp.ClientWebSocketResponse, outbox: asyncio.Queue[str]
    ) -> None:
        while not ws.closed:
            frame = await outbox.get()
            try:
                await ws.send_str(frame)
            except (aiohttp.ClientError, OSError):
                return  # the pump sees the connection end

    def _set_state(self, state: FeedState) -> None:
        if state is self.state:
            return
        self.state = state
        log.info("fh.state", extra={"venue": self.config.venue, "state": state.value})
        if self.metrics is not None:
            self.metrics.set_state(self.config.venue, state)
        for listener in self._state_listeners:
            listener(state)
