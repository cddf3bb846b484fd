"""Helpers for booking tests: runs, a fast backoff, and the booked rows read back."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.booker import DatabaseTradeBookingService
from serenity.marketdata.fh.backoff import Backoff
from serenity.model import Fill, Order, RunKind, RunStatus, StrategyRun
from tests.trading.harness import Market

T_LOAD = dt.datetime(2023, 1, 1, tzinfo=dt.UTC)


def new_run(engine: sa.Engine, strategy: str = "test") -> int:
    """Insert a ``strategy_run`` row and return its id."""
    with Session(engine) as session, session.begin():
        run = StrategyRun(
            kind=RunKind.BACKTEST,
            strategy=strategy,
            config={},
            status=RunStatus.RUNNING,
            started_at=T_LOAD,
        )
        session.add(run)
        session.flush()
        return run.id


def fast_backoff() -> Backoff:
    """Return a backoff quick enough for tests (milliseconds, no jitter)."""
    return Backoff(initial_s=0.005, max_s=0.02, jitter=0.0)


def booker_for(market: Market, engine: sa.Engine, **options: Any) -> DatabaseTradeBookingService:
    """Return a booking service on ``market``'s order manager, with a fast backoff."""
    options.setdefault("backoff", fast_backoff())
    options.setdefault("give_up_after_s", 0.2)
    return DatabaseTradeBookingService(market.sched, market.oms, engine, **options)


@dataclass(frozen=True)
class BookedFill:
    cl_ord_id: str
    exec_id: str
    side: str
    qty: Decimal
    price: Decimal
    fee: Decimal
    fee_currency: str | None
    liquidity: str | None
    ts: dt.datetime


def booked_orders(engine: sa.Engine) -> dict[str, Order]:
    """Return every booked order by ``cl_ord_id`` (detached, readable)."""
    with Session(engine, expire_on_commit=False) as session:
        orders = session.scalars(sa.select(Order)).all()
        for o in orders:
            _ = (o.exchange_account.code, o.exchange_account.exchange.code, o.instrument.code)
            _ = o.exchange_account.trading_account
        return {o.cl_ord_id: o for o in orders}


def booked_fills(engine: sa.Engine) -> list[BookedFill]:
    """Return every booked fill, in ts then id order."""
    with Session(engine) as session:
        fills = session.scalars(sa.select(Fill).order_by(Fill.ts, Fill.id)).all()
        return [
            BookedFill(
                f.order.cl_ord_id,
                f.venue_fill_id,
                str(f.side),
                f.qty,
                f.price,
                f.fee,
                f.fee_currency.code if f.fee_currency else None,
                str(f.liquidity) if f.liquidity else None,
                f.ts,
            )
            for f in fills
        ]


def count(engine: sa.Engine, entity: Any) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(sa.select(sa.func.count()).select_from(entity)) or 0)


class TcpProxy:
    """A loopback TCP proxy that can be cut and restored: a database that goes away.

    :meth:`cut` closes the listening socket and every relayed connection, so clients see
    their connections drop and new ones refused; :meth:`restore` listens again on the same
    port.
    """

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def restore(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            doomed, self._sockets = self._sockets, set()
        for sock in doomed:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, server}
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)


class Outage:
    """A database the booker reaches through something the test can take away and restore.

    PostgreSQL goes through a :class:`TcpProxy`; a SQLite file is moved aside and a folder put
    in its place (the engine's pooled connections are dropped first).
    """

    def __init__(self, url: str) -> None:
        self.url = sa.make_url(url)
        self._proxy: TcpProxy | None = None
        if self.url.get_backend_name() == "postgresql":
            self._proxy = TcpProxy(self.url.host or "127.0.0.1", self.url.port or 5432)
            self._proxy.restore()
            booker_url = self.url.set(host="127.0.0.1", port=self._proxy.port)
        else:
            booker_url = self.url
        self.engine = sa.create_engine(booker_url, pool_pre_ping=True)
        self.is_out = False

    def begin(self) -> None:
        self.is_out = True
        if self._proxy is not None:
            self._proxy.cut()
            return
        self.engine.dispose()
        path = Path(str(self.url.database))
        path.rename(path.with_suffix(".away"))
        path.mkdir()

    def end(self) -> None:
        self.is_out = False
        if self._proxy is not None:
            self._proxy.restore()
            return
        path = Path(str(self.url.database))
        path.rmdir()
        path.with_suffix(".away").rename(path)

    def close(self) -> None:
        if self.is_out:
            self.end()
        if self._proxy is not None:
            self._proxy.cut()
        self.engine.dispose()
