"""Record strategy runs in the database's ``strategy_run`` table, and list them.

A run is started (status ``running``) before it reads data, then finished with its
statistics (``completed``) or failed with its error (``failed``). The config, statistics and
data versions are stored as JSON; NaN and infinities become null so PostgreSQL accepts them.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from serenity.analytics.statistics import RunStatistics
from serenity.db.engine import ensure_schema
from serenity.errors import InvalidValueError
from serenity.model import RunKind, RunStatus, StrategyRun

__all__ = ["RunRecord", "fail_run", "finish_run", "get_run", "list_runs", "start_run"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunRecord:
    """One row of ``strategy_run``, as plain values."""

    id: int
    kind: RunKind
    strategy: str
    status: RunStatus
    config: dict[str, Any]
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    statistics: dict[str, Any] | None
    output_uri: str | None
    data_versions: dict[str, Any] | None
    error: str | None


def start_run(
    engine: Engine,
    *,
    kind: RunKind | str,
    strategy: str,
    config: Mapping[str, Any],
    window_start: dt.datetime | None = None,
    window_end: dt.datetime | None = None,
    output_uri: str | None = None,
    data_versions: Mapping[str, Any] | None = None,
    started_at: dt.datetime | None = None,
) -> int:
    """Record a new run as ``running`` and return its id.

    Parameters
    ----------
    engine
        The database, already migrated (``serenity db upgrade``).
    kind
        ``backtest``, ``paper`` or ``live``.
    strategy
        The strategy's name.
    config
        The run's configuration (JSON-able; other values are stored as text).
    window_start, window_end
        The market-data window, timezone-aware.
    output_uri
        Where the outputs go (a run folder or a blob URL).
    data_versions
        The stored data versions it reads, when known up front.
    started_at
        When it started; now when omitted.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    InvalidValueError
        For an unknown kind, an empty strategy name or a naive datetime.
    """
    run_kind = _choice(RunKind, kind, "run kind")
    if not isinstance(strategy, str) or not strategy.strip():
        raise InvalidValueError(f"a run needs a strategy name, was {strategy!r}")
    ensure_schema(engine)
    values = {
        "kind": run_kind,
        "strategy": strategy.strip(),
        "config": _json(config, what="config"),
        "window_start": _utc(window_start, "window_start"),
        "window_end": _utc(window_end, "window_end"),
        "status": RunStatus.RUNNING,
        "started_at": _utc(started_at, "started_at") or dt.datetime.now(dt.UTC),
        "output_uri": output_uri,
        "data_versions": None if data_versions is None else _json(data_versions, what="versions"),
    }
    with engine.begin() as conn:
        run_id = conn.execute(
            sa.insert(StrategyRun).values(**values).returning(StrategyRun.id)
        ).scalar_one()
    log.info("run.started", extra={"run_id": run_id, "strategy": values["strategy"]})
    return int(run_id)


def finish_run(
    engine: Engine,
    run_id: int,
    *,
    statistics: RunStatistics | Mapping[str, Any],
    data_versions: Mapping[str, Any] | None = None,
    output_uri: str | None = None,
    finished_at: dt.datetime | None = None,
) -> None:
    """Mark a running run ``completed`` with its statistics.

    ``data_versions`` and ``output_uri``, when given, replace what was recorded at the start.

    Raises
    ------
    InvalidValueError
        When there is no such run, or it is not running any more.
    """
    stats = statistics.to_dict() if isinstance(statistics, RunStatistics) else statistics
    values: dict[str, Any] = {"statistics": _json(stats, what="statistics")}
    if data_versions is not None:
        values["data_versions"] = _json(data_versions, what="versions")
    if output_uri is not None:
        values["output_uri"] = output_uri
    _end(engine, run_id, RunStatus.COMPLETED, values, finished_at)


def fail_run(
    engine: Engine,
    run_id: int,
    *,
    error: str | BaseException,
    statistics: RunStatistics | Mapping[str, Any] | None = None,
    data_versions: Mapping[str, Any] | None = None,
    finished_at: dt.datetime | None = None,
) -> None:
    """Mark a running run ``failed``, keeping the error (and any statistics so far).

    Raises
    ------
    InvalidValueError
        When there is no such run, or it is not running any more.
    """
    text = f"{type(error).__name__}: {error}" if isinstance(error, BaseException) else str(error)
    values: dict[str, Any] = {"error": text}
    if statistics is not None:
        stats = statistics.to_dict() if isinstance(statistics, RunStatistics) else statistics
        values["statistics"] = _json(stats, what="statistics")
    if data_versions is not None:
        values["data_versions"] = _json(data_versions, what="versions")
    _end(engine, run_id, RunStatus.FAILED, values, finished_at)


def get_run(engine: Engine, run_id: int) -> RunRecord:
    """Return one run.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    InvalidValueError
        When there is no such run.
    """
    ensure_schema(engine)
    with engine.connect() as conn:
        row = conn.execute(_select().where(StrategyRun.id == int(run_id))).one_or_none()
    if row is None:
        raise InvalidValueError(f"no strategy run {run_id!r}; `serenity runs ls` lists them")
    return _record(row)


def list_runs(
    engine: Engine,
    *,
    strategy: str | None = None,
    kind: RunKind | str | None = None,
    status: RunStatus | str | None = None,
    limit: int | None = 50,
) -> list[RunRecord]:
    """Return runs, newest first, optionally of one strategy, kind or status.

    Raises
    ------
    ConfigError
        When the database is unreachable or not migrated.
    """
    ensure_schema(engine)
    query = _select().order_by(StrategyRun.started_at.desc(), StrategyRun.id.desc())
    if strategy is not None:
        query = query.where(StrategyRun.strategy == strategy)
    if kind is not None:
        query = query.where(StrategyRun.kind == _choice(RunKind, kind, "run kind"))
    if status is not None:
        query = query.where(StrategyRun.status == _choice(RunStatus, status, "run status"))
    if limit is not None:
        query = query.limit(int(limit))
    with engine.connect() as conn:
        return [_record(row) for row in conn.execute(query)]


def _end(
    engine: Engine,
    run_id: int,
    status: RunStatus,
    values: dict[str, Any],
    finished_at: dt.datetime | None,
) -> None:
    ensure_schema(engine)
    values["status"] = status
    values["finished_at"] = _utc(finished_at, "finished_at") or dt.datetime.now(dt.UTC)
    with engine.begin() as conn:
        current = conn.execute(
            sa.select(StrategyRun.status).where(StrategyRun.id == int(run_id))
        ).scalar_one_or_none()
        if current is None:
            raise InvalidValueError(f"no strategy run {run_id!r}; `serenity runs ls` lists them")
        if current is not RunStatus.RUNNING:
            raise InvalidValueError(f"strategy run {run_id} is already {current}, not running")
        conn.execute(sa.update(StrategyRun).where(StrategyRun.id == int(run_id)).values(**values))
    log.info("run.ended", extra={"run_id": int(run_id), "status": str(status)})


def _select() -> sa.Select[Any]:
    return sa.select(*(StrategyRun.__table__.c[name] for name in RunRecord.__dataclass_fields__))


def _record(row: sa.Row[Any]) -> RunRecord:
    return RunRecord(**row._asdict())


_E = TypeVar("_E", RunKind, RunStatus)


def _choice(enum: type[_E], value: object, what: str) -> _E:
    try:
        return enum(str(value).lower())
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise InvalidValueError(f"{what} {value!r} is not one of {choices}") from None


def _utc(value: dt.datetime | None, what: str) -> dt.datetime | None:
    if value is None:
        return None
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidValueError(f"{what} must be a timezone-aware datetime, was {value!r}")
    return value.astimezone(dt.UTC)


def _json(value: Mapping[str, Any], *, what: str) -> dict[str, Any]:
    """Return ``value`` as plain JSON (non-finite floats as null, other objects as text)."""
    if not isinstance(value, Mapping):
        raise InvalidValueError(f"the run's {what} must be a mapping, was {type(value).__name__}")
    text = json.dumps(_finite(value), default=str, allow_nan=False)
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
