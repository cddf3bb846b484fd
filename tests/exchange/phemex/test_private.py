"""The private stream's frames, sans I/O: subscriptions, replies and documented messages."""

from __future__ import annotations

import json
from decimal import Decimal

import orjson
import pytest

from serenity.errors import DataError
from serenity.exchange import phemex
from serenity.exchange.execution import OrderUpdate, VenueBalance, VenuePosition
from serenity.exchange.phemex import private
from serenity.exchange.phemex.signing import PhemexSigner
from serenity.secret import Secret
from tests.venues import payload

REFDATA = phemex.parse_instruments(payload("phemex", "products"))
SAMPLES = payload("phemex", "private")


def test_subscriptions_authenticate_then_subscribe_what_is_traded() -> None:
    signer = PhemexSigner(Secret("key"), Secret("secret"))

    frames, pending = private.subscription_frames(signer, now_s=100, contracts=True, spot=False)
    spot_only, spot_pending = private.subscription_frames(
        signer, now_s=100, contracts=False, spot=True
    )

    methods = [orjson.loads(f)["method"] for f in frames]
    assert methods == ["user.auth", "aop.subscribe"] and pending == {1, 2}
    assert [orjson.loads(f)["method"] for f in spot_only] == ["user.auth", "wo.subscribe"]
    assert spot_pending == {1, 3}
    assert orjson.loads(private.ping_frame())["method"] == "server.ping"


def test_replies_carry_the_venues_refusal() -> None:
    ok = private.read_frame(
        b'{"error":null,"id":2,"result":{"status":"success"}}', REFDATA, filled=lambda _: Decimal(0)
    )
    refused = private.read_frame(
        b'{"error":{"code":6012,"message":"bad sig"},"id":1,"result":null}',
        REFDATA,
        filled=lambda _: Decimal(0),
    )

    assert ok == private.StreamReply(2)
    assert refused == private.StreamReply(1, "bad sig") and refused.is_auth


def test_documented_aop_snapshot_gives_balances_orders_and_positions() -> None:
    read = private.read_frame(json.dumps(SAMPLES["aop"][0]), REFDATA, filled=lambda _: Decimal(0))

    assert isinstance(read, private.StreamMessage) and read.errors == []
    kinds = [type(e) for e in read.entries]
    assert kinds == [VenueBalance, OrderUpdate, OrderUpdate, OrderUpdate, VenuePosition]


def test_spot_fills_count_on_what_the_client_filled() -> None:
    frame = json.dumps(SAMPLES["wo"][0])

    read = private.read_frame(frame, REFDATA, filled=lambda cl: Decimal("0.0002"))

    assert isinstance(read, private.StreamMessage)
    (fill,) = [e for e in read.entries if isinstance(e, OrderUpdate) and e.fill is not None]
    assert fill.cum_qty == Decimal("0.0003")
    # wallets of currencies the products do not list are errors; the rest is delivered
    assert {str(e).split("'")[1] for e in read.errors} >= {"LINK", "XTZ"}
    assert any(isinstance(e, VenueBalance) and e.currency == "BTC" for e in read.entries)


def test_frames_that_are_not_json_objects_are_refused() -> None:
    with pytest.raises(DataError, match="phemex: private stream frame is not a JSON object"):
        private.read_frame(b"[1, 2]", REFDATA, filled=lambda _: Decimal(0))
    assert private.read_frame(b'{"other": 1}', REFDATA, filled=lambda _: Decimal(0)) is None
