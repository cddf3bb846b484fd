"""The strategy API: one class that runs unchanged in backtest, paper and live mode."""

from __future__ import annotations

from enum import StrEnum, unique
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from serenity.algo.context import StrategyContext

__all__ = ["Mode", "Strategy"]


@unique
class Mode(StrEnum):
    """How a strategy runs: on stored data, on live data with simulated fills, or live."""

    BACKTEST = "backtest"
    PAPER = "paper"
    LIVE = "live"


class Strategy:
    """Base class of tick-by-tick strategies.

    Override :meth:`init` to build the strategy's tau graph from the context (market-data
    signals, indicators, a node that decides and submits orders), :meth:`start` for work
    once the feeds are live (or the replay begins), and :meth:`stop` for work before
    shutdown. The same class runs in every :class:`Mode`; only the context differs.

    A strategy may declare ``Params``, a dataclass: the config's ``params`` are then checked
    against its fields (unknown keys and wrong types are refused by name) and
    ``ctx.params`` is an instance of it. Without ``Params``, ``ctx.params`` is a read-only
    mapping of the config's values.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> class Hold(Strategy):
    ...     @dataclass(frozen=True)
    ...     class Params:
    ...         qty: float = 1.0
    ...
    ...     def init(self, ctx):
    ...         self.ctx = ctx
    """

    Params: ClassVar[type[Any] | None] = None

    def init(self, ctx: StrategyContext) -> None:
        """Build the strategy's graph; called once, before any market data."""

    def start(self) -> None:
        """Called when every feed the strategy uses is live (or the replay begins)."""

    def stop(self) -> None:
        """Called before shutdown, while orders can still be sent."""
