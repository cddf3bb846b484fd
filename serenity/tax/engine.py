"""From transactions to realised gains: acquisitions, disposals and transfers of lots.

:func:`compute` walks every transaction up to the end of the tax year in time order. A trade
disposes of what was given and acquires what was received, both at one USD value ``V``: the
USD side when there is one, else the value the source stated, else the received quantity at
its USD mark, else the given quantity at its mark. A fee worth ``Fv`` (USD):

- in the asset received: the lot is the net quantity; on a purchase with USD its basis is
  ``V`` (the fee is inside it), in a crypto-to-crypto trade the basis and the proceeds are
  ``V - Fv``;
- in the asset given: the disposal includes the fee units and its proceeds are ``V``;
- in USD or a third asset: a purchase with USD has basis ``V + Fv``; any other trade has
  proceeds ``V - Fv``. A fee in a third asset is itself a disposal of that asset at ``Fv``.

So fees increase the basis of acquisitions and reduce the proceeds of disposals, each fee once.
Transfers between own wallets move lots with their acquisition dates and basis; a fee in the
moved asset leaves the basis of the fee units with the moved coins. Every realised piece of a
lot disposed of in the tax year becomes one :class:`Realized` row.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum, unique

from serenity.errors import InvalidValueError
from serenity.model.tax import LedgerKind
from serenity.tax.lots import LotPool, Piece, ReliefMethod, Term, holding_term
from serenity.tax.prices import UsdPrices
from serenity.tax.records import USD, Transaction, format_qty

__all__ = [
    "ELSEWHERE",
    "PoolMode",
    "Realized",
    "TaxReport",
    "TaxSettings",
    "Totals",
    "compute",
    "default_pools",
]

log = logging.getLogger(__name__)

ELSEWHERE = "(elsewhere)"
"""The wallet lots move to when they leave for a wallet that is not in the ledger."""

_ZERO = Decimal(0)
_CENT = Decimal("0.01")
_UNIVERSAL = "*"


@unique
class PoolMode(StrEnum):
    """Whether lots are kept per wallet or in one pool across wallets."""

    WALLET = "wallet"
    """Each wallet (account) has its own lots; US rule for disposals from 2025 on."""
    UNIVERSAL = "universal"
    """One pool of lots per asset across every wallet."""


def default_pools(year: int) -> PoolMode:
    """Return the default pools for a tax year: per wallet from 2025, universal before."""
    return PoolMode.WALLET if year >= 2025 else PoolMode.UNIVERSAL


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class Realized:
    """One lot (or part of one) relieved by a disposal in the tax year: one Form 8949 row.

    ``proceeds`` and ``basis`` are USD rounded to cents; ``gain`` is their difference.
    """

    asset: str
    qty: Decimal
    acquired: dt.date
    sold: dt.date
    proceeds: Decimal
    basis: Decimal
    term: Term
    wallet: str
    lot_id: str
    disposal_id: str

    @property
    def gain(self) -> Decimal:
        """Return proceeds minus basis (negative for a loss)."""
        return self.proceeds - self.basis

    @property
    def box(self) -> str:
        """Return the Form 8949 box: C (short-term) or F (long-term), no Form 1099-B."""
        return "C" if self.term is Term.SHORT else "F"

    @property
    def description(self) -> str:
        """Return the description of property, e.g. ``0.5 BTC``."""
        return f"{format_qty(self.qty)} {self.asset}"


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed proceeds, basis and gain of some realised rows."""

    proceeds: Decimal = _ZERO
    basis: Decimal = _ZERO

    @property
    def gain(self) -> Decimal:
        """Return proceeds minus basis."""
        return self.proceeds - self.basis

    def plus(self, row: Realized) -> Totals:
        """Return these totals with ``row`` added."""
        return Totals(self.proceeds + row.proceeds, self.basis + row.basis)


