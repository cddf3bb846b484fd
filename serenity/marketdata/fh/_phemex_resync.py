"""Fresh Phemex book snapshots on demand: when to resubscribe, and which snapshot answers.

Phemex sends a book's snapshot right after each successful ``orderbook.subscribe`` (or
``orderbook_p.subscribe``), and ``orderbook.unsubscribe`` takes no symbol: it "unsubscribes
all orderbook related subscriptions" of its channel. So a book is resynced by a *round*:
the channel family's unsubscribe, then a subscribe for each of its symbols, after which each
symbol's next snapshot replaces its book. :class:`Resubscriber` decides when rounds go and
is free of I/O: it sends through a callable and asks the handler which books wait.

* One round per family is outstanding at a time; a symbol's part ends with the first
  snapshot after Phemex accepted its subscription (the reply precedes the snapshot, as in
  the 2021 capture), or with a refusal. A gap on a symbol whose part is outstanding asks
  for nothing more; a gap on another one starts the next round when this one ends.
* Rounds of a family start at least :data:`SPACING_NS` apart (Phemex allows 20 requests a
  second and a round is one request more than the family has symbols); a round held back is
  started by :meth:`Resubscriber.poll` with the first frame after that.
* A round is skipped when, by its time, every book of the family is live again (e.g. the
  periodic snapshot came first).
* A refused subscription leaves its book with no subscription (the unsubscribe before it
  ended the old one), so no periodic snapshot will come either: the book is asked for again,
  the next round waiting twice as long after each round in a row with a refusal (2 s, 4 s,
  ... up to :data:`MAX_BACKOFF_NS`), until a round has none.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Final

from orjson import dumps

__all__ = ["SPACING_NS", "Resubscriber"]

log = logging.getLogger(__name__)

SPACING_NS: Final = 1_000_000_000
"""Least time between the starts of two rounds of one channel family (ns)."""
MAX_BACKOFF_NS: Final = 64 * SPACING_NS
"""Longest wait before a round that follows refusals (ns)."""
NEVER: Final = sys.maxsize


@dataclass(slots=True)
class _Family:
    """The book subscriptions one ``<channel>.unsubscribe`` ends, and its round."""

    subscribe: str
    unsubscribe: str
    params: dict[str, list[object]] = field(default_factory=dict)  # symbol -> its params
    outstanding: dict[str, int] = field(default_factory=dict)  # symbol -> request id
    accepted: set[str] = field(default_factory=set)  # outstanding, and Phemex said success
    wanted: str = ""  # a symbol whose book waits for a snapshot not asked for yet
    started: int = -SPACING_NS  # when the last round started
    trigger: str = ""  # the symbol whose gap started it
    refusals: int = 0  # rounds in a row with a refused subscription
    round_refused: bool = False  # a subscription of the outstanding round was refused


class Resubscriber:
    """Rounds of book resubscriptions on one connection (see the module docstring).

    Parameters
    ----------
    subscriptions
        Each book's subscription: symbol -> (subscribe method, params).
    send
        Sends a request frame; returns False when no connection is open.
    waiting
        Returns True while a symbol's book waits for a snapshot.

    Attributes
    ----------
    due
        When a round held back by the spacing may start: call :meth:`poll` from then.
    """

    def __init__(
        self,
        subscriptions: Mapping[str, tuple[str, list[object]]],
        *,
        send: Callable[[str], bool],
        waiting: Callable[[str], bool],
    ) -> None:
        self._families: dict[str, _Family] = {}
        self._family_of: dict[str, _Family] = {}
        for symbol, (method, params) in subscriptions.items():
            family = self._families.get(method)
            if family is None:
                unsubscribe = method.rpartition(".")[0] + ".unsubscribe"
                family = self._families[method] = _Family(method, unsubscribe)
            family.params[symbol] = params
            self._family_of[symbol] = family
        self._send = send
        self._waiting = waiting
        self._ids: dict[int, tuple[_Family, str]] = {}  # request -> family, symbol ("": unsub)
        self._next_id = 1
        self.due = NEVER

    def reset(self, next_id: int) -> None:
        """Forget every round (a new connection); number requests from ``next_id``."""
        for family in self._families.values():
            family.outstanding.clear()
            family.accepted.clear()
            family.wanted = family.trigger = ""
            family.started = -SPACING_NS
            family.refusals = 0
            family.round_refused = False
        self._ids.clear()
        self._next_id = next_id
        self.due = NEVER

    def ask(self, symbol: str, ts: int) -> None:
        """Ask for a fresh snapshot of ``symbol``'s book, now or when the family may go."""
        family = self._family_of[symbol]
        if symbol not in family.outstanding:  # else its snapshot is on the way already
            family.wanted = family.wanted or symbol
            self._start(family, ts)

    def poll(self, ts: int) -> None:
        """Start the rounds held back by the spacing whose time has come."""
        self.due = NEVER
        for family in self._families.values():
            self._start(family, ts)

    def expects(self, symbol: str) -> bool:
        """Return True while ``symbol``'s part of a round is outstanding.

        Its snapshots then replace the book without the verification against it: Phemex
        sent no updates between the unsubscribe and the new subscription's snapshot.
        """
        return symbol in self._family_of[symbol].outstanding

    def on_snapshot(self, symbol: str, ts: int) -> None:
        """Take a snapshot of ``symbol``: it answers the resubscription once accepted."""
        family = self._family_of[symbol]
        if symbol in family.accepted:
            self._answered(family, symbol, ts)

    def owns(self, rid: int) -> bool:
        """Return True when request ``rid`` is a resubscription still waiting for its reply."""
        return rid in self._ids

    def on_reply(self, rid: int, *, refused: bool, ts: int) -> tuple[str, str]:
        """Take the reply to request ``rid``; return its method and symbol.

        A refused subscription ends the symbol's part of the round and asks for the book
        again, after a longer wait each time (see the module docstring). The symbol of the
        unsubscribe is the one whose gap started it.
        """
        family, symbol = self._ids.pop(rid)
        if not symbol:
            return family.unsubscribe, family.trigger
        if symbol in family.outstanding:
            if refused:
                family.round_refused = True
                family.wanted = family.wanted or symbol
                self._answered(family, symbol, ts)
            else:
                family.accepted.add(symbol)
        return family.subscribe, symbol

    def _start(self, family: _Family, ts: int) -> None:
        """Start a round if one is wanted and may go now."""
        if family.outstanding or not family.wanted:
            return  # one round at a time: the next starts when this one is answered
        due = family.started + min(SPACING_NS << family.refusals, MAX_BACKOFF_NS)
        if ts < due:
            self.due = min(self.due, due)
            return
        family.trigger, family.wanted = family.wanted, ""
        if not any(self._waiting(s) for s in family.params):
            return  # a snapshot (the periodic one) resynced the books meanwhile
        rid = self._next_id
        if not self._send(_frame(rid, family.unsubscribe, [])):
            return  # not connected: the next connection subscribes afresh
        self._ids[rid] = (family, "")
        for symbol, params in family.params.items():
            rid += 1
            self._send(_frame(rid, family.subscribe, params))
            self._ids[rid] = (family, symbol)
            family.outstanding[symbol] = rid
        self._next_id = rid + 1
        family.started = ts
        log.info(
            "fh.resubscribe",
            extra={"method": family.subscribe, "symbol": family.trigger, "n": len(family.params)},
        )

    def _answered(self, family: _Family, symbol: str, ts: int) -> None:
        """End a symbol's part of the round; start the next round when one is wanted."""
        del family.outstanding[symbol]
        family.accepted.discard(symbol)
        if not family.outstanding:
            family.refusals = family.refusals + 1 if family.round_refused else 0
            family.round_refused = False
            self._start(family, ts)


def _frame(rid: int, method: str, params: list[object]) -> str:
    return dumps({"id": rid, "method": method, "params": params}).decode()
