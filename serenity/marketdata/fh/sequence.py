"""Per-channel sequence tracking: tell a gap from a duplicate from the next message.

Sequence numbers and trade ids come from the venue: they are input, not truth. A number
that jumps further ahead than any real venue jumps (more than ``max_jump``), or into the
range near the 64-bit limit that corrupt frames carry (:data:`SEQ_LIMIT` and above), is
classified :attr:`SequenceCheck.IMPLAUSIBLE` and never becomes the tracker's state, so one
bad frame cannot make every later message look stale. And since a plausible but wrong number
can still slip through, the tracker counts the valid-looking messages it rejected in a row
(:attr:`SequenceTracker.run`): a caller that sees :attr:`SequenceTracker.is_stuck` knows it
is dropping everything and must resync.
"""

from __future__ import annotations

from enum import StrEnum, unique
from typing import Final

__all__ = [
    "DEFAULT_MAX_JUMP",
    "DEFAULT_STUCK_AFTER",
    "SEQ_LIMIT",
    "SequenceCheck",
    "SequenceTracker",
]

SEQ_LIMIT: Final = 2**62
"""Sequence numbers and ids at or above this are implausible. The busiest counters seen
(Phemex's shared sequence, about 1.8e10 in 2021) are eight orders of magnitude below it;
values up here are what a corrupt or hostile frame carries (2**63 - 1, 2**64 - 1)."""

DEFAULT_MAX_JUMP: Final = 100_000_000
"""Largest forward jump taken as a gap rather than as an implausible number. A Binance
symbol's update ids or a Coinbase product's trade ids do not advance by 1e8 during one
connection (stalls close a connection after ``stall_timeout_s``)."""

DEFAULT_STUCK_AFTER: Final = 50
"""Valid-looking messages rejected in a row (stale, duplicate or implausible) after which a
stream is taken to be stuck and resynced."""


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
    IMPLAUSIBLE = "implausible"
    """Jumped ahead by more than the bound, to :data:`SEQ_LIMIT` or above, or started below
    0: not remembered."""


class SequenceTracker:
    """Track one channel's sequence numbers (sans-I/O).

    A message covers the numbers ``first..last`` (``first == last`` for venues that number
    each message; Binance's depth events cover ``U..u``). A message continues the sequence
    when ``first <= expected <= last`` with ``expected = last_seen + 1``. On a gap the tracker
    moves on to the new message, so one loss is reported once. A message whose last number is
    :data:`SEQ_LIMIT` or above, or more than ``max_jump`` past the last one seen, is
    IMPLAUSIBLE and leaves the tracker where it was.

    Parameters
    ----------
    name
        What the tracker is for, e.g. ``"BTCUSD book"``, for messages and logs.
    max_jump
        The largest forward jump that is a gap; None for venues whose numbers may jump by
        any amount (Phemex's counter is shared between symbols), which still refuse
        :data:`SEQ_LIMIT`.
    stuck_after
        Messages rejected in a row (stale or implausible) after which :attr:`is_stuck` holds.
    """

    __slots__ = (
        "_jump",
        "_run_at",
        "gaps",
        "implausible",
        "last",
        "max_jump",
        "name",
        "run",
        "stale",
        "stuck_after",
    )
    _limit: Final = SEQ_LIMIT

    def __init__(
        self,
        name: str = "",
        *,
        max_jump: int | None = DEFAULT_MAX_JUMP,
        stuck_after: int = DEFAULT_STUCK_AFTER,
    ) -> None:
        self.name = name
        self.last: int | None = None
        self.max_jump = max_jump
        self._jump = max_jump if max_jump is not None else SEQ_LIMIT  # no bound below the limit
        self.stuck_after = stuck_after
        self.gaps = 0
        self.stale = 0
        self.implausible = 0
        self.run = 0
        """Messages rejected (stale or implausible) in a row: since ``last`` last changed."""
        self._run_at: int | None = None  # ``last`` when the run was counted

    @property
    def expected(self) -> int | None:
        """Return the next number expected, or None before the first message."""
        return None if self.last is None else self.last + 1

    @property
    def is_stuck(self) -> bool:
        """Return True once ``stuck_after`` messages in a row were rejected."""
        return self.run >= self.stuck_after and self._run_at == self.last

    def is_plausible_jump(self, number: int) -> bool:
        """Return True when ``number`` may follow the last number seen (or start a sequence)."""
        prev = self.last
        return 0 <= number < SEQ_LIMIT and (prev is None or number - prev <= self._jump)

    def check(self, first: int, last: int | None = None) -> SequenceCheck:
        """Classify a message numbered ``first`` (to ``last``) and remember it if accepted.

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
            if end >= self._limit or first < 0:
                return self._implausible()
            self.last = end
            return SequenceCheck.FIRST
        if end <= prev:
            self.stale += 1
            self._count_run()
            return SequenceCheck.STALE
        if end - prev > self._jump or end >= self._limit:
            return self._implausible()
        self.last = end  # accepted: the next rejection starts a new run (no reset needed here)
        if first <= prev + 1:
            return SequenceCheck.NEXT
        self.gaps += 1
        return SequenceCheck.GAP

    def _implausible(self) -> SequenceCheck:
        self.implausible += 1
        self._count_run()
        return SequenceCheck.IMPLAUSIBLE

    def _count_run(self) -> None:
        """Count a rejection; one after ``last`` changed starts a new run.

        Accepting a message only moves ``last``, so the hot path of a caller that accepts
        inline (``tracker.last = n``) need not touch the run.
        """
        if self._run_at != self.last:
            self._run_at = self.last
            self.run = 0
        self.run += 1

    def reset(self, last: int | None = None) -> None:
        """Forget the sequence, or restart it after ``last`` (e.g. a snapshot's number)."""
        self.last = last
        self.run = 0
        self._run_at = last
