"""Hostile cells in the sample 2023-24 census, through `ingest_path`: each row held back by the check that
names it, the file's other rows loaded; and percentages written with `%` loaded as the same percentages."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import polars as pl
import pytest
from pydantic import SecretStr

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
ROW_URN = "100002"  # a school row of the sample, file line 4


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Context:
    home = tmp_path_factory.mktemp("hostile-cells")
    context = Context.from_settings(Settings(home=home, pupil_key=SecretStr("cells"), gx_max_rows=0))
    ensure_schema(context.warehouse)
    return context


def _rows() -> list[list[str]]:
    return list(csv.reader(io.StringIO(CENSUS.read_text(encoding="utf-8"))))


def _write(rows: list[list[str]], path: Path) -> Path:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _with(column: str, value: str, folder: Path) -> Path:
    rows = _rows()
    position = rows[0].index(column)
    line = next(i for i, row in enumerate(rows) if row[0] == ROW_URN)
    rows[line][position] = value
    return _write(rows, folder / "england_census_2023-24.csv")


@pytest.mark.parametrize(
    ("column", "value", "check"),
    [
        ("NOR", "٣٤٤", "total_pupils_is_number_or_symbol"),  # Arabic-Indic digits
        ("NOR", "２４４", "total_pupils_is_number_or_symbol"),  # full-width digits
        ("NOR", "inf", "total_pupils_is_number_or_symbol"),
        ("NOR", "NaN", "total_pupils_is_number_or_symbol"),
        ("NOR", "1e400", "total_pupils_is_number_or_symbol"),
        ("NOR", "99999999999999999999999", "total_pupils_is_number_or_symbol"),
        ("TSENELK", "12.5", "sen_support_is_number_or_symbol"),
        ("NORG", "1000000", "girls_within_total_pupils"),
        ("NORG", "٣", "every_typed_cell_is_a_number_or_symbol"),
        ("URN", "١٠٠٠٠٢", "urn_is_six_digits"),
        ("LA", "２０１", "la_code_is_three_digits"),
    ],
    ids=[
        "arabic-indic",
        "full-width",
        "inf",
        "nan",
        "1e400",
        "huge",
        "fractional",
        "girls-past-nor",
        "arabic-supplementary",
        "arabic-urn",
        "full-width-la",
    ],
)
def test_a_hostile_cell_holds_back_its_row_and_only_its_row(
    column: str, value: str, check: str, context: Context, tmp_path: Path
) -> None:
    outcome = ingest_path(_with(column, value, tmp_path / column), None, context)

    assert outcome.status is LoadStatus.LOADED, outcome.line()
    held = ledger.query(
        context.warehouse,
        f"SELECT source_row_number, reasons FROM etl_quarantine WHERE load_id = {context.warehouse.param()}",
        [outcome.load_id],
    )
    assert held["source_row_number"].to_list() == [4]
    assert check in held["reasons"][0]
    assert outcome.rows_loaded == 789  # the sample's 790 schools, one held back


def test_percentages_written_with_a_percent_sign_load_as_the_same_percentages(context: Context, tmp_path: Path) -> None:
    """DfE's 2022-23 performance tables write `46.90%`; the sample writes fractions (0.469). Both load as 46.9."""
    plain = ingest_path(CENSUS, None, context)
    assert plain.status is LoadStatus.LOADED, plain.line()
    before = _percentages(context)
    rows = _rows()
    for name in ("PSENELSE", "PSENELK", "PNUMEAL", "PNUMFSMEVER"):
        position = rows[0].index(name)
        for row in rows[1:]:
            if row[position] not in ("", "x", "c", "z"):
                row[position] = f"{float(row[position]) * 100:.6f}%"

    outcome = ingest_path(_write(rows, tmp_path / "percent" / "england_census_2023-24.csv"), None, context)

    assert outcome.status is LoadStatus.LOADED and outcome.rows_quarantined == 0, outcome.line()
    after = _percentages(context)
    assert after.height == before.height == 790
    for name in ("ehc_plan_pct", "sen_support_pct", "eal_pct", "fsm_ever_6_pct"):
        assert after[name].null_count() == before[name].null_count()
        assert (after[name] - before[name]).abs().max() < 1e-4  # type: ignore[operator]


def _percentages(context: Context) -> pl.DataFrame:
    return ledger.query(
        context.warehouse,
        "SELECT urn, ehc_plan_pct, sen_support_pct, eal_pct, fsm_ever_6_pct FROM fct_school_census "
        "WHERE academic_year = '2023/24' ORDER BY urn",
    )
