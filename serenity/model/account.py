"""Who owns what: portfolios, the trading accounts in them, and accounts held at exchanges."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from serenity.model.base import Base, IntPk
from serenity.model.refdata import Exchange

__all__ = ["ExchangeAccount", "Portfolio", "TradingAccount"]


class Portfolio(Base):
    """A named book of trading accounts, for reporting and P&L roll-ups."""

    __tablename__ = "portfolio"

    id: Mapped[IntPk]
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(128))
    trading_accounts: Mapped[list[TradingAccount]] = relationship(back_populates="portfolio")


class TradingAccount(Base):
    """A strategy's or a trader's account; it may hold accounts at several exchanges."""

    __tablename__ = "trading_account"

    id: Mapped[IntPk]
    portfolio_id: Mapped[int | None] = mapped_column(sa.ForeignKey("portfolio.id"), index=True)
    code: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str | None] = mapped_column(sa.String(128))
    portfolio: Mapped[Portfolio | None] = relationship(back_populates="trading_accounts")
    exchange_accounts: Mapped[list[ExchangeAccount]] = relationship(
        back_populates="trading_account"
    )


class ExchangeAccount(Base):
    """An account at one exchange; ``code`` is the venue's own account id (never a secret)."""

    __tablename__ = "exchange_account"
    __table_args__ = (sa.UniqueConstraint("exchange_id", "code"),)

    id: Mapped[IntPk]
    exchange_id: Mapped[int] = mapped_column(sa.ForeignKey("exchange.id"))
    trading_account_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("trading_account.id"), index=True
    )
    code: Mapped[str] = mapped_column(sa.String(64))
    exchange: Mapped[Exchange] = relationship()
    trading_account: Mapped[TradingAccount | None] = relationship(
        back_populates="exchange_accounts"
    )
