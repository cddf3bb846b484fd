"""Strategy runs: what ran (kind, strategy, config), over which window, how it did, and where
its outputs are."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from serenity.model.base import Base, IntPk, UtcTime
from serenity.model.enums import RunKind, RunStatus

__all__ = ["StrategyRun"]


class StrategyRun(Base):
    """One backtest, paper or live run of a strategy.

    ``config`` is the strategy configuration as run; ``statistics`` the summary statistics
    once it finished; ``output_uri`` where its captured outputs were written (a folder or a
    blob URL). ``window_start``/``window_end`` bound the market data it saw.
    ``data_versions`` records the versions of stored data it read (e.g. tick-store table,
    symbol and day to version), so it can be replayed exactly; ``error`` says why a failed
    run failed.
    """

    __tablename__ = "strategy_run"

    id: Mapped[IntPk]
    kind: Mapped[RunKind]
    strategy: Mapped[str] = mapped_column(sa.String(128), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    window_start: Mapped[UtcTime | None]
    window_end: Mapped[UtcTime | None]
    status: Mapped[RunStatus]
    started_at: Mapped[UtcTime]
    finished_at: Mapped[UtcTime | None]
    statistics: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    output_uri: Mapped[str | None] = mapped_column(sa.String(1024))
    data_versions: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    error: Mapped[str | None] = mapped_column(sa.Text)
