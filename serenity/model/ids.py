"""Lightweight runtime identifiers, cheap to hash and compare on the per-tick path."""

from __future__ import annotations

from dataclasses import dataclass

from serenity.errors import InvalidValueError

__all__ = ["InstrumentId"]


@dataclass(frozen=True, slots=True)
class InstrumentId:
    """A venue's instrument: the venue code and the venue's own symbol.

    Written as ``"BTCUSD@phemex"`` (see :meth:`parse`); the database's
    ``exchange_instrument`` row for it carries tick size, lot size and price scale.
    """

    venue: str
    symbol: str

    def __post_init__(self) -> None:
        if not self.venue or not self.symbol or "@" in self.symbol or "@" in self.venue:
            raise InvalidValueError(
                f"instrument id needs a venue and a symbol without '@', was "
                f"venue={self.venue!r} symbol={self.symbol!r}"
            )

    def __str__(self) -> str:
        return f"{self.symbol}@{self.venue}"

    @classmethod
    def parse(cls, text: str) -> InstrumentId:
        """Return the id written as ``SYMBOL@venue``.

        Raises
        ------
        InvalidValueError
            When ``text`` is not of that form.
        """
        symbol, sep, venue = str(text).rpartition("@")
        if not sep:
            raise InvalidValueError(f"instrument id must be 'SYMBOL@venue', was {text!r}")
        return cls(venue=venue.lower(), symbol=symbol)
