"""The websocket shell against a scripted loopback server: reconnect, stall, ping, stop."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer
from prometheus_client import CollectorRegistry

from serenity.errors import ConfigError
from serenity.marketdata.fh import Backoff, FeedMetrics, FeedState
from serenity.marketdata.fh.connection import ConnectionConfig, WebsocketConnection
from tests.polling import until

Behaviour = Callable[[web.WebSocketResponse, list[str]], Awaitable[None]]


def serve(n: int, then: str) -> Behaviour:
    """Wait for the subscription, send n frames, then close, or keep reading without sending."""

    async def play(ws: web.WebSocketResponse, received: list[str]) -> None:
        first = await ws.receive()
        received.append(first.data)
        for i in range(n):
            await ws.send_str(f"frame-{i}")
        if then == "close":
            await ws.close()
            return
        async for msg in ws:  # stay connected: answer pings, record frames, send nothing
            if msg.type is WSMsgType.TEXT:
                received.append(msg.data)

    return play


class ScriptedServer:
    """A loopback websocket server; connection k plays ``script[k]`` (the last one repeats)."""

    def __init__(self, *script: Behaviour) -> None:
        self.script = script
        self.connections: list[list[str]] = []
        app = web.Application()
        app.router.add_get("/ws", self.handle)
        self.server = TestServer(app, host="127.0.0.1")

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        received: list[str] = []
        self.connections.append(received)
        await self.script[min(len(self.connections), len(self.script)) - 1](ws, received)
        return ws

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/ws"


class RecordingSession:
    """A feed session that records what the connection tells it; synced after 'frame-0'."""

    def __init__(self, ping: str | None = None) -> None:
        self.frames: list[str] = []
        self.connected: list[int] = []
        self.disconnects: list[str] = []
        self.ping = ping
        self.synced = False

    def subscriptions(self) -> list[str]:
        return ['{"op": "subscribe"}']

    def on_connected(self, ts: int) -> None:
        self.connected.append(ts)
        self.synced = False

    def on_frame(self, data: str | bytes, ts_recv: int) -> None:
        assert isinstance(data, str) and ts_recv > 0
        self.frames.append(data)
        self.synced = self.synced or data == "frame-0"

    def on_disconnected(self, ts: int, reason: str) -> None:
        self.disconnects.append(reason)

    def ping_frame(self) -> str | None:
        return self.ping

    def is_synced(self) -> bool:
        return self.synced


def fast_backoff() -> Backoff:
    return Backoff(initial_s=0.01, max_s=0.05, jitter=0.5)


async def run_until(connection: WebsocketConnection, predicate: Callable[[], bool]) -> None:
    async with asyncio.TaskGroup() as tg:
        tg.create_task(connection.run())
        try:
            await until(predicate)
        finally:
            connection.stop()


async def test_dropped_connection_reconnects_and_resubscribes() -> None:
    server = ScriptedServer(serve(3, "close"), serve(2, "stay"))
    await server.server.start_server()
    session = RecordingSession()
    states: list[FeedState] = []
    registry = CollectorRegistry()
    connection = WebsocketConnection(
        ConnectionConfig(venue="test", url=server.url),
        session,
        backoff=fast_backoff(),
        metrics=FeedMetrics(registry),
        on_state=states.append,
    )
    try:
        await run_until(connection, lambda: len(session.frames) == 5)
    finally:
        await server.server.close()
    assert session.frames == ["frame-0", "frame-1", "frame-2", "frame-0", "frame-1"]
    assert [c[0] for c in server.connections] == ['{"op": "subscribe"}'] * 2
    assert len(session.connected) == 2 and connection.connects == 2
    assert len(session.disconnects) == 1 and session.disconnects[0].startswith("closed")
    assert states == [
        FeedState.CONNECTING,
        FeedState.SYNCING,
        FeedState.LIVE,
        FeedState.CONNECTING,
        FeedState.SYNCING,
        FeedState.LIVE,
        FeedState.STOPPED,
    ]
    assert registry.get_sample_value("serenity_fh_reconnects_total", {"venue": "test"}) == 1
    assert registry.get_sample_value("serenity_fh_messages_total", {"venue": "test"}) == 5


async def test_a_dropped_connection_is_not_live_while_it_backs_off() -> None:
    server = ScriptedServer(serve(1, "close"), serve(1, "stay"))
    await server.server.start_server()
    session = RecordingSession()
    states: list[FeedState] = []
    connection = WebsocketConnection(
        ConnectionConfig(venue="test", url=server.url),
        session,
        backoff=Backoff(initial_s=30.0, max_s=30.0, jitter=0.0),
        on_state=states.append,
    )
    try:
        # stopped during the 30 s backoff: the state left LIVE when the connection dropped
        await run_until(connection, lambda: bool(session.disconnects))
    finally:
        await server.server.close()
    assert connection.connects == 1
    assert states == [
        FeedState.CONNECTING,
        FeedState.SYNCING,
        FeedState.LIVE,
        FeedState.CONNECTING,
        FeedState.STOPPED,
    ]


async def test_backoff_restarts_when_short_lived_connections_deliver() -> None:
    # issue 9, defect 6: with drops every few seconds the delay used to grow to its cap
    server = ScriptedServer(serve(2, "close"))
    await server.server.start_server()
    session = RecordingSession()
    backoff = Backoff(initial_s=0.01, max_s=60.0, factor=10.0, jitter=0.0)
    config = ConnectionConfig(venue="test", url=server.url, backoff_reset_s=3600)
    connection = WebsocketConnection(config, session, backoff=backoff)
    try:
        async with asyncio.timeout(20):  # 0.01, 0.1, 1, 10, 60 s without the restart
            await run_until(connection, lambda: len(session.disconnects) >= 6)
    finally:
        await server.server.close()
    assert len(session.connected) >= 6 and backoff.attempts <= 1


async def test_connections_that_never_deliver_keep_backing_off() -> None:
    server = ScriptedServer(serve(0, "close"))  # subscribes, then closes without data
    await server.server.start_server()
    session = RecordingSession()
    backoff = Backoff(initial_s=0.001, max_s=0.01, factor=2.0, jitter=0.0)
    config = ConnectionConfig(venue="test", url=server.url, backoff_reset_s=3600)
    connection = WebsocketConnection(config, session, backoff=backoff)
    try:
        await run_until(connection, lambda: len(session.disconnects) >= 6)
    finally:
        await server.server.close()
    assert backoff.attempts >= 6


async def test_stalled_connection_is_closed_and_reopened() -> None:
    server = ScriptedServer(serve(1, "stay"))
    await server.server.start_server()
    session = RecordingSession()
    config = ConnectionConfig(venue="test", url=server.url, stall_timeout_s=0.2, heartbeat_s=5)
    connection = WebsocketConnection(config, session, backoff=fast_backoff())
    try:
        await run_until(connection, lambda: len(session.connected) >= 2)
    finally:
        await server.server.close()
    assert session.disconnects[0] == "stalled: no frame for 0.2 s"
    assert connection.state is FeedState.STOPPED


async def test_application_pings_are_sent_every_heartbeat() -> None:
    server = ScriptedServer(serve(1, "stay"))
    await server.server.start_server()
    session = RecordingSession(ping='{"op": "ping"}')
    config = ConnectionConfig(venue="test", url=server.url, heartbeat_s=0.05)
    connection = WebsocketConnection(config, session, backoff=fast_backoff())
    try:
        await run_until(
            connection,
            lambda: bool(server.connections) and server.connections[0].count('{"op": "ping"}') >= 2,
        )
    finally:
        await server.server.close()
    assert session.disconnects == []


async def test_frames_sent_mid_connection_go_out_in_order_and_none_without_a_connection() -> None:
    server = ScriptedServer(serve(1, "stay"))
    await server.server.start_server()
    session = RecordingSession()
    config = ConnectionConfig(venue="test", url=server.url)
    connection = WebsocketConnection(config, session, backoff=fast_backoff())
    assert connection.send('{"op": "early"}') is False  # nothing open: dropped
    sent: list[bool] = []

    def on_frame(data: str | bytes, ts_recv: int) -> None:
        RecordingSession.on_frame(session, data, ts_recv)
        sent.extend(connection.send(f'{{"op": "resubscribe", "n": {i}}}') for i in range(3))

    session.on_frame = on_frame  # type: ignore[method-assign]
    try:
        await run_until(
            connection, lambda: bool(server.connections) and len(server.connections[0]) == 4
        )
    finally:
        await server.server.close()
    assert sent == [True, True, True]
    assert server.connections[0] == ['{"op": "subscribe"}'] + [
        f'{{"op": "resubscribe", "n": {i}}}' for i in range(3)
    ]
    assert connection.send('{"op": "late"}') is False


async def test_unreachable_server_backs_off_and_stop_ends_the_run() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    session = RecordingSession()
    connection = WebsocketConnection(
        ConnectionConfig(venue="test", url=f"ws://127.0.0.1:{port}/ws"),
        session,
        backoff=fast_backoff(),
    )
    await run_until(connection, lambda: len(session.disconnects) >= 3)
    assert all(r.startswith("connect failed") for r in session.disconnects)
    assert connection.connects == 0 and connection.state is FeedState.STOPPED


async def test_stop_before_run_returns_at_once() -> None:
    connection = WebsocketConnection(
        ConnectionConfig(venue="test", url="ws://127.0.0.1:9/ws"), RecordingSession()
    )
    connection.stop()
    async with asyncio.timeout(5):
        await connection.run()
    assert connection.state is FeedState.STOPPED and connection.connects == 0


@pytest.mark.parametrize(
    "kwargs", [{"url": "http://x"}, {"stall_timeout_s": 0}, {"heartbeat_s": -1}]
)
def test_bad_config_is_refused(kwargs) -> None:
    settings = {"venue": "test", "url": "ws://127.0.0.1/ws", **kwargs}
    with pytest.raises(ConfigError):
        ConnectionConfig(**settings)
