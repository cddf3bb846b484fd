"""``serenity tickstore``: list, inspect, sync, publish and migrate tick stores.

Store URLs are ``file:///path`` or ``azure://container`` (the connection string comes from
``AZURE_STORAGE_CONNECTION_STRING``).
"""

from __future__ import annotations

import difflib
import json
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from serenity.cli._args import day, hide_progress, instant, text
from serenity.errors import InvalidValueError, StoreError
from serenity.marketdata.tickstore import (
    LocalBlobStore,
    PublishStats,
    VersionInfo,
    list_tables,
    migrate_table,
    open_blobstore,
    open_tickstore,
    plan_sync,
    run_sync,
)
from serenity.marketdata.tickstore.args import (
    check_symbol,
    check_table,
    unknown_symbol,
    unknown_table,
)
from serenity.marketdata.tickstore.migrate import legacy_partitions
from serenity.tau import format_ns

__all__ = ["TickstoreCommands"]


def _url(value: object, flag: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidValueError(f"{flag} must be a store URL (file:///path or azure://container)")
    return value


def _existing_store(value: object, flag: str) -> str:
    """Return a store URL to read from, refusing a local folder or an Azure container that
    does not exist (reading from one would only find nothing)."""
    url = _url(value, flag)
    blobs = open_blobstore(url)
    if not blobs.exists():
        if isinstance(blobs, LocalBlobStore):
            raise InvalidValueError(
                f"{flag} {url}: no tick store at {blobs.root}; check the path "
                "(`serenity tickstore splay` creates a store)"
            )
        raise InvalidValueError(
            f"{flag} {url}: the Azure account has no such container; check the name "
            "(`serenity tickstore sync --to` or a recorder writing there creates it)"
        )
    return url


def _known_table(url: str, table: object) -> str:
    """Return ``table`` if the store holds it, else raise naming the tables it holds."""
    name = check_table(table)
    tables = list_tables(url)
    if name not in tables:
        raise unknown_table(name, url, tables)
    return name


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


_VERSION_HEADER = ["VERSION", "VALID FROM (UTC)", "ROWS", "BYTES", "METADATA"]


def _published(stats: PublishStats) -> str:
    if not stats.committed:
        return f"Delta log up to date (version {stats.version})"
    made = "created the Delta log" if stats.created else "Delta log"
    return f"{made} at version {stats.version}: +{stats.added} files, -{stats.removed} files"


def _tables(url: str, table: object) -> list[str]:
    return [_known_table(url, table)] if table is not None else list_tables(url)


class TickstoreCommands:
    """List, inspect, fill, sync, publish and migrate tick stores (file:///path, azure://container).

    An ``azure://container`` URL takes its connection string from
    ``AZURE_STORAGE_CONNECTION_STRING``.
    """

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

        Examples
        --------
        serenity tickstore ls file:///data/ticks --table COINBASE_TRADES
        """
        store_url = _existing_store(url, "URL")
        if table is None:
            if symbol is not None:
                raise InvalidValueError("--symbol needs --table")
            rows = []
            for name in list_tables(store_url):
                parts = open_tickstore(store_url, name).partitions()
                rows.append([name, len({s for s, _ in parts}), len(parts)])
            print(_table(rows, ["TABLE", "SYMBOLS", "DAYS"]) if rows else "no tables")
            return
        store = open_tickstore(store_url, _known_table(store_url, table))
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

        Examples
        --------
        serenity tickstore versions file:///data/ticks COINBASE_TRADES BTC-USD 2024-01-02
        """
        store_url = _existing_store(url, "URL")
        store = open_tickstore(store_url, _known_table(store_url, table))
        sym, when = check_symbol(symbol), day(date, flag="DATE")
        found = store.versions(sym, when)
        if not found:
            if sym not in store.symbols():
                raise unknown_symbol(sym, store.table, store.symbols())
            print(f"no versions of {sym} on {when} in {store.table}")
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

        Examples
        --------
        serenity tickstore show file:///data/ticks COINBASE_TRADES BTC-USD \\
            --start 2024-01-02T12:00:00.5Z --end 2024-01-02T12:01:00Z | head
        """
        store_url = _existing_store(url, "URL")
        store = open_tickstore(store_url, _known_table(store_url, table))
        sym = check_symbol(symbol)
        start_ns, end_ns = instant(start, flag="--start"), instant(end, flag="--end")
        as_of_ns = None if as_of is None else instant(as_of, flag="--as-of")
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
        resyncs, reconnects, crossed books, parse errors, journal defects). Without
        ``--date`` or ``--days-back`` every market day found in the journal is splayed.
        Re-running a day whose journal has not changed writes nothing.

        Parameters
        ----------
        journal_dir
            The journal folder.
        store
            The store's URL, ``file:///path`` or ``azure://container``; a local folder is
            created.
        date
            Only this UTC day, ``YYYY-MM-DD``.
        days_back
            Only the N UTC days before today, oldest first.
        venue
            Splay only this venue.

        Examples
        --------
        serenity tickstore splay --journal-dir ~/.serenity/journal --store file:///data/ticks
        """
        import datetime as dt
        from pathlib import Path

        from serenity.marketdata.batch import journal_days, splay_day
        from serenity.marketdata.journal_reader import JournalReader

        if date is not None and days_back is not None:
            raise InvalidValueError("splay takes --date or --days-back, not both")
        folder = Path(text(journal_dir, flag="--journal-dir")).expanduser()
        if not folder.is_dir():
            raise InvalidValueError(f"--journal-dir {folder} is not a folder")
        url = _url(store, "--store")
        name = None if venue is None else text(venue, flag="--venue").lower()
        if name is not None:
            venues = sorted({stream.venue for stream in JournalReader(folder).streams()})
            if name not in venues:
                close = difflib.get_close_matches(name, venues, n=1)
                hint = f"did you mean {close[0]}? " if close else ""
                held = ", ".join(venues) if venues else "none"
                raise InvalidValueError(
                    f"unknown venue {name!r} in journal {folder}; {hint}venues recorded there: "
                    f"{held}"
                )
        if date is not None:
            days = [day(date, flag="--date")]
        elif days_back is not None:
            n = _positive(days_back, "--days-back")
            today = dt.datetime.now(dt.UTC).date()
            days = [today - dt.timedelta(days=k) for k in range(n, 0, -1)]
        else:
            days = journal_days(folder, venue=name)
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
        rows: list[list[object]] = []
        with (
            logging_redirect_tqdm(),
            tqdm(total=len(days), file=sys.stderr, unit="day", desc="splay", **off) as bar,
        ):
            for when in days:
                for r in splay_day(folder, url, when, venue=name, on_stream=bar.set_postfix_str):
                    gaps = r.quality.get("gap", 0)
                    state = "new" if r.created else "unchanged"
                    rows.append([r.table, r.symbol, r.day, f"{r.rows:,}", r.version, state, gaps])
                bar.update(1)
        if rows:
            print(_table(rows, ["table", "symbol", "day", "rows", "version", "", "gaps"]))
        elif days:
            print(f"nothing to splay in {folder} for {', '.join(str(d) for d in days)}")
        else:
            print(f"nothing to splay: no trades or books in {folder}")

    def sync(self, table: str | None = None, **endpoints: object) -> None:
        """Copy the versions one store lacks from another.

        Version numbers and validity times are kept; versions already present are skipped,
        so running it again copies nothing. Partitions whose histories differ are reported
        and left alone (exit code 2). The destination's Delta log is brought up to date from
        its own indexes (built when it has none), never copied.

        Parameters
        ----------
        from
            The source store, ``file:///path`` or ``azure://container``.
        to
            The destination store; a local folder is created.
        table
            Sync only this table; every table of the source when omitted.

        Examples
        --------
        serenity tickstore sync --from file:///data/ticks --to azure://ticks
        """
        unknown = sorted(set(endpoints) - {"from", "to"})
        if unknown:
            flags = ", ".join("--" + name for name in unknown)
            raise InvalidValueError(f"sync takes --from, --to and --table, was {flags}")
        if "from" not in endpoints or "to" not in endpoints:
            raise InvalidValueError("sync needs --from URL and --to URL")
        src_url = _existing_store(endpoints["from"], "--from")
        dst_url = _url(endpoints["to"], "--to")
        tables = _tables(src_url, table)
        plans = [plan_sync(open_tickstore(src_url, t), open_tickstore(dst_url, t)) for t in tables]
        total = sum(p.size_bytes for p in plans)
        conflicts: list[str] = []
        # Pass `disable` only to hide: otherwise tqdm's own TQDM_DISABLE=1 (set by CI) applies.
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
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
                    + (f"; {_published(stats.published)}" if stats.published else "")
                )
        if not tables:
            print(f"no tables in {src_url}")
        if conflicts:
            raise StoreError(f"{len(conflicts)} partitions have diverged; first: {conflicts[0]}")

    def publish(self, url: str, table: str | None = None) -> None:
        """Build or repair the Delta Lake log of each table from its version indexes.

        Every insert and delete publishes itself; this repairs a log left behind (a writer
        that crashed between its index and its log, a bulk load without publishing, a
        deleted ``_delta_log``). Only a difference is committed, in one commit per table;
        when the log already matches, nothing is.

        Parameters
        ----------
        url
            The store's URL, ``file:///path`` or ``azure://container``.
        table
            Only this table; every table of the store when omitted.

        Examples
        --------
        serenity tickstore publish file:///data/ticks --table PHEMEX_TRADES
        """
        store_url = _existing_store(url, "URL")
        tables = _tables(store_url, table)
        for name in tables:
            stats = open_tickstore(store_url, name).delta_log.publish()
            print(f"{name}: {_published(stats)}")
        if not tables:
            print(f"no tables in {store_url}")

    def migrate(self, url: str, table: str | None = None) -> None:
        """Move a store to symbol=<SYMBOL>/date=<DATE>/ folders and publish its Delta logs.

        For stores written before hive-style partitions (``<TABLE>/<SYMBOL>/<DATE>/``). Stop
        writers first. Each partition's files are copied (hard-linked locally) before its
        index, and the old folder is removed last, so an interrupted migration loses nothing
        and running it again resumes; on a migrated store it changes nothing. Versions,
        validity times and as-of reads are unchanged.

        Parameters
        ----------
        url
            The store's URL, ``file:///path`` or ``azure://container``.
        table
            Only this table; every table of the store when omitted.

        Examples
        --------
        serenity tickstore migrate file:///data/ticks
        """
        store_url = _existing_store(url, "URL")
        blobs = open_blobstore(store_url)
        tables = _tables(store_url, table)
        total = sum(len(legacy_partitions(blobs, name)) for name in tables)
        off: dict[str, Any] = {"disable": True} if hide_progress() else {}
        with (
            logging_redirect_tqdm(),
            tqdm(total=total, file=sys.stderr, unit="day", desc="migrate", **off) as bar,
        ):

            def advance(n: int) -> None:
                bar.update(n)

            for name in tables:
                stats = migrate_table(blobs, name, progress=advance)
                print(
                    f"{name}: moved {stats.partitions} partitions ({stats.files} files); "
                    f"{_published(stats.published)}"
                )
        if not tables:
            print(f"no tables in {store_url}")
