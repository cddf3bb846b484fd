"""The live market data of a run: one feedhandler per venue of its instruments, built as the
recorder builds them, published into a realtime scheduler's network."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from serenity.db.fetch import fetch_catalog, venue_refdata
from serenity.errors import ConfigError
from serenity.exchange.endpoints import resolve_endpoints
from serenity.exchange.product import Product
from serenity.marketdata.fh import CHANNELS, FeedConfig, FeedHandler, FeedMetrics
from serenity.marketdata.fh.registry import handler_class
from serenity.marketdata.live import FeedHandlerMarketdataService
from serenity.model import InstrumentId
from serenity.tau import RealtimeNetworkScheduler

__all__ = [
    "FeedSettings",
    "LiveFeeds",
    "describe_feeds",
    "endpoint_overrides",
    "prepare_feeds",
    "symbols_by_venue",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FeedSettings:
    """Where and how the feeds of a run connect.

    Attributes
    ----------
    ws_urls, rest_urls
        Endpoints replacing a venue's, by venue (e.g. local test servers).
    environment
        The venues' deployment, ``prod`` or ``testnet``.
    channels
        ``trades`` and/or ``book``.
    stall_timeout_s, heartbeat_s
        Connection liveness (see :class:`~serenity.marketdata.fh.FeedConfig`).
    """

    ws_urls: Mapping[str, str] = field(default_factory=dict)
    rest_urls: Mapping[str, str] = field(default_factory=dict)
    environment: str = "prod"
    channels: tuple[str, ...] = CHANNELS
    stall_timeout_s: float = 30.0
    heartbeat_s: float = 10.0


@dataclass(frozen=True, slots=True)
class LiveFeeds:
    """A run's feedhandlers (not started), the market-data service over them, and the
    listings of the run's instruments."""

    handlers: tuple[FeedHandler, ...]
    marketdata: FeedHandlerMarketdataService
    products: dict[InstrumentId, Product]


def symbols_by_venue(instruments: Iterable[InstrumentId]) -> dict[str, tuple[str, ...]]:
    """Return the symbols of ``instruments`` by venue, in the order given."""
    out: dict[str, tuple[str, ...]] = {}
    for inst in instruments:
        out[inst.venue] = (*out.get(inst.venue, ()), inst.symbol)
    return out


def endpoint_overrides(
    urls: Mapping[str, str] | None, venues: Iterable[str], *, what: str
) -> dict[str, str]:
    """Return ``urls`` keyed by lower-case venue.

    Raises
    ------
    ConfigError
        When ``urls`` names a venue that is not among ``venues``.
    """
    known = list(venues)
    out = {str(k).lower(): str(v) for k, v in (urls or {}).items()}
    unknown = sorted(set(out) - set(known))
    if unknown:
        raise ConfigError(
            f"{what} names venues the run does not use: {', '.join(unknown)}; "
            f"its venues: {', '.join(known)}"
        )
    return out


async def prepare_feeds(
    scheduler: RealtimeNetworkScheduler,
    instruments: Iterable[InstrumentId],
    settings: FeedSettings,
    *,
    metrics: FeedMetrics | None = None,
) -> LiveFeeds:
    """Fetch each venue's products and build its feedhandler for ``instruments``.

    Nothing connects: run each handler (``await handler.run()``) for that.

    Raises
    ------
    UnknownSymbolError
        For a symbol its venue does not list.
    VenueError
        When a venue's products cannot be fetched.
    ConfigError
        For a venue Serenity has no feedhandler for, or a bad endpoint.
    """
    wanted = tuple(instruments)
    venues = symbols_by_venue(wanted)
    catalogs = await asyncio.gather(
        *(
            fetch_catalog(
                venue, base_url=settings.rest_urls.get(venue), environment=settings.environment
            )
            for venue in venues
        )
    )
    handlers = []
    for (venue, symbols), catalog in zip(venues.items(), catalogs, strict=True):
        recipe = venue_refdata(venue)
        endpoints = resolve_endpoints(
            recipe.venue,
            recipe.endpoints,
            environment=settings.environment,
            rest_url=settings.rest_urls.get(venue),
        )
        config = FeedConfig(
            venue=recipe.venue,
            symbols=symbols,
            ws_url=settings.ws_urls.get(venue) or endpoints.ws,
            rest_url=endpoints.rest,
            channels=settings.channels,
            stall_timeout_s=settings.stall_timeout_s,
            heartbeat_s=settings.heartbeat_s,
        )
        handlers.append(handler_class(recipe.venue)(config, catalog=catalog, metrics=metrics))
    listed = {
        InstrumentId(product.venue, product.symbol): product
        for catalog in catalogs
        for product in catalog.products
    }
    return LiveFeeds(
        tuple(handlers),
        FeedHandlerMarketdataService(scheduler, handlers),
        {inst: listed[inst] for inst in wanted if inst in listed},
    )


def describe_feeds(handlers: Iterable[FeedHandler]) -> dict[str, dict[str, Any]]:
    """Return each feed's symbols, endpoints and channels by venue, as a run records them."""
    return {
        handler.venue: {
            "symbols": list(handler.config.symbols),
            "ws_url": handler.config.ws_url,
            "rest_url": handler.config.rest_url,
            "channels": list(handler.config.channels),
        }
        for handler in handlers
    }
