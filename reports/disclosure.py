"""Disclosure control for counts derived from pupil-level data: primary and secondary suppression.

A table is a grid of non-negative whole counts. It may carry a total column (each row's last cell is the sum of
the row's other cells) and a total row (each column's last cell is the sum of the column's other cells). Each
row or column that has a total is a *line*: one linear relation a reader can use to subtract their way to a
hidden cell.

- **Primary suppression**: every count from 1 to `threshold - 1` is hidden (shown as `c`). Zeros are shown: a
  zero describes no pupil, and hiding zeros would let a reader recover hidden cells from non-negativity
  (two hidden cells in a line that adds to 0 must both be 0).
- **Secondary suppression**: in every line with exactly one hidden cell, the smallest non-zero visible cell of
  that line is hidden too, repeated until nothing changes (the usual rule). That rule alone is not enough: two
  separately safe blocks of hidden cells joined by one hidden cell let a reader add some lines and subtract
  others to recover that cell. So the hidden cells are then checked as a graph (below) and any such cell is
  put on a cycle by hiding the cheapest path of further cells.

Why the graph: put one node per line and one edge per cell joining its row and its column (cells of lines with
no total join a shared free node, since nothing constrains them). Moving hidden values along a cycle of hidden
cells (+1, -1, +1, ... with the signs the totals need) keeps every line's sum, so every cell on a cycle has at
least two values consistent with the page. A hidden cell on no cycle (a bridge) is fixed by the lines around
it. Every hidden cell is at least 1 (primary cells by definition, secondary ones are chosen non-zero), so a
step of 1 either way stays non-negative: no hidden cell can be worked out from the table, by subtraction or
by non-negativity. `determined_cells` checks the result by exact linear algebra, independently of the graph.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

Cell = tuple[int, int]  # (row, column) in the grid, totals included
_FREE = "free"  # the node shared by every line that has no total


@dataclass(frozen=True)
class Suppression:
    threshold: int
    primary: frozenset[Cell]
    secondary: frozenset[Cell]

    @property
    def cells(self) -> frozenset[Cell]:
        return self.primary | self.secondary


def suppress(values: Sequence[Sequence[int]], threshold: int, *, row_totals: bool, column_totals: bool) -> Suppression:
    """Which cells to hide so no count from 1 to threshold-1 is shown or can be worked out from the totals.

    `row_totals`: the last column holds each row's total. `column_totals`: the last row holds each column's.
    """
    grid = _checked(values, row_totals, column_totals)
    primary = {(i, j) for i, row in enumerate(grid) for j, v in enumerate(row) if 1 <= v < threshold}
    hidden = set(primary)
    _hide_lone_cells(grid, hidden, row_totals, column_totals)
    _close_bridges(grid, hidden, row_totals, column_totals)
    leaked = determined_cells(grid, hidden, row_totals=row_totals, column_totals=column_totals)
    if leaked:  # the graph argument above says this cannot happen; refuse to publish if it ever does
        raise RuntimeError(f"secondary suppression left cells recoverable from the totals: {sorted(leaked)}")
    return Suppression(threshold, frozenset(primary), frozenset(hidden - primary))


def _checked(values: Sequence[Sequence[int]], row_totals: bool, column_totals: bool) -> list[list[int]]:
    grid = [[int(v) for v in row] for row in values]
    if not grid:
        return grid
    width = len(grid[0])
    if any(len(row) != width for row in grid):
        raise ValueError("every row of the table must have the same number of cells")
    if any(v < 0 for row in grid for v in row):
        raise ValueError("counts must not be negative")
    # Totals that do not add up would make the safety argument meaningless: refuse rather than guess.
    if row_totals and any(sum(row[:-1]) != row[-1] for row in grid):
        raise ValueError("a row's cells do not add up to its total")
    if column_totals and any(sum(row[j] for row in grid[:-1]) != grid[-1][j] for j in range(width)):
        raise ValueError("a column's cells do not add up to its total")
    return grid


def _lines(grid: list[list[int]], row_totals: bool, column_totals: bool) -> list[list[Cell]]:
    rows, columns = len(grid), len(grid[0]) if grid else 0
    lines = []
    if row_totals:
        lines += [[(i, j) for j in range(columns)] for i in range(rows)]
    if column_totals:
        lines += [[(i, j) for i in range(rows)] for j in range(columns)]
    return lines


def _hide_lone_cells(grid: list[list[int]], hidden: set[Cell], row_totals: bool, column_totals: bool) -> None:
    """The usual rule: a line with one hidden cell gets its smallest non-zero visible cell hidden too."""
    lines = _lines(grid, row_totals, column_totals)
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(cell in hidden for cell in line) != 1:
                continue
            candidates = [cell for cell in line if cell not in hidden and grid[cell[0]][cell[1]] > 0]
            if candidates:  # a line adding up with one non-zero cell has it hidden as its own total's match
                hidden.add(min(candidates, key=lambda cell: (grid[cell[0]][cell[1]], cell)))
                changed = True


def _nodes(cell: Cell, row_totals: bool, column_totals: bool) -> tuple[object, object]:
    i, j = cell
    return (("row", i) if row_totals else _FREE, ("column", j) if column_totals else _FREE)


def _connected(edges: list[tuple[object, object]], start: object, goal: object) -> bool:
    neighbours: dict[object, list[object]] = {}
    for a, b in edges:
        neighbours.setdefault(a, []).append(b)
        neighbours.setdefault(b, []).append(a)
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        for other in neighbours.get(node, []):
            if other not in seen:
                seen.add(other)
                todo.append(other)
    return False


def _bridges(hidden: set[Cell], row_totals: bool, column_totals: bool) -> list[Cell]:
    """Hidden cells on no cycle of hidden cells: the totals around them pin their value."""
    ordered = sorted(hidden)
    edges = [_nodes(cell, row_totals, column_totals) for cell in ordered]
    bridges = []
    for k, cell in enumerate(ordered):
        a, b = edges[k]
        if a == b:  # in no line at all (or only free ones): nothing constrains it
            continue
        if not _connected(edges[:k] + edges[k + 1 :], a, b):
            bridges.append(cell)
    return bridges


def _close_bridges(grid: list[list[int]], hidden: set[Cell], row_totals: bool, column_totals: bool) -> None:
    """Hide the cheapest path of further cells that closes a cycle through each bridge."""
    while bridges := _bridges(hidden, row_totals, column_totals):
        bridge = bridges[0]
        start, goal = _nodes(bridge, row_totals, column_totals)
        path = _cheapest_path(grid, hidden, bridge, start, goal, row_totals, column_totals)
        hidden.update(path)


def _cheapest_path(
    grid: list[list[int]],
    hidden: set[Cell],
    bridge: Cell,
    start: object,
    goal: object,
    row_totals: bool,
    column_totals: bool,
) -> list[Cell]:
    # Hidden cells cost nothing to reuse; visible ones cost their value; zeros only as a last resort, since
    # a hidden zero weakens the non-negativity argument in the module docstring.
    zero_cost = 1 + sum(sum(row) for row in grid) * 4
    adjacency: dict[object, list[tuple[object, int, Cell]]] = {}
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            if (i, j) == bridge:
                continue
            a, b = _nodes((i, j), row_totals, column_totals)
            if a == b:
                continue
            cost = 0 if (i, j) in hidden else value if value > 0 else zero_cost
            adjacency.setdefault(a, []).append((b, cost, (i, j)))
            adjacency.setdefault(b, []).append((a, cost, (i, j)))
    best: dict[object, int] = {start: 0}
    previous: dict[object, tuple[object, Cell]] = {}
    queue: list[tuple[int, str, object]] = [(0, repr(start), start)]
    while queue:
        cost, _, node = heapq.heappop(queue)
        if node == goal:
            break
        if cost > best.get(node, cost):
            continue
        for other, step, cell in adjacency.get(node, []):
            if cost + step < best.get(other, cost + step + 1):
                best[other] = cost + step
                previous[other] = (node, cell)
                heapq.heappush(queue, (cost + step, repr(other), other))
    if goal not in previous:
        raise RuntimeError(f"no cells left to protect hidden cell {bridge}")
    path, node = [], goal
    while node != start:
        node, cell = previous[node]
        path.append(cell)
    return path


def determined_cells(
    values: Sequence[Sequence[int]], hidden: set[Cell] | frozenset[Cell], *, row_totals: bool, column_totals: bool
) -> set[Cell]:
    """Hidden cells whose value follows from the visible cells and the totals by any sums and differences of
    lines (exact Gaussian elimination over the rationals)."""
    grid = [list(row) for row in values]
    unknowns = sorted(hidden)
    index = {cell: k for k, cell in enumerate(unknowns)}
    equations: list[list[Fraction]] = []
    for line in _lines(grid, row_totals, column_totals):
        coefficients = [Fraction(0)] * len(unknowns)
        for cell in line:
            if cell in index:
                # A line's last cell is its total: its cells minus its total is zero.
                coefficients[index[cell]] += -1 if cell == line[-1] else 1
        if any(coefficients):
            equations.append(coefficients)
    pivots = _row_reduce(equations, len(unknowns))
    # In reduced form a pivot row with no other non-zero entry reads "this cell = known numbers".
    return {unknowns[column] for column, row in pivots.items() if sum(v != 0 for v in row) == 1}


def _row_reduce(matrix: list[list[Fraction]], width: int) -> dict[int, list[Fraction]]:
    """Reduced row echelon form; returns each pivot column's row."""
    rows = [row[:] for row in matrix]
    pivots: dict[int, list[Fraction]] = {}
    r = 0
    for column in range(width):
        pivot = next((k for k in range(r, len(rows)) if rows[k][column] != 0), None)
        if pivot is None:
            continue
        rows[r], rows[pivot] = rows[pivot], rows[r]
        lead = rows[r][column]
        rows[r] = [v / lead for v in rows[r]]
        for k in range(len(rows)):
            if k != r and rows[k][column] != 0:
                factor = rows[k][column]
                rows[k] = [a - factor * b for a, b in zip(rows[k], rows[r], strict=True)]
        r += 1
    for k in range(r):
        column = next(c for c in range(width) if rows[k][c] != 0)
        pivots[column] = rows[k]
    return pivots