@dataclass(frozen=True, slots=True)
class TaxSettings:
    """How to compute a tax year.

    Parameters
    ----------
    year
        The tax year; disposals from 1 January to 31 December inclusive, in ``tz``.
    method
        Which lots a disposal relieves.
    pools
        Per-wallet or universal pools; :func:`default_pools` of the year when None.
    tz
        The time zone whose calendar dates count (dates acquired and sold, the year).
    lots
        For specific identification: disposal id -> ``(lot_id, qty)`` pairs.
    transfer_window
        How long after leaving one wallet a transfer may arrive in another and still be
        paired with it by quantity (pairs by ``transfer_ref`` need no window).
    """

    year: int
    method: ReliefMethod = ReliefMethod.FIFO
    pools: PoolMode | None = None
    tz: dt.tzinfo = dt.UTC
    lots: Mapping[str, Sequence[tuple[str, Decimal]]] = field(default_factory=dict)
    transfer_window: dt.timedelta = dt.timedelta(days=3)

    def __post_init__(self) -> None:
        if not 1970 <= self.year <= 9998:
            raise InvalidValueError(f"tax year must be between 1970 and 9998, was {self.year}")
        if self.lots and self.method is not ReliefMethod.SPECIFIC:
            raise InvalidValueError(f"a lots file goes with --method specific, was {self.method}")

    @property
    def pool_mode(self) -> PoolMode:
        """Return the pools in force: the setting, or the year's default."""
        return self.pools if self.pools is not None else default_pools(self.year)


@dataclass(frozen=True, slots=True)
class TaxReport:
    """The realised rows of a tax year, the settings used and notes worth reading."""

    settings: TaxSettings
    rows: tuple[Realized, ...]
    income: Decimal
    notes: tuple[str, ...]

    def totals(self) -> dict[Term, Totals]:
        """Return short- and long-term totals."""
        out = {Term.SHORT: Totals(), Term.LONG: Totals()}
        for row in self.rows:
            out[row.term] = out[row.term].plus(row)
        return out

    def by_asset(self) -> dict[tuple[str, Term], Totals]:
        """Return totals per asset and term, sorted by asset then term."""
        out: dict[tuple[str, Term], Totals] = {}
        for row in sorted(self.rows, key=lambda r: (r.asset, r.term is Term.LONG)):
            out[(row.asset, row.term)] = out.get((row.asset, row.term), Totals()).plus(row)
        return out


def compute(
    transactions: Iterable[Transaction],
    prices: UsdPrices,
    settings: TaxSettings,
    *,
    notes: Iterable[str] = (),
) -> TaxReport:
    """Return the realised gains and losses of ``settings.year``.

    Parameters
    ----------
    transactions
        Every transaction of every wallet, in any order; history before the year builds the
        lots, and transactions after it are ignored.
    prices
        USD prices for crypto-to-crypto trades, fees in a third asset and income.
    settings
        Year, relief method, pools, time zone and named lots.
    notes
        Notes from loading the transactions, kept in the report.

    Raises
    ------
    DataError
        When a disposal finds too few lots, or a value needs a USD mark that is missing.
    InvalidValueError
        When a lots file names quantities that do not add up to a disposal.
    """
    with localcontext() as ctx:
        ctx.prec = 60
        walk = _Walk(prices, settings)
        walk.run(list(transactions))
    report = TaxReport(
        settings=settings,
        rows=tuple(walk.rows),
        income=_cents(walk.income),
        notes=tuple(notes) + tuple(walk.notes),
    )
    log.info(
        "tax.computed",
        extra={
            "year": settings.year,
            "method": str(settings.method),
            "pools": str(settings.pool_mode),
            "rows": len(report.rows),
            "notes": len(report.notes),
        },
    )
    return report


