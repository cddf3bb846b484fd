"""A venue's private stream: the sans-I/O :class:`PrivateStream` protocol, the entries
(:data:`StreamItem`) its parser yields, and :class:`StreamRunner`, which keeps it open.

The runner drives a :class:`~serenity.marketdata.fh.connection.WebsocketConnection` (backoff
and jitter, stall detection, pings) with the venue's frames, reads every frame with the
venue's parser and hands each entry over on its own, so one bad entry loses no other. It
owns the stream's state (subscribed or not, when it was lost) and tells its owner, the
connector, when the stream is ready (reconcile now), what entries came, and when the venue
refused the credentials.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Protocol

from serenity.errors import AuthError, DataError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenuePosition
from serenity.marketdata.fh.backoff import Backoff
from serenity.marketdata.fh.connection import ConnectionConfig, WebsocketConnection
from serenity.marketdata.fh.state import FeedState
from serenity.trading.connector.settings import ConnectorSettings

__all__ = [
    "PrivateStream",
    "StreamFailure",
    "StreamItem",
    "StreamOwner",
    "StreamReady",
    "StreamRestart",
    "StreamRunner",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StreamReady:
    """The private stream is authenticated and subscribed: events flow from now on."""


@dataclass(frozen=True, slots=True)
class StreamRestart:
    """The venue ended the subscription or is closing the connection: reconnect now."""

    reason: str


@dataclass(frozen=True, slots=True)
class StreamFailure:
    """The private stream refused us; ``is_auth`` when it refused the credentials."""

    text: str
    is_auth: bool = False


StreamItem = (
    OrderUpdate | VenueBalance | VenuePosition | StreamReady | StreamRestart | StreamFailure
)
"""One entry of a private-stream message, as a venue's :class:`PrivateStream` reads it."""


class PrivateStream(Protocol):
    """A venue's private websocket, free of I/O: what to send and how to read what comes."""

    def subscriptions(self) -> list[str]:
        """Return the frames to send after each (re)connect: authentication and
        subscription, signed now."""
        ...

    def ping_frame(self) -> str | None:
        """Return an application-level ping sent every heartbeat (its answer keeps the
        quiet stream from looking stalled), or None."""
        ...

    def parse(self, data: str | bytes) -> list[StreamItem]:
        """Return the entries of one frame (none for a frame of no interest).

        Raises
        ------
        DataError
            When the frame cannot be read at all.
        """
        ...


class StreamOwner(Protocol):
    """What a :class:`StreamRunner` tells its connector."""

    def on_stream_entry(self, entry: OrderUpdate | VenueBalance | VenuePosition) -> None:
        """Take an order update, a balance or a position from the stream."""
        ...

    def on_stream_ready(self) -> None:
        """The stream is subscribed: events flow from now on (reconcile now)."""
        ...

    def on_stream_failed(self, error: AuthError) -> None:
        """The venue refused the credentials on the stream."""
        ...


class StreamRunner:
    """Keep one venue's private stream open for its connector (see the module docstring).

    The constructor opens nothing; ``await runner.run()`` connects and returns after
    :meth:`stop`.

    Attributes
    ----------
    ready
        Whether the stream is subscribed now.
    lost_ns
        When a subscribed stream was last lost (None once the owner took note: see
        :meth:`take_lost_ns`).
    connects
        Connections opened.
    state
        The connection's state.
    """

    def __init__(
        self,
        owner: StreamOwner,
        stream: PrivateStream,
        *,
        venue: str,
        url: str,
        settings: ConnectorSettings,
    ) -> None:
        self.owner = owner
        self.stream = stream
        self.venue = venue
        self.url = url
        self.settings = settings
        self.ready = False
        self.lost_ns: int | None = None
        self.connects = 0
        self.state = FeedState.INITIALIZING
        self._connection: WebsocketConnection | None = None
        self._restart = False
        self._stopped = False

    async def run(self) -> None:
        """Keep the stream open; open a new connection when the venue asks for one."""
        while not self._stopped:
            self._restart = False
            self._connection = self._connect()
            await self._connection.run()
            if not self._restart:
                break
            self.on_disconnected(time.time_ns(), "the venue ended the stream")
        self.state = FeedState.STOPPED

    def stop(self) -> None:
        """Close the stream; call on the loop thread."""
        self._stopped = True
        if self._connection is not None:
            self._connection.stop()

    def take_lost_ns(self) -> int | None:
        """Return when the stream was lost (None if it was not) and forget it."""
        lost, self.lost_ns = self.lost_ns, None
        return lost

    def _connect(self) -> WebsocketConnection:
        settings = self.settings
        config = ConnectionConfig(
            venue=f"{self.venue}-private",  # its logs are told from the feed's
            url=self.url,
            heartbeat_s=settings.heartbeat_s,
            stall_timeout_s=settings.stall_timeout_s,
            connect_timeout_s=settings.connect_timeout_s,
        )
        backoff = Backoff(initial_s=settings.backoff_initial_s, max_s=settings.backoff_max_s)
        return WebsocketConnection(config, self, backoff=backoff, on_state=self._on_state)

    def _on_state(self, state: FeedState) -> None:
        self.state = state

    # -- the connection's session (FeedSession) ------------------------------------------------

    def subscriptions(self) -> list[str]:
        """Return the venue's authentication and subscription frames, signed now."""
        self.ready = False
        return self.stream.subscriptions()

    def on_connected(self, ts: int) -> None:
        """Count the connection."""
        self.connects += 1

    def on_disconnected(self, ts: int, reason: str) -> None:
        """Note when a subscribed stream was lost."""
        if self.ready and self.lost_ns is None:
            self.lost_ns = ts
        self.ready = False
        log.warning("connector.stream_lost", extra={"venue": self.venue, "reason": reason})

    def ping_frame(self) -> str | None:
        """Return the venue's ping."""
        return self.stream.ping_frame()

    def is_synced(self) -> bool:
        """Return True while the stream is subscribed."""
        return self.ready

    def on_frame(self, data: str | bytes, ts_recv: int) -> None:
        """Read a frame and hand over each of its entries on its own."""
        try:
            items = self.stream.parse(data)
        except DataError as exc:
            log.warning(
                "connector.stream_unreadable", extra={"venue": self.venue, "error": str(exc)}
            )
            return
        for item in items:
            try:
                self._take(item)
            except Exception:  # one bad entry must not lose the others
                log.exception("connector.stream_entry_failed", extra={"venue": self.venue})

    def _take(self, item: StreamItem) -> None:
        if isinstance(item, StreamReady):
            self.ready = True
            log.info("connector.stream_ready", extra={"venue": self.venue})
            self.owner.on_stream_ready()
        elif isinstance(item, StreamRestart):
            log.warning(
                "connector.stream_restart", extra={"venue": self.venue, "reason": item.reason}
            )
            self.ready = False
            self._restart = True
            if self._connection is not None:
                self._connection.stop()
        elif isinstance(item, StreamFailure):
            if item.is_auth:
                self.owner.on_stream_failed(
                    AuthError(f"{self.venue}: the private stream refused our API key: {item.text}")
                )
            else:
                log.warning(
                    "connector.stream_error", extra={"venue": self.venue, "text": item.text}
                )
        else:
            self.owner.on_stream_entry(item)
