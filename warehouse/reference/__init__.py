"""Committed reference tables: every DfE LA number seen in the real publications, reorganisations, and the
GDP deflator that puts money in real terms."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

REFERENCE_DIR = Path(__file__).parent


@cache
def local_authorities() -> pl.DataFrame:
    """la_code, la_name, ons_code, region_name, abolished_on, notes, successor_la_code."""
    authorities = pl.read_csv(REFERENCE_DIR / "local_authorities.csv", infer_schema=False).with_columns(
        pl.col("abolished_on").str.to_date()
    )
    successors = (
        la_successors().sort("successor_la_code").group_by("la_code").agg(pl.col("successor_la_code").str.join(","))
    )
    return authorities.join(successors, on="la_code", how="left")


@cache
def la_successors() -> pl.DataFrame:
    """One row per (abolished LA, successor LA): a split has two rows, a merger's LAs share a successor."""
    return pl.read_csv(REFERENCE_DIR / "la_successors.csv", infer_schema=False).with_columns(
        pl.col("effective_on").str.to_date()
    )


@cache
def known_la_codes() -> frozenset[str]:
    return frozenset(local_authorities()["la_code"].to_list())


@cache
def la_ons_codes() -> pl.DataFrame:
    """Every ONS GSS code each LA has carried in DfE files (Buckinghamshire: E10000002 and E06000060)."""
    return pl.read_csv(REFERENCE_DIR / "la_ons_codes.csv", infer_schema=False)


# Both files are byte-for-byte copies from the greenbook R package (MIT licence) at this commit; the values are
# HM Treasury's (Open Government Licence v3.0). See data/sample/ATTRIBUTION.md.
GDP_DEFLATOR_FILE = "hmt_gdp_deflator_calendar_year_2024eq100_DERIVED.csv"
GDP_DEFLATOR_PROVENANCE_FILE = "greenbook_data_versions_provenance.csv"
GDP_DEFLATOR_SERIES = "HM Treasury GDP deflator at market prices, December 2025 update"
GDP_DEFLATOR_OBTAINED_FROM = (
    "greenbook R package (MIT licence), charlescoverdale/greenbook:inst/extdata/gdp_deflator.csv "
    "@6ad7f3762c7b74a2745a06fec4c5bcdead3b2f86"
)
CALENDAR_YEAR = "calendar_year"


@cache
def gdp_deflator() -> pl.DataFrame:
    """One row per calendar year: the index and, on every row, where it comes from.

    A secondary source's extract, not checked against HM Treasury's workbook (not held): rows say so
    (is_derived). The base year is read from the data, the year whose index is 100, so a rebased copy
    committed later cannot be labelled with the old base.
    """
    index = pl.read_csv(REFERENCE_DIR / GDP_DEFLATOR_FILE, schema={"year": pl.Int64, "value": pl.Float64}).rename(
        {"year": "calendar_year", "value": "index_value"}
    )
    (base_year,) = index.filter(pl.col("index_value") == 100.0)["calendar_year"].to_list()
    provenance = pl.read_csv(REFERENCE_DIR / GDP_DEFLATOR_PROVENANCE_FILE, infer_schema=False).filter(
        pl.col("dataset") == "gdp_deflator"
    )
    (source, notes) = provenance.select("source", "notes").row(0)
    return index.sort("calendar_year").with_columns(
        series=pl.lit(GDP_DEFLATOR_SERIES),
        base_year=pl.lit(base_year, dtype=pl.Int64),
        period_basis=pl.lit(CALENDAR_YEAR),
        source=pl.lit(source),
        source_notes=pl.lit(notes),
        obtained_from=pl.lit(GDP_DEFLATOR_OBTAINED_FROM),
        is_derived=pl.lit(True),
    )
