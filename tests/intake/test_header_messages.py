"""The refusal of an unknown header: one short line naming the nearest layout and what it lacks, and every known
layout in the reason file beside the rejected copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendflow.intake.header import identify
from sendflow.intake.raw import Rejection
from sendflow.loading.file_load import Context, ingest_path
from sendflow.registry.datasets import BY_NAME, DATASETS, all_layouts
from sendflow.warehouse import ledger

SHORT = 300


def _reason_file(context: Context) -> str:
    reasons = list((context.settings.landing_dir / "rejected").glob("*.reason.txt"))
    assert len(reasons) == 1
    return reasons[0].read_text(encoding="utf-8")


def test_a_junk_header_is_refused_in_one_short_line_and_the_reason_file_lists_every_layout(
    context: Context, tmp_path: Path
) -> None:
    path = tmp_path / "notes.csv"
    path.write_text("what,why\n1,2\n")

    outcome = ingest_path(path, None, context)

    assert outcome.status == "rejected"
    assert len(outcome.message) < SHORT, outcome.message
    assert outcome.message.startswith("notes.csv: unknown header [what, why]; nearest layout: ")
    # Nothing matches, so the nearest is one of the layouts needing fewest columns, all of them named missing.
    nearest = [layout for layout in all_layouts() if f"nearest layout: {layout.dataset} (" in outcome.message]
    assert len(nearest) == 1
    assert len(nearest[0].required) == min(len(layout.required) for layout in all_layouts())
    assert f"0 of {len(nearest[0].required)} required columns, missing {', '.join(nearest[0].required)};" in (
        outcome.message
    )
    assert outcome.message.endswith("every known layout is listed in the reason file")
    assert sum(dataset.name in outcome.message for dataset in DATASETS) == 1  # not every dataset: the nearest

    # The ledger keeps the same short line; the reason file starts with it, then lists every layout.
    row = ledger.query(context.warehouse, "SELECT message FROM etl_load").row(0, named=True)
    assert row["message"] == outcome.message
    reason = _reason_file(context)
    assert reason.startswith(outcome.message + "\n\nEvery known layout")
    for layout in all_layouts():
        assert f"- {layout.dataset}, {layout.name}: {layout.description}\n  requires: {', '.join(layout.required)}" in (
            reason
        )


def test_a_header_close_to_the_census_names_school_census_and_what_it_lacks() -> None:
    census = BY_NAME["school_census"].layouts[0]
    present = list(census.required[:4])
    missing = [column for column in census.required if column not in present]

    with pytest.raises(Rejection) as raised:
        identify([*present, "Comments"], all_layouts(), "census.csv")

    message = str(raised.value)
    assert len(message) < SHORT, message
    assert f"nearest layout: school_census ({census.description})" in message
    assert f"{len(present)} of {len(census.required)} required columns, missing {', '.join(missing)};" in message


def test_many_missing_columns_are_cut_short_with_a_count() -> None:
    register = next(layout for layout in all_layouts() if layout.name == "perf_tables_school_information")
    present = list(register.required[:5])  # 5 of 13: below the threshold, and nearer than any other layout
    missing = [column for column in register.required if column not in present]

    with pytest.raises(Rejection) as raised:
        identify(present, all_layouts(), "schools.csv")

    message = str(raised.value)
    assert f"nearest layout: school_register ({register.description})" in message
    assert f"missing {', '.join(missing[:6])} and {len(missing) - 6} more;" in message
    assert missing[6] not in message


def test_long_header_cells_are_clipped_and_only_the_first_eight_shown() -> None:
    header = ["x" * 200, *(f"col{n}" for n in range(20))]

    with pytest.raises(Rejection) as raised:
        identify(header, all_layouts(), "wide.csv")

    message = str(raised.value)
    assert len(message) < SHORT + 100, message
    assert "x" * 37 + "..., col0, col1" in message and "x" * 41 not in message
    assert "col6, ..." in message and "col7" not in message


def test_a_header_that_looks_like_a_pupils_row_is_never_quoted(context: Context, tmp_path: Path) -> None:
    path = tmp_path / "spring_return.csv"
    cells = ["A201361416001", "Smith", "2015-09-14", "NW1 2AB"]
    path.write_text(",".join(cells) + "\n" + ",".join(cells) + "\n")

    outcome = ingest_path(path, None, context)

    assert outcome.status == "rejected" and "looks like a pupil's data" in outcome.message
    shown = outcome.message + _reason_file(context)
    assert "Every known layout" in shown
    assert not any(cell in shown for cell in cells)
