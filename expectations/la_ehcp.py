"""la_ehcp_observation: SEN2 / EHC plan values, one row per LA (or England) per year per measure and
breakdown per release and source table.

No reconciliation of LA rows against the England row: the publication itself does not add up everywhere
(suppressed LAs, the 2023/24 LAs without individual-level returns, Surrey's amended needs), and small
slices of a file must load. tests/test_realdata_la_ehcp.py checks where the sums hold.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from sendflow.core.vocabulary import ENGLAND_LA_CODE
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
from sendflow.transforms.la_ehcp import MEASURES
from sendflow.warehouse.reference import known_la_codes

GRAIN = (
    f"One row per LA (3-digit DfE number, or '{ENGLAND_LA_CODE}' for England) per calendar year (the January "
    "of a count, or the year of the activity) per measure and breakdown per release and source table."
)

# SEN2 series start in 2010; a year after next has not been published.
FIRST_YEAR = 2010
LAST_YEAR = date.today().year + 1

SUITE = Suite(
    dataset="la_ehcp",
    table="la_ehcp_observation",
    grain=GRAIN,
    derived={
        "value_or_status": pl.col("value").is_null() != pl.col("value_status").is_null(),
        "year_not_after_release": (pl.col("calendar_year") <= pl.col("release")).fill_null(True),
    },
    row_checks=(
        not_null("la_code", "la_code_present"),
        matches("la_code", rf"^(?:[0-9]{{3}}|{ENGLAND_LA_CODE})$", "la_code_is_three_digits_or_eng"),
        in_set("la_code", known_la_codes() | {ENGLAND_LA_CODE}, "la_code_known"),
        not_null("calendar_year", "calendar_year_present"),
        between("calendar_year", "calendar_year_plausible", min_value=FIRST_YEAR, max_value=LAST_YEAR),
        not_null("measure", "measure_present"),
        in_set("measure", MEASURES, "measure_known"),
        not_null("breakdown", "breakdown_present"),
        matches("breakdown", r"^(?:total|[a-z_]+:[A-Za-z0-9_+-]+)$", "breakdown_is_total_or_topic_value"),
        between("value", "value_non_negative", min_value=0),
        in_set("value_status", STATUS_SYMBOLS, "value_is_number_or_symbol"),
        is_true("value_or_status", "value_or_status_present"),
        between("release", "release_plausible", min_value=FIRST_YEAR, max_value=LAST_YEAR),
        is_true("year_not_after_release", "calendar_year_not_after_release"),
        is_true("not_region_total_copy", "la_value_is_not_its_region_total"),
        unique_together(
            ("la_code", "calendar_year", "measure", "breakdown", "release", "source_table"),
            "unique_per_la_year_measure_breakdown_release_table",
        ),
    ),
    # A file whose time_period gives no year at all is refused before validation (SourceError), so a
    # release is always known here.
    table_checks=(at_least_rows(1, "file_has_la_or_england_rows"),),
)
