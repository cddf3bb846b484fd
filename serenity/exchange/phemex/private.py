"""Phemex's private websocket, free of I/O: the frames to send and what a received one holds.

After each (re)connect a client sends ``user.auth`` (signed with the key and an expiry at
most two minutes ahead), then ``aop.subscribe`` for contracts (Account-Order-Position:
margin accounts, order events, positions) and ``wo.subscribe`` for spot (Wallet-Order:
wallets, orders open/closed/fills), and ``server.ping`` at least every 30 s. Phemex answers
each request ``{"error", "id", "result"}``, then sends a snapshot and incremental messages.

:func:`read_frame` turns one received frame into a :class:`StreamReply` or a
:class:`StreamMessage` of venue-neutral values (order updates, balances, positions). Each
entry is decoded and converted on its own: one that fails is an error in
:attr:`StreamMessage.errors`, and the others are still delivered.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

import msgspec
import orjson

from serenity.errors import DataError, SerenityError
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenuePosition
from serenity.exchange.phemex import schemas
from serenity.exchange.phemex.endpoints import VENUE
from serenity.exchange.phemex.refdata import PhemexRefdata
from serenity.exchange.phemex.signing import PhemexSigner

__all__ = [
    "AOP_ID",
    "AUTH_ID",
    "PING_ID",
    "WO_ID",
    "StreamEntry",
    "StreamMessage",
    "StreamReply",
    "ping_frame",
    "read_frame",
    "subscription_frames",
]

AUTH_ID: Final = 1
AOP_ID: Final = 2
WO_ID: Final = 3
PING_ID: Final = 0

StreamEntry = OrderUpdate | VenueBalance | VenuePosition
"""One entry of a private message, in domain terms."""


@dataclass(frozen=True, slots=True)
class StreamReply:
    """Phemex's answer to one of our requests: ``error`` is its text when it refused."""

    id: int | None
    error: str | None = None

    @property
    def is_auth(self) -> bool:
        """Return True for the answer to ``user.auth``."""
        return self.id == AUTH_ID


@dataclass(slots=True)
class StreamMessage:
    """The entries of one AOP or Wallet-Order message, and the errors of those that failed."""

    entries: list[StreamEntry] = field(default_factory=list)
    errors: list[DataError] = field(default_factory=list)

    def add(self, errors: Sequence[DataError], rows: Sequence[Any], convert: Any) -> None:
        """Convert each decoded row; record the decoding errors and each failed conversion."""
        self.errors.extend(errors)
        for row in rows:
            try:
                self.entries.append(convert(row))
            except SerenityError as exc:
                self.errors.append(DataError(f"{VENUE}: private entry unreadable: {exc}"))


def _request(rid: int, method: str) -> str:
    return orjson.dumps({"id": rid, "method": method, "params": []}).decode()


def subscription_frames(
    signer: PhemexSigner, *, now_s: float, contracts: bool, spot: bool
) -> tuple[list[str], set[int]]:
    """Return the frames to send after a connect, and the ids whose answers are awaited.

    ``now_s`` is the venue's time (Unix seconds) as the client estimates it. The frames hold
    the API key and a signature: never log them.
    """
    frames = [signer.auth_frame(AUTH_ID, now_s=now_s)]
    pending = {AUTH_ID}
    if contracts:
        frames.append(_request(AOP_ID, "aop.subscribe"))
        pending.add(AOP_ID)
    if spot:
        frames.append(_request(WO_ID, "wo.subscribe"))
        pending.add(WO_ID)
    return frames, pending


def ping_frame() -> str:
    """Return ``server.ping`` (Phemex drops a connection that sends nothing for 30 s)."""
    return _request(PING_ID, "server.ping")


def read_frame(
    data: str | bytes, refdata: PhemexRefdata, *, filled: Callable[[str], Decimal]
) -> StreamReply | StreamMessage | None:
    """Return what one received frame holds: a reply, a message's entries, or None.

    ``filled(cl_ord_id)`` answers what the client has counted filled of one of its orders,
    for spot fills, which carry no order state.

    Raises
    ------
    DataError
        When the frame is not a JSON object.
    """
    try:
        head = msgspec.json.decode(data, type=dict[str, msgspec.Raw])
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: private stream frame is not a JSON object: {exc}") from None
    if "id" in head and ("result" in head or "error" in head):
        return _reply(head)
    if "wallets" in head:
        return _wallet_orders(data, refdata, filled)
    if "accounts" in head or "positions" in head or "orders" in head:
        return _aop(data, refdata)
    return None


def _reply(head: dict[str, msgspec.Raw]) -> StreamReply:
    rid = msgspec.json.decode(head["id"])
    error = msgspec.json.decode(head.get("error", msgspec.Raw(b"null")))
    if error is None:
        return StreamReply(rid if isinstance(rid, int) else None)
    text = str(error.get("message") if isinstance(error, dict) else error)
    return StreamReply(rid if isinstance(rid, int) else None, text or "refused")


def _aop(data: str | bytes, refdata: PhemexRefdata) -> StreamMessage:
    try:
        msg = msgspec.json.decode(data, type=schemas.AopMessage)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: AOP message is malformed: {exc}") from None
    out = StreamMessage()
    ts = msg.timestamp
    accounts, errors = schemas.decode_entries(
        msg.accounts, schemas.ContractAccount, where="accounts"
    )
    out.add(errors, accounts, lambda a: a.to_balance(refdata, ts=ts))
    orders, errors = schemas.decode_entries(msg.orders, schemas.ContractOrder, where="orders")
    out.add(errors, orders, lambda o: o.to_update(refdata.instrument(o.symbol), refdata))
    positions, errors = schemas.decode_entries(
        msg.positions, schemas.ContractPosition, where="positions"
    )
    out.add(
        errors, positions, lambda p: p.to_position(refdata.instrument(p.symbol), refdata, ts=ts)
    )
    return out


def _wallet_orders(
    data: str | bytes, refdata: PhemexRefdata, filled: Callable[[str], Decimal]
) -> StreamMessage:
    try:
        msg = msgspec.json.decode(data, type=schemas.WoMessage)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise DataError(f"{VENUE}: Wallet-Order message is malformed: {exc}") from None
    out = StreamMessage()
    wallets, errors = schemas.decode_entries(msg.wallets, schemas.SpotWallet, where="wallets")
    out.add(errors, wallets, lambda w: w.to_balance(refdata, ts=msg.timestamp))
    counted: dict[str, Decimal] = {}

    def fill_update(fill: schemas.SpotFill) -> OrderUpdate:
        instrument = refdata.instrument(fill.symbol)
        before = counted.get(fill.order_id)
        cum = (filled(fill.cl_ord_id) if before is None else before) + instrument.qty(
            fill.exec_base_qty_ev
        )
        counted[fill.order_id] = cum
        return fill.to_update(instrument, refdata, cum_qty=cum)

    fills, errors = schemas.decode_entries(msg.orders.fills, schemas.SpotFill, where="fills")
    out.add(errors, fills, fill_update)
    for where, raws in (("open", msg.orders.open), ("closed", msg.orders.closed)):
        orders, errors = schemas.decode_entries(raws, schemas.SpotOrder, where=where)
        out.add(errors, orders, lambda o: o.to_update(refdata.instrument(o.symbol), refdata))
    return out
