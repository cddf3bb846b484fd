"""Which feedhandler class records which venue, imported only when asked for."""

from __future__ import annotations

import difflib
import importlib
from typing import Final

from serenity.errors import ConfigError
from serenity.marketdata.fh.handler import FeedHandler

__all__ = ["VENUES", "handler_class"]

_HANDLERS: Final = {
    "phemex": "serenity.marketdata.fh.phemex:PhemexFeedHandler",
    "coinbase": "serenity.marketdata.fh.coinbase:CoinbaseFeedHandler",
    "binance": "serenity.marketdata.fh.binance:BinanceFeedHandler",
}
VENUES: Final = tuple(_HANDLERS)
"""The venues Serenity records."""


def handler_class(venue: str) -> type[FeedHandler]:
    """Return the feedhandler class for ``venue``.

    Raises
    ------
    ConfigError
        For a venue Serenity has no feedhandler for.
    """
    try:
        target = _HANDLERS[str(venue).lower()]
    except KeyError:
        close = difflib.get_close_matches(str(venue).lower(), VENUES, n=1)
        hint = f"; did you mean {close[0]}?" if close else f"; one of {', '.join(VENUES)}"
        raise ConfigError(f"no feedhandler for venue {venue!r}{hint}") from None
    module, _, name = target.partition(":")
    cls: type[FeedHandler] = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, FeedHandler)):
        raise TypeError(f"{target} is not a FeedHandler")
    return cls
