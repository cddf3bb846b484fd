"""The investment strategy API: decide target holdings at a session's close."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from serenity.strategy.context import InvestContext

__all__ = ["InvestmentStrategy"]


class InvestmentStrategy:
    """Base class of close-on-close investment strategies.

    Override :meth:`rebalance`: on each rebalance session of the run's schedule, at its
    close, it reads prices from ``ctx.pricing`` and the portfolio from ``ctx``, and trades
    with ``ctx.target_weights``, ``ctx.target_quantities`` or ``ctx.order``. The orders fill
    at that close or at the next open, as the run's fill model says. :meth:`init` runs once
    before the first session.

    A strategy may declare ``Params``, a dataclass: the config's ``params`` are checked
    against its fields (unknown keys and wrong types are refused by name) and
    ``ctx.params`` is an instance of it; without it, ``ctx.params`` is a read-only mapping.

    Examples
    --------
    >>> from dataclasses import dataclass
    >>> class Hold(InvestmentStrategy):
    ...     @dataclass(frozen=True)
    ...     class Params:
    ...         symbol: str = "AAA"
    ...
    ...     def rebalance(self, ctx):
    ...         ctx.target_weights({ctx.params.symbol: 1.0})
    """

    Params: ClassVar[type[Any] | None] = None

    def init(self, ctx: InvestContext) -> None:
        """Prepare; called once, before the first session (no prices yet)."""

    def rebalance(self, ctx: InvestContext) -> None:
        """Decide and place orders at the close of a rebalance session."""
