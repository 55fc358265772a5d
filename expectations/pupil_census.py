"""fct_pupil_census: one row per pupil per school per census, from a trust's own returns.

Every check reads derived, non-personal columns: a reason names the UPN's status, never the UPN. And as
a shifted row puts a UPN or a surname into a code column, a value is shown (in a reason, a quarantine
record, the Data Docs page) only when its column is listed in DISCLOSE and it is in that column's format.

One pupil at two schools: DfE's COLLECT runs a "Duplicate Report - Same UPN" across every school's
return of a census; the schools (or their LA) must resolve each pupil it lists before the census closes,
by correcting one registration or recording the pupil as dual registered (M at the main school, S at the
subsidiary), and an unresolved duplicate has its funding divided between the schools. Here a pupil with
a single registration (C, or no EnrolStatus: C is the default) at two schools of one census is held
back, both rows, each naming the other's row number: neither school's claim can be preferred. M and S
rows are dual registrations and are kept. A file read in batches (one school's pupils never split)
holds back the later row only, naming the earlier one (see `OnePlace`).
"""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import NEED_CODES, CensusTerm
from sendflow.expectations.suite import (
    Disclosure,
    OnePlace,
    Suite,
    at_least_rows,
    between,
    in_set,
    is_null,
    is_true,
    matches,
    not_null,
    one_of,
    unique_together,
)
from sendflow.transforms.pupil_census import FSM_VALUES, PRE_2014_PROVISION, PROVISION, PUPIL_CSV, TERMS
from sendflow.transforms.upn import UPN_STATUSES
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per pupil (pupil_key) per school (URN) per census (academic year and term)."

NEEDS = {code.upper() for code in NEED_CODES}
NC_YEARS = {"N1", "N2", "R", "X", *(str(year) for year in range(1, 15))}
# Reception pupils are 4 or 5 on census day, year 6 pupils 10 or 11; two years either way allows for pupils
# taught out of their year group without letting a date of birth typed in the wrong century through.
_NC_AGE_OFFSET = {"N1": 3, "N2": 3, "R": 4, **{str(year): year + 4 for year in range(1, 15)}}
_nc_year_age = pl.col("nc_year").replace_strict(_NC_AGE_OFFSET, default=None, return_dtype=pl.Int64)

SINGLE_REGISTRATION = OnePlace(
    column="also_single_registered_at_row",
    key="pupil_key",
    within=("academic_year", "census_term"),
    place=("la_code", "estab"),
    counted=pl.col("enrol_status").is_null() | (pl.col("enrol_status") == "C"),
)

_BOOLEAN = "True|False"
# Values that may be shown, by column: the table's (reasons, Data Docs) and the return's own (quarantine
# records, which hold the raw cells). Not listed, so never shown: the personal columns, and every date
# (a shifted row's census day may be a date of birth).
DISCLOSE = Disclosure(
    {
        # fct_pupil_census and the suite's helper columns
        "pupil_key": "[0-9a-f]{64}",  # the keyed hash, already in the warehouse: not the UPN
        "upn_status": one_of(UPN_STATUSES),
        "urn": "[0-9]{6}",
        "la_code": "[0-9]{3}",
        "estab": "[0-9]{4}",
        "laestab": "[0-9]{7}",
        "academic_year": "[0-9]{4}/[0-9]{2}",
        "census_term": one_of(CensusTerm),
        "nc_year": one_of(NC_YEARS),
        "age_at_census": "-?[0-9]{1,3}",
        "sex": one_of({"M", "F"}),
        "sen_provision": one_of(set(PROVISION.values())),
        "primary_need": one_of(NEEDS),
        "secondary_need": one_of(NEEDS),
        "is_fsm_eligible": _BOOLEAN,
        "enrol_status": one_of({"C", "M", "S", "G"}),
        "source_layout": one_of({PUPIL_CSV.name}),
        "need_matches_provision": _BOOLEAN,
        "age_fits_nc_year": _BOOLEAN,
        "needs_differ": _BOOLEAN,
        SINGLE_REGISTRATION.column: "[0-9]{1,12}",
        # the return's columns, by the layout's names (PUPIL_CSV), as written (any case)
        "LEA": "[0-9]{3}",
        "Estab": "[0-9]{4}",
        "Term": one_of(TERMS, ignore_case=True),
        "Sex": one_of({"M", "F"}, ignore_case=True),
        "NCyearActual": one_of(NC_YEARS, ignore_case=True),
        "EnrolStatus": one_of({"C", "M", "S", "G"}, ignore_case=True),
        "FSMeligible": one_of(FSM_VALUES, ignore_case=True),
        "SENprovision": one_of({*PROVISION, *PRE_2014_PROVISION}, ignore_case=True),
        "SENtype1": one_of(NEEDS, ignore_case=True),
        "SENtype2": one_of(NEEDS, ignore_case=True),
    }
)

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
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("estab", r"^[0-9]{4}$", "estab_is_four_digits"),
        not_null("census_term", "census_term_known"),
        not_null("census_date", "census_date_present"),
        matches("academic_year", r"^[0-9]{4}/[0-9]{2}$", "academic_year_format"),
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
        is_null(SINGLE_REGISTRATION.column, "one_school_per_single_registration"),
    ),
    table_checks=(at_least_rows(1, "file_has_pupils"),),
    one_place=(SINGLE_REGISTRATION,),
    disclose=DISCLOSE,
)
