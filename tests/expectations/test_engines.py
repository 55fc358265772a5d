"""The Polars translation of a suite, used for very large frames, finds exactly what GX finds."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from sendflow.expectations.runner import validate
from sendflow.intake.header import identify
from sendflow.intake.reader import read_table
from sendflow.loading.file_load import source_info
from sendflow.registry.datasets import BY_NAME, all_layouts
from sendflow.transforms.common import CONTROLS
from tests.conftest import SAMPLE_DIR
from tests.pupils import School, pupils
from tests.transforms.test_pupil_census import transform as pupil_transform


def _corrupt(frame: pl.DataFrame, column: str, every: int, value: str | None) -> pl.DataFrame:
    hit = (pl.int_range(pl.len()) % every) == 1
    return frame.with_columns(pl.when(hit).then(pl.lit(value)).otherwise(pl.col(column)).alias(column))


def _built(path: Path, corruptions: list[tuple[str, int, str | None]]) -> tuple[str, pl.DataFrame, pl.DataFrame | None]:
    raw = read_table(path, all_layouts())
    frame = raw.frame
    for column, every, value in corruptions:
        frame = _corrupt(frame, column, every, value)
    found = identify(raw.header, all_layouts(), path.name)
    dataset = BY_NAME[found.layout.dataset]
    built = dataset.build(frame, source_info(path, found.layout, None, raw.preamble))
    return dataset.name, built[dataset.table], built.get(CONTROLS)


CASES: dict[str, tuple[Path, list[tuple[str, int, str | None]]]] = {
    "school_census": (SAMPLE_DIR / "england_census_2023-24.csv", [("LA", 97, "999"), ("NOR", 53, "-4"),
                      ("TSENELK", 41, "x"), ("PSENELSE", 61, "0.9"), ("URN", 89, "12345")]),
    "school_register": (SAMPLE_DIR / "england_school_information_2023-24.csv", [("LAESTAB", 37, "2019999"),
                        ("URN", 101, None), ("OPENDATE", 59, "01-01-2030")]),
    "la_ehcp": (SAMPLE_DIR / "ehcp_caseload_2025.csv", [("old_la_code", 43, "999"), ("ehcplans", 71, "-1")]),
    "la_high_needs_spend": (SAMPLE_DIR / "s251_outturn_2023-24.csv", [("old_la_code", 17, "12")]),
}  # fmt: skip


@pytest.mark.parametrize("case", sorted(CASES))
def test_both_engines_quarantine_the_same_rows_for_the_same_reasons(case: str) -> None:
    path, corruptions = CASES[case]
    name, table, controls = _built(path, corruptions)
    suite = BY_NAME[name].suite

    by_gx = validate(table, suite, controls=controls, engine="gx")
    by_polars = validate(table, suite, controls=controls, engine="polars")

    assert by_gx.quarantine.height > 0, "the corruptions must be caught, or the comparison proves nothing"
    assert by_polars.quarantine.select("source_row_number", "reasons").equals(
        by_gx.quarantine.select("source_row_number", "reasons")
    )
    assert by_polars.failed_row_checks == by_gx.failed_row_checks
    assert by_polars.table_failures == by_gx.table_failures
    assert by_polars.valid.equals(by_gx.valid)


def test_both_engines_agree_on_pupil_level_rows() -> None:
    rows = pupils(School("202", "2001", pupils=300, ehc=12, support=40))
    for n in range(0, 300, 29):
        rows[n] = {**rows[n], "UPN": rows[n]["UPN"].lower()}
    for n in range(5, 300, 31):
        rows[n] = {**rows[n], "DOB": "1999-01-01", "SENtype1": "XYZ"}
    rows.append(rows[3])
    table = pupil_transform(rows)
    suite = BY_NAME["pupil_census"].suite

    by_gx, by_polars = (validate(table, suite, engine=engine) for engine in ("gx", "polars"))

    assert by_gx.quarantine.height > 10
    assert by_polars.quarantine.select("source_row_number", "reasons").equals(
        by_gx.quarantine.select("source_row_number", "reasons")
    )


def test_auto_uses_polars_above_the_threshold_and_gx_below() -> None:
    rows = pupils(School("202", "2001", pupils=40, ehc=2, support=5))
    table = pupil_transform(rows)
    suite = BY_NAME["pupil_census"].suite

    small = validate(table, suite, gx_max_rows=1_000)
    large = validate(table, suite, gx_max_rows=10)

    assert small.valid.equals(large.valid) and small.quarantine.equals(large.quarantine)
