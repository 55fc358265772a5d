"""fct_school_census: one row per school (URN) per academic year, from the January census."""

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
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per school (URN) per academic year: published January-census pupil and SEN counts."

# Published percentages are rounded to one decimal place in some years: allow half a unit plus float noise.
PCT_TOLERANCE = 0.0501


def _pct_error(count: str, pct: str) -> pl.Expr:
    total = pl.col("total_pupils")
    # No total, no expectation: the row's missing count is reported by its own status check.
    expected = pl.when(total > 0).then(pl.col(count) * 100.0 / total).when(total == 0).then(0.0)
    return (pl.col(pct) - expected).abs()


SUITE = Suite(
    dataset="school_census",
    table="fct_school_census",
    grain=GRAIN,
    derived={
        "sen_within_total": ((pl.col("ehc_plan") + pl.col("sen_support")) <= pl.col("total_pupils")).fill_null(True),
        "ehc_plan_pct_error": _pct_error("ehc_plan", "ehc_plan_pct"),
        "sen_support_pct_error": _pct_error("sen_support", "sen_support_pct"),
    },
    row_checks=(
        not_null("urn", "urn_present"),
        matches("urn", r"^\d{6}$", "urn_is_six_digits"),
        unique_together(("urn", "academic_year"), "urn_unique_per_year"),
        not_null("academic_year", "academic_year_present"),
        matches("academic_year", r"^\d{4}/\d{2}$", "academic_year_format"),
        not_null("la_code", "la_code_present"),
        matches("la_code", r"^\d{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("estab", r"^\d{4}$", "estab_is_four_digits"),
        between("total_pupils", "total_pupils_non_negative", min_value=0),
        between("ehc_plan", "ehc_plan_non_negative", min_value=0),
        between("sen_support", "sen_support_non_negative", min_value=0),
        is_true("sen_within_total", "ehc_plan_plus_sen_support_within_total"),
        between("ehc_plan_pct", "ehc_plan_pct_in_range", min_value=0, max_value=100),
        between("sen_support_pct", "sen_support_pct_in_range", min_value=0, max_value=100),
        between("ehc_plan_pct_error", "ehc_plan_pct_matches_count", max_value=PCT_TOLERANCE),
        between("sen_support_pct_error", "sen_support_pct_matches_count", max_value=PCT_TOLERANCE),
        in_set("total_pupils_status", STATUS_SYMBOLS, "total_pupils_is_number_or_symbol"),
        in_set("ehc_plan_status", STATUS_SYMBOLS, "ehc_plan_is_number_or_symbol"),
        in_set("sen_support_status", STATUS_SYMBOLS, "sen_support_is_number_or_symbol"),
    ),
    table_checks=(at_least_rows(1, "file_has_school_rows"),),
)
