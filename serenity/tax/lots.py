"""Tax lots, their relief by FIFO, LIFO, HIFO or specific identification, and holding periods.

A :class:`Lot` is a quantity of one asset acquired at one time for a USD cost basis. Relieving
part of a lot takes that part of its basis (pro rata by quantity; the last unit takes what is
left, so basis is never lost to rounding). All arithmetic is :class:`~decimal.Decimal`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum, unique
from pathlib import Path

from serenity.errors import DataError, InvalidValueError
from serenity.tax._csv import parse_amount, read_rows
from serenity.tax.records import format_qty

__all__ = [
    "Lot",
    "LotPool",
    "Piece",
    "ReliefMethod",
    "Term",
    "holding_term",
    "read_lots_file",
]

_ZERO = Decimal(0)


@unique
class ReliefMethod(StrEnum):
    """Which lots a disposal relieves first."""

    FIFO = "fifo"
    """Earliest acquired first."""
    LIFO = "lifo"
    """Latest acquired first."""
    HIFO = "hifo"
    """Highest cost per unit first (earliest first among equal costs)."""
    SPECIFIC = "specific"
    """The lots named for that disposal in a lots file; FIFO for disposals it does not name."""


@unique
class Term(StrEnum):
    """Short-term (held one year or less) or long-term (held more than one year)."""

    SHORT = "short"
    LONG = "long"


def holding_term(acquired: dt.date, sold: dt.date) -> Term:
    """Return the term of a lot acquired on ``acquired`` and sold on ``sold``.

    Held more than one year is long-term: the holding period starts the day after acquisition,
    so a lot acquired 2023-03-15 is short-term when sold on 2024-03-15 and long-term from
    2024-03-16. A lot acquired on 29 February has its anniversary on 28 February.
    """
    try:
        anniversary = acquired.replace(year=acquired.year + 1)
    except ValueError:  # 29 February
        anniversary = dt.date(acquired.year + 1, 2, 28)
    return Term.LONG if sold > anniversary else Term.SHORT


@dataclass(slots=True)
class Lot:
    """An open lot: what is left of one acquisition in one pool.

    ``lot_id`` is the acquisition's ``source:source_id``; a lot moved by a transfer keeps its
    id, acquisition time and the basis that goes with the moved quantity.
    """

    lot_id: str
    asset: str
    acquired: dt.datetime
    qty: Decimal
    basis: Decimal

    @property
    def unit_cost(self) -> Decimal:
        """Return the USD basis per unit."""
        return self.basis / self.qty if self.qty else _ZERO


@dataclass(frozen=True, slots=True)
class Piece:
    """A part of a lot taken by a relief: quantity, its basis and the lot's acquisition."""

    lot_id: str
    acquired: dt.datetime
    qty: Decimal
    basis: Decimal


