"""How a venue connector is built and timed: :class:`ConnectorSettings` and the
:class:`ConnectorContext` a venue's ``create_placer`` reads."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from serenity.exchange.product import Product
from serenity.model import InstrumentId
from serenity.tau import NetworkScheduler

__all__ = ["ConnectorContext", "ConnectorSettings"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorSettings:
    """Timing of a connector's private stream, queries and reconciliation.

    Attributes
    ----------
    heartbeat_s
        Interval of the private stream's pings.
    stall_timeout_s
        A private stream silent this long is reconnected.
    connect_timeout_s
        Longest wait to open the private stream.
    backoff_initial_s, backoff_max_s
        Reconnect delays of the private stream (exponential, with jitter).
    query_attempts
        Queries of an order whose request had an unknown outcome, before giving up.
    query_delay_s
        Wait before the first such query, doubled before each next one.
    fill_lookback_s
        How far back the first reconciliation looks for fills.
    reconnect_lookback_s
        After a reconnect, fills are looked for from this long before the disconnect.
    reconcile_retry_s
        Wait before retrying a reconciliation the venue failed.
    """

    heartbeat_s: float = 10.0
    stall_timeout_s: float = 60.0
    connect_timeout_s: float = 10.0
    backoff_initial_s: float = 0.5
    backoff_max_s: float = 30.0
    query_attempts: int = 3
    query_delay_s: float = 0.25
    fill_lookback_s: float = 3600.0
    reconnect_lookback_s: float = 60.0
    reconcile_retry_s: float = 2.0


class ConnectorContext(Protocol):
    """What a venue's ``create_placer`` reads to build its connector (a live run's
    :class:`~serenity.algo.PlacerContext` has it all)."""

    @property
    def uri(self) -> str: ...
    @property
    def venue(self) -> str: ...
    @property
    def instance(self) -> str: ...
    @property
    def account(self) -> str: ...
    @property
    def scheduler(self) -> NetworkScheduler: ...
    @property
    def products(self) -> Mapping[InstrumentId, Product]: ...
    @property
    def rest_url(self) -> str | None: ...
    @property
    def ws_url(self) -> str | None: ...
