"""School-level census (January): performance-tables england_census and DfE SEN school-level data."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import NEED_CODES
from sendflow.transforms import ees
from sendflow.transforms.common import (
    INVALID_CELLS,
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    cell_status,
    cell_value,
    cells,
    code_text,
    harmonise_columns,
    invalid_cells,
    parse_cells,
    spring_census_date,
)

# The performance tables' percentage columns. 2018-19 writes points (1.8), the 2023-24 re-save unrounded
# fractions (0.0450819672131), DfE's 2022-23 tables '46.90%': one layout, so each file's cells say which.
PERF_PERCENTAGES = ("PSENELSE", "PSENELK", "PNUMEAL", "PNUMUNCFL", "PNUMUNCLF", "PNUMFSMEVER")
PERF_COUNTS = ("NOR", "TSENELSE", "TSENELK", "NORG", "NORB", "NUMEAL", "NUMENGFL", "NUMUNCFL", "NUMFSM",
               "NUMFSMEVER", "NORFSMEVER")  # fmt: skip
PERF_TABLES = Layout(
    name="perf_tables_census",
    dataset="school_census",
    description="performance-tables england_census (2018-19 and 2023-24 layouts)",
    required=("URN", "LA", "ESTAB", "SCHOOLTYPE", "NOR", "TSENELSE", "PSENELSE", "TSENELK", "PSENELK"),
    optional=(
        "NORG",
        "NORB",
        "NUMEAL",
        "NUMENGFL",
        "NUMUNCFL",
        "PNUMEAL",
        "PNUMUNCFL",
        "PNUMUNCLF",
        "NUMFSM",
        "NUMFSMEVER",
        "NORFSMEVER",
        "PNUMFSMEVER",
    ),
    year_from="external",
    cells=(*cells(CellKind.COUNT, *PERF_COUNTS), *cells(CellKind.POINTS_OR_FRACTION, *PERF_PERCENTAGES)),
)
SEN_UNDERLYING = Layout(
    name="sen_school_level_underlying",
    dataset="school_census",
    description="DfE 'Special educational needs in England' school-level underlying data (2022/23 layout)",
    required=("time_period", "old_la_code", "URN", "estab", "Total pupils", "SEN support", "EHC plan"),
    optional=(
        "geographic_level",
        "laestab",
        "type_of_establishment",
        "phase_type_grouping",
        *(f"EHC_Primary_need_{code}" for code in NEED_CODES),
        *(f"SUP_Primary_need_{code}" for code in NEED_CODES),
    ),
    year_from="column",
    cells=cells(
        CellKind.COUNT,
        "Total pupils",
        "SEN support",
        "EHC plan",
        *(f"{prefix}_Primary_need_{code}" for prefix in ("EHC", "SUP") for code in NEED_CODES),
    ),
)
LAYOUTS: tuple[Layout, ...] = (PERF_TABLES, SEN_UNDERLYING)

# Performance tables renamed the pupil referral unit row between years; report one vocabulary.
SCHOOL_TYPE_HARMONISED = {
    "Pupil referral unit": "State-funded AP school",
    "Special school": "State-funded special school",
}

NEED_COLUMNS = tuple(f"ehc_primary_need_{c}" for c in NEED_CODES) + tuple(
    f"sen_support_primary_need_{c}" for c in NEED_CODES
)
SUPPLEMENTARY_COUNTS = (
    "girls", "boys", "eal_pupils", "english_first_language_pupils", "unclassified_language_pupils",
    "fsm_pupils", "fsm_ever_6_pupils", "fsm_ever_6_denominator",
)  # fmt: skip
SUPPLEMENTARY_PCTS = ("eal_pct", "unclassified_language_pct", "fsm_ever_6_pct")

COLUMNS: tuple[str, ...] = (
    "urn", "academic_year", "census_date", "la_code", "estab", "laestab", "school_type",
    "total_pupils", "total_pupils_status", "ehc_plan", "ehc_plan_status", "sen_support", "sen_support_status",
    "ehc_plan_pct", "sen_support_pct", *NEED_COLUMNS, *SUPPLEMENTARY_COUNTS, *SUPPLEMENTARY_PCTS,
    "supplementary_status", INVALID_CELLS, "source_layout", SOURCE_ROW,
)  # fmt: skip

# Source column -> table column, for the typed cells whose table column has a status column of its own.
HEADLINE_PERF = {"NOR": "total_pupils", "TSENELSE": "ehc_plan", "TSENELK": "sen_support"}
HEADLINE_SEN = {"Total pupils": "total_pupils", "EHC plan": "ehc_plan", "SEN support": "sen_support"}
# The language and FSM columns: one status column, supplementary_status, says whether they are published
# (by NUMEAL's cell, as it always has); a junk cell in any of them is named in invalid_cells.
SUPPLEMENTARY_PERF = {
    "NORG": "girls", "NORB": "boys", "NUMEAL": "eal_pupils", "NUMENGFL": "english_first_language_pupils",
    "NUMUNCFL": "unclassified_language_pupils", "NUMFSM": "fsm_pupils", "NUMFSMEVER": "fsm_ever_6_pupils",
    "NORFSMEVER": "fsm_ever_6_denominator",
}  # fmt: skip


def _counts_with_status(sources: dict[str, str]) -> list[pl.Expr]:
    """The headline counts, each with the status column that says why it is NULL."""
    return [
        expr
        for source, target in sources.items()
        for expr in (cell_value(source).alias(target), cell_status(source).alias(f"{target}_status"))
    ]


def _from_perf_tables(raw: pl.DataFrame, academic_year: str) -> pl.DataFrame:
    # fill_null: a blank URN is not a national row; it must stay to fail validation.
    frame = harmonise_columns(raw, PERF_TABLES).filter(pl.col("URN").str.strip_chars().fill_null("") != "NAT")
    frame = parse_cells(frame, PERF_TABLES)
    unclassified_pct = pl.coalesce(cell_value("PNUMUNCFL"), cell_value("PNUMUNCLF"))
    statusless = [*PERF_PERCENTAGES, *SUPPLEMENTARY_PERF]
    return frame.select(
        code_text("URN").alias("urn"),
        pl.lit(academic_year).alias("academic_year"),
        code_text("LA").alias("la_code"),
        code_text("ESTAB").alias("estab"),
        (code_text("LA") + code_text("ESTAB")).alias("laestab"),
        pl.col("SCHOOLTYPE").str.strip_chars().replace(SCHOOL_TYPE_HARMONISED).alias("school_type"),
        *_counts_with_status(HEADLINE_PERF),
        cell_value("PSENELSE").alias("ehc_plan_pct"),
        cell_value("PSENELK").alias("sen_support_pct"),
        *(cell_value(source).alias(target) for source, target in SUPPLEMENTARY_PERF.items()),
        cell_value("PNUMEAL").alias("eal_pct"),
        unclassified_pct.alias("unclassified_language_pct"),
        cell_value("PNUMFSMEVER").alias("fsm_ever_6_pct"),
        cell_status("NUMEAL").alias("supplementary_status"),
        invalid_cells(statusless),
        pl.lit(PERF_TABLES.name).alias("source_layout"),
        pl.col(SOURCE_ROW),
    )


def _percent_of_total(count: str) -> pl.Expr:
    total = pl.col("total_pupils")
    return pl.when(total > 0).then(pl.col(count) * 100.0 / total)


def _from_sen_underlying(raw: pl.DataFrame) -> pl.DataFrame:
    frame = harmonise_columns(raw, SEN_UNDERLYING)
    frame = parse_cells(frame.filter(ees.at_level_or_unlabelled(ees.SCHOOL)), SEN_UNDERLYING)
    need_sources = {
        f"{prefix}_Primary_need_{code}": f"{target}_primary_need_{code}"
        for prefix, target in (("EHC", "ehc"), ("SUP", "sen_support"))
        for code in NEED_CODES
    }
    needs = [cell_value(source).alias(target) for source, target in need_sources.items()]
    typed = frame.select(
        code_text("URN").alias("urn"),
        ees.academic_year(),
        code_text("old_la_code").alias("la_code"),
        code_text("estab").alias("estab"),
        pl.coalesce(code_text("laestab"), code_text("old_la_code") + code_text("estab")).alias("laestab"),
        pl.col("type_of_establishment").str.strip_chars().alias("school_type"),
        *_counts_with_status(HEADLINE_SEN),
        *needs,
        invalid_cells(need_sources),
        pl.lit(SEN_UNDERLYING.name).alias("source_layout"),
        pl.col(SOURCE_ROW),
    )
    return typed.with_columns(
        _percent_of_total("ehc_plan").alias("ehc_plan_pct"),
        _percent_of_total("sen_support").alias("sen_support_pct"),
    )


def fct_school_census(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per school per academic year, national rows dropped, counts typed with their status."""
    if source.layout == PERF_TABLES.name:
        if source.academic_year is None:
            raise SourceError("the performance-tables census does not name its year; an academic year is required")
        frame = _from_perf_tables(raw, source.academic_year)
    elif source.layout == SEN_UNDERLYING.name:
        frame = _from_sen_underlying(raw)
    else:
        raise ValueError(f"school_census has no layout {source.layout!r}")
    census_dates = {year: spring_census_date(year) for year in frame["academic_year"].unique().drop_nulls()}
    frame = frame.with_columns(
        pl.col("academic_year").replace_strict(census_dates, default=None, return_dtype=pl.Date).alias("census_date")
    )
    missing = [c for c in COLUMNS if c not in frame.columns]
    frame = frame.with_columns(
        [
            pl.lit(
                None,
                dtype=pl.String
                if c.endswith("_status") or c == INVALID_CELLS
                else pl.Float64
                if c.endswith("_pct")
                else pl.Int64,
            ).alias(c)
            for c in missing
        ]
    )
    return frame.select(COLUMNS)


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"fct_school_census": fct_school_census(raw, source)}
