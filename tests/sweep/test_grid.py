"""Grids: specs, points, and where a key goes in the config."""

from __future__ import annotations

import pytest

from serenity.errors import ConfigError
from serenity.sweep import apply_point, grid_points, key_path, parse_grid, point_label

ALGO = {
    "strategy": {"name": "b", "module": "b.py", "class": "B", "params": {"window": 20}},
    "instruments": ["COINBASE:BTC-USD"],
    "simulator": {"taker_fee_bps": 7.5},
}


def test_specs_become_typed_values_and_points_in_order() -> None:
    grid = parse_grid(["window=10,20,40", "num_std=1.5, 2 ,2.5", "mode=fast,true"])
    assert grid == {"window": [10, 20, 40], "num_std": [1.5, 2, 2.5], "mode": ["fast", True]}
    points = grid_points({"a": [1, 2], "b": ["x", "y"]})
    assert points == [
        {"a": 1, "b": "x"},
        {"a": 1, "b": "y"},
        {"a": 2, "b": "x"},
        {"a": 2, "b": "y"},
    ]
    assert point_label(points[1]) == "a=1,b=y"
    assert parse_grid({"window": range(2)}) == {"window": [0, 1]}


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (["window"], "--grid takes KEY=V1,V2"),
        (["window="], "--grid takes KEY=V1,V2"),
        (["window=1,,2"], "a grid value is empty"),
        (["w=1", "w=2"], "grid key 'w' is given twice"),
        ([], "the grid is empty"),
    ],
)
def test_bad_specs_are_refused(specs: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_grid(specs)


def test_keys_address_params_paths_and_top_level_keys() -> None:
    changed = apply_point(
        ALGO,
        {
            "window": 10,
            "num_std": 2.5,
            "simulator.taker_fee_bps": 1,
            ".capital": 5_000,
            "risk.max_position": 3,
        },
    )
    assert changed["strategy"]["params"] == {"window": 10, "num_std": 2.5}
    assert changed["simulator"] == {"taker_fee_bps": 1}
    assert changed["capital"] == 5_000 and changed["risk"] == {"max_position": 3}
    assert ALGO["strategy"]["params"] == {"window": 20}  # the original is untouched
    several = {"strategies": [{"params": {}}, {"params": {}}]}
    assert key_path(several, "strategies.1.params.qty") == ["strategies", 1, "params", "qty"]
    assert apply_point(several, {"strategies.1.params.qty": 2})["strategies"][1]["params"] == {
        "qty": 2
    }
    with pytest.raises(ConfigError, match="several strategies; write strategies.N.params.qty"):
        key_path(several, "qty")
    with pytest.raises(ConfigError, match="instruments.0 is str, not a mapping or list"):
        apply_point(ALGO, {"instruments.0.x": 1})
    with pytest.raises(ConfigError, match="v1 configs"):
        key_path({"api-version": "v1Beta"}, "window")
