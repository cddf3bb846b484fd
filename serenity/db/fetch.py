"""Fetch a venue's product catalog over HTTP (aiohttp) and parse it with its exchange module.

Every request of a venue is made before anything is parsed, and nothing is written here, so
a failed fetch leaves the database as it was. Failures become one clear error naming the
venue and the URL: :class:`~serenity.errors.VenueError` for an unreachable host, a timeout
or an HTTP error status, :class:`~serenity.errors.DataError` for a body that is not JSON or
lacks a field.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import aiohttp
import orjson

from serenity._version import __version__
from serenity.errors import ConfigError, DataError, VenueError
from serenity.exchange import binance, coinbase, phemex
from serenity.exchange.endpoints import Endpoints, Environment, resolve_endpoints
from serenity.exchange.product import ProductCatalog

__all__ = ["VENUES", "VenueRefdata", "fetch_catalog", "venue_refdata"]

log = logging.getLogger(__name__)

_USER_AGENT: Final = f"serenity/{__version__}"
_BODY_IN_ERRORS: Final = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class VenueRefdata:
    """How to get one venue's catalog: which paths to GET and how to parse their bodies."""

    venue: str
    name: str
    endpoints: Mapping[Environment, Endpoints]
    paths: tuple[str, ...]
    parse: Callable[..., ProductCatalog]


VENUES: Final[Mapping[str, VenueRefdata]] = {
    phemex.VENUE: VenueRefdata(
        venue=phemex.VENUE,
        name=phemex.NAME,
        endpoints=phemex.ENDPOINTS,
        paths=(phemex.PRODUCTS_PATH,),
        parse=phemex.parse_products,
    ),
    coinbase.VENUE: VenueRefdata(
        venue=coinbase.VENUE,
        name=coinbase.NAME,
        endpoints=coinbase.ENDPOINTS,
        paths=(coinbase.PRODUCTS_PATH, coinbase.CURRENCIES_PATH),
        parse=coinbase.parse_products,
    ),
    binance.VENUE: VenueRefdata(
        venue=binance.VENUE,
        name=binance.NAME,
        endpoints=binance.ENDPOINTS,
        paths=(binance.EXCHANGE_INFO_PATH,),
        parse=binance.parse_exchange_info,
    ),
}


def venue_refdata(venue: str) -> VenueRefdata:
    """Return the reference-data recipe of ``venue``.

    Raises
    ------
    ConfigError
        When Serenity has no loader for the venue.
    """
    try:
        return VENUES[str(venue).lower()]
    except KeyError:
        raise ConfigError(f"unknown venue {venue!r}, expected one of {sorted(VENUES)}") from None


async def fetch_catalog(
    venue: str,
    *,
    base_url: str | None = None,
    environment: Environment | str = Environment.PROD,
    timeout_s: float = 30.0,
) -> ProductCatalog:
    """Return ``venue``'s product catalog, fetched from its REST API.

    Parameters
    ----------
    venue
        ``phemex``, ``coinbase`` or ``binance``.
    base_url
        A REST base URL replacing the environment's (e.g. a local test server).
    environment
        ``prod`` or ``testnet``.
    timeout_s
        Total time allowed for each request.

    Raises
    ------
    ConfigError
        When the venue or environment is unknown, or ``base_url`` is not an http(s) URL.
    VenueError
        When the venue cannot be reached, times out or answers with an HTTP error.
    DataError
        When a response is not JSON or lacks a field.
    """
    recipe = venue_refdata(venue)
    endpoints = resolve_endpoints(
        recipe.venue, recipe.endpoints, environment=environment, rest_url=base_url
    )
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    headers = {"User-Agent": _USER_AGENT, "Accept": "application/json"}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        bodies = await asyncio.gather(
            *(_get_json(session, recipe.venue, endpoints.rest + path) for path in recipe.paths)
        )
    catalog = recipe.parse(*bodies)
    log.info(
        "refdata.fetched",
        extra={"venue": recipe.venue, "url": endpoints.rest, "products": len(catalog.products)},
    )
    return catalog


async def _get_json(session: aiohttp.ClientSession, venue: str, url: str) -> Any:
    log.debug("refdata.get", extra={"venue": venue, "url": url})
    try:
        async with session.get(url) as response:
            body = await response.read()
            status = response.status
    except TimeoutError:
        raise VenueError(f"{venue}: GET {url} timed out") from None
    except aiohttp.ClientError as exc:
        raise VenueError(f"{venue}: cannot reach {url}: {exc}") from exc
    if status >= 400:
        raise VenueError(
            f"{venue}: GET {url} answered HTTP {status}: {_snippet(body)}", code=status
        )
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise DataError(
            f"{venue}: GET {url} did not answer JSON ({exc}): {_snippet(body)}"
        ) from None


def _snippet(body: bytes | Sequence[int]) -> str:
    text = bytes(body).decode("utf-8", errors="replace").strip()
    if len(text) > _BODY_IN_ERRORS:
        text = text[:_BODY_IN_ERRORS] + "..."
    return repr(text)