class _Walk:
    """One pass over the transactions: the pools of lots and what was realised."""

    def __init__(self, prices: UsdPrices, settings: TaxSettings) -> None:
        self.prices = prices
        self.settings = settings
        self.mode = settings.pool_mode
        self.tz = settings.tz
        self.start = dt.datetime(settings.year, 1, 1, tzinfo=settings.tz)
        self.end = dt.datetime(settings.year + 1, 1, 1, tzinfo=settings.tz)
        self.pools: dict[tuple[str, str], LotPool] = {}
        self.rows: list[Realized] = []
        self.notes: list[str] = []
        self.income = _ZERO
        self.named_used: set[str] = set()
        self.fifo_fallbacks = 0

    # -- the walk ---------------------------------------------------------------------------

    def run(self, txns: list[Transaction]) -> None:
        order = sorted(range(len(txns)), key=lambda i: (txns[i].ts, _phase(txns[i]), i))
        pairs = self._pair_transfers([txns[i] for i in order])  # later arrivals pair too
        ordered = [txns[i] for i in order if txns[i].ts < self.end]
        arriving = {t_in.key for t_in in pairs.values()}
        for txn in ordered:
            if txn.kind is LedgerKind.TRADE:
                self._trade(txn)
            elif txn.kind is LedgerKind.INCOME:
                self._income(txn)
            elif txn.kind is LedgerKind.TRANSFER_OUT:
                self._transfer_out(txn, pairs.get(txn.key))
            elif txn.key not in arriving:
                self._unpaired_in(txn)
        self._lots_file_notes()

    def _pool(self, wallet: str, asset: str) -> LotPool:
        name = wallet if self.mode is PoolMode.WALLET else _UNIVERSAL
        pool = self.pools.get((name, asset))
        if pool is None:
            pool = self.pools[(name, asset)] = LotPool(asset, name)
        return pool

    def _in_year(self, ts: dt.datetime) -> bool:
        return self.start <= ts < self.end

    # -- trades and income ------------------------------------------------------------------

    def _trade(self, t: Transaction) -> None:
        assert t.received_asset and t.received_qty is not None  # checked by Transaction
        assert t.sent_asset and t.sent_qty is not None
        got, r = t.received_asset, t.received_qty
        gave, s = t.sent_asset, t.sent_qty
        fee_asset, f = (t.fee_asset, t.fee_qty) if t.fee_qty else (None, _ZERO)
        if got == gave:
            self.notes.append(f"{t.key}: a trade of {gave} for {got} changes no lots; ignored")
            return
        value = self._trade_value(t)
        fee_value = self._fee_value(t, value)
        if gave != USD:
            qty = s + (f if fee_asset == gave else _ZERO)
            proceeds = value if fee_asset == gave else value - fee_value
            self._dispose(t.wallet, gave, qty, proceeds, t.ts, t.key)
        if fee_asset is not None and fee_asset not in (USD, got, gave):
            self._dispose(t.wallet, fee_asset, f, fee_value, t.ts, f"{t.key}:fee")
        if got != USD:
            qty = r - (f if fee_asset == got else _ZERO)
            if gave == USD:
                basis = value if fee_asset == got else value + fee_value
            else:
                basis = value - fee_value if fee_asset == got else value
            self._pool(t.wallet, got).add(t.key, t.ts, qty, basis)

    def _trade_value(self, t: Transaction) -> Decimal:
        assert t.received_asset and t.received_qty is not None
        assert t.sent_asset and t.sent_qty is not None
        if t.sent_asset == USD:
            return t.sent_qty
        if t.received_asset == USD:
            return t.received_qty
        if t.value_usd is not None:
            return t.value_usd
        for asset, qty in ((t.received_asset, t.received_qty), (t.sent_asset, t.sent_qty)):
            price = self.prices.find(asset, t.ts)
            if price is not None:
                return qty * price
        what = (
            f"{t.key} ({format_qty(t.sent_qty)} {t.sent_asset} for"
            f" {format_qty(t.received_qty)} {t.received_asset})"
        )
        raise self.prices.missing([t.received_asset, t.sent_asset], t.ts, what=what)

    def _fee_value(self, t: Transaction, value: Decimal) -> Decimal:
        if not t.fee_qty or t.fee_asset is None:
            return _ZERO
        if t.fee_asset == t.received_asset and t.received_qty:
            return t.fee_qty * value / t.received_qty
        if t.fee_asset == t.sent_asset and t.sent_qty:
            return t.fee_qty * value / t.sent_qty
        return t.fee_qty * self.prices.usd(t.fee_asset, t.ts, what=f"the fee of {t.key}")

    def _income(self, t: Transaction) -> None:
        assert t.received_asset and t.received_qty is not None
        if t.received_asset == USD:
            return
        value = t.value_usd
        if value is None:
            value = t.received_qty * self.prices.usd(t.received_asset, t.ts, what=t.key)
        fee = t.fee_qty if t.fee_asset == t.received_asset and t.fee_qty else _ZERO
        basis = value * (t.received_qty - fee) / t.received_qty if t.received_qty else _ZERO
        self._pool(t.wallet, t.received_asset).add(t.key, t.ts, t.received_qty - fee, basis)
        if self._in_year(t.ts):
            self.income += value

    # -- disposals --------------------------------------------------------------------------

    def _relieve(
        self, wallet: str, asset: str, qty: Decimal, ts: dt.datetime, key: str, *, sale: bool
    ) -> list[Piece]:
        named = None
        if self.settings.method is ReliefMethod.SPECIFIC:
            named = self.settings.lots.get(key)
            if named is not None:
                self.named_used.add(key)
            elif sale and self._in_year(ts):
                self.fifo_fallbacks += 1
        what = f"{key} at {ts.astimezone(dt.UTC).isoformat()}"
        return self._pool(wallet, asset).relieve(qty, self.settings.method, what=what, named=named)

    def _dispose(
        self,
        wallet: str,
        asset: str,
        qty: Decimal,
        proceeds: Decimal,
        ts: dt.datetime,
        key: str,
    ) -> None:
        pieces = self._relieve(wallet, asset, qty, ts, key, sale=True)
        if not self._in_year(ts):
            return
        sold = ts.astimezone(self.tz).date()
        left = proceeds
        for i, piece in enumerate(pieces):
            share = left if i == len(pieces) - 1 else proceeds * piece.qty / qty
            left -= share
            acquired = piece.acquired.astimezone(self.tz).date()
            self.rows.append(
                Realized(
                    asset=asset,
                    qty=piece.qty,
                    acquired=acquired,
                    sold=sold,
                    proceeds=_cents(share),
                    basis=_cents(piece.basis),
                    term=holding_term(acquired, sold),
                    wallet=wallet,
                    lot_id=piece.lot_id,
                    disposal_id=key,
                )
            )

    # -- transfers --------------------------------------------------------------------------

    def _pair_transfers(self, txns: Sequence[Transaction]) -> dict[str, Transaction]:
        """Pair each transfer out with the transfer in it became: by reference, then by
        asset and quantity arriving in another wallet within the window."""
        outs = [t for t in txns if t.kind is LedgerKind.TRANSFER_OUT]
        ins = [t for t in txns if t.kind is LedgerKind.TRANSFER_IN]
        pairs: dict[str, Transaction] = {}
        taken: set[str] = set()
        by_ref: dict[tuple[str | None, str], list[Transaction]] = defaultdict(list)
        for t_in in ins:
            if t_in.transfer_ref:
                by_ref[(t_in.received_asset, t_in.transfer_ref)].append(t_in)
        for t_out in outs:
            for t_in in by_ref.get((t_out.sent_asset, t_out.transfer_ref or ""), []):
                if t_in.key not in taken and t_in.wallet != t_out.wallet:
                    pairs[t_out.key] = t_in
                    taken.add(t_in.key)
                    break
        slack = dt.timedelta(hours=1)  # venues' clocks and booking times differ a little
        by_qty: dict[tuple[str | None, Decimal | None], list[Transaction]] = defaultdict(list)
        for t_in in ins:
            by_qty[(t_in.received_asset, t_in.received_qty)].append(t_in)
        for t_out in outs:
            if t_out.key in pairs:
                continue
            for t_in in by_qty.get((t_out.sent_asset, t_out.sent_qty), []):
                if (
                    t_in.key not in taken
                    and t_in.wallet != t_out.wallet
                    and t_out.ts - slack <= t_in.ts <= t_out.ts + self.settings.transfer_window
                ):
                    pairs[t_out.key] = t_in
                    taken.add(t_in.key)
                    break
        return pairs

    def _transfer_out(self, t: Transaction, t_in: Transaction | None) -> None:
        assert t.sent_asset and t.sent_qty is not None
        asset, sent = t.sent_asset, t.sent_qty
        if asset == USD:
            return
        fee = t.fee_qty if t.fee_asset == asset and t.fee_qty else _ZERO
        extra_basis = _ZERO
        if t.fee_qty and t.fee_asset not in (None, asset):
            assert t.fee_asset is not None
            extra_basis = t.fee_qty * self.prices.usd(t.fee_asset, t.ts, what=f"fee of {t.key}")
            if t.fee_asset != USD:
                self._dispose(t.wallet, t.fee_asset, t.fee_qty, extra_basis, t.ts, f"{t.key}:fee")
        arriving = sent
        if t_in is not None:
            assert t_in.received_qty is not None
            in_fee = t_in.fee_qty if t_in.fee_asset == asset and t_in.fee_qty else _ZERO
            arriving = min(t_in.received_qty - in_fee, sent)
        when = t.ts.astimezone(dt.UTC).isoformat()
        if t_in is None:
            self.notes.append(
                f"{t.key}: {format_qty(sent)} {asset} left {t.wallet} at {when} with no matching"
                " transfer in; "
                + (
                    "its lots stay in the pool (record a disposal if it was spent or sold)"
                    if self.mode is PoolMode.UNIVERSAL
                    else f"its lots moved to {ELSEWHERE}"
                )
            )
        total = sent + fee
        if self.mode is PoolMode.UNIVERSAL and arriving == total and not extra_basis:
            return  # the lots stay where they are
        dest = ELSEWHERE if t_in is None else t_in.wallet
        pieces = self._relieve(t.wallet, asset, total, t.ts, t.key, sale=False)
        self._move(pieces, dest, asset, arriving, extra_basis)

    def _move(
        self, pieces: list[Piece], wallet: str, asset: str, qty: Decimal, extra_basis: Decimal
    ) -> None:
        """Add ``pieces`` to ``wallet``, scaled to ``qty`` units, with ``extra_basis`` spread
        over them pro rata; dates and lot ids stay."""
        total = sum((p.qty for p in pieces), _ZERO)
        if total == 0:
            return
        pool = self._pool(wallet, asset)
        qty_left, extra_left = qty, extra_basis
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            moved = qty_left if last else piece.qty * qty / total
            extra = extra_left if last else extra_basis * piece.qty / total
            qty_left -= moved
            extra_left -= extra
            pool.add(piece.lot_id, piece.acquired, moved, piece.basis + extra)

    def _unpaired_in(self, t: Transaction) -> None:
        assert t.received_asset and t.received_qty is not None
        asset = t.received_asset
        if asset == USD:
            return
        fee = t.fee_qty if t.fee_asset == asset and t.fee_qty else _ZERO
        qty = t.received_qty - fee
        when = t.ts.astimezone(dt.UTC).isoformat()
        if self.mode is PoolMode.UNIVERSAL:
            self.notes.append(
                f"{t.key}: {format_qty(qty)} {asset} arrived in {t.wallet} at {when} with no"
                " matching transfer out; no lots added (import its acquisition if it came from"
                " outside your wallets)"
            )
            return
        outside = self._pool(ELSEWHERE, asset)
        take = min(qty, outside.qty)
        if take > 0:
            pieces = outside.relieve(take, ReliefMethod.FIFO, what=t.key)
            self._move(pieces, t.wallet, asset, take, _ZERO)
        if take < qty:
            self.notes.append(
                f"{t.key}: {format_qty(qty - take)} {asset} arrived in {t.wallet} at {when}"
                " without lots (no matching transfer out); import its acquisition before"
                " selling it"
            )

    def _lots_file_notes(self) -> None:
        if self.settings.method is not ReliefMethod.SPECIFIC:
            return
        if self.fifo_fallbacks:
            self.notes.append(
                f"{self.fifo_fallbacks} disposal(s) in {self.settings.year} had no lots named in"
                " the lots file and were relieved first in, first out"
            )
        unused = sorted(set(self.settings.lots) - self.named_used)
        if unused:
            self.notes.append(
                "the lots file names disposals that did not happen by the end of the year: "
                + ", ".join(unused)
            )


def _phase(t: Transaction) -> int:
    """Return 0 for what only adds lots, so it goes before disposals at the same time."""
    if t.kind in (LedgerKind.INCOME, LedgerKind.TRANSFER_IN):
        return 0
    if t.kind is LedgerKind.TRADE and t.sent_asset == USD and t.fee_asset in (None, USD):
        return 0
    return 1
