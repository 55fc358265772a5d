"""ESFA dedicated schools grant (DSG) allocations: the 'Allocations_summary' sheet of each year's workbook.

The sheet has a title row naming the financial year ("Dedicated schools grant: 2023 to 2024 allocations
..."), a row of group titles (before recoupment and deductions; after them), the header of block labels
(repeated for the second group), a row of letters ([A]...[J]) and a row of formulas, then ENGLAND, one row
per LA, subtotals of authority types and region rows. LA rows become facts; ENGLAND becomes the control
totals the LA rows must add up to; everything else is set aside.
"""

from __future__ import annotations

import polars as pl

from sendflow.transforms.common import (
    CONTROLS,
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    cell_status,
    cell_value,
    cells,
    code_text,
    financial_year_in_text,
    header_key,
    parse_cells,
)

ALLOCATIONS_SUMMARY = Layout(
    name="dsg_allocations_summary",
    dataset="dsg_allocation",
    description="ESFA DSG allocations local authority summary (ODS workbook or its CSV export)",
    required=(
        "Schools block (£s)",
        "Central school services block (£s)",
        "High needs block (£s)",
        "Early years block (£s)",
        "Total DSG allocation (£s)",
    ),
    year_from="title",
    allow_repeated=True,
    # The second group's columns are found by their labels' first words (block_columns) and parsed alike.
    cells=cells(
        CellKind.AMOUNT,
        "Schools block (£s)",
        "Central school services block (£s)",
        "High needs block (£s)",
        "Early years block (£s)",
        "Total DSG allocation (£s)",
    ),
)
LAYOUTS: tuple[Layout, ...] = (ALLOCATIONS_SUMMARY,)

# A column's block, by the words its label starts with (the second group says "... block allocation").
BLOCK_LABELS: tuple[tuple[str, str], ...] = (
    ("schools_block", "schools"),
    ("central_school_services_block", "central_school_services"),
    ("high_needs_block", "high_needs"),
    ("early_years_block", "early_years"),
    ("total_dsg_allocation", "total"),
)
BASES = ("before_deductions", "after_deductions")
# How the sheet labels its national row (in the LA number column): the control totals, not an la_code.
ENGLAND_ROW_LABEL = "ENGLAND"

COLUMNS = ("la_code", "la_name", "financial_year", "block", "basis", "amount_gbp", "amount_status", SOURCE_ROW)


def financial_year_from_title(preamble: tuple[str, ...]) -> str:
    """'Dedicated schools grant: 2023 to 2024 allocations ...' -> '2023-24' (the first title that names one)."""
    for text in preamble:
        year = financial_year_in_text(text)
        if year:
            return year
    raise SourceError("the sheet's title does not name a financial year (expected e.g. '2023 to 2024')")


def block_columns(header: list[str]) -> dict[str, tuple[str, str]]:
    """Money column -> (block, basis): the first run of block labels is before deductions, the second after."""
    mapping: dict[str, tuple[str, str]] = {}
    group = -1
    for column in header:
        key = header_key(column)
        block = next((name for prefix, name in BLOCK_LABELS if key.startswith(prefix)), None)
        if block is None:
            continue
        if block == "schools":
            group += 1
        if 0 <= group < len(BASES):
            mapping[column] = (block, BASES[group])
    found = set(mapping.values())
    wanted = {(block, basis) for _, block in BLOCK_LABELS for basis in BASES}
    if found != wanted:
        missing = ", ".join(f"{b} {s}" for b, s in sorted(wanted - found))
        raise SourceError(f"the sheet lacks the block column(s): {missing}")
    return mapping


def _long(frame: pl.DataFrame, mapping: dict[str, tuple[str, str]], financial_year: str) -> pl.DataFrame:
    code, name = [c for c in frame.columns if c != SOURCE_ROW][:2]  # the unlabelled LA number and name columns
    tidy = frame.select(
        code_text(code).alias("la_code"),
        pl.col(name).str.strip_chars().alias("la_name"),
        pl.col(SOURCE_ROW),
        *[pl.col(column).alias(f"{block}|{basis}") for column, (block, basis) in mapping.items()],
    )
    long = tidy.unpivot(index=["la_code", "la_name", SOURCE_ROW], variable_name="block_basis", value_name="text")
    long = parse_cells(long, {"text": CellKind.AMOUNT})  # every block column is the layout's AMOUNT cell
    return long.select(
        "la_code",
        "la_name",
        pl.lit(financial_year).alias("financial_year"),
        pl.col("block_basis").str.split_exact("|", 1).struct.field("field_0").alias("block"),
        pl.col("block_basis").str.split_exact("|", 1).struct.field("field_1").alias("basis"),
        cell_value("text").alias("amount_gbp"),
        cell_status("text").alias("amount_status"),
        SOURCE_ROW,
    )


def fct_la_dsg_allocation(raw: pl.DataFrame, source: SourceInfo) -> tuple[pl.DataFrame, pl.DataFrame]:
    """LA rows as facts (one per block and basis) and the ENGLAND row as control totals."""
    financial_year = financial_year_from_title(source.preamble)
    mapping = block_columns(raw.columns)
    long = _long(raw, mapping, financial_year)
    # An LA row is one numbered in digits of any script (\p{Nd}), so that one numbered '٣٠٢' stays a fact for
    # the suite's ASCII la_code check to quarantine by name, rather than vanishing from the sums unexplained.
    facts = long.filter(pl.col("la_code").str.contains(r"^\p{Nd}+$")).select(COLUMNS)
    england = long.filter(pl.col("la_code").str.to_uppercase() == ENGLAND_ROW_LABEL)
    if england.is_empty():
        raise SourceError("the sheet has no ENGLAND row to check the LA rows against")
    controls = england.select("financial_year", "block", "basis", "amount_gbp")
    return facts, controls


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    facts, controls = fct_la_dsg_allocation(raw, source)
    return {"fct_la_dsg_allocation": facts, CONTROLS: controls}
