"""school_link: one row per establishment link per GIAS links extract."""

from __future__ import annotations

import polars as pl

from sendflow.expectations.suite import Suite, at_least_rows, is_null, is_true, matches, not_null, unique_together
from sendflow.transforms.common import INVALID_CELLS

GRAIN = "One row per establishment (URN), linked URN and link type per links extract date."

SUITE = Suite(
    dataset="school_links",
    table="school_link",
    grain=GRAIN,
    derived={"links_to_another_school": (pl.col("urn") != pl.col("link_urn")).fill_null(True)},
    row_checks=(
        not_null("urn", "urn_present"),
        matches("urn", r"^[0-9]{6}$", "urn_is_six_digits"),
        not_null("link_urn", "link_urn_present"),
        matches("link_urn", r"^[0-9]{6}$", "link_urn_is_six_digits"),
        not_null("link_type", "link_type_present"),
        is_true("links_to_another_school", "links_to_another_school"),
        unique_together(("urn", "link_urn", "link_type", "snapshot_date"), "one_row_per_link"),
        is_null(INVALID_CELLS, "every_typed_cell_is_a_date_or_number"),
    ),
    table_checks=(at_least_rows(1, "file_has_links"),),
)
