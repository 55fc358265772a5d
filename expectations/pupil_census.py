"""fct_pupil_census: one row per pupil per school per census, from a trust's own returns.

Every check reads derived, non-personal columns: a reason names the UPN's status, never the UPN.
"""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import NEED_CODES, CensusTerm
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
from sendflow.transforms.upn import UPN_STATUSES
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per pupil (pupil_key) per school (URN) per census (academic year and term)."

NEEDS = {code.upper() for code in NEED_CODES}
NC_YEARS = {"N1", "N2", "R", "X", *(str(year) for year in range(1, 15))}
# Reception pupils are 4 or 5 on census day, year 6 pupils 10 or 11; two years either way allows for pupils
# taught out of their year group without letting a date of birth typed in the wrong century through.
_NC_AGE_OFFSET = {"N1": 3, "N2": 3, "R": 4, **{str(year): year + 4 for year in range(1, 15)}}
_nc_year_age = pl.col("nc_year").replace_strict(_NC_AGE_OFFSET, default=None, return_dtype=pl.Int64)

SUITE = Suite(
    dataset="pupil_census",
    table="fct_pupil_census",
    grain=GRAIN,
    derived={
        # SEN types are collected in the spring census, for pupils with SEN and only for them.
        "need_matches_provision": (
            (pl.col("census_term") != CensusTerm.SPRING)
            | (pl.col("sen_provision").is_in(["E", "K"]) & pl.col("primary_need").is_not_null())
            | ((pl.col("sen_provision") == "N") & pl.col("primary_need").is_null())
        ).fill_null(True),
        "age_fits_nc_year": ((pl.col("age_at_census") - _nc_year_age).abs() <= 2).fill_null(True),
        "needs_differ": (pl.col("primary_need") != pl.col("secondary_need")).fill_null(True),
    },
    row_checks=(
        in_set("upn_status", {s for s in UPN_STATUSES if s in ("permanent", "temporary")}, "upn_valid"),
        not_null("upn_status", "upn_checked"),
        not_null("urn", "school_in_register"),
        matches("la_code", r"^\d{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("estab", r"^\d{4}$", "estab_is_four_digits"),
        not_null("census_term", "census_term_known"),
        not_null("census_date", "census_date_present"),
        matches("academic_year", r"^\d{4}/\d{2}$", "academic_year_format"),
        in_set("nc_year", NC_YEARS, "nc_year_known"),
        not_null("age_at_census", "date_of_birth_readable"),
        between("age_at_census", "age_plausible", min_value=2, max_value=25),
        is_true("age_fits_nc_year", "age_fits_nc_year"),
        in_set("sex", {"M", "F"}, "sex_known"),
        not_null("sen_provision", "sen_provision_known"),
        in_set("primary_need", NEEDS, "primary_need_known"),
        in_set("secondary_need", NEEDS, "secondary_need_known"),
        is_true("need_matches_provision", "need_matches_provision"),
        is_true("needs_differ", "needs_differ"),
        in_set("enrol_status", {"C", "M", "S", "G"}, "enrol_status_known"),
        unique_together(("urn", "academic_year", "census_term", "pupil_key"), "one_row_per_pupil_per_census"),
    ),
    table_checks=(at_least_rows(1, "file_has_pupils"),),
)
