"""Lots: holding periods, relief orders, and conservation of quantity and basis."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from serenity.errors import DataError
from serenity.tax import LotPool, ReliefMethod, Term, holding_term, read_lots_file

D = Decimal
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("acquired", "sold", "term"),
    [
        ("2023-03-15", "2024-03-15", Term.SHORT),  # exactly one year
        ("2023-03-15", "2024-03-16", Term.LONG),  # more than one year
        ("2023-03-15", "2023-03-15", Term.SHORT),  # same day
        ("2023-12-31", "2024-12-31", Term.SHORT),
        ("2023-12-31", "2025-01-01", Term.LONG),
        ("2024-02-29", "2025-02-28", Term.SHORT),  # anniversary of 29 February: 28 February
        ("2024-02-29", "2025-03-01", Term.LONG),
        ("2023-02-28", "2024-02-29", Term.LONG),  # leap day is after the anniversary
    ],
)
def test_holding_term(acquired: str, sold: str, term: Term) -> None:
    assert holding_term(dt.date.fromisoformat(acquired), dt.date.fromisoformat(sold)) is term


def _pool() -> LotPool:
    pool = LotPool("BTC", "w")
    pool.add("a", T0, D("1"), D("100"))
    pool.add("c", T0 + dt.timedelta(days=2), D("1"), D("150"))
    pool.add("b", T0 + dt.timedelta(days=1), D("1"), D("300"))  # arrives late, sorts by date
    return pool


@pytest.mark.parametrize(
    ("method", "order"),
    [
        (ReliefMethod.FIFO, ["a", "b", "c"]),
        (ReliefMethod.LIFO, ["c", "b", "a"]),
        (ReliefMethod.HIFO, ["b", "c", "a"]),
        (ReliefMethod.SPECIFIC, ["a", "b", "c"]),  # nothing named: FIFO
    ],
)
def test_relief_order(method: ReliefMethod, order: list[str]) -> None:
    pool = _pool()

    pieces = pool.relieve(D("2.5"), method, what="sale")

    assert [p.lot_id for p in pieces] == order
    assert [p.qty for p in pieces] == [D(1), D(1), D("0.5")]
    assert pool.qty == D("0.5") and len(pool.lots) == 1


def test_a_piece_moved_back_joins_its_lot() -> None:
    pool = _pool()
    piece = pool.relieve(D("0.25"), ReliefMethod.FIFO, what="transfer")[0]

    pool.add(piece.lot_id, piece.acquired, piece.qty, piece.basis)

    assert [(x.lot_id, x.qty, x.basis) for x in pool.lots][0] == ("a", D(1), D(100))


def test_relieving_more_than_held_changes_nothing() -> None:
    pool = _pool()

    with pytest.raises(DataError, match=r"cannot relieve 4 BTC from wallet w for sale: only 3"):
        pool.relieve(D(4), ReliefMethod.FIFO, what="sale")

    assert pool.qty == D(3) and sum(x.basis for x in pool.lots) == D(550)


def test_lots_file_groups_named_lots_by_disposal(tmp_path: Path) -> None:
    path = tmp_path / "lots.csv"
    path.write_text("disposal_id,lot_id,qty\nt:s1,t:a,0.5\nt:s1,t:c,1\nt:s2,t:b,2\n")

    named = read_lots_file(path)

    assert named == {"t:s1": [("t:a", D("0.5")), ("t:c", D(1))], "t:s2": [("t:b", D(2))]}


def test_lots_file_with_a_bad_quantity_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "lots.csv"
    path.write_text("disposal_id,lot_id,qty\nt:s1,t:a,0.5\nt:s1,t:c,-1\n")

    with pytest.raises(DataError, match=r"lots file .* line 3: needs .* qty > 0"):
        read_lots_file(path)


amounts = st.decimals(min_value="0.00000001", max_value="1000", places=8)
costs = st.decimals(min_value="0", max_value="1000000", places=2)
steps = st.lists(
    st.tuples(st.booleans(), amounts, costs, st.sampled_from(list(ReliefMethod))),
    min_size=1,
    max_size=60,
)


@given(steps)
def test_relief_conserves_quantity_and_basis(
    actions: list[tuple[bool, Decimal, Decimal, ReliefMethod]],
) -> None:
    pool = LotPool("BTC", "w")
    added_qty = added_basis = taken_qty = taken_basis = D(0)
    for i, (is_add, qty, cost, method) in enumerate(actions):
        if is_add or pool.qty == 0:
            pool.add(f"lot{i}", T0 + dt.timedelta(minutes=i % 7), qty, cost)
            added_qty += qty
            added_basis += cost
        else:
            want = min(qty, pool.qty)
            pieces = pool.relieve(want, method, what=f"step {i}")
            assert sum(p.qty for p in pieces) == want
            assert all(p.qty > 0 and p.basis >= 0 for p in pieces)
            taken_qty += want
            taken_basis += sum(p.basis for p in pieces)
    left = pool.lots
    assert pool.qty == sum(x.qty for x in left) == added_qty - taken_qty
    # pro-rata division rounds at 28 digits: far below a cent, and never piles up
    assert abs(sum(x.basis for x in left) + taken_basis - added_basis) < D("1e-18")
    assert [x.acquired for x in left] == sorted(x.acquired for x in left)
