"""Per-channel sequence tracking: tell a gap from a duplicate from the next message."""

from __future__ import annotations

from enum import StrEnum, unique

__all__ = ["SequenceCheck", "SequenceTracker"]


@unique
class SequenceCheck(StrEnum):
    """How a message's sequence numbers relate to what came before."""

    FIRST = "first"
    """The first message seen (or the first after :meth:`SequenceTracker.reset`)."""
    NEXT = "next"
    """Continues the sequence with no gap."""
    GAP = "gap"
    """Skipped ahead: messages were lost."""
    STALE = "stale"
    """At or below the last number seen: a duplicate or a replay; drop it."""


class SequenceTracker:
    """Track one channel's sequence numbers (sans-I/O).

    A message covers the numbers ``first..last`` (``first == last`` for venues that number
    each message; Binance's depth events cover ``U..u``). A message continues the sequence
    when ``first <= expected <= last`` with ``expected = last_seen + 1``. On a gap the tracker
    moves on to the new message, so one loss is reported once.

    Parameters
    ----------
    name
        What the tracker is for, e.g. ``"BTCUSD book"``, for messages and logs.
    """

    __slots__ = ("gaps", "last", "name", "stale")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.last: int | None = None
        self.gaps = 0
        self.stale = 0

    @property
    def expected(self) -> int | None:
        """Return the next number expected, or None before the first message."""
        return None if self.last is None else self.last + 1

    def check(self, first: int, last: int | None = None) -> SequenceCheck:
        """Classify a message numbered ``first`` (to ``last``) and remember it unless stale.

        Parameters
        ----------
        first
            The message's (first) sequence number.
        last
            The last number it covers; ``first`` when omitted.
        """
        end = first if last is None else last
        prev = self.last
        if prev is None:
            self.last = end
            return SequenceCheck.FIRST
        if end <= prev:
            self.stale += 1
            return SequenceCheck.STALE
        self.last = end
        if first <= prev + 1:
            return SequenceCheck.NEXT
        self.gaps += 1
        return SequenceCheck.GAP

    def reset(self, last: int | None = None) -> None:
        """Forget the sequence, or restart it after ``last`` (e.g. a snapshot's number)."""
        self.last = last
