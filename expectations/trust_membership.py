"""trust_membership_snapshot: one row per establishment per group per GIAS group-links extract."""

from __future__ import annotations

import polars as pl

from sendflow.expectations.suite import Suite, at_least_rows, is_null, is_true, matches, not_null, unique_together
from sendflow.transforms.common import INVALID_CELLS

GRAIN = "One row per establishment (URN) per group (Group UID) per group-links extract date."

SUITE = Suite(
    dataset="trust_membership",
    table="trust_membership_snapshot",
    grain=GRAIN,
    derived={
        "joined_after_group_opened": (
            pl.col("joined_date") >= pl.col("group_open_date").fill_null(pl.col("joined_date"))
        ).fill_null(True),
    },
    row_checks=(
        not_null("urn", "urn_present"),
        matches("urn", r"^[0-9]{6}$", "urn_is_six_digits"),
        not_null("group_uid", "group_uid_present"),
        matches("group_uid", r"^[0-9]+$", "group_uid_is_numeric"),
        matches("group_ref", r"^[A-Z]{2}[0-9]+$", "group_ref_format"),
        not_null("group_type", "group_type_present"),
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        unique_together(("urn", "group_uid", "snapshot_date"), "one_row_per_school_and_group"),
        is_true("joined_after_group_opened", "joined_after_group_opened"),
        is_null(INVALID_CELLS, "every_typed_cell_is_a_date_or_number"),
    ),
    table_checks=(at_least_rows(1, "file_has_links"),),
)
