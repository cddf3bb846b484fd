"""Venue payloads for tests and a loopback HTTP server that serves them.

Payloads in ``tests/data/<venue>/`` are written from each venue's documentation; Binance's
several-hundred-symbol ``exchangeInfo`` is generated from the documented template by
:func:`binance_exchange_info`. :class:`VenueServer` plays a venue's REST API on 127.0.0.1 from
a background thread, so both async tests and the synchronous CLI can talk to it.
"""

from __future__ import annotations

import asyncio
import copy
import json
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

DATA = Path(__file__).resolve().parent / "data"


def payload(venue: str, name: str) -> Any:
    """Return the parsed JSON of ``tests/data/<venue>/<name>.json``."""
    return json.loads((DATA / venue / f"{name}.json").read_text())


def read_capture(captures_dir: Path, name: str) -> Any:
    """Return the body of the first ``URL -> <unix time>: <body>`` line of a venue capture."""
    with (captures_dir / name).open() as lines:
        for line in lines:
            if " -> " in line:
                _url, rest = line.split(" -> ", 1)
                return json.loads(rest.split(": ", 1)[1])
    raise AssertionError(f"{name} has no REST response line")


def binance_exchange_info(n: int, *, tick: str = "0.01000000") -> dict[str, Any]:
    """Return a documented-shape ``exchangeInfo`` with ``n`` distinct symbols.

    Symbols pair ``A000``...-style base assets with five quote assets; every 7th is not
    trading (``BREAK``) so statuses vary. ``tick`` is the tick size of every symbol.
    """
    info = payload("binance", "exchange_info")
    template = info["symbols"][0]
    quotes = ["USDT", "BTC", "ETH", "BNB", "FDUSD"]
    symbols = []
    for i in range(n):
        base = f"C{i // len(quotes):04d}"
        quote = quotes[i % len(quotes)]
        item = copy.deepcopy(template)
        item.update(symbol=base + quote, baseAsset=base, quoteAsset=quote)
        item["status"] = "BREAK" if i % 7 == 6 else "TRADING"
        for flt in item["filters"]:
            if flt["filterType"] == "PRICE_FILTER":
                flt["tickSize"] = tick
        symbols.append(item)
    info["symbols"] = symbols
    return info


class VenueServer:
    """A venue's REST API on 127.0.0.1: each path answers a fixed status and body.

    Use as a context manager; ``url`` is the base URL. ``routes`` maps a path to a JSON
    value (served with 200), or to ``(status, body)`` with ``body`` as bytes or JSON.
    ``delay_s`` makes every answer that late (for timeouts).
    """

    def __init__(self, routes: Mapping[str, Any] | None = None, *, delay_s: float = 0.0) -> None:
        self.routes: dict[str, Any] = dict(routes or {})
        self.delay_s = delay_s
        self.hits: dict[str, int] = {}
        self.port = 0
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    @property
    def url(self) -> str:
        """Return the server's base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> VenueServer:
        self._thread = threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout=10):
            raise RuntimeError("venue server did not start within 10 s")
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        app = web.Application()
        app.router.add_route("GET", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        server = site._server  # aiohttp exposes the bound port only through the server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if request.path not in self.routes:
            return web.json_response({"code": 404, "msg": "not found"}, status=404)
        route = self.routes[request.path]
        status, body = route if isinstance(route, tuple) else (200, route)
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        return web.Response(status=status, body=data, content_type="application/json")
