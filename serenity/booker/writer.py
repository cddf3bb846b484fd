"""The blocking half of booking: one batch of records, one transaction of bulk statements.

:class:`BookingWriter` is plain synchronous code with no tau and no asyncio in it. The booking
service calls :meth:`BookingWriter.write` from the scheduler's thread in a backtest, and
through ``asyncio.to_thread`` when live; lists of records go in and a :class:`FlushResult`
comes out. Calls must not overlap (the service awaits each one).

One transaction per batch:

1. reference data: each ``(venue, symbol)`` is resolved to its live listing through
   :class:`~serenity.db.InstrumentCache`; each ``(venue, account)`` gets its ``trading_account``
   and ``exchange_account`` rows, created when missing (``INSERT .. ON CONFLICT DO NOTHING``
   then a select, so concurrent writers agree); fee currencies likewise;
2. orders: the batch's states are collapsed to the latest per ``(exchange account,
   cl_ord_id)``; new orders are inserted, known ones updated by primary key with their
   version counter checked and bumped (an UPDATE that finds another writer's newer version
   raises :class:`~sqlalchemy.orm.exc.StaleDataError` and the batch is retried);
3. fills: ``INSERT .. ON CONFLICT (order_id, venue_fill_id) DO NOTHING``, so a replayed exec
   id is never booked twice;
4. position and mark snapshots: upserts on their unique keys.

Ids of reference rows are cached across batches once their transaction committed.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import (
    DBAPIError,
    DisconnectionError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from serenity.booker.journal import BookingJournal
from serenity.booker.records import (
    BookingRecord,
    FillRecord,
    MarkRecord,
    OrderRecord,
    PositionRecord,
)
from serenity.db import InstrumentCache, redact_url
from serenity.db.engine import describe_db_error
from serenity.errors import (
    BookingError,
    ConfigError,
    DataError,
    SerenityError,
    UnknownSymbolError,
)
from serenity.model import (
    Currency,
    ExchangeAccount,
    Fill,
    InstrumentMark,
    Order,
    Position,
    TradingAccount,
)

__all__ = ["BookingWriter", "FlushResult"]

log = logging.getLogger(__name__)

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_CHUNK: Final = 500
_TRANSIENT: Final = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeoutError,
    StaleDataError,
)
_T = TypeVar("_T")


def utc(ns: int) -> dt.datetime:
    """Return int ns since the epoch as an aware UTC datetime (to the microsecond, floored)."""
    return _EPOCH + dt.timedelta(microseconds=ns // 1000)


@dataclass(frozen=True, slots=True, kw_only=True)
class FlushResult:
    """What one :meth:`BookingWriter.write` did.

    Attributes
    ----------
    orders
        Order rows inserted or updated.
    fills
        Fill rows inserted.
    duplicates
        Fills that were already booked (replayed exec ids), skipped.
    snapshots
        Position and mark rows written.
    pending
        Records still waiting to be booked (0 after a complete success).
    error
        Why booking failed, when it did; the records stay pending.
    is_permanent
        True when retrying cannot help until something changes (reference data missing,
        a client order id booked for another run, a constraint violated, a damaged
        journal line).
    """

    orders: int = 0
    fills: int = 0
    duplicates: int = 0
    snapshots: int = 0
    pending: int = 0
    error: str | None = None
    is_permanent: bool = False

    @property
    def ok(self) -> bool:
        """Return True when everything given so far is booked."""
        return self.error is None and self.pending == 0


@dataclass(frozen=True, slots=True)
class _Listing:
    instrument_id: int
    exchange_id: int


class BookingWriter:
    """Write booking records to the database in batches, journaling them first.

    Parameters
    ----------
    engine
        The database, migrated to the newest revision (``serenity db upgrade``).
    journal
        Where records wait until booked; None keeps them in memory only.
    max_batch
        The most records written in one transaction; a longer backlog takes several.
    """

    def __init__(
        self, engine: Engine, *, journal: BookingJournal | None = None, max_batch: int = 10_000
    ) -> None:
        if max_batch < 1:
            raise ConfigError(f"max_batch must be >= 1, was {max_batch!r}")
        self.engine = engine
        self.journal = journal
        self.max_batch = int(max_batch)
        self.last_exception: BaseException | None = None
        self._pending: list[tuple[int, BookingRecord]] = []
        self._unjournaled: list[BookingRecord] = []
        self._recovered = False
        self._seq = 0
        self._listings: dict[tuple[str, str], _Listing] = {}
        self._accounts: dict[tuple[str, str], int] = {}
        self._currencies: dict[str, int] = {}

    @property
    def pending(self) -> int:
        """Return how many records wait to be booked."""
        return len(self._pending) + len(self._unjournaled)

    def write(self, records: Sequence[BookingRecord]) -> FlushResult:
        """Journal ``records``, then book them and anything still pending; never raises.

        A failure is logged, kept in :attr:`last_exception` and reported in the result; the
        records stay pending for the next call.
        """
        try:
            self._take(records)
        except SerenityError as exc:  # the journal could not be read or written
            return self._failed(exc, permanent=isinstance(exc, DataError))
        orders = fills = duplicates = snapshots = 0
        while self._pending:
            chunk = self._pending[: self.max_batch]
            try:
                o, f, d, s = self._book([record for _, record in chunk])
            except (SQLAlchemyError, SerenityError) as exc:
                return self._failed(
                    exc,
                    permanent=not isinstance(exc, _TRANSIENT),
                    done=(orders, fills, duplicates, snapshots),
                )
            del self._pending[: len(chunk)]
            orders, fills, duplicates, snapshots = (
                orders + o,
                fills + f,
                duplicates + d,
                snapshots + s,
            )
            if self.journal is not None:
                try:
                    self.journal.mark_booked(chunk[-1][0])
                except SerenityError as exc:  # booked all the same: replays are harmless
                    log.warning("booker.journal_mark_failed", extra={"error": str(exc)})
        self.last_exception = None
        return FlushResult(
            orders=orders,
            fills=fills,
            duplicates=duplicates,
            snapshots=snapshots,
            pending=self.pending,
        )

    def hold(self, records: Sequence[BookingRecord]) -> FlushResult:
        """Journal ``records`` without touching the database (while waiting to retry)."""
        try:
            self._take(records)
        except SerenityError as exc:
            return self._failed(exc, permanent=isinstance(exc, DataError))
        return FlushResult(pending=self.pending)

    # -- pending records and the journal ------------------------------------------------

    def _take(self, records: Sequence[BookingRecord]) -> None:
        self._unjournaled.extend(records)  # kept even when the journal below fails
        if not self._recovered:
            if self.journal is not None:
                backlog = self.journal.load()
                if backlog:
                    log.info(
                        "booker.journal_recovered",
                        extra={"records": len(backlog), "path": str(self.journal.path)},
                    )
                self._pending[:0] = backlog
                self._seq = max((seq for seq, _ in backlog), default=0)
            self._recovered = True
        if not self._unjournaled:
            return
        if self.journal is not None:
            last = self.journal.append(self._unjournaled)
            first = last - len(self._unjournaled) + 1
            self._pending.extend(zip(range(first, last + 1), self._unjournaled, strict=True))
            self._seq = last
        else:
            start = self._seq + 1
            self._pending.extend(enumerate(self._unjournaled, start=start))
            self._seq += len(self._unjournaled)
        self._unjournaled = []

    def _failed(
        self,
        exc: BaseException,
        *,
        permanent: bool,
        done: tuple[int, int, int, int] = (0, 0, 0, 0),
    ) -> FlushResult:
        self.last_exception = exc
        text = _describe(exc)
        log.warning(
            "booker.flush_failed",
            extra={
                "error": text,
                "permanent": permanent,
                "pending": self.pending,
                "url": redact_url(self.engine.url),
            },
        )
        return FlushResult(
            orders=done[0],
            fills=done[1],
            duplicates=done[2],
            snapshots=done[3],
            pending=self.pending,
            error=text,
            is_permanent=permanent,
        )

    # -- one transaction -----------------------------------------------------------------

    def _book(self, records: Sequence[BookingRecord]) -> tuple[int, int, int, int]:
        orders = [r for r in records if isinstance(r, OrderRecord)]
        positions = [r for r in records if isinstance(r, PositionRecord)]
        marks = [r for r in records if isinstance(r, MarkRecord)]
        listings: dict[tuple[str, str], _Listing] = {}
        accounts: dict[tuple[str, str], int] = {}
        currencies: dict[str, int] = {}
        with Session(self.engine) as session, session.begin():
            conn = session.connection()
            for record in records:
                listing_key = (record.venue, record.symbol)
                if listing_key not in listings:
                    listings[listing_key] = self._listing(session, listing_key)
            owned: list[OrderRecord | PositionRecord] = [*orders, *positions]
            for r in owned:
                key = (r.venue, r.account)
                if key not in accounts:
                    accounts[key] = self._account(conn, key, listings[(r.venue, r.symbol)])
            for o in orders:
                ccy = o.fill.fee_currency if o.fill is not None else ""
                if ccy and ccy not in currencies:
                    currencies[ccy] = self._currency(conn, ccy)
            n_orders, ids = self._write_orders(session, orders, listings, accounts)
            n_fills, dups = self._write_fills(conn, orders, accounts, ids, currencies)
            n_snaps = self._write_positions(conn, positions, listings, accounts)
            n_snaps += self._write_marks(conn, marks, listings)
        self._listings.update(listings)
        self._accounts.update(accounts)
        self._currencies.update(currencies)
        return n_orders, n_fills, dups, n_snaps

    def _listing(self, session: Session, key: tuple[str, str]) -> _Listing:
        found = self._listings.get(key)
        if found is not None:
            return found
        venue, symbol = key
        try:
            listing = InstrumentCache(session).get_exchange_instrument(venue, symbol)
        except UnknownSymbolError as exc:
            raise BookingError(
                f"cannot book {symbol}@{venue}: {exc}; load the venue's reference data with "
                f"`serenity refdata load --venue {venue}` and the waiting records are booked "
                f"at the next retry"
            ) from exc
        return _Listing(listing.instrument_id, listing.exchange_id)

    def _account(self, conn: Connection, key: tuple[str, str], listing: _Listing) -> int:
        found = self._accounts.get(key)
        if found is not None:
            return found
        _, code = key
        insert = _insert_for(conn)
        conn.execute(
            insert(TradingAccount)
            .values(code=code, name=code)
            .on_conflict_do_nothing(index_elements=["code"])
        )
        trading_id = conn.scalar(sa.select(TradingAccount.id).where(TradingAccount.code == code))
        conn.execute(
            insert(ExchangeAccount)
            .values(exchange_id=listing.exchange_id, code=code, trading_account_id=trading_id)
            .on_conflict_do_nothing(index_elements=["exchange_id", "code"])
        )
        account_id = conn.scalar(
            sa.select(ExchangeAccount.id).where(
                ExchangeAccount.exchange_id == listing.exchange_id, ExchangeAccount.code == code
            )
        )
        assert account_id is not None  # inserted or found just above
        return int(account_id)

    def _currency(self, conn: Connection, code: str) -> int:
        found = self._currencies.get(code)
        if found is not None:
            return found
        code = code.strip().upper()
        conn.execute(
            _insert_for(conn)(Currency)
            .values(code=code)
            .on_conflict_do_nothing(index_elements=["code"])
        )
        currency_id = conn.scalar(sa.select(Currency.id).where(Currency.code == code))
        assert currency_id is not None
        return int(currency_id)

    def _write_orders(
        self,
        session: Session,
        records: Sequence[OrderRecord],
        listings: dict[tuple[str, str], _Listing],
        accounts: dict[tuple[str, str], int],
    ) -> tuple[int, dict[tuple[int, str], int]]:
        latest: dict[tuple[int, str], OrderRecord] = {}
        created: dict[tuple[int, str], int] = {}
        for r in records:
            key = (accounts[(r.venue, r.account)], r.cl_ord_id)
            latest[key] = r
            created[key] = min(created.get(key, r.created_ts), r.created_ts)
        if not latest:
            return 0, {}
        existing = _existing_orders(session, latest)
        inserts, updates = [], []
        for key, r in latest.items():
            state = {
                "qty": r.qty,
                "price": r.price,
                "stop_price": r.stop_price,
                "status": r.status,
                "cum_qty": r.cum_qty,
                "avg_price": r.avg_price,
                "venue_order_id": r.venue_order_id,
                "reason": r.reason,
                "updated_at": utc(r.ts),
            }
            found = existing.get(key)
            if found is None:
                inserts.append(
                    {
                        "exchange_account_id": key[0],
                        "instrument_id": listings[(r.venue, r.symbol)].instrument_id,
                        "strategy_run_id": r.run_id,
                        "cl_ord_id": r.cl_ord_id,
                        "side": r.side,
                        "order_type": r.order_type,
                        "time_in_force": r.time_in_force,
                        "is_post_only": r.is_post_only,
                        "is_reduce_only": r.is_reduce_only,
                        "created_at": utc(created[key]),
                        "version_id": 1,
                        **state,
                    }
                )
                continue
            order_id, run_id, version = found
            if run_id != r.run_id:
                raise BookingError(
                    f"order {r.cl_ord_id!r} of account {r.account!r} on {r.venue} is booked "
                    f"for run {run_id}, not run {r.run_id}; give each run its own client order "
                    f"ids (OrderFactory(prefix=...)) or its own account"
                )
            updates.append({"id": order_id, "version_id": version, **state})
        ids = {key: found[0] for key, found in existing.items()}
        if inserts:
            insert = _insert_for(session.connection())
            stmt = (
                insert(Order)
                .on_conflict_do_nothing(index_elements=["exchange_account_id", "cl_ord_id"])
                .returning(Order.id, Order.exchange_account_id, Order.cl_ord_id)
            )
            for chunk in _chunks(inserts):
                rows = session.execute(stmt, list(chunk)).all()
                if len(rows) != len(chunk):  # another writer inserted one meanwhile
                    raise StaleDataError(
                        f"{len(chunk) - len(rows)} of {len(chunk)} new orders were inserted by "
                        "another writer meanwhile"
                    )
                ids.update({(int(a), str(c)): int(i) for i, a, c in rows})
        if updates:
            session.execute(sa.update(Order), updates)
        return len(inserts) + len(updates), ids

    def _write_fills(
        self,
        conn: Connection,
        records: Sequence[OrderRecord],
        accounts: dict[tuple[str, str], int],
        ids: dict[tuple[int, str], int],
        currencies: dict[str, int],
    ) -> tuple[int, int]:
        rows: dict[tuple[int, str], dict[str, Any]] = {}
        for r in records:
            fill: FillRecord | None = r.fill
            if fill is None:
                continue
            order_id = ids[(accounts[(r.venue, r.account)], r.cl_ord_id)]
            rows[(order_id, fill.exec_id)] = {
                "order_id": order_id,
                "venue_fill_id": fill.exec_id,
                "side": r.side,
                "qty": fill.qty,
                "price": fill.price,
                "fee": fill.fee,
                "fee_currency_id": currencies.get(fill.fee_currency) if fill.fee_currency else None,
                "liquidity": fill.liquidity,
                "ts": utc(fill.ts),
            }
        if not rows:
            return 0, 0
        stmt = (
            _insert_for(conn)(Fill)
            .on_conflict_do_nothing(index_elements=["order_id", "venue_fill_id"])
            .returning(Fill.id)
        )
        inserted = 0
        for chunk in _chunks(list(rows.values())):
            inserted += len(conn.execute(stmt, list(chunk)).all())
        duplicates = sum(1 for r in records if r.fill is not None) - inserted
        return inserted, duplicates

    def _write_positions(
        self,
        conn: Connection,
        records: Sequence[PositionRecord],
        listings: dict[tuple[str, str], _Listing],
        accounts: dict[tuple[str, str], int],
    ) -> int:
        rows: dict[tuple[int, int, int], dict[str, Any]] = {}
        for r in records:
            account_id = accounts[(r.venue, r.account)]
            instrument_id = listings[(r.venue, r.symbol)].instrument_id
            rows[(account_id, instrument_id, r.ts)] = {
                "exchange_account_id": account_id,
                "instrument_id": instrument_id,
                "ts": utc(r.ts),
                "qty": r.qty,
                "avg_price": r.avg_price,
            }
        keys = ["exchange_account_id", "instrument_id", "ts"]
        return _upsert(conn, Position, list(rows.values()), keys, ["qty", "avg_price"])

    def _write_marks(
        self,
        conn: Connection,
        records: Sequence[MarkRecord],
        listings: dict[tuple[str, str], _Listing],
    ) -> int:
        rows: dict[tuple[int, str, int], dict[str, Any]] = {}
        for r in records:
            instrument_id = listings[(r.venue, r.symbol)].instrument_id
            rows[(instrument_id, r.source, r.ts)] = {
                "instrument_id": instrument_id,
                "source": r.source,
                "ts": utc(r.ts),
                "price": r.price,
            }
        keys = ["instrument_id", "source", "ts"]
        return _upsert(conn, InstrumentMark, list(rows.values()), keys, ["price"])


def _existing_orders(
    session: Session, keys: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], tuple[int, int | None, int]]:
    by_account: dict[int, list[str]] = {}
    for account_id, cl_ord_id in keys:
        by_account.setdefault(account_id, []).append(cl_ord_id)
    found: dict[tuple[int, str], tuple[int, int | None, int]] = {}
    for account_id, cl_ord_ids in by_account.items():
        for chunk in _chunks(cl_ord_ids):
            query = sa.select(
                Order.id, Order.cl_ord_id, Order.strategy_run_id, Order.version_id
            ).where(Order.exchange_account_id == account_id, Order.cl_ord_id.in_(chunk))
            for order_id, cl_ord_id, run_id, version in session.execute(query):
                found[(account_id, cl_ord_id)] = (order_id, run_id, version)
    return found


def _upsert(
    conn: Connection, entity: Any, rows: list[dict[str, Any]], keys: list[str], values: list[str]
) -> int:
    if not rows:
        return 0
    insert = _insert_for(conn)(entity)
    stmt = insert.on_conflict_do_update(
        index_elements=keys, set_={name: insert.excluded[name] for name in values}
    )
    for chunk in _chunks(rows):
        conn.execute(stmt, list(chunk))
    return len(rows)


def _insert_for(conn: Connection) -> Any:
    """Return the dialect's ``insert`` (with ``on_conflict_*``) for ``conn``."""
    name = conn.dialect.name
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert
    raise ConfigError(f"booking needs PostgreSQL or SQLite, was {name!r}")


def _chunks(items: Sequence[_T]) -> Iterator[Sequence[_T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _describe(exc: BaseException) -> str:
    if isinstance(exc, DBAPIError):
        return f"{type(exc).__name__}: {describe_db_error(exc)}"
    return f"{type(exc).__name__}: {exc}"
