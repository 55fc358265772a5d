"""fct_school_census: one row per school (URN) per academic year, from the January census."""

from __future__ import annotations

import polars as pl

from sendflow.expectations.suite import (
    Suite,
    at_least_rows,
    between,
    in_set,
    is_null,
    is_true,
    matches,
    not_null,
    unique_together,
)
from sendflow.transforms.common import INVALID_CELLS, STATUS_SYMBOLS
from sendflow.transforms.school_census import NEED_COLUMNS, SUPPLEMENTARY_COUNTS, SUPPLEMENTARY_PCTS
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per school (URN) per academic year: published January-census pupil and SEN counts."

# Published percentages are rounded to one decimal place in some years: allow half a unit plus float noise.
PCT_TOLERANCE = 0.0501


def _pct_error(count: str, pct: str) -> pl.Expr:
    total = pl.col("total_pupils")
    # No total, no expectation: the row's missing count is reported by its own status check.
    expected = pl.when(total > 0).then(pl.col(count) * 100.0 / total).when(total == 0).then(0.0)
    return (pl.col(pct) - expected).abs()


def _within(part: pl.Expr, whole: str) -> pl.Expr:
    """part <= whole; no verdict (True) where either is not published, which their own checks report."""
    return (part <= pl.col(whole)).fill_null(True)


# Each language and FSM count is a count of the school's pupils; the FSM-ever-6 pupils are counted among its
# denominator. Girls and boys together are at most the headcount, not exactly it: 2018-19 has a school of 254
# pupils with 124 girls and 129 boys (URN 109452), and the language groups are checked the same way. All hold
# on every row of the real 2018-19 and 2023-24 files.
SUPPLEMENTARY_WITHIN = {
    **{f"{count}_within_total_pupils": _within(pl.col(count), "total_pupils") for count in SUPPLEMENTARY_COUNTS},
    "girls_plus_boys_within_total_pupils": _within(pl.col("girls") + pl.col("boys"), "total_pupils"),
    "language_groups_within_total_pupils": _within(
        pl.col("eal_pupils") + pl.col("english_first_language_pupils") + pl.col("unclassified_language_pupils"),
        "total_pupils",
    ),
    "fsm_ever_6_pupils_within_denominator": _within(pl.col("fsm_ever_6_pupils"), "fsm_ever_6_denominator"),
}


SUITE = Suite(
    dataset="school_census",
    table="fct_school_census",
    grain=GRAIN,
    derived={
        "sen_within_total": ((pl.col("ehc_plan") + pl.col("sen_support")) <= pl.col("total_pupils")).fill_null(True),
        "ehc_plan_pct_error": _pct_error("ehc_plan", "ehc_plan_pct"),
        "sen_support_pct_error": _pct_error("sen_support", "sen_support_pct"),
        **SUPPLEMENTARY_WITHIN,
    },
    row_checks=(
        not_null("urn", "urn_present"),
        matches("urn", r"^[0-9]{6}$", "urn_is_six_digits"),
        unique_together(("urn", "academic_year"), "urn_unique_per_year"),
        not_null("academic_year", "academic_year_present"),
        matches("academic_year", r"^[0-9]{4}/[0-9]{2}$", "academic_year_format"),
        not_null("la_code", "la_code_present"),
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("estab", r"^[0-9]{4}$", "estab_is_four_digits"),
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
        in_set("supplementary_status", STATUS_SYMBOLS, "supplementary_is_number_or_symbol"),
        is_null(INVALID_CELLS, "every_typed_cell_is_a_number_or_symbol"),
        *(between(count, f"{count}_non_negative", min_value=0) for count in (*SUPPLEMENTARY_COUNTS, *NEED_COLUMNS)),
        *(between(pct, f"{pct}_in_range", min_value=0, max_value=100) for pct in SUPPLEMENTARY_PCTS),
        *(is_true(name, name) for name in SUPPLEMENTARY_WITHIN),
    ),
    table_checks=(at_least_rows(1, "file_has_school_rows"),),
)
