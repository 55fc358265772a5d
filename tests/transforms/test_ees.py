"""EES conventions: time_period as an academic, financial or calendar year; geographic_level as rows kept."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.transforms import ees

PERIODS = ["202324", "201819", " 202425 ", "202426", "2024", "24", "x", None]


def _periods() -> pl.DataFrame:
    return pl.DataFrame({"time_period": PERIODS}, schema={"time_period": pl.String})


def test_academic_year_from_time_period() -> None:
    years = _periods().select(ees.academic_year())["academic_year"].to_list()
    assert years == ["2023/24", "2018/19", "2024/25", None, None, None, None, None]


def test_financial_year_from_time_period() -> None:
    years = _periods().select(ees.financial_year())["financial_year"].to_list()
    assert years == ["2023-24", "2018-19", "2024-25", None, None, None, None, None]


def test_a_century_boundary_period_is_still_consecutive() -> None:
    frame = pl.DataFrame({"time_period": ["209900"]})
    assert frame.select(ees.academic_year(), ees.financial_year()).row(0) == ("2099/00", "2099-00")


@pytest.mark.parametrize(
    ("period", "year"),
    [("202425", 2025), ("201819", 2019), ("2024", 2024), (" 2010 ", 2010), ("202426", None), ("24", None),
     ("x", None), (None, None)],
)  # fmt: skip
def test_calendar_year_reads_academic_and_calendar_periods(period: str | None, year: int | None) -> None:
    frame = pl.DataFrame({"time_period": [period]}, schema={"time_period": pl.String})
    assert frame.select(ees.calendar_year())["calendar_year"].to_list() == [year]


def test_a_numeric_time_period_column_reads_the_same() -> None:
    frame = pl.DataFrame({"time_period": [202324, 2024]})
    assert frame.select(ees.calendar_year())["calendar_year"].to_list() == [2024, 2024]


LEVELS = ["National", " Local authority ", "REGIONAL", "School", None]


def test_is_level_matches_whatever_the_case_and_never_a_missing_level() -> None:
    frame = pl.DataFrame({"geographic_level": LEVELS}, schema={"geographic_level": pl.String})
    found = frame.select(
        ees.is_level(ees.NATIONAL).alias("national"),
        ees.is_level(ees.LOCAL_AUTHORITY).alias("la"),
        ees.is_level(ees.REGIONAL).alias("region"),
    )
    assert found["national"].to_list() == [True, False, False, False, False]
    assert found["la"].to_list() == [False, True, False, False, False]
    assert found["region"].to_list() == [False, False, True, False, False]


def test_a_dataset_keeps_its_level_and_rows_without_one() -> None:
    frame = pl.DataFrame({"geographic_level": LEVELS}, schema={"geographic_level": pl.String})
    kept = frame.filter(ees.at_level_or_unlabelled(ees.SCHOOL))["geographic_level"].to_list()
    assert kept == ["School", None]


def test_a_time_period_in_another_script_gives_no_year() -> None:
    frame = pl.DataFrame({"time_period": ["٢٠٢٣٢٤", "２０２４", "20٢٣٢٤"]})
    years = frame.select(ees.academic_year(), ees.calendar_year())
    assert years.rows() == [(None, None), (None, None), (None, None)]
