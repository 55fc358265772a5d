"""fct_la_high_needs_spend: one row per LA per financial year per s251 line (or combination) per kind."""

from __future__ import annotations

import polars as pl

from sendflow.expectations.suite import (
    Suite,
    at_least_rows,
    between,
    in_set,
    is_true,
    matches,
    not_null,
    unique_together,
)
from sendflow.transforms.common import STATUS_SYMBOLS
from sendflow.transforms.la_high_needs_spend import KINDS, MEASURES
from sendflow.warehouse.reference import known_la_codes, la_successors, local_authorities

GRAIN = (
    "One row per local authority (3-digit DfE number) per financial year per section 251 line, or documented "
    "combination of lines, per kind (budget or outturn): gross, income and net spend in pounds."
)

# An s251 line ('1.2.1'), lines summed ('1.2.1+1.2.2'), or a prefixed code for a part of a line the
# benchmarking sheet publishes ('hnb:1.0.2_special_ap').
LINE_CODE = r"^(?:[0-9]+\.[0-9]+\.[0-9]+(?:\+[0-9]+\.[0-9]+\.[0-9]+)*|hnb:[0-9a-z_.+]+)$"
# Published pounds are whole or carry pennies; a pound's tolerance absorbs rounding in either.
NET_TOLERANCE_GBP = 1.0


def _net_error() -> pl.Expr:
    """|gross - income - net|; NULL (not checked) unless all three are published."""
    return (pl.col("gross_gbp") - pl.col("income_gbp") - pl.col("net_gbp")).abs()


def _la_existed_in_year() -> pl.Expr:
    """Whether the LA existed at some time in the financial year: not abolished before it began, not created
    after it ended. A block dated to the wrong year shows up here (see the year rule in the transform)."""
    authorities = local_authorities().filter(pl.col("abolished_on").is_not_null())
    abolished = dict(zip(authorities["la_code"], authorities["abolished_on"], strict=True))
    first = la_successors().group_by("successor_la_code").agg(pl.col("effective_on").min())
    created = dict(zip(first["successor_la_code"], first["effective_on"], strict=True))
    start_year = pl.col("financial_year").str.slice(0, 4).cast(pl.Int32, strict=False)
    year_starts, year_ends = pl.date(start_year, 4, 1), pl.date(start_year + 1, 3, 31)
    abolished_on = pl.col("la_code").replace_strict(abolished, default=None, return_dtype=pl.Date)
    created_on = pl.col("la_code").replace_strict(created, default=None, return_dtype=pl.Date)
    existed = (abolished_on.is_null() | (abolished_on > year_starts)) & (
        created_on.is_null() | (created_on <= year_ends)
    )
    # An unknown LA or a malformed year is reported by its own check.
    return existed.fill_null(True)


SUITE = Suite(
    dataset="la_high_needs_spend",
    table="fct_la_high_needs_spend",
    grain=GRAIN,
    derived={
        "net_error_gbp": _net_error(),
        "la_existed_in_year": _la_existed_in_year(),
    },
    row_checks=(
        not_null("la_code", "la_code_present"),
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        is_true("la_existed_in_year", "la_existed_in_year"),
        not_null("financial_year", "financial_year_present"),
        matches("financial_year", r"^20[0-9]{2}-[0-9]{2}$", "financial_year_format"),
        not_null("kind", "kind_present"),
        in_set("kind", set(KINDS), "kind_is_budget_or_outturn"),
        not_null("line_code", "line_code_present"),
        matches("line_code", LINE_CODE, "line_code_format"),
        not_null("line_name", "line_name_present"),
        unique_together(("la_code", "financial_year", "kind", "line_code"), "unique_per_la_year_kind_line"),
        between("net_error_gbp", "net_is_gross_less_income", max_value=NET_TOLERANCE_GBP),
        *(in_set(f"{measure}_status", STATUS_SYMBOLS, f"{measure}_is_number_or_symbol") for measure in MEASURES),
    ),
    table_checks=(at_least_rows(1, "file_has_la_rows"),),
)
