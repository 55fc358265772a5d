"""Which row is the header and which dataset's layout it belongs to: by content, never by file name."""

from __future__ import annotations

import re
from collections.abc import Iterable

from sendflow.core.identifiers import UPN_SHAPED
from sendflow.intake.raw import HEADER_SEARCH_ROWS, Grid, Identification, Rejection
from sendflow.transforms.common import (
    Layout,
    header_key,
    match_columns,
)

# A layout is recognised when most of its required columns are there; the rest are then named as missing.
IDENTIFY_THRESHOLD = 0.6
# An unknown header is shown in its refusal by its first cells, each clipped, and the nearest layout by the first
# of its missing columns: one line a person reads, with the full list of layouts in the reason file.
HEADER_CELLS_SHOWN = 8
HEADER_CELL_CHARS = 40
MISSING_COLUMNS_SHOWN = 6
# A header row with one of these is a pupil's row (a return saved without its header): an unknown header is
# otherwise quoted in the refusal, and this one must not be. A UPN, a date, or a UK postcode.
_PERSONAL_CELL = re.compile(
    rf"{UPN_SHAPED}|[0-9]{{1,4}}[-/.][0-9]{{1,2}}[-/.][0-9]{{1,4}}|[A-Za-z]{{1,2}}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{{2}}"
)


def header_names(cells: Iterable[str | None], first_position: int = 1) -> list[str]:
    """Column names from a header row: blanks named by position, repeats numbered ('X', 'X [2]')."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, cell in enumerate(cells, start=first_position):
        name = (cell or "").replace("\ufeff", "").strip() or f"column_{position}"
        seen[name] = seen.get(name, 0) + 1
        names.append(name if seen[name] == 1 else f"{name} [{seen[name]}]")
    return names


def header_row_index(rows: Grid, layouts: list[Layout]) -> tuple[int, float]:
    """The first of the leading rows that best matches a known layout (0 and score 0 if none does)."""
    best_index, best_score = 0, 0.0
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        match = _best_layout([c for c in row if c], layouts)
        if match is not None and match[0] > best_score:
            best_index, best_score = index, match[0]
    return best_index, best_score


def _best_layout(header: Iterable[str], layouts: Iterable[Layout]) -> tuple[float, Layout] | None:
    header = list(header)
    scored = [(len(match_columns(header, layout.required)) / len(layout.required), layout) for layout in layouts]
    scored = [s for s in scored if s[0] >= IDENTIFY_THRESHOLD]
    return max(scored, key=lambda s: s[0]) if scored else None


def _nearest_text(header: list[str], layouts: list[Layout]) -> str:
    """The layout that shares the largest part of its required columns with the header, even below the
    threshold (ties: the one missing fewest), and what it lacks: what the sender most likely meant."""
    found = [(layout, match_columns(header, layout.required)) for layout in layouts]
    layout, matched = max(found, key=lambda f: (len(f[1]) / len(f[0].required), -(len(f[0].required) - len(f[1]))))
    missing = [column for column in layout.required if column not in matched]
    listed = ", ".join(missing[:MISSING_COLUMNS_SHOWN])
    if len(missing) > MISSING_COLUMNS_SHOWN:
        listed += f" and {len(missing) - MISSING_COLUMNS_SHOWN} more"
    return (
        f"nearest layout: {layout.dataset} ({layout.description}), {len(matched)} of {len(layout.required)} "
        f"required columns, missing {listed}"
    )


def known_layouts(layouts: Iterable[Layout]) -> str:
    """Every layout with its dataset, description and required columns, for a rejection's reason file."""
    lines = ["Every known layout (dataset, layout: description; the columns it requires):"]
    for layout in sorted(layouts, key=lambda layout: (layout.dataset, layout.name)):
        lines.append(f"- {layout.dataset}, {layout.name}: {layout.description}")
        lines.append(f"  requires: {', '.join(layout.required)}")
    return "\n".join(lines)


def _clipped(cell: str) -> str:
    return cell if len(cell) <= HEADER_CELL_CHARS else cell[: HEADER_CELL_CHARS - 3] + "..."


def identify(header: list[str], layouts: Iterable[Layout], name: str) -> Identification:
    """Which dataset and layout a header belongs to, or a Rejection listing what is known."""
    layouts = list(layouts)
    best = _best_layout(header, layouts)
    if best is None:
        if any(_PERSONAL_CELL.fullmatch(cell.strip()) for cell in header):
            raise Rejection(
                f"{name}: its first row looks like a pupil's data, not a header (it holds what looks like a UPN, "
                "a date or a postcode; not repeated here); add the header row and offer the file again",
                details=known_layouts(layouts),
            )
        shown = ", ".join(_clipped(cell) for cell in header[:HEADER_CELLS_SHOWN])
        shown += ", ..." if len(header) > HEADER_CELLS_SHOWN else ""
        raise Rejection(
            f"{name}: unknown header [{shown}]; {_nearest_text(header, layouts)}; "
            "every known layout is listed in the reason file",
            details=known_layouts(layouts),
        )
    layout = best[1]
    found = match_columns(header, layout.required)
    repeated = [c for c in found.values() if not layout.allow_repeated and f"{c} [2]" in header]
    if repeated:
        raise Rejection(f"{name}: column {', '.join(repeated)} appears more than once; which one to load is unclear")
    _refuse_colliding(header, layout, name)
    missing = tuple(c for c in layout.required if c not in found)
    return Identification(layout, missing)


def _refuse_colliding(header: list[str], layout: Layout, name: str) -> None:
    """Two header cells that name one of the layout's columns once case, spaces, underscores and BOMs are set
    aside ('NOR' and 'nor'): which one holds the data cannot be told, so neither is guessed."""
    if layout.allow_repeated:
        return
    spellings: dict[str, list[str]] = {}
    for column in header:
        spellings.setdefault(header_key(column), []).append(column)
    wanted = {header_key(column) for column in layout.columns}
    for key, names in spellings.items():
        if key in wanted and len(names) > 1:
            shown = " and ".join(repr(n) for n in names)
            raise Rejection(
                f"{name}: columns {shown} are one column once case, spaces and underscores are set aside; "
                "which one to load is unclear: rename or remove one and offer the file again"
            )
