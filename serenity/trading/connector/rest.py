"""An async signed REST client for venue order entry, with an explicit failure policy.

:class:`RestClient` sends one venue's requests on aiohttp from the event loop. The venue
supplies its facts as data and small functions: a :class:`Signer` (its documented request
signature), an :class:`ErrorPolicy` (how its error answers read, and which codes and HTTP
statuses mean what), its :class:`~serenity.trading.connector.limits.RateLimit` quotas, and
optionally how to read its server time and its usage headers.

What happens to each answer:

========================================  ==============================================
answer                                    outcome
========================================  ==============================================
success                                   the :class:`RestResponse`
auth code or HTTP 401/403 (policy)        :class:`~serenity.errors.AuthError` at once
HTTP 429, or a ``retry_code`` with a 4XX  not executed: wait (``Retry-After``, backoff),
                                          re-sign and send again, up to ``attempts``
a ``clock_code`` (timestamp outside the   not executed: read the venue's clock, re-sign
venue's window)                           with the corrected time, send again
HTTP 418 (banned)                         :class:`RateLimitedError`, every request held
                                          for its ``Retry-After``
HTTP 5xx, an ``unknown_code``, a timeout  the outcome is unknown: a request marked
or a broken connection                    ``idempotent`` (queries) is sent again, any
                                          other raises :class:`OutcomeUnknownError` and
                                          the caller queries the order's state
any other error                           :class:`~serenity.errors.VenueError` with the
                                          venue's code and text
========================================  ==============================================

Retries of order entry are idempotent because every order carries our client order id:
a request the venue did not execute can be sent again unchanged, and one whose outcome is
unknown is settled by querying that id, never by sending it again blindly.

Signed requests, their query strings and headers are never logged.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Final, Protocol
from urllib.parse import urlencode

import aiohttp
import orjson

from serenity.errors import AuthError, ConfigError, VenueError
from serenity.trading.connector.limits import RateLimit, RateLimiter

__all__ = [
    "ErrorPolicy",
    "OutcomeUnknownError",
    "RateLimitedError",
    "RestClient",
    "RestRequest",
    "RestResponse",
    "Signer",
    "VenueReply",
]

log = logging.getLogger(__name__)

_NS_PER_MS: Final = 1_000_000


class OutcomeUnknownError(VenueError):
    """The request may or may not have been executed (a timeout, a broken connection, an
    HTTP 5xx or the venue's own "status unknown" code): query the order before anything
    else."""


class RateLimitedError(VenueError):
    """The venue refused the request for its rate limits and retries did not get it
    through (or it banned us: HTTP 418); ``retry_after_s`` is how long it asked to wait."""

    def __init__(
        self, message: str, *, code: str | int | None = None, retry_after_s: float = 0.0
    ) -> None:
        super().__init__(message, code=code)
        self.retry_after_s = retry_after_s


@dataclass(slots=True, kw_only=True)
class RestRequest:
    """One request before (and after) signing.

    ``params`` go in the query string in the order given; ``body`` is sent as is with the
    ``content_type`` header. A :class:`Signer` returns a copy with its parameters and
    headers added.
    """

    method: str
    path: str
    params: list[tuple[str, str]] = field(default_factory=list)
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def query(self) -> str:
        """Return the query string (``a=1&b=2``, percent-encoded), without ``?``."""
        return urlencode(self.params)


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A successful answer: HTTP status, body bytes and headers."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    def json(self) -> Any:
        """Return the body parsed as JSON."""
        return orjson.loads(self.body) if self.body else None


class Signer(Protocol):
    """Signs a venue's private requests exactly as the venue documents it."""

    def sign(self, request: RestRequest, now_ms: int) -> RestRequest:
        """Return ``request`` with its timestamp, signature and key added for ``now_ms``
        (the venue's clock, ms since the epoch)."""
        ...


@dataclass(frozen=True, slots=True)
class VenueReply:
    """A venue's error answer: its code (or None) and its text."""

    code: int | str | None
    text: str


def _never(status: int, body: bytes) -> VenueReply | None:
    return None if status < 400 else VenueReply(None, body[:200].decode(errors="replace"))


@dataclass(frozen=True, slots=True, kw_only=True)
class ErrorPolicy:
    """How a venue says no, and what to do about each answer (see the module docstring).

    Attributes
    ----------
    parse
        ``(status, body) -> VenueReply | None``: the error in an answer, or None for a
        success (some venues answer errors with HTTP 200).
    auth_codes, auth_statuses
        Codes and HTTP statuses meaning the key, signature or permissions were refused.
    retry_codes, retry_statuses
        Refusals of a request that was not executed and may be sent again (rate limits,
        a busy venue).
    clock_codes
        Codes meaning our timestamp was outside the venue's window.
    unknown_codes
        Codes meaning the venue does not know whether it executed the request.
    attempts
        Sends of one request at most (the first included).
    backoff_s, max_backoff_s
        Delay before the first retry, doubled each time up to the maximum.
    """

    parse: Callable[[int, bytes], VenueReply | None] = _never
    auth_codes: frozenset[int | str] = frozenset()
    auth_statuses: frozenset[int] = frozenset({401})
    retry_codes: frozenset[int | str] = frozenset()
    retry_statuses: frozenset[int] = frozenset({429})
    clock_codes: frozenset[int | str] = frozenset()
    unknown_codes: frozenset[int | str] = frozenset()
    attempts: int = 3
    backoff_s: float = 0.2
    max_backoff_s: float = 5.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ConfigError(f"attempts must be >= 1, was {self.attempts!r}")


class RestClient:
    """Send one venue's REST requests: signed, rate-limited, retried by policy.

    Use as ``async with client:`` (or :meth:`open` / :meth:`close`); the constructor opens
    nothing. Every method runs on the event loop.

    Parameters
    ----------
    venue
        Venue code, for messages.
    base_url
        ``https://...`` (or a loopback test server).
    errors
        The venue's failure policy.
    signer
        Signs requests sent with ``signed=True``.
    limits
        The venue's quotas.
    timeout_s
        Longest wait for one answer.
    server_time
        Reads the venue's clock (ms) through this client, to correct our timestamps after a
        ``clock_code``; timestamps are never corrected without it.
    usage
        Reads the quota usage a venue reports in its answer headers, as ``{kind: used}``.
    headers
        Headers sent with every request.

    Attributes
    ----------
    clock_offset_ms
        Added to our clock for the timestamps we sign (the venue's time minus ours).
    sent
        Requests sent (retries included).
    """

    def __init__(
        self,
        venue: str,
        base_url: str,
        *,
        errors: ErrorPolicy,
        signer: Signer | None = None,
        limits: Sequence[RateLimit] = (),
        timeout_s: float = 10.0,
        server_time: Callable[[RestClient], Awaitable[int]] | None = None,
        usage: Callable[[Mapping[str, str]], Mapping[str, int]] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise ConfigError(f"{venue}: REST base URL must be http(s), was {base_url!r}")
        if not timeout_s > 0:
            raise ConfigError(f"{venue}: REST timeout must be > 0, was {timeout_s!r}")
        self.venue = venue
        self.base_url = base_url.rstrip("/")
        self.errors = errors
        self.signer = signer
        self.limiter = RateLimiter(limits)
        self.timeout_s = float(timeout_s)
        self.server_time = server_time
        self.usage = usage
        self.headers = dict(headers or {})
        self.clock_offset_ms = 0
        self.sent = 0
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RestClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Open the HTTP session (once)."""
        if self._http is None:
            self._http = aiohttp.ClientSession()

    async def close(self) -> None:
        """Close the HTTP session."""
        if self._http is not None:
            http, self._http = self._http, None
            await http.close()

    @property
    def is_open(self) -> bool:
        """Return True while the HTTP session is open."""
        return self._http is not None

    def now_ms(self) -> int:
        """Return the venue's time as we estimate it, in ms since the epoch."""
        return time.time_ns() // _NS_PER_MS + self.clock_offset_ms

    async def sync_clock(self) -> int:
        """Read the venue's clock and set :attr:`clock_offset_ms`; return the offset.

        Raises
        ------
        ConfigError
            When the client has no ``server_time``.
        VenueError
            When the venue's clock cannot be read.
        """
        if self.server_time is None:
            raise ConfigError(f"{self.venue}: no way to read the venue's clock")
        before = time.time_ns() // _NS_PER_MS
        venue_ms = await self.server_time(self)
        after = time.time_ns() // _NS_PER_MS
        self.clock_offset_ms = int(venue_ms - (before + after) // 2)
        log.info(
            "connector.clock_synced",
            extra={"venue": self.venue, "offset_ms": self.clock_offset_ms},
        )
        return self.clock_offset_ms

    async def request(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, Any]] | Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        cost: Mapping[str, int] | None = None,
        body: bytes | None = None,
        content_type: str | None = None,
        idempotent: bool | None = None,
    ) -> RestResponse:
        """Send one request and return the venue's successful answer.

        Parameters
        ----------
        method, path
            HTTP method and path (``/api/v3/order``).
        params
            Query parameters, in order; None values are left out.
        signed
            Sign with the client's signer.
        cost
            Units of each quota the request uses (``{"weight": 1}`` by default).
        body, content_type
            A request body and its type.
        idempotent
            Whether sending it twice is harmless, so an unknown outcome may be retried;
            by default only GET is.

        Raises
        ------
        AuthError
            When the venue refused our key, signature or permissions.
        RateLimitedError
            When the venue's rate limits refused it beyond the retries, or banned us.
        OutcomeUnknownError
            When it may or may not have been executed (not retried unless idempotent).
        VenueError
            When the venue refused it otherwise (its code and text kept).
        """
        if self._http is None:
            raise VenueError(f"{self.venue}: the REST session is not open")
        items = params.items() if isinstance(params, Mapping) else (params or ())
        request = RestRequest(
            method=method.upper(),
            path=path,
            params=[(str(k), _text(v)) for k, v in items if v is not None],
            body=body,
            headers=dict(self.headers),
        )
        if content_type is not None:
            request.headers["Content-Type"] = content_type
        if signed and self.signer is None:
            raise ConfigError(f"{self.venue}: a signed request needs a signer")
        if idempotent is None:
            idempotent = request.method == "GET"
        policy = self.errors
        spend = cost if cost is not None else {"weight": 1}
        where = f"{self.venue}: {request.method} {path}"
        delay = policy.backoff_s
        clock_retried = False
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.acquire(spend)
            outgoing = (
                self.signer.sign(replace(request, params=list(request.params)), self.now_ms())
                if signed and self.signer is not None
                else request
            )
            try:
                status, data, headers = await self._send(outgoing)
            except OutcomeUnknownError:
                if idempotent and attempt < policy.attempts:
                    await self._backoff(where, "unknown outcome", delay)
                    delay = min(delay * 2, policy.max_backoff_s)
                    continue
                raise
            self._observe(headers)
            reply = policy.parse(status, data)
            if reply is None:
                return RestResponse(status, data, headers)
            code, text = reply.code, reply.text
            detail = f"HTTP {status}" + (f", code {code}" if code is not None else "")
            message = f"{where} refused ({detail}): {text}" if text else f"{where} ({detail})"
            if code in policy.auth_codes or status in policy.auth_statuses:
                raise AuthError(
                    f"{where}: the venue refused our API key or signature ({detail}): {text}; "
                    "check the key, its secret, its permissions and its IP allow-list",
                    code=code if code is not None else status,
                )
            if status == 418:
                wait = _retry_after(headers)
                self.limiter.pause(wait)
                raise RateLimitedError(
                    f"{where}: banned for breaking rate limits ({detail}), for {wait:g} s",
                    code=code if code is not None else status,
                    retry_after_s=wait,
                )
            if code in policy.clock_codes and not clock_retried and self.server_time is not None:
                clock_retried = True
                log.warning(
                    "connector.clock_skew",
                    extra={"venue": self.venue, "path": path, "code": code, "text": text},
                )
                await self.sync_clock()
                continue
            refused = status in policy.retry_statuses or (
                code in policy.retry_codes and status < 500  # a 5XX's outcome is unknown
            )
            if refused:
                wait = max(_retry_after(headers), delay)
                if status == 429:
                    self.limiter.pause(wait)
                if attempt < policy.attempts:
                    await self._backoff(where, detail, wait)
                    delay = min(delay * 2, policy.max_backoff_s)
                    continue
                raise RateLimitedError(message, code=code or status, retry_after_s=wait)
            if status >= 500 or code in policy.unknown_codes:
                if idempotent and attempt < policy.attempts:
                    await self._backoff(where, detail, delay)
                    delay = min(delay * 2, policy.max_backoff_s)
                    continue
                raise OutcomeUnknownError(
                    f"{message}; whether it was executed is unknown", code=code or status
                )
            raise VenueError(message, code=code if code is not None else status)

    async def _send(self, request: RestRequest) -> tuple[int, bytes, Mapping[str, str]]:
        assert self._http is not None
        url = self.base_url + request.path
        query = request.query
        if query:
            url = f"{url}?{query}"
        self.sent += 1
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._http.request(
                    request.method, url, data=request.body, headers=request.headers
                ) as resp:
                    data = await resp.read()
                    status, headers = resp.status, dict(resp.headers)
        except TimeoutError:
            raise OutcomeUnknownError(
                f"{self.venue}: {request.method} {request.path} got no answer within "
                f"{self.timeout_s:g} s; whether it was executed is unknown"
            ) from None
        except (aiohttp.ClientError, OSError) as exc:
            raise OutcomeUnknownError(
                f"{self.venue}: {request.method} {request.path} failed: "
                f"{type(exc).__name__}; whether it was executed is unknown"
            ) from None
        log.debug(
            "connector.rest",
            extra={
                "venue": self.venue,
                "method": request.method,
                "path": request.path,
                "status": status,
                "ms": round((time.perf_counter() - started) * 1000, 1),
            },
        )
        return status, data, headers

    def _observe(self, headers: Mapping[str, str]) -> None:
        if self.usage is None:
            return
        for kind, used in self.usage(headers).items():
            self.limiter.observe(kind, used)

    async def _backoff(self, where: str, why: str, seconds: float) -> None:
        log.warning(
            "connector.retry", extra={"where": where, "why": why, "delay_s": round(seconds, 3)}
        )
        await asyncio.sleep(seconds)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _retry_after(headers: Mapping[str, str]) -> float:
    raw = headers.get("Retry-After") or headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else 0.0
    except ValueError:
        return 0.0
