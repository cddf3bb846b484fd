"""Positions kept from fills: quantity, average entry, realised P&L and fees.

:class:`PositionService` nets every fill of an account in an instrument into one
:class:`Position` (flips through zero included) and publishes it in the fill's own cycle.
"""

from __future__ import annotations

from serenity.position.service import Position, PositionService

__all__ = ["Position", "PositionService"]
