"""Primary and secondary suppression: small counts hidden, and nothing hidden can be worked out from the rest.

The attack is brute force: every sum and difference of the table's rows and columns (each line taken +1, -1
or not at all; for tables built of lines, as these are, that reaches every linear relation), looking for one
that leaves a single hidden cell beside visible ones. Then, since counts cannot be negative, every hidden cell
must have another value consistent with everything shown.
"""

from __future__ import annotations

import itertools
import random

import numpy as np
import pytest

from sendflow.reports.disclosure import Cell, determined_cells, suppress


def with_totals(interior: list[list[int]], row_totals: bool = True, column_totals: bool = True) -> list[list[int]]:
    rows = [[*row, sum(row)] if row_totals else list(row) for row in interior]
    if column_totals:
        rows.append([sum(column) for column in zip(*rows, strict=True)])
    return rows


def lines(values: list[list[int]], row_totals: bool, column_totals: bool) -> np.ndarray:
    """One row per line: +1 on its cells, -1 on its total (cells minus total is zero)."""
    height, width = len(values), len(values[0])
    found = []
    if row_totals:
        for i in range(height):
            line = np.zeros(height * width, dtype=np.int64)
            line[i * width : (i + 1) * width] = 1
            line[i * width + width - 1] = -1
            found.append(line)
    if column_totals:
        for j in range(width):
            line = np.zeros(height * width, dtype=np.int64)
            line[j::width] = 1
            line[(height - 1) * width + j] = -1
            found.append(line)
    return np.array(found)


