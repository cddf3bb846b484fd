"""The REST client's failure policy against a loopback server that answers as scripted."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from serenity.errors import AuthError, VenueError
from serenity.trading.connector import (
    ErrorPolicy,
    OutcomeUnknownError,
    RateLimit,
    RateLimitedError,
    RestClient,
    RestRequest,
    VenueReply,
)

POLICY = ErrorPolicy(
    parse=lambda status, body: (
        None if status < 400 else VenueReply(int(body.split(b":")[0]), body.split(b":")[1].decode())
    ),
    auth_codes=frozenset({-2015}),
    retry_codes=frozenset({-1003}),
    clock_codes=frozenset({-1021}),
    unknown_codes=frozenset({-1007}),
    backoff_s=0.01,
)


class Script:
    """Answers ``(status, body, headers, delay)`` in turn, then 200."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str, dict[str, str], float]] = []
        self.seen: list[web.Request] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.seen.append(request)
        if request.path == "/time":
            return web.Response(text="server-time")
        status, body, headers, delay = self.answers.pop(0) if self.answers else (200, "ok", {}, 0)
        if delay:
            await asyncio.sleep(delay)
        return web.Response(status=status, text=body, headers=headers)


class Stamp:
    """Signs with the time only, so tests see which clock was used."""

    def sign(self, request: RestRequest, now_ms: int) -> RestRequest:
        request.params.append(("timestamp", str(now_ms)))
        return request


@pytest.fixture
async def served() -> AsyncIterator[tuple[Script, RestClient]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()

    async def venue_time(rest: RestClient) -> int:
        await rest.request("GET", "/time")
        return rest.now_ms() - rest.clock_offset_ms + 5_000  # the venue is 5 s ahead

    client = RestClient(
        "testvenue",
        f"http://127.0.0.1:{server.port}",
        errors=POLICY,
        signer=Stamp(),
        limits=[RateLimit("weight", 100, 60)],
        timeout_s=0.3,
        server_time=venue_time,
        usage=lambda headers: {"weight": int(headers.get("X-Used", "0"))},
    )
    async with client:
        yield script, client
    await server.close()


def answer(script: Script, status: int, body: str, delay: float = 0, **headers: str) -> None:
    script.answers.append((status, body, headers, delay))


async def test_rate_limited_requests_are_retried_after_the_wait(served: Any) -> None:
    script, client = served
    answer(script, 429, "-1003:too many", **{"Retry-After": "0"})
    answer(script, 400, "-1003:queue full")
    resp = await client.request("POST", "/order", {"a": 1}, signed=True)
    assert resp.body == b"ok" and len(script.seen) == 3
    for _ in range(3):
        answer(script, 429, "-1003:too many")
    with pytest.raises(RateLimitedError, match="testvenue: POST /order refused"):
        await client.request("POST", "/order")


async def test_a_timestamp_outside_the_window_resyncs_the_clock_and_resigns(served: Any) -> None:
    script, client = served
    answer(script, 400, "-1021:outside recvWindow")
    await client.request("GET", "/order", signed=True)
    stamps = [int(r.query["timestamp"]) for r in script.seen if r.path == "/order"]
    assert client.clock_offset_ms == pytest.approx(5_000, abs=200)
    assert stamps[1] - stamps[0] == pytest.approx(5_000, abs=300)


async def test_unknown_outcomes_are_retried_only_when_idempotent(served: Any) -> None:
    script, client = served
    answer(script, 503, "-1001:internal")
    with pytest.raises(OutcomeUnknownError, match="whether it was executed is unknown"):
        await client.request("POST", "/order")
    answer(script, 400, "-1007:timeout waiting for backend")
    answer(script, 502, "-1:bad gateway")
    assert (await client.request("GET", "/order")).body == b"ok"
    answer(script, 200, "late", delay=1.0)
    with pytest.raises(OutcomeUnknownError, match="no answer within 0.3 s"):
        await client.request("DELETE", "/order")


async def test_refusals_keep_the_venues_code_and_text(served: Any) -> None:
    script, client = served
    answer(script, 401, "-2015:Invalid API-key")
    with pytest.raises(AuthError, match="refused our API key or signature") as refused:
        await client.request("GET", "/account", signed=True)
    assert refused.value.code == -2015
    answer(script, 400, "-2010:insufficient balance", **{"X-Used": "90"})
    with pytest.raises(VenueError) as other:
        await client.request("POST", "/order")
    assert other.value.code == -2010 and "insufficient balance" in str(other.value)
    assert client.limiter.delay({"weight": 20}) > 0  # the venue's count was taken in
    answer(script, 418, "-1003:banned", **{"Retry-After": "2"})
    with pytest.raises(RateLimitedError, match="banned") as banned:
        await client.request("GET", "/order")
    assert banned.value.retry_after_s == 2 and client.limiter.delay({}) > 1
