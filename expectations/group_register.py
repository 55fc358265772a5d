"""group_register_snapshot: one row per group per GIAS all-groups register."""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import ACADEMY_TRUST_TYPES
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

GRAIN = "One row per group (Group UID) per register date."

# GIAS's own statuses; a closed group carries its closing date.
STATUSES = frozenset({"Open", "Closed", "Proposed to open", "Proposed to close"})
# An academy trust's reference is TR and five digits; GIAS keeps a retired single-academy trust's as
# 'TR00055.old' (or _old, -old). Other groups' Group ID is free text ('SP', a federation's name).
TRUST_REFERENCE = r"^TR[0-9]{5}([._-]old)?$"

SUITE = Suite(
    dataset="group_register",
    table="group_register_snapshot",
    grain=GRAIN,
    derived={
        "academy_trust_ref_is_a_tr_number": (
            ~pl.col("group_type").is_in(ACADEMY_TRUST_TYPES)
            | pl.col("group_ref").is_null()
            | pl.col("group_ref").str.contains(TRUST_REFERENCE)
        ).fill_null(True),
        "closed_has_a_closing_date": (
            (pl.col("group_status") != "Closed") | pl.col("closed_date").is_not_null()
        ).fill_null(True),
    },
    row_checks=(
        not_null("group_uid", "group_uid_present"),
        matches("group_uid", r"^[0-9]+$", "group_uid_is_numeric"),
        not_null("group_type", "group_type_present"),
        in_set("group_status", STATUSES, "group_status_is_known"),
        is_true("academy_trust_ref_is_a_tr_number", "academy_trust_ref_is_a_tr_number"),
        is_true("closed_has_a_closing_date", "closed_has_a_closing_date"),
        matches("companies_house_number", r"^[0-9A-Z]{8}$", "companies_house_number_is_eight_characters"),
        matches("ukprn", r"^1[0-9]{7}$", "ukprn_is_eight_digits"),
        unique_together(("group_uid", "snapshot_date"), "one_row_per_group"),
        is_null(INVALID_CELLS, "every_typed_cell_is_a_date_or_number"),
    ),
    table_checks=(at_least_rows(1, "register_has_groups"),),
)
