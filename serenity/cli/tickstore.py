"""``serenity tickstore``: list, inspect and sync tick stores.

Store URLs are ``file:///path`` or ``azure://container`` (the connection string comes from
``AZURE_STORAGE_CONNECTION_STRING``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from serenity.cli._args import text
from serenity.errors import InvalidValueError, StoreError
from serenity.marketdata.tickstore import (
    VersionInfo,
    list_tables,
    open_tickstore,
    plan_sync,
    run_sync,
)
from serenity.marketdata.tickstore.args import (
    check_symbol,
    check_table,
    to_day,
    to_ns,
    unknown_symbol,
)
from serenity.tau import format_ns

__all__ = ["TickstoreCommands"]


def _url(value: object, flag: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"{flag} must be a store URL (file:///path or azure://container)")
    return value


def _positive(value: object, flag: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidValueError(f"{flag} must be a positive integer, was {value!r}")
    return value


def _flag(value: object, flag: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidValueError(f"{flag} takes no value (or true/false), was {value!r}")
    return value


def _table(rows: Sequence[Sequence[object]], header: Sequence[str]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _metadata(meta: Mapping[str, Any]) -> str:
    return json.dumps(dict(meta), sort_keys=True, default=str) if meta else "-"


def _version_row(v: VersionInfo) -> list[object]:
    return [
        v.version,
        format_ns(v.valid_from_ns),
        "deleted" if v.is_tombstone else f"{v.rows:,}",
        f"{v.size_bytes:,}",
        _metadata(v.metadata),
    ]


def _help_of(command: Any, name: str) -> str:
    from fire import helptext, trace

    text: str = helptext.HelpText(command, trace=trace.FireTrace(command, name=name))
    return text.replace(repr(name), name)


_VERSION_HEADER = ["VERSION", "VALID FROM (UTC)", "ROWS", "BYTES", "METADATA"]


class TickstoreCommands:
    """List, inspect and sync tick stores (URLs: file:///path or azure://container).

    Parameters
    ----------
    quiet
        Hide progress bars.
    """

    def __init__(self, quiet: bool = False) -> None:
        self._quiet = bool(quiet)
        if logging.getLogger().getEffectiveLevel() > logging.DEBUG:
            # The Azure SDK logs every HTTP request at INFO; keep that for --log-level=DEBUG.
            logging.getLogger("azure").setLevel(logging.WARNING)

    def ls(self, url: str, table: str | None = None, symbol: str | None = None) -> None:
        """List the tables of a store, the symbols of a table, or the days of a symbol.

        Parameters
        ----------
        url
            The store's URL, ``file:///path`` or ``azure://container``.
        table
            A table such as ``PHEMEX_TRADES``: list its symbols.
        symbol
            With ``--table``: list the symbol's days and their newest versions.
        """
        store_url = _url(url, "URL")
        if table is None:
            if symbol is not None:
                raise InvalidValueError("--symbol needs --table")
            rows = []
            for name in list_tables(store_url):
                parts = open_tickstore(store_url, name).partitions()
                rows.append([name, len({s for s, _ in parts}), len(parts)])
            print(_table(rows, ["TABLE", "SYMBOLS", "DAYS"]) if rows else "no tables")
            return
        store = open_tickstore(store_url, check_table(table))
        if symbol is None:
            by_symbol: dict[str, list[Any]] = {}
            for sym, day in store.partitions():
                by_symbol.setdefault(sym, []).append(day)
            rows = [[s, len(d), d[0], d[-1]] for s, d in sorted(by_symbol.items())]
            print(_table(rows, ["SYMBOL", "DAYS", "FIRST", "LAST"]) if rows else "no symbols")
            return
        sym = check_symbol(symbol)
        days = [day for _, day in store.partitions(sym)]
        if not days:
            raise unknown_symbol(sym, store.table, store.symbols())
        rows = []
        for day in days:
            latest = store.latest_version(sym, day)
            if latest is not None:
                rows.append([day, *_version_row(latest)])
        print(_table(rows, ["DATE", *_VERSION_HEADER]))

    def versions(self, url: str, table: str, symbol: str, date: str) -> None:
        """List every version of one day: validity, rows, size and metadata.

        Parameters
        ----------
        url
            The store's URL, ``file:///path`` or ``azure://container``.
        table
            The table, e.g. ``PHEMEX_TRADES``.
        symbol
            The symbol, e.g. ``BTCUSD``.
        date
            The UTC day as ``YYYY-MM-DD``.
        """
        store = open_tickstore(_url(url, "URL"), check_table(table))
        sym, day = check_symbol(symbol), to_day(date, what="DATE")
        found = store.versions(sym, day)
        if not found:
            print(f"no versions of {sym} on {day} in {store.table}")
            return
        print(_table([_version_row(v) for v in found], _VERSION_HEADER))

    def show(
        self,
        url: str,
        table: str,
        symbol: str,
        start: str,
        end: str,
        as_of: str | None = None,
        limit: int = 20,
    ) -> None:
        """Print the rows of a time window (first and last when many) and their versions.

        Parameters
        ----------
        url
            The store's URL, ``file:///path`` or ``azure://container``.
        table
            The table, e.g. ``PHEMEX_TRADES``.
        symbol
            The symbol, e.g. ``BTCUSD``.
        start
            Window start (inclusive): ISO time with ``Z`` or an offset, a UTC day
            ``YYYY-MM-DD``, or int ns since the epoch.
        end
            Window end (exclusive), in the same forms.
        as_of
            Show the data as it was stored at this time; the newest versions when omitted.
        limit
            Print at most this many rows.
        """
        store = open_tickstore(_url(url, "URL"), check_table(table))
        sym = check_symbol(symbol)
        start_ns, end_ns = to_ns(start, what="--start"), to_ns(end, what="--end")
        as_of_ns = None if as_of is None else to_ns(as_of, what="--as-of")
        max_rows = _positive(limit, "--limit")
        used = store.resolve(sym, start_ns, end_ns, as_of_ns)
        frame = store.select(sym, start_ns, end_ns, as_of_ns)
        when = "newest versions" if as_of_ns is None else f"as of {format_ns(as_of_ns)}"
        print(f"{store.table} {sym} [{format_ns(start_ns)}, {format_ns(end_ns)}) {when}")
        if used:
            print(_table([[v.date, *_version_row(v)] for v in used], ["DATE", *_VERSION_HEADER]))
        print(f"{len(frame):,} rows")
        if len(frame):
            shown = frame.assign(
                ts=pd.to_datetime(frame["ts"], unit="ns", utc=True),
                ts_recv=pd.to_datetime(frame["ts_recv"], unit="ns", utc=True),
            )
            print(shown.to_string(max_rows=max_rows, min_rows=max_rows))

    def splay(
        self,
        journal_dir: str,
        store: str,
        date: str | None = None,
        days_back: int | None = None,
        venue: str | None = None,
    ) -> None:
        """Write journal days into the tick store, one version per table, symbol and day.

        Trades go to ``<VENUE>_TRADES`` and book updates to ``<VENUE>_BOOKS``, partitioned by
        the venue's timestamp; each version keeps the day's data-quality facts (gaps,
        resyncs, reconnects, crossed books, parse errors, journal defects). Re-running a
        day whose journal has not changed writes nothing.

        Parameters
        ----------
        journal_dir
            The journal folder.
        store
            The store's URL, ``file:///path`` or ``azure://container``.
        date
            The UTC day, ``YYYY-MM-DD``.
        days_back
            Instead of ``--date``: the N UTC days before today, oldest first.
        venue
            Splay only this venue.
        """
        import datetime as dt
        from pathlib import Path

        from serenity.marketdata.batch import splay_day

        if (date is None) == (days_back is None):
            raise InvalidValueError(
                "splay needs exactly one of --date YYYY-MM-DD and --days-back N"
            )
        if date is not None:
            days = [to_day(date, what="--date")]
        else:
            n = _positive(days_back, "--days-back")
            today = dt.datetime.now(dt.UTC).date()
            days = [today - dt.timedelta(days=k) for k in range(n, 0, -1)]
        folder = Path(text(journal_dir, flag="--journal-dir"))
        if not folder.is_dir():
            raise InvalidValueError(f"--journal-dir {folder} is not a folder")
        url = _url(store, "--store")
        hide = self._quiet or not sys.stderr.isatty()
        off: dict[str, Any] = {"disable": True} if hide else {}
        rows: list[list[object]] = []
        with (
            logging_redirect_tqdm(),
            tqdm(total=len(days), file=sys.stderr, unit="day", desc="splay", **off) as bar,
        ):
            for day in days:
                for r in splay_day(folder, url, day, venue=venue, on_stream=bar.set_postfix_str):
                    gaps = r.quality.get("gap", 0)
                    state = "new" if r.created else "unchanged"
                    rows.append([r.table, r.symbol, r.day, f"{r.rows:,}", r.version, state, gaps])
                bar.update(1)
        if rows:
            print(_table(rows, ["table", "symbol", "day", "rows", "version", "", "gaps"]))
        else:
            print(f"nothing to splay in {folder} for {', '.join(str(d) for d in days)}")

    def sync(self, table: str | None = None, quiet: bool = False, **endpoints: object) -> None:
        """Copy the versions one store lacks from another: ``--from URL --to URL``.

        ``--from`` names the source store and ``--to`` the destination (``file:///path`` or
        ``azure://container``). Version numbers and validity times are kept; versions already
        present are skipped, so running it again copies nothing. Partitions whose histories
        differ are reported and left alone (exit code 2).

        Parameters
        ----------
        table
            Sync only this table; every table of the source when omitted.
        quiet
            Hide the progress bar.
        """
        if endpoints.get("help") is True or endpoints.get("h") is True:
            print(_help_of(self.sync, "serenity tickstore sync"))  # **endpoints hides Fire's
            return
        unknown = sorted(set(endpoints) - {"from", "to"})
        if unknown:
            raise InvalidValueError(f"sync takes --from, --to, --table and --quiet, was {unknown}")
        if "from" not in endpoints or "to" not in endpoints:
            raise InvalidValueError("sync needs --from URL and --to URL")
        src_url, dst_url = _url(endpoints["from"], "--from"), _url(endpoints["to"], "--to")
        hide = self._quiet or _flag(quiet, "--quiet") or not sys.stderr.isatty()
        tables = [check_table(table)] if table is not None else list_tables(src_url)
        plans = [plan_sync(open_tickstore(src_url, t), open_tickstore(dst_url, t)) for t in tables]
        total = sum(p.size_bytes for p in plans)
        conflicts: list[str] = []
        # Pass `disable` only to hide: otherwise tqdm's own TQDM_DISABLE=1 (set by CI) applies.
        off: dict[str, Any] = {"disable": True} if hide else {}
        bar_args: dict[str, Any] = {"unit": "B", "unit_scale": True, "desc": "sync", **off}
        with (
            logging_redirect_tqdm(),
            tqdm(total=total, file=sys.stderr, **bar_args) as bar,
        ):

            def advance(n: int) -> None:
                bar.update(n)

            for plan in plans:
                stats = run_sync(plan, progress=advance)
                conflicts += stats.conflicts
                print(
                    f"{stats.table}: copied {stats.copied} versions "
                    f"({stats.bytes_copied:,} bytes), {stats.skipped} already present"
                    + (f", {len(stats.conflicts)} diverged" if stats.conflicts else "")
                )
        if not tables:
            print(f"no tables in {src_url}")
        if conflicts:
            raise StoreError(f"{len(conflicts)} partitions have diverged; first: {conflicts[0]}")
