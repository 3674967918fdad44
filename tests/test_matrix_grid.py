"""The matrix grid parser: the cells it builds and the input it refuses (pure logic)."""

from __future__ import annotations

import pytest

from ridectl.errors import UsageError
from ridectl.scenarios.matrix import Cell, parse_grid


def test_the_grid_is_the_product_of_its_axes_in_order() -> None:
    cells = parse_grid(["keyed", "unkeyed"], [1, 5], ["off"], ["none", "error:every=7"])
    assert len(cells) == 8
    assert cells[0] == Cell(True, 1, False, "none")
    assert cells[1] == Cell(True, 1, False, "error:every=7")
    assert cells[-1] == Cell(False, 5, False, "error:every=7")
    assert cells[0].label == "kafka-python, keyed, in-flight 1, idempotence off, fault none"


def test_cells_an_idempotent_producer_refuses_are_left_out() -> None:
    cells = parse_grid(["keyed"], [1, 5, 6], ["on", "off"], ["none"])
    pairs = {(c.in_flight, c.idempotence) for c in cells}
    assert (6, True) not in pairs
    assert {(1, True), (5, True), (1, False), (5, False), (6, False)} == pairs
    with pytest.raises(UsageError, match="the grid is empty"):
        parse_grid(["keyed"], [6, 10], ["on"], ["none"])


@pytest.mark.parametrize(
    ("keying", "in_flight", "idempotence", "faults", "message"),
    [
        (["sideways"], [1], ["on"], ["none"], "--keying takes keyed or unkeyed"),
        (["keyed"], [0], ["on"], ["none"], "--max-in-flight values must be 1 or more"),
        (["keyed"], [1], ["maybe"], ["none"], "--idempotence takes on or off"),
        (["keyed"], [1], ["on"], ["nonsense:x=1"], "nonsense"),
    ],
)
def test_bad_axes_are_refused_before_any_run(
    keying: list[str], in_flight: list[int], idempotence: list[str], faults: list[str], message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        parse_grid(keying, in_flight, idempotence, faults)
