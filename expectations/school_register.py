"""school_register_snapshot: one row per establishment (URN) per register snapshot date."""

from __future__ import annotations

import polars as pl

from sendflow.expectations.suite import (
    Suite,
    at_least_rows,
    in_set,
    is_null,
    is_true,
    matches,
    not_null,
    unique_together,
)
from sendflow.transforms.common import INVALID_CELLS
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per establishment (URN) per register snapshot date; dim_school versions are derived from these."

SUITE = Suite(
    dataset="school_register",
    table="school_register_snapshot",
    grain=GRAIN,
    derived={
        "laestab_starts_with_la_code": pl.col("laestab").str.starts_with(pl.col("la_code")).fill_null(True),
        "opened_before_closed": (pl.col("open_date") <= pl.col("close_date")).fill_null(True),
    },
    row_checks=(
        not_null("urn", "urn_present"),
        matches("urn", r"^[0-9]{6}$", "urn_is_six_digits"),
        unique_together(("urn", "snapshot_date"), "urn_unique_per_snapshot"),
        not_null("snapshot_date", "snapshot_date_present"),
        not_null("la_code", "la_code_present"),
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("laestab", r"^[0-9]{7}$", "laestab_is_seven_digits"),
        is_true("laestab_starts_with_la_code", "laestab_starts_with_la_code"),
        not_null("school_name", "school_name_present"),
        is_true("opened_before_closed", "opened_before_closed"),
        matches("trust_id", r"^[0-9]+$", "trust_id_is_numeric"),
        is_null(INVALID_CELLS, "every_typed_cell_is_a_date_or_number"),
    ),
    table_checks=(at_least_rows(1, "file_has_establishments"),),
)
