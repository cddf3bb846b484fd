"""Where live orders go: venue order connectors registered by venue, created by placer URI.

A live run names its placer in the config (``placer: phemex:prod``): the venue, then the
instance (``prod``, ``testnet``, or any name a connector understands). A venue connector
makes itself available with :func:`register_placer`, giving a factory that builds an
:class:`~serenity.trading.OrderPlacer` from a :class:`PlacerContext`; :func:`create_placer`
finds the factory by the URI's venue and builds the placer. A placer that also has
``async def run()`` and ``def stop()`` (its private websocket, its login) is run beside the
feeds for the life of the run and stopped after the working orders were cancelled.

A live run on a venue without a connector is refused with one error that names what is
missing.
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from serenity.errors import ConfigError
from serenity.exchange.product import Product
from serenity.marketdata.service import MarketdataService
from serenity.model import InstrumentId
from serenity.tau import NetworkScheduler
from serenity.trading import OrderPlacer, OrderPlacerService

__all__ = [
    "PlacerContext",
    "PlacerFactory",
    "RunningPlacer",
    "create_placer",
    "parse_placer_uri",
    "register_placer",
    "registered_placers",
    "require_connector",
    "require_placer",
    "route_placer",
    "unregister_placer",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class PlacerContext:
    """What a connector factory gets to build a placer for one run.

    Attributes
    ----------
    uri
        The placer URI as configured, ``<venue>:<instance>``.
    venue, instance
        Its two parts (``phemex``, ``prod``).
    account
        The run's trading account.
    scheduler
        The run's realtime scheduler (its clock, and where reports re-enter the graph).
    marketdata
        The run's live market data.
    products
        The listings of the run's instruments on their venues.
    rest_url, ws_url
        Endpoints replacing the instance's (a test server), when given.
    """

    uri: str
    venue: str
    instance: str
    account: str
    scheduler: NetworkScheduler
    marketdata: MarketdataService
    products: Mapping[InstrumentId, Product] = field(default_factory=dict)
    rest_url: str | None = None
    ws_url: str | None = None


PlacerFactory = Callable[[PlacerContext], OrderPlacer]
"""Builds a venue's order placer for a run; opens nothing (``run()`` does that)."""

# Venue connectors shipped with Serenity, imported only when a live run asks for them:
# venue -> "module:factory". The connectors issue adds its venues here.
_BUILTIN: dict[str, str] = {
    "binance": "serenity.trading.connector.binance:create_placer",
    "phemex": "serenity.trading.connector.phemex:create_placer",
    "coinbase": "serenity.trading.connector.coinbase:create_placer",
}
_FACTORIES: dict[str, PlacerFactory] = {}


@runtime_checkable
class RunningPlacer(Protocol):
    """A placer with I/O of its own: run for the life of the run, stopped at its end."""

    async def run(self) -> None:
        """Connect and serve requests until :meth:`stop`."""
        ...

    def stop(self) -> None:
        """Ask :meth:`run` to return (on the loop thread)."""
        ...


def parse_placer_uri(uri: str) -> tuple[str, str]:
    """Return ``(venue, instance)`` of a placer URI such as ``phemex:prod``.

    Raises
    ------
    ConfigError
        When ``uri`` is not ``<venue>:<instance>``.
    """
    venue, sep, instance = str(uri).strip().partition(":")
    if not sep or not venue or not instance:
        raise ConfigError(
            f"placer must be written <venue>:<instance> (e.g. phemex:prod), was {uri!r}"
        )
    return venue.lower(), instance


def register_placer(venue: str, factory: PlacerFactory) -> None:
    """Make live trading on ``venue`` possible: ``factory`` builds its order placer.

    Raises
    ------
    ConfigError
        When the venue already has a factory (unregister it first).
    """
    key = str(venue).lower()
    if key in _FACTORIES:
        raise ConfigError(f"an order connector is already registered for venue {key!r}")
    _FACTORIES[key] = factory


def unregister_placer(venue: str) -> None:
    """Forget the factory registered for ``venue`` (nothing happens when there is none)."""
    _FACTORIES.pop(str(venue).lower(), None)


def registered_placers() -> list[str]:
    """Return the venues live orders can be placed on, sorted."""
    return sorted({*_FACTORIES, *_BUILTIN})


def require_connector(uri: str) -> tuple[str, str]:
    """Return ``(venue, instance)`` of ``uri`` when its venue has an order connector.

    Raises
    ------
    ConfigError
        When ``uri`` is malformed, or no connector is registered for its venue: the error
        names the venue, the URI, the venues that have one, and the way to run without one
        (``--paper``).
    """
    venue, instance = parse_placer_uri(uri)
    if _factory(venue) is None:
        known = registered_placers()
        close = difflib.get_close_matches(venue, known, n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise ConfigError(
            f"live trading needs an order connector for placer {uri!r}, and none is "
            f"registered for venue {venue!r}{hint}; venues with a connector: "
            f"{', '.join(known) or 'none yet'}. Run with --paper to trade the live feed on "
            "simulated fills"
        )
    return venue, instance


def require_placer(uri: str | None) -> str:
    """Return a live run's placer URI (its config's ``placer``) when it has a connector.

    Raises
    ------
    ConfigError
        When there is no URI (naming the ``placer`` key and ``--paper``), or for what
        :func:`require_connector` refuses.
    """
    if uri is None:
        raise ConfigError(
            "a live run needs `placer` in the config (e.g. placer: phemex:prod), the venue "
            "connector that takes its orders; or run with --paper for simulated fills"
        )
    require_connector(uri)
    return uri


def create_placer(context: PlacerContext) -> OrderPlacer:
    """Build the placer for ``context.uri`` with its venue's registered factory.

    Raises
    ------
    ConfigError
        When no connector is registered for the venue (see :func:`require_connector`), or
        the factory built something that is not an order placer.
    """
    venue, _instance = require_connector(context.uri)
    factory = _factory(venue)
    assert factory is not None  # require_connector checked it
    placer = factory(context)
    if not isinstance(placer, OrderPlacer):
        raise ConfigError(
            f"the order connector of {venue!r} built {type(placer).__name__}, "
            "which is not an OrderPlacer (bind, submit, cancel, replace)"
        )
    return placer


def route_placer(context: PlacerContext) -> tuple[OrderPlacer, OrderPlacerService]:
    """Build the placer for ``context.uri`` (see :func:`create_placer`) and a placer service
    that sends the run account's orders to it; return both."""
    placer = create_placer(context)
    placers = OrderPlacerService()
    placers.register(context.uri, placer)
    placers.route(context.account, context.uri)
    return placer, placers


def _factory(venue: str) -> PlacerFactory | None:
    found = _FACTORIES.get(venue)
    if found is not None:
        return found
    target = _BUILTIN.get(venue)
    if target is None:
        return None
    module, _, name = target.partition(":")
    factory: PlacerFactory = getattr(importlib.import_module(module), name)
    _FACTORIES[venue] = factory
    return factory
