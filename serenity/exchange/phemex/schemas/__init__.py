"""Phemex's private wire messages as typed msgspec Structs, with conversions to domain values.

Contracts (coin-margined ``Perpetual``) report on the Account-Order-Position stream
(``aop.subscribe``): each message holds ``accounts`` (the margin account of a settlement
currency), ``orders`` (order events, each with the order's state and, for a fill, the
execution) and ``positions``. Spot reports on the Wallet-Order stream (``wo.subscribe``):
``wallets`` and ``orders`` split in ``open``, ``closed`` and ``fills``. The REST API answers
``{"code", "msg", "data"}`` with orders and executions of the same shapes.

Conversions give the venue-neutral values of :mod:`serenity.exchange.execution` (the
order connector turns them into execution reports and reconciles with them):

* :class:`~serenity.exchange.execution.OrderUpdate` (``to_update``): one change of an
  order's state, or one fill (with its :class:`~serenity.exchange.execution.VenueFill`,
  whose ``exec_id`` is Phemex's ``execID``, so a replayed fill counts once);
* :class:`~serenity.exchange.execution.VenueFill` (``to_fill``): a row of the trade history;
* :class:`~serenity.exchange.execution.VenueBalance` (``to_balance``): a contract margin
  account or a spot wallet (a balance, never a position);
* :class:`~serenity.exchange.execution.VenuePosition` (``to_position``): a contract
  position, signed.

Messages are decoded entry by entry (:func:`decode_entries`): an entry that does not parse is
reported as a :class:`~serenity.errors.DataError` and the others are still delivered.

The messages live by product family, and every name is re-exported here:

* :mod:`~serenity.exchange.phemex.schemas.contract`: the Account-Order-Position stream and
  the contract REST rows;
* :mod:`~serenity.exchange.phemex.schemas.spot`: the Wallet-Order stream and the spot REST
  rows;
* :mod:`~serenity.exchange.phemex.schemas.decoding`: the REST envelope and entry-by-entry
  decoding.
"""

from __future__ import annotations

from serenity.exchange.phemex.schemas.contract import (
    CONTRACT_WALLET,
    NO_EXEC_ID,
    AopMessage,
    ContractAccount,
    ContractOrder,
    ContractPosition,
    ContractTrade,
)
from serenity.exchange.phemex.schemas.decoding import RestResponse, decode_entries, decode_rows
from serenity.exchange.phemex.schemas.spot import (
    SPOT_WALLET,
    SpotFill,
    SpotOrder,
    SpotOrders,
    SpotTrade,
    SpotWallet,
    WoMessage,
)

__all__ = [
    "CONTRACT_WALLET",
    "NO_EXEC_ID",
    "SPOT_WALLET",
    "AopMessage",
    "ContractAccount",
    "ContractOrder",
    "ContractPosition",
    "ContractTrade",
    "RestResponse",
    "SpotFill",
    "SpotOrder",
    "SpotOrders",
    "SpotTrade",
    "SpotWallet",
    "WoMessage",
    "decode_entries",
    "decode_rows",
]
