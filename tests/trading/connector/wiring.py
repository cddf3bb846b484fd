"""What the connector tests share: an order manager over a venue connector, and the
connector with its scheduler running on the loop while a test uses them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from serenity.model import InstrumentId
from serenity.tau import RealtimeNetworkScheduler
from serenity.tau.event import Do
from serenity.trading import OrderEvent, OrderManagerService, OrderPlacerService
from serenity.trading.connector import VenueConnector


def order_manager(
    scheduler: RealtimeNetworkScheduler,
    connector: VenueConnector,
    *,
    placer: str,
    products: Mapping[InstrumentId, Any],
    events: list[OrderEvent],
) -> OrderManagerService:
    """Return an order manager sending orders to ``connector`` as ``placer``; every order
    event it publishes is appended to ``events``."""
    placers = OrderPlacerService()
    placers.register(placer, connector)
    oms = OrderManagerService(scheduler, placers, products=products)
    Do(scheduler.network, oms.order_events, lambda: events.append(oms.order_events.get_value()))
    return oms


@asynccontextmanager
async def connector_running(
    scheduler: RealtimeNetworkScheduler,
    connector: VenueConnector,
    ready: Callable[[], Awaitable[None]],
) -> AsyncIterator[None]:
    """Run ``scheduler`` and ``connector`` on the loop; the block runs once ``ready()``
    returned, then the connector is stopped and awaited and the scheduler shut down."""
    async with asyncio.TaskGroup() as tg:
        tg.create_task(scheduler.run())
        runner = tg.create_task(connector.run())
        await ready()
        try:
            yield
        finally:
            connector.stop()
            await runner
            scheduler.shutdown()