class LotPool:
    """The open lots of one asset in one pool (a wallet, or every wallet together).

    Lots are kept in acquisition order; HIFO keeps a heap by cost per unit beside them, so
    relieving stays cheap with many thousands of open lots.

    Parameters
    ----------
    asset
        The asset code, for messages.
    pool
        The pool's name (a wallet, or ``"*"`` for the universal pool), for messages.
    """

    def __init__(self, asset: str, pool: str) -> None:
        self.asset = asset
        self.pool = pool
        self._lots: list[Lot] = []  # acquisition order; emptied lots are dropped lazily
        self._index: dict[tuple[str, dt.datetime], Lot] = {}
        self._held = _ZERO
        self._emptied = 0  # emptied lots still in _lots
        self._seq = 0
        # HIFO: (-unit cost, acquired, arrival, key, token); an entry counts while its token
        # is the lot's current one (a lot that grows gets a new entry).
        self._heap: list[tuple[Decimal, dt.datetime, int, tuple[str, dt.datetime], object]] = []
        self._tokens: dict[tuple[str, dt.datetime], object] | None = None

    @property
    def qty(self) -> Decimal:
        """Return the quantity held across the open lots."""
        return self._held

    @property
    def lots(self) -> list[Lot]:
        """Return copies of the open lots, in acquisition order."""
        return [Lot(x.lot_id, x.asset, x.acquired, x.qty, x.basis) for x in self._lots if x.qty > 0]

    def add(self, lot_id: str, acquired: dt.datetime, qty: Decimal, basis: Decimal) -> None:
        """Add a lot; a piece of a lot already here (moved back by a transfer) joins it."""
        if qty <= 0:
            return
        self._held += qty
        key = (lot_id, acquired)
        lot = self._index.get(key)
        if lot is not None:
            lot.qty += qty
            lot.basis += basis
        else:
            lot = self._index[key] = Lot(lot_id, self.asset, acquired, qty, basis)
            if not self._lots or self._lots[-1].acquired <= acquired:
                self._lots.append(lot)
            else:  # after any lot acquired at the same time: equal times keep arrival order
                bisect.insort_right(self._lots, lot, key=lambda x: x.acquired)
        if self._tokens is not None:
            self._push(lot)

    def relieve(
        self,
        qty: Decimal,
        method: ReliefMethod,
        *,
        what: str,
        named: Sequence[tuple[str, Decimal]] | None = None,
    ) -> list[Piece]:
        """Take ``qty`` out of the open lots and return the pieces taken.

        Parameters
        ----------
        qty
            The quantity to relieve, > 0.
        method
            FIFO, LIFO or HIFO order; SPECIFIC takes ``named`` (FIFO when it is None).
        what
            The disposal or transfer, for messages (``"binance:abc at 2024-03-01 ..."``).
        named
            For specific identification: ``(lot_id, qty)`` pairs summing to ``qty``.

        Raises
        ------
        DataError
            When the pool holds less than ``qty``, or a named lot is not open here or holds
            less than named.
        InvalidValueError
            When the named quantities do not add up to ``qty``.
        """
        if qty <= 0:
            return []
        if self._held < qty:
            raise DataError(
                f"cannot relieve {format_qty(qty)} {self.asset} from {self._where()} for {what}:"
                f" only {format_qty(self._held)} {self.asset} of lots are held there; import the"
                " acquisitions or transfers that brought it in"
            )
        if method is ReliefMethod.SPECIFIC and named is not None:
            pieces = self._relieve_named(qty, named, what=what)
        elif method is ReliefMethod.HIFO:
            pieces = self._relieve_dearest(qty)
        else:
            pieces = []
            left = qty
            lots = reversed(self._lots) if method is ReliefMethod.LIFO else self._lots
            for lot in lots:  # _take changes quantities only, so iterating in place is safe
                if left <= 0:
                    break
                if lot.qty > 0:
                    pieces.append(self._take(lot, min(left, lot.qty)))
                    left -= pieces[-1].qty
        self._held -= qty
        self._drop_emptied()
        return pieces

    def _relieve_dearest(self, qty: Decimal) -> list[Piece]:
        if self._tokens is None:
            self._tokens = {}
            for lot in self._lots:
                if lot.qty > 0:
                    self._push(lot)
        pieces = []
        left = qty
        while left > 0:
            *_, key, token = self._heap[0]
            found = self._index.get(key)
            if found is None or self._tokens.get(key) is not token:
                heapq.heappop(self._heap)  # stale: emptied, or grown and pushed again
                continue
            pieces.append(self._take(found, min(left, found.qty)))
            left -= pieces[-1].qty
        return pieces

    def _push(self, lot: Lot) -> None:
        assert self._tokens is not None
        key = (lot.lot_id, lot.acquired)
        token = self._tokens[key] = object()
        self._seq += 1
        heapq.heappush(self._heap, (-lot.unit_cost, lot.acquired, self._seq, key, token))

    def _drop_emptied(self) -> None:
        """Drop emptied lots: a FIFO prefix or LIFO suffix at once, others when they pile up."""
        lots = self._lots
        n = 0
        while n < len(lots) and lots[n].qty == 0:
            n += 1
        if n:
            del lots[:n]
            self._emptied -= n
        n = len(lots)
        while n > 0 and lots[n - 1].qty == 0:
            n -= 1
        if n < len(lots):
            self._emptied -= len(lots) - n
            del lots[n:]
        if self._emptied * 2 > len(lots):
            self._lots = [lot for lot in lots if lot.qty > 0]
            self._emptied = 0

    def _relieve_named(
        self, qty: Decimal, named: Sequence[tuple[str, Decimal]], *, what: str
    ) -> list[Piece]:
        total = sum((q for _, q in named), _ZERO)
        if total != qty:
            raise InvalidValueError(
                f"lots file names {format_qty(total)} {self.asset} for {what}, which disposes of"
                f" {format_qty(qty)} {self.asset}; the named quantities must add up to it"
            )
        by_id: dict[str, list[Lot]] = {}
        for lot in self._lots:
            if lot.qty > 0:
                by_id.setdefault(lot.lot_id, []).append(lot)
        wanted: dict[str, Decimal] = {}
        for lot_id, want in named:
            if want <= 0:
                raise InvalidValueError(
                    f"lots file names {format_qty(want)} of lot {lot_id} for {what}; give a"
                    " quantity > 0"
                )
            wanted[lot_id] = wanted.get(lot_id, _ZERO) + want
        for lot_id, want in wanted.items():
            available = sum((x.qty for x in by_id.get(lot_id, [])), _ZERO)
            if available < want:
                raise DataError(
                    f"lots file names {format_qty(want)} {self.asset} of lot {lot_id} for {what},"
                    f" but {self._where()} holds {format_qty(available)} of it"
                )
        pieces = []
        for lot_id, want in wanted.items():
            left = want
            for lot in by_id[lot_id]:
                if left <= 0:
                    break
                pieces.append(self._take(lot, min(left, lot.qty)))
                left -= pieces[-1].qty
        return pieces

    def _take(self, lot: Lot, qty: Decimal) -> Piece:
        basis = lot.basis if qty == lot.qty else lot.basis * qty / lot.qty
        lot.qty -= qty
        lot.basis -= basis
        if lot.qty == 0:
            key = (lot.lot_id, lot.acquired)
            del self._index[key]
            if self._tokens is not None:
                self._tokens.pop(key, None)
            self._emptied += 1
        return Piece(lot.lot_id, lot.acquired, qty, basis)

    def _where(self) -> str:
        return "all wallets" if self.pool == "*" else f"wallet {self.pool}"


def read_lots_file(path: str | Path) -> dict[str, list[tuple[str, Decimal]]]:
    """Return the lots named per disposal in a CSV file ``disposal_id,lot_id,qty``.

    ``disposal_id`` and ``lot_id`` are the ids the Form 8949 output prints in its Disposal
    and Lot columns (``binance:3f2a...``, ``fill:42``); several rows may name lots for one
    disposal, and their quantities must add up to what it disposes of.

    Raises
    ------
    DataError
        When the file lacks a column or a quantity does not parse.
    """
    named: dict[str, list[tuple[str, Decimal]]] = {}
    for row in read_rows(path, required=("disposal_id", "lot_id", "qty"), what="lots"):
        where = f"lots file {path} line {row.line}"
        qty = parse_amount(row.get("qty"), where=where, what="qty")
        if qty is None or qty <= 0 or not row.get("disposal_id") or not row.get("lot_id"):
            raise DataError(f"{where}: needs a disposal_id, a lot_id and a qty > 0")
        named.setdefault(row.get("disposal_id"), []).append((row.get("lot_id"), qty))
    return named