def recoverable_by_brute_force(
    values: list[list[int]], hidden: set[Cell], row_totals: bool = True, column_totals: bool = True
) -> set[Cell]:
    """Hidden cells some +/- combination of rows and columns isolates."""
    width = len(values[0])
    matrix = lines(values, row_totals, column_totals)
    is_hidden = np.array([(k // width, k % width) in hidden for k in range(matrix.shape[1])])
    signs = np.array(list(itertools.product((-1, 0, 1), repeat=matrix.shape[0])), dtype=np.int64)
    touches = (signs @ matrix != 0) & is_hidden  # per combination: which hidden cells remain in it
    isolated = touches[touches.sum(axis=1) == 1]
    return {(int(k) // width, int(k) % width) for k in np.flatnonzero(isolated.any(axis=0))}


def recoverable_by_rank(
    values: list[list[int]], hidden: set[Cell], row_totals: bool = True, column_totals: bool = True
) -> set[Cell]:
    """The same question for tables too big to enumerate: a hidden cell is recoverable when adding "this cell"
    as one more equation does not raise the rank of the lines restricted to the hidden cells (floating point
    rank; entries are -1, 0, 1, so it is exact at these sizes)."""
    width = len(values[0])
    cells = sorted(hidden)
    matrix = lines(values, row_totals, column_totals)[:, [i * width + j for i, j in cells]].astype(float)
    rank = np.linalg.matrix_rank(matrix) if matrix.size else 0
    found = set()
    for k, cell in enumerate(cells):
        unit = np.zeros((1, len(cells)))
        unit[0, k] = 1
        if np.linalg.matrix_rank(np.vstack([matrix, unit]) if matrix.size else unit) == rank:
            found.add(cell)
    return found


def pinned_by_non_negativity(
    values: list[list[int]], hidden: set[Cell], row_totals: bool = True, column_totals: bool = True
) -> set[Cell]:
    """Hidden cells with no other non-negative value consistent with the page, searching every change of
    -1, 0 or +1 to the hidden cells that keeps each line's sum."""
    if not hidden:
        return set()
    width = len(values[0])
    cells = sorted(hidden)
    columns = [i * width + j for i, j in cells]
    matrix = lines(values, row_totals, column_totals)[:, columns]
    current = np.array([values[i][j] for i, j in cells])
    steps = np.array(list(itertools.product((-1, 0, 1), repeat=len(cells))), dtype=np.int64)
    keeps_sums = ~(steps @ matrix.T).any(axis=1)
    allowed = steps[keeps_sums & (current + steps >= 0).all(axis=1)]
    free = {cells[k] for k in np.flatnonzero((allowed != 0).any(axis=0))}
    return set(cells) - free


def test_a_cell_of_3_with_a_total_is_hidden_and_so_is_its_secondary() -> None:
    values = with_totals([[3, 20], [15, 12]])  # [[3, 20, 23], [15, 12, 27], [18, 32, 50]]
    result = suppress(values, 10, row_totals=True, column_totals=True)

    assert result.primary == {(0, 0)}
    # Its row and its column each lose another cell (the smallest), or 23 - 20 and 18 - 15 would give the 3.
    assert any(cell[0] == 0 for cell in result.secondary) and any(cell[1] == 0 for cell in result.secondary)
    assert result.cells == {(0, 0), (0, 1), (1, 0), (1, 1)}
    assert recoverable_by_brute_force(values, set(result.cells)) == set()
    # Hiding the 3 alone is exactly what the brute force catches: the check can fail.
    assert recoverable_by_brute_force(values, {(0, 0)}) == {(0, 0)}


def test_a_column_with_only_a_total_hides_the_next_smallest_cell() -> None:
    values = with_totals([[3], [15], [40]], row_totals=False)
    result = suppress(values, 10, row_totals=False, column_totals=True)

    assert result.primary == {(0, 0)} and result.secondary == {(1, 0)}
    assert recoverable_by_brute_force(values, set(result.cells), row_totals=False) == set()


def test_small_totals_are_hidden_too_and_zeros_are_shown() -> None:
    values = with_totals([[2, 0, 1], [0, 0, 30], [12, 15, 40]])
    result = suppress(values, 10, row_totals=True, column_totals=True)

    assert {(0, 0), (0, 2), (0, 3)} <= result.primary  # 2, 1 and their row total 3
    assert all(values[i][j] > 0 for i, j in result.cells)  # a hidden zero would be pinned by non-negativity
    assert recoverable_by_brute_force(values, set(result.cells)) == set()
    assert pinned_by_non_negativity(values, set(result.cells)) == set()


def test_two_safe_blocks_joined_by_one_hidden_cell_are_not_enough() -> None:
    # Primary cells: two 2x2 blocks and the 4 joining them. Every row and column has two or more hidden cells,
    # so the usual rule adds nothing, yet rows 0-1 minus columns 0-1 give the joining cell exactly.
    interior = [[3, 4, 50, 60, 70], [5, 6, 4, 55, 65], [40, 45, 2, 3, 75], [42, 48, 5, 7, 80], [90, 95, 99, 85, 88]]
    values = with_totals(interior)
    primary = {(0, 0), (0, 1), (1, 0), (1, 1), (1, 2), (2, 2), (2, 3), (3, 2), (3, 3)}
    assert {c for c in itertools.product(range(6), range(6)) if 1 <= values[c[0]][c[1]] < 10} == primary
    assert recoverable_by_brute_force(values, primary) == recoverable_by_rank(values, primary) == {(1, 2)}

    result = suppress(values, 10, row_totals=True, column_totals=True)

    assert result.primary == primary and result.secondary
    assert recoverable_by_brute_force(values, set(result.cells)) == set()
    assert determined_cells(values, result.cells, row_totals=True, column_totals=True) == set()


@pytest.mark.parametrize("seed", range(40))
def test_no_hidden_count_can_be_recovered_from_random_tables(seed: int) -> None:
    rng = random.Random(seed)
    height, width = rng.randint(1, 4), rng.randint(1, 4)
    row_totals, column_totals = rng.choice([(True, True), (True, True), (True, False), (False, True)])
    interior = [[rng.choice([0, 1, 2, 3, 5, 8, 9, 10, 12, 20, 35, 60]) for _ in range(width)] for _ in range(height)]
    values = with_totals(interior, row_totals, column_totals)
    result = suppress(values, 10, row_totals=row_totals, column_totals=column_totals)
    hidden = set(result.cells)

    assert {(i, j) for i, row in enumerate(values) for j, v in enumerate(row) if 1 <= v < 10} <= hidden
    assert recoverable_by_brute_force(values, hidden, row_totals, column_totals) == set()
    assert recoverable_by_rank(values, hidden, row_totals, column_totals) == set()
    assert determined_cells(values, hidden, row_totals=row_totals, column_totals=column_totals) == set()
    if len(hidden) <= 11:  # 3^11 changes: the non-negativity search stays quick
        assert pinned_by_non_negativity(values, hidden, row_totals, column_totals) == set()


def test_totals_that_do_not_add_up_are_refused() -> None:
    with pytest.raises(ValueError, match="do not add up"):
        suppress([[3, 20, 24], [3, 20, 24]], 10, row_totals=True, column_totals=True)


def test_a_threshold_of_one_hides_nothing() -> None:
    result = suppress(with_totals([[1, 2], [3, 4]]), 1, row_totals=True, column_totals=True)
    assert result.cells == frozenset()
