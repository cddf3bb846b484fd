"""The declarative base of the domain model: naming convention and reusable column types.

Every table shares one :class:`~sqlalchemy.MetaData` whose naming convention names each
constraint and index, so migrations can refer to them on PostgreSQL and SQLite alike. Amounts
are exact decimals (``NUMERIC(38, 18)``) and timestamps are timezone-aware UTC on both
backends; see :class:`UtcDateTime` and :class:`ExactDecimal`.
"""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Context, Decimal
from typing import Annotated, Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, mapped_column
from sqlalchemy.types import TypeDecorator

from serenity.errors import InvalidValueError

__all__ = [
    "NAMING_CONVENTION",
    "Amount",
    "Base",
    "ExactDecimal",
    "IntPk",
    "UtcDateTime",
    "UtcTime",
]

NAMING_CONVENTION: Final = {
    "pk": "pk_%(table_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """A ``TIMESTAMP WITH TIME ZONE`` that only takes and only gives aware UTC datetimes.

    A naive datetime is refused with :class:`~serenity.errors.InvalidValueError`; an aware one
    in another zone is converted to UTC. SQLite stores the UTC wall time as text, and values
    read back are made aware again, so both backends return ``tzinfo=UTC``.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        """Return ``value`` in UTC (naive UTC for SQLite), refusing naive input."""
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise InvalidValueError(f"expected a datetime, was {value!r}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidValueError(
                f"naive datetime {value.isoformat()} refused; give tzinfo (e.g. datetime.UTC)"
            )
        utc = value.astimezone(dt.UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        """Return the stored time as an aware UTC datetime."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class ExactDecimal(TypeDecorator[Decimal]):
    """``NUMERIC(38, 18)`` that round-trips :class:`~decimal.Decimal` without float noise.

    PostgreSQL stores the value exactly. SQLite has no decimal type: values are sent as text
    and come back as the shortest decimal that reads as the stored number, so up to 15
    significant digits survive exactly (``0.1 + 0.2`` stays ``0.3``). Values are returned
    without trailing zeros on both backends (``0.05``, not ``0.050000000000000000``).
    """

    impl = sa.Numeric(38, 18, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> sa.types.TypeEngine[Any]:
        """Return the column type; SQLite reads floats, which are turned into Decimals here."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(sa.Numeric(38, 18, asdecimal=False))
        return dialect.type_descriptor(self.impl)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Return ``value`` as a Decimal (as text on SQLite), refusing floats and garbage."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise InvalidValueError(f"amounts must be Decimal, int or str, was {value!r}")
        try:
            number = Decimal(value)
        except ArithmeticError:
            raise InvalidValueError(f"amount {value!r} is not a number") from None
        if not number.is_finite():
            raise InvalidValueError(f"amount must be finite, was {value!r}")
        return str(number) if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Return the stored number as a Decimal."""
        if value is None:
            return None
        if isinstance(value, float):
            number = Decimal(repr(value))
        else:
            number = value if isinstance(value, Decimal) else Decimal(str(value))
        return _trim(number)


_WIDE: Final = Context(prec=80)  # wider than NUMERIC(38, 18), so trimming never rounds


def _trim(number: Decimal) -> Decimal:
    """Drop trailing zeros (``1.500000`` -> ``1.5``, ``100.00`` -> ``100``, not ``1E+2``)."""
    if number == number.to_integral_value():
        return number.quantize(Decimal(1), context=_WIDE)
    return number.normalize(_WIDE)


IntPk = Annotated[int, mapped_column(primary_key=True)]
Amount = Annotated[Decimal, mapped_column(ExactDecimal())]
UtcTime = Annotated[dt.datetime, mapped_column(UtcDateTime())]


def _enum_values(enum_cls: type[enum.Enum]) -> list[str]:
    return [str(member.value) for member in enum_cls]


class Base(DeclarativeBase):
    """Base of every mapped class; its metadata is the whole schema."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        enum.Enum: sa.Enum(
            enum.Enum,
            native_enum=False,
            length=32,
            values_callable=_enum_values,
            validate_strings=True,
        ),
        dt.datetime: UtcDateTime(),
        Decimal: ExactDecimal(),
        str: sa.String(64),
    }
