"""A per-session cache of reference data: instruments by id and listings by venue symbol.

The cache keeps the mapped objects of the session it was given, so lookups after the first
cost a dictionary access. The ``get_or_create_*`` methods add missing rows to that session
and flush them; committing stays with the caller, who owns the session.
"""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Iterable
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from serenity.errors import InvalidValueError, UnknownSymbolError
from serenity.model import (
    Currency,
    Exchange,
    ExchangeInstrument,
    Instrument,
    InstrumentType,
    instrument_code,
)

__all__ = ["InstrumentCache"]


class InstrumentCache:
    """Look up and create reference data through one session.

    Parameters
    ----------
    session
        The session to read from and add to; the caller commits it.

    Examples
    --------
    >>> cache = InstrumentCache(session)                        # doctest: +SKIP
    >>> perp = cache.get_or_create_perpetual("BTC", "USD", settle="BTC")  # doctest: +SKIP
    >>> cache.get_exchange_instrument("binance", "BTCUSDT").tick_size  # doctest: +SKIP
    """

    def __init__(self, session: Session) -> None:
        self._session = session
        self._currencies: dict[str, Currency] = {}
        self._instruments: dict[int, Instrument] = {}
        self._by_code: dict[str, Instrument] = {}
        self._listings: dict[tuple[str, str], ExchangeInstrument] = {}

    def clear(self) -> None:
        """Forget everything cached, e.g. after a reference-data load."""
        self._currencies.clear()
        self._instruments.clear()
        self._by_code.clear()
        self._listings.clear()

    def get_instrument(self, instrument_id: int) -> Instrument:
        """Return the instrument with this id.

        Raises
        ------
        UnknownSymbolError
            When there is no such instrument.
        """
        found = self._instruments.get(instrument_id)
        if found is None:
            found = self._session.get(Instrument, instrument_id)
            if found is None:
                raise UnknownSymbolError(f"no instrument with id {instrument_id!r}")
            self._remember(found)
        return found

    def get_instrument_by_code(self, code: str) -> Instrument:
        """Return the instrument with this code (``"BTC/USDT"``).

        Raises
        ------
        UnknownSymbolError
            When there is no such instrument; the message suggests close codes.
        """
        found = self._find_instrument(code)
        if found is None:
            known = self._session.scalars(sa.select(Instrument.code)).all()
            raise UnknownSymbolError(f"unknown instrument {code!r}{_suggest(code, known)}")
        return found

    def get_exchange_instrument(self, exchange: str, symbol: str) -> ExchangeInstrument:
        """Return the live listing of ``symbol`` on ``exchange`` (its current version).

        Raises
        ------
        UnknownSymbolError
            When the exchange has no live listing of that symbol; the message suggests close
            symbols.
        """
        key = (exchange.lower(), symbol)
        found = self._listings.get(key)
        if found is not None:
            return found
        live = (
            sa.select(ExchangeInstrument)
            .join(Exchange, Exchange.id == ExchangeInstrument.exchange_id)
            .where(Exchange.code == key[0], ExchangeInstrument.valid_to.is_(None))
        )
        found = self._session.scalars(live.where(ExchangeInstrument.symbol == symbol)).first()
        if found is None:
            known = self._session.scalars(live.with_only_columns(ExchangeInstrument.symbol)).all()
            raise UnknownSymbolError(
                f"unknown symbol {symbol!r} on {exchange}{_suggest(symbol, known)}"
            )
        self._listings[key] = found
        return found

    def get_or_create_currency(self, code: str) -> Currency:
        """Return the currency with this code (upper-cased), creating it if needed.

        Raises
        ------
        InvalidValueError
            When ``code`` is blank.
        """
        code = _currency_code(code)
        found = self._currencies.get(code)
        if found is None:
            found = self._session.scalars(sa.select(Currency).where(Currency.code == code)).first()
            if found is None:
                found = Currency(code=code)
                self._session.add(found)
                self._session.flush()
            self._currencies[code] = found
        return found

    def get_or_create_currency_pair(self, base: str, quote: str) -> Instrument:
        """Return the currency pair ``base/quote``, creating it (and its currencies) if needed."""
        base_ccy = self.get_or_create_currency(base)
        quote_ccy = self.get_or_create_currency(quote)
        code = instrument_code(InstrumentType.CURRENCY_PAIR, base_ccy.code, quote=quote_ccy.code)
        return self._find_instrument(code) or self._create(
            code=code,
            instrument_type=InstrumentType.CURRENCY_PAIR,
            base_currency_id=base_ccy.id,
            quote_currency_id=quote_ccy.id,
        )

    def get_or_create_perpetual(
        self, base: str, quote: str, *, settle: str, contract_size: Decimal = Decimal(1)
    ) -> Instrument:
        """Return the perpetual future on ``base/quote`` settled in ``settle``, creating it.

        Its underlier is the currency pair ``base/quote``, created too if needed.
        """
        return self._get_or_create_future(
            InstrumentType.PERPETUAL_FUTURE, base, quote, settle, contract_size, None
        )

    def get_or_create_dated_future(
        self,
        base: str,
        quote: str,
        *,
        settle: str,
        expiry: dt.datetime,
        contract_size: Decimal = Decimal(1),
    ) -> Instrument:
        """Return the future on ``base/quote`` expiring at ``expiry`` (aware), creating it.

        Raises
        ------
        InvalidValueError
            When ``expiry`` is naive.
        """
        if expiry.tzinfo is None or expiry.utcoffset() is None:
            raise InvalidValueError(f"expiry must be timezone-aware, was {expiry!r}")
        return self._get_or_create_future(
            InstrumentType.DATED_FUTURE, base, quote, settle, contract_size, expiry
        )

    def _get_or_create_future(
        self,
        kind: InstrumentType,
        base: str,
        quote: str,
        settle: str,
        contract_size: Decimal,
        expiry: dt.datetime | None,
    ) -> Instrument:
        underlier = self.get_or_create_currency_pair(base, quote)
        settle_ccy = self.get_or_create_currency(settle)
        size = Decimal(contract_size)
        if not size.is_finite() or size <= 0:
            raise InvalidValueError(f"contract_size must be > 0, was {contract_size!r}")
        code = instrument_code(
            kind,
            _currency_code(base),
            quote=_currency_code(quote),
            settle=settle_ccy.code,
            contract_size=size,
            expiry=expiry,
        )
        return self._find_instrument(code) or self._create(
            code=code,
            instrument_type=kind,
            base_currency_id=underlier.base_currency_id,
            quote_currency_id=underlier.quote_currency_id,
            settle_currency_id=settle_ccy.id,
            underlier_id=underlier.id,
            contract_size=size,
            expiry=expiry,
        )

    def _find_instrument(self, code: str) -> Instrument | None:
        found = self._by_code.get(code)
        if found is None:
            query = sa.select(Instrument).where(Instrument.code == code)
            found = self._session.scalars(query).first()
            if found is not None:
                self._remember(found)
        return found

    def _create(self, **columns: object) -> Instrument:
        instrument = Instrument(**columns)
        self._session.add(instrument)
        self._session.flush()
        self._remember(instrument)
        return instrument

    def _remember(self, instrument: Instrument) -> None:
        self._instruments[instrument.id] = instrument
        self._by_code[instrument.code] = instrument


def _currency_code(code: str) -> str:
    text = str(code).strip().upper()
    if not text:
        raise InvalidValueError(f"currency code must not be blank, was {code!r}")
    return text


def _suggest(wanted: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(wanted, list(known), n=3)
    return f"; did you mean {', '.join(close)}?" if close else ""
