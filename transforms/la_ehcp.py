"""SEN2 / EHC plan statistics ("Education, health and care plans", DfE EES) for England and each LA.

Every release since 2022 in its own shape, one `Layout` per shape, each recognised by its header:

| layout | release files | rows are |
|---|---|---|
| `ehcp_sen2_age_caseload` | 2022 `sen2_age_caseload.csv` | plans (and statements) at January by age band, 2010-2022 |
| `ehcp_sen2_estab_caseload` | 2022 `sen2_estab_caseload.csv` | the same by type of establishment attended |
| `ehcp_sen2_mi_camel` | 2022 `sen2_mi.csv` (`NewallEHC`, `InreqEHC`...) | EHC process, calendar years 2014-2021 |
| `ehcp_sen2_mi_snake` | 2023 `sen2_mi.csv`, 2024 `sen2_mi` slice (`new_all_ehc`...) | the same, 2014-2022 / 2023 |
| `ehcp_caseload` | 2025 `caseload.csv` | plans at January, 2018/19-2024/25, by setting, age, sex... |
| `ehcp_newplans` | 2025 `newplans.csv` | new plans per calendar year, 2019-2024 |
| `ehcp_requests` | 2025 `requests.csv` | requests for an EHC needs assessment per calendar year |
| `ehcp_sen_needs_all_plans` | 2025 `sen_needs_all_plans.csv` | plans at January 2025 by primary need |

Everything becomes one long table, `la_ehcp_observation`: one row per LA (`la_code`, the 3-digit DfE
number; 'ENG' for the national row) per `calendar_year` per `measure` per `breakdown` per `release` per
`source_table`. Regional rows are set aside. `calendar_year` is the January of a snapshot (caseload:
time_period 202425 and the 2022 files' 2022 both mean January of that year) and the calendar year itself
for activity in a year (new plans, requests, sen2_mi). `fct_la_ehcp` keeps, for each LA, year, measure
and breakdown, the value of the newest release.

What is loaded (percentages and the statements-plus-plans sums are not: each is a ratio or a sum of
counts that are loaded):

- `caseload` (EHC plans at January): `total`; `age:<band>` (2022: 0-4, 5-10, 11-15, 16-19, 20-25; 2025:
  single years `age:0-2`, `age:3` ... `age:25`); `age_at_start:<n>`; `sex:*`; `ethnicity:*`;
  `years_in_place:<n>`; `setting:*` (the 2025 placement columns of the all-plans row only, and the 2022
  establishment types); `need:<code>` (2025, all plans only, from `sen_needs_all_plans`).
- `statements` (statements of SEN at January, 2022 release; `z` from 2019): by age band and establishment.
- `new_plans`: `total` and, for 2025, age at start, sex, ethnicity and the settings of the total row.
- `requests`: `total` and, for 2025, age, sex and ethnicity. Request outcomes are totals only:
  `requests_agreed`, `requests_refused`, `requests_outstanding`, `requests_withdrawn`,
  `requests_decided_within_6_weeks`, `requests_decided_after_6_weeks`, `requests_youth_accommodation`,
  `requests_mediation`, `requests_tribunal`, `requests_tribunal_after_mediation`.
- From sen2_mi (totals, plus the breakdowns named): `new_plans`, `requests`, `requests_refused`,
  `requests_youth_accommodation`, `assessments_not_issued`, `assessments_outstanding`,
  `plans_issued_incl_exceptions`, `plans_issued_within_20_weeks_incl_exceptions`, and the same
  `_excl_exceptions`, `plans_ceased` (`reason:*`), `transfers` (`transfer:*`), `personal_budgets`
  (`total`, `arrangement:organised`, `direct_payment:*`), `mediations`, `tribunals_after_mediation`.
  Statement-era columns (2014-2018) and the items only the 2023 collection carries are not loaded.

Setting names are shared between releases only where both publish the same definition (checked on the
years 2019-2022, which the 2025 release re-publishes): the 2022 release's LA maintained special schools
exclude hospital schools and its "educated elsewhere" group is narrower, so those carry `_legacy`; 2022
establishment types without a 2025 counterpart (the awaiting-provision kinds...) keep their own slug.

Rows per real file (observations after regions are set aside): 2022 age 22,314; 2022 establishment
123,184; 2022 sen2_mi 31,772; 2023 sen2_mi 35,750; 2024 sen2_mi slice 3,978; 2025 caseload 66,713;
newplans 53,314; requests 21,555; sen_needs_all_plans 2,002.

An LA row that repeats its region's total while the region's LAs add up to more (the 2025 newplans.csv
gives all 15 Yorkshire and The Humber LAs the region's 6,078 new plans of 2022) is flagged in
`not_region_total_copy` for the suite to quarantine; the older release's value then shows in the fact table.

`release` is the publication year, read from the file's content: a snapshot file's latest January (its
latest calendar_year); an activity file's latest calendar year + 1 (activity in 2024 is collected in the
January 2025 return and published in 2025). A file whose time_period gives no year is rejected. A slice
cut to older years only would be taken for an older release: slices must keep the latest year.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from sendflow.core.vocabulary import ENGLAND_LA_CODE, NEED_CODES, NeedCode
from sendflow.transforms import ees
from sendflow.transforms.common import (
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    cell_status,
    cell_value,
    cells,
    code_text,
    match_columns,
    parse_cells,
)

DATASET = "la_ehcp"
TOTAL = "total"

# Columns every EES file of the publication carries; identification rests on the measure columns.
_GEOGRAPHY = ("time_period", "geographic_level", "old_la_code")
_DESCRIPTIVE = ("time_identifier", "new_la_code", "la_name", "region_code", "region_name")


@dataclass(frozen=True)
class Value:
    """One published column loaded as one (measure, breakdown).

    `breakdown` None means the row's own breakdown (age band, sex...); `total_row_only` loads the column
    from the row that covers all plans only (the 2025 files cross every breakdown with every setting).
    """

    column: str
    measure: str
    breakdown: str | None = None
    total_row_only: bool = False


def value_cells(values: tuple[Value, ...]) -> tuple[tuple[str, CellKind], ...]:
    """A layout's typed cells: its loaded columns, counts published as decimals ('value' is a Float64)."""
    return cells(CellKind.AMOUNT, *dict.fromkeys(value.column for value in values))


# --- 2022 release: caseload by age band and by establishment type ------------------------------------

CASELOAD_2022_VALUES = (Value("Total_ehc", "caseload"), Value("Total_st", "statements"))
AGE_CASELOAD_2022 = Layout(
    name="ehcp_sen2_age_caseload",
    dataset=DATASET,
    description="EHC plans and statements at January by age band (EHCP 2022 release sen2_age_caseload)",
    required=(*_GEOGRAPHY, "characteristic_age", "Total_st", "Total_ehc", "Total_all"),
    optional=_DESCRIPTIVE,
    year_from="column",
    cells=value_cells(CASELOAD_2022_VALUES),
)
ESTAB_CASELOAD_2022 = Layout(
    name="ehcp_sen2_estab_caseload",
    dataset=DATASET,
    description="EHC plans and statements at January by establishment type (EHCP 2022 release sen2_estab_caseload)",
    required=(*_GEOGRAPHY, "establishment_type", "establishment_group", "Total_st", "Total_ehc", "Total_all"),
    optional=_DESCRIPTIVE,
    year_from="column",
    cells=value_cells(CASELOAD_2022_VALUES),
)

AGE_BANDS_2022: Mapping[str, str] = {
    "total": TOTAL,
    "under 5": "age:0-4",
    "age 5 to 10": "age:5-10",
    "age 11 to 15": "age:11-15",
    "age 16 to 19": "age:16-19",
    "age 20 to 25": "age:20-25",
}

# (establishment_group, establishment_type) -> breakdown. A group's "Total" row is the group; names match
# the 2025 placement columns wherever the 2025 release re-publishes the 2019-2022 values unchanged.
ESTABLISHMENTS_2022: Mapping[tuple[str, str], str] = {
    ("total", "total"): TOTAL,
    ("mainstream school", "total"): "setting:mainstream",
    ("mainstream school", "mainstream - la maintained"): "setting:mainstream_la_maintained",
    ("mainstream school", "mainstream - la maintained - resourced provision"): (
        "setting:mainstream_la_maintained_resourced_provision"
    ),
    ("mainstream school", "mainstream - la maintained - sen unit"): "setting:mainstream_la_maintained_sen_unit",
    ("mainstream school", "mainstream - academy"): "setting:mainstream_academy",
    (
        "mainstream school",
        "mainstream - academy - resourced provision",
    ): "setting:mainstream_academy_resourced_provision",
    ("mainstream school", "mainstream - academy - sen unit"): "setting:mainstream_academy_sen_unit",
    ("mainstream school", "mainstream - free school"): "setting:mainstream_free_school",
    ("mainstream school", "mainstream - free school - resourced provision"): (
        "setting:mainstream_free_school_resourced_provision"
    ),
    ("mainstream school", "mainstream - free school - sen unit"): "setting:mainstream_free_school_sen_unit",
    ("mainstream school", "mainstream - independent"): "setting:mainstream_independent",
    ("special school", "total"): "setting:special",
    # 2025's special_la_maintained includes hospital schools; the 2022 release lists them apart.
    ("special school", "special - la maintained"): "setting:special_la_maintained_legacy",
    ("special school", "hospital school"): "setting:hospital_school",
    ("special school", "special - academy/free"): "setting:special_academy_free",
    ("special school", "special - academy"): "setting:special_academy",
    ("special school", "special - free school"): "setting:special_free_school",
    ("special school", "special - independent"): "setting:special_independent",
    ("special school", "special - non-maintained"): "setting:special_non_maintained",
    ("alternative provision/pupil referral unit", "total"): "setting:ap_pru",
    ("alternative provision/pupil referral unit", "ap/pru - la maintained"): "setting:ap_pru_la_maintained",
    ("alternative provision/pupil referral unit", "ap/pru - academy"): "setting:ap_pru_academy",
    ("alternative provision/pupil referral unit", "ap/pru - free school"): "setting:ap_pru_free_school",
    ("further education", "total"): "setting:fe",
    # 2025's 'FE colleges and sixth forms' is these three together: different names, no clash.
    ("further education", "general fe and tertiary colleges/he"): "setting:fe_general_and_tertiary_colleges",
    ("further education", "sixth form college"): "setting:fe_sixth_form_colleges",
    ("further education", "other fe"): "setting:fe_other",
    ("further education", "specialist post-16 institutions"): "setting:fe_specialist_post_16",
    ("further education", "independent specialist providers"): "setting:fe_independent_specialist_providers",
    ("educated elsewhere", "total"): "setting:educated_elsewhere_legacy",
    ("educated elsewhere", "elective home education"): "setting:elective_home_education",
    ("educated elsewhere", "other arrangements by local authority"): "setting:other_arrangements_la",
    ("educated elsewhere", "other arrangements by parents"): "setting:other_arrangements_parents",
    ("educated elsewhere", "permanently excluded"): "setting:permanently_excluded",
    ("educated elsewhere", "awaiting provision - total"): "setting:awaiting_provision",
    ("neet", "total"): "setting:neet",
    ("non-maintained early years", "total"): "setting:non_maintained_early_years",
    ("other", "total"): "setting:other_placement_settings",
    ("unknown", "total"): "setting:work_based_placements",
    ("unknown", "work-based learning"): "setting:work_based_learning",
    ("unknown", "apprenticeship"): "setting:apprenticeship",
    ("unknown", "supported internship"): "setting:supported_internship",
    ("unknown", "traineeship"): "setting:traineeship",
}

# --- sen2_mi: the EHC process per calendar year (2022 release CamelCase; 2023/2024 snake_case) --------

# (measure, breakdown, 2022 column, 2023/2024 column)
SEN2_MI_MEASURES: tuple[tuple[str, str, str, str], ...] = (
    ("new_plans", TOTAL, "NewallEHC", "new_all_ehc"),
    ("requests", TOTAL, "InreqEHC", "inreq_ehc"),
    ("requests_youth_accommodation", TOTAL, "InreqryaEHC", "inreq_rya_ehc"),
    ("requests_refused", TOTAL, "AssRefusedEHC", "ass_refused_ehc"),
    ("assessments_not_issued", TOTAL, "AssnoneEHC", "ass_none_ehc"),
    ("assessments_outstanding", TOTAL, "AssnodecisionEHC", "ass_nodecision_ehc"),
    ("plans_issued_incl_exceptions", TOTAL, "TotIncExcEHC", "tot_inc_exc_ehc"),
    ("plans_issued_within_20_weeks_incl_exceptions", TOTAL, "IncExc20weekEHC", "inc_exc_20week_ehc"),
    ("plans_issued_excl_exceptions", TOTAL, "TotNoExcEHC", "tot_no_exc_ehc"),
    ("plans_issued_within_20_weeks_excl_exceptions", TOTAL, "NoExc20weekEHC", "no_exc_20week_ehc"),
    ("plans_ceased", "reason:transferred_to_another_la", "DisleaEHC", "discontinued_lea_ehc"),
    ("plans_ceased", "reason:needs_met", "DismetEHC", "discontinued_met_ehc"),
    ("plans_ceased", "reason:left_school", "DisleftEHC", "discontinued_left_ehc"),
    ("plans_ceased", "reason:other", "DisothEHC", "discontinued_other_ehc"),
    ("transfers", "transfer:mainstream_to_special", "MtosiEHC", "mainstream_to_special_ehc"),
    ("transfers", "transfer:special_to_mainstream", "SitomEHC", "special_to_mainstream_ehc"),
    ("transfers", "transfer:mainstream_to_home_education", "MtoParEHC", "mainstream_to_home_ehc"),
    ("transfers", "transfer:special_to_home_education", "SitoParEHC", "special_to_home_ehc"),
    ("personal_budgets", TOTAL, "PersonalBudgets", "personal_budgets"),
    ("personal_budgets", "arrangement:organised", "OrgArrangements", "org_arrangements"),
    ("personal_budgets", "direct_payment:education", "DirectPayEducation", "direct_pay_education"),
    ("personal_budgets", "direct_payment:health", "DirectPayHealth", "direct_pay_health"),
    ("personal_budgets", "direct_payment:social_care", "DirectPaySocialCare", "direct_pay_socialcare"),
    ("personal_budgets", "direct_payment:integrated", "DirectPayIntegrated", "direct_pay_integrated"),
    ("mediations", TOTAL, "NewEHCMediation", "total_mediation"),
    ("tribunals_after_mediation", TOTAL, "NewEHCTribunal", "total_tribunal_followed_mediation"),
)
# Enough of the measure columns to tell the two spellings apart and from any other EES file.
_SEN2_MI_REQUIRED = (
    "new_plans",
    "requests",
    "requests_refused",
    "assessments_not_issued",
    "plans_issued_incl_exceptions",
)


def _sen2_mi_layout(name: str, spelling: int, description: str) -> Layout:
    """spelling: 2 for the 2022 release's CamelCase columns, 3 for the later snake_case ones."""
    required = tuple(m[spelling] for m in SEN2_MI_MEASURES if m[0] in _SEN2_MI_REQUIRED and m[1] == TOTAL)
    optional = tuple(m[spelling] for m in SEN2_MI_MEASURES if m[spelling] not in required)
    return Layout(
        name=name,
        dataset=DATASET,
        description=description,
        required=(*_GEOGRAPHY, *required),
        optional=(*optional, *_DESCRIPTIVE),
        year_from="column",
        cells=value_cells(tuple(Value(m[spelling], m[0], m[1]) for m in SEN2_MI_MEASURES)),
    )


SEN2_MI_CAMEL = _sen2_mi_layout(
    "ehcp_sen2_mi_camel", 2, "EHC plan process by calendar year (EHCP 2022 release sen2_mi: NewallEHC, InreqEHC...)"
)
SEN2_MI_SNAKE = _sen2_mi_layout(
    "ehcp_sen2_mi_snake", 3, "EHC plan process by calendar year (EHCP 2023/2024 releases sen2_mi: new_all_ehc...)"
)

# --- 2025 release: one file per topic, each row a breakdown, placements as columns --------------------

# Placement column -> breakdown. Loaded from the all-plans row only: crossing them with every age, sex
# and ethnicity row would multiply the table by 40 for figures the publisher does not headline.
SETTINGS_2025: Mapping[str, str] = {
    "mainstream_la_maintained": "setting:mainstream_la_maintained",
    "mainstream_la_maintained_resourced_provision": "setting:mainstream_la_maintained_resourced_provision",
    "mainstream_la_maintained_senunit": "setting:mainstream_la_maintained_sen_unit",
    "mainstream_academy": "setting:mainstream_academy",
    "mainstream_academy_resourced_provision": "setting:mainstream_academy_resourced_provision",
    "mainstream_academy_senunit": "setting:mainstream_academy_sen_unit",
    "mainstream_free_school": "setting:mainstream_free_school",
    "mainstream_free_school_resourced_provision": "setting:mainstream_free_school_resourced_provision",
    "mainstream_free_school_senunit": "setting:mainstream_free_school_sen_unit",
    "mainstream_independent": "setting:mainstream_independent",
    "mainstream_total": "setting:mainstream",
    "special_la_maintained": "setting:special_la_maintained",
    "special_academy_free": "setting:special_academy_free",
    "special_independent": "setting:special_independent",
    "special_non_maintained": "setting:special_non_maintained",
    "special_total": "setting:special",
    "ap_pru_academy": "setting:ap_pru_academy",
    "ap_pru_free_school": "setting:ap_pru_free_school",
    "ap_pru_la_maintained": "setting:ap_pru_la_maintained",
    "ap_pru_total": "setting:ap_pru",
    "general_fe_tertiary_colleges": "setting:fe_colleges_and_sixth_forms",
    "specialist_post_16_institutions": "setting:fe_specialist_post_16",
    "ukrlp_provider": "setting:fe_ukrlp_provider",
    "fe_total": "setting:fe",
    "elective_home_education": "setting:elective_home_education",
    "other_arrangements_la": "setting:other_arrangements_la",
    "other_arrangements_parents": "setting:other_arrangements_parents",
    "online_provider": "setting:online_provider",
    "w_settings": "setting:welsh_settings",
    "other_schools": "setting:other_schools",
    "other_placement_settings": "setting:other_placement_settings",
    "neet": "setting:neet",
    "neet_ntci": "setting:neet_notice_to_cease",
    "neet_other": "setting:neet_other",
    "neet_other_csa": "setting:neet_compulsory_school_age",
    "ed_elsewhere": "setting:educated_elsewhere",
    "nm_early_years": "setting:non_maintained_early_years",
    "placement_unknown": "setting:not_recorded",
    "await_prov_2022": "setting:awaiting_provision",
    "perm_ex_2022": "setting:permanently_excluded",
}
_BREAKDOWN_ROW = ("breakdown_topic", "breakdown")


def _settings(headline: str, measure: str) -> tuple[Value, ...]:
    return (
        Value(headline, measure),
        *(Value(column, measure, breakdown, total_row_only=True) for column, breakdown in SETTINGS_2025.items()),
    )


CASELOAD_2025 = Layout(
    name="ehcp_caseload",
    dataset=DATASET,
    description="EHC plans at January by setting and characteristics (EHCP 2025 release caseload)",
    required=(*_GEOGRAPHY, *_BREAKDOWN_ROW, "ehcplans", "mainstream_total", "special_total"),
    optional=(*(c for c in SETTINGS_2025 if c not in ("mainstream_total", "special_total")), *_DESCRIPTIVE),
    year_from="column",
    cells=value_cells(_settings("ehcplans", "caseload")),
)
NEWPLANS_2025 = Layout(
    name="ehcp_newplans",
    dataset=DATASET,
    description="New EHC plans per calendar year by setting and characteristics (EHCP 2025 release newplans)",
    required=(*_GEOGRAPHY, *_BREAKDOWN_ROW, "new_ehc_plans", "mainstream_total", "special_total"),
    optional=CASELOAD_2025.optional,
    year_from="column",
    cells=value_cells(_settings("new_ehc_plans", "new_plans")),
)
REQUESTS_VALUES: tuple[Value, ...] = (
    Value("requests_received_in_year", "requests"),
    *(
        Value(column, measure, TOTAL, total_row_only=True)
        for column, measure in (
            ("requests_rya", "requests_youth_accommodation"),
            ("requests_decided_to_assess", "requests_agreed"),
            ("requests_decided_not_to_assess", "requests_refused"),
            ("requests_decision_not_made", "requests_outstanding"),
            ("requests_withdrawn", "requests_withdrawn"),
            ("request_outcome_six_weeks", "requests_decided_within_6_weeks"),
            ("request_outcome_over_6_weeks", "requests_decided_after_6_weeks"),
            ("mediation_related_request", "requests_mediation"),
            ("tribunal_related_request", "requests_tribunal"),
            ("tribunal_after_mediation_request", "requests_tribunal_after_mediation"),
        )
    ),
)
_REQUESTS_REQUIRED = ("requests_received_in_year", "requests_decided_to_assess", "requests_decided_not_to_assess")
REQUESTS_2025 = Layout(
    name="ehcp_requests",
    dataset=DATASET,
    description="Requests for an EHC needs assessment and their outcomes per calendar year (EHCP 2025 requests)",
    required=(*_GEOGRAPHY, *_BREAKDOWN_ROW, *_REQUESTS_REQUIRED),
    optional=(*(v.column for v in REQUESTS_VALUES if v.column not in _REQUESTS_REQUIRED), *_DESCRIPTIVE),
    year_from="column",
    cells=value_cells(REQUESTS_VALUES),
)
# Primary need (as in the breakdown 'need:<CODE>') -> the file's column. NSA (SEN support without a
# specialist assessment) is no need of an EHC plan, so the file has no column for it; it has one for
# plans whose need is not known.
NEED_COLUMNS_BY_CODE: Mapping[str, str] = {
    **{code.upper(): f"number_{code}" for code in NEED_CODES if code != NeedCode.NSA},
    "unknown": "number_need_unknown",
}
_NEED_COLUMNS_REQUIRED = ("number_asd", "number_semh", "number_slcn")
# Needs by all plans only: the caseload file already gives every breakdown's total, and the need-by-age
# (or by setting) cross tabulations are a publication of their own, not this table's grain.
SEN_NEEDS_VALUES = tuple(
    Value(column, "caseload", f"need:{code}", total_row_only=True) for code, column in NEED_COLUMNS_BY_CODE.items()
)

SEN_NEEDS_2025 = Layout(
    name="ehcp_sen_needs_all_plans",
    dataset=DATASET,
    description="EHC plans at January by primary need (EHCP 2025 release sen_needs_all_plans)",
    required=(*_GEOGRAPHY, *_BREAKDOWN_ROW, "ehc_plans", *_NEED_COLUMNS_REQUIRED),
    optional=(*(c for c in NEED_COLUMNS_BY_CODE.values() if c not in _NEED_COLUMNS_REQUIRED), *_DESCRIPTIVE),
    year_from="column",
    cells=value_cells(SEN_NEEDS_VALUES),
)
LAYOUTS: tuple[Layout, ...] = (
    AGE_CASELOAD_2022,
    ESTAB_CASELOAD_2022,
    SEN2_MI_CAMEL,
    SEN2_MI_SNAKE,
    CASELOAD_2025,
    NEWPLANS_2025,
    REQUESTS_2025,
    SEN_NEEDS_2025,
)


@dataclass(frozen=True)
class Shape:
    """How one layout becomes observations: the publisher's table name and whether its years are Januaries."""

    source_table: str
    snapshot: bool  # True: each year is a January count; False: activity during a calendar year
    values: tuple[Value, ...]


SHAPES: Mapping[str, Shape] = {
    AGE_CASELOAD_2022.name: Shape("sen2_age_caseload", True, CASELOAD_2022_VALUES),
    ESTAB_CASELOAD_2022.name: Shape("sen2_estab_caseload", True, CASELOAD_2022_VALUES),
    SEN2_MI_CAMEL.name: Shape("sen2_mi", False, tuple(Value(m[2], m[0], m[1]) for m in SEN2_MI_MEASURES)),
    SEN2_MI_SNAKE.name: Shape("sen2_mi", False, tuple(Value(m[3], m[0], m[1]) for m in SEN2_MI_MEASURES)),
    CASELOAD_2025.name: Shape("caseload", True, _settings("ehcplans", "caseload")),
    NEWPLANS_2025.name: Shape("newplans", False, _settings("new_ehc_plans", "new_plans")),
    REQUESTS_2025.name: Shape("requests", False, REQUESTS_VALUES),
    SEN_NEEDS_2025.name: Shape("sen_needs_all_plans", True, SEN_NEEDS_VALUES),
}

MEASURES: frozenset[str] = frozenset(
    value.measure for shape in SHAPES.values() for value in shape.values
)  # the vocabulary the suite accepts

COLUMNS: tuple[str, ...] = (
    "la_code", "calendar_year", "measure", "breakdown", "value", "value_status", "release", "source_table",
    "source_layout", SOURCE_ROW, "not_region_total_copy",
)  # fmt: skip
GRAIN: tuple[str, ...] = ("la_code", "calendar_year", "measure", "breakdown")
FCT_COLUMNS: tuple[str, ...] = (
    *GRAIN, "value", "value_status", "release", "source_table", SOURCE_ROW, "load_id",
)  # fmt: skip


# --- typing the rows ---------------------------------------------------------------------------------


def _lower(column: str) -> pl.Expr:
    return pl.col(column).cast(pl.String).str.strip_chars().str.to_lowercase()


def _slug(text: pl.Expr) -> pl.Expr:
    """'Asian - Any other Asian background' -> 'asian_any_other_asian_background'."""
    return text.str.to_lowercase().str.replace_all(r"[^a-z0-9]+", "_").str.strip_chars("_")


def _range_slug(text: pl.Expr) -> pl.Expr:
    """Like _slug, but an age or duration keeps its '-' and '+' ('0-2', '20+')."""
    return text.str.to_lowercase().str.replace_all(r"[^a-z0-9+-]+", "_").str.strip_chars("_")


def la_code() -> pl.Expr:
    """'ENG' for the national row, the DfE number for an LA row; NULL (and so quarantined) for any other
    level but Regional, which the build sets aside."""
    return (
        pl.when(ees.is_level(ees.NATIONAL))
        .then(pl.lit(ENGLAND_LA_CODE))
        .when(ees.is_level(ees.LOCAL_AUTHORITY))
        .then(code_text("old_la_code"))
        .alias("la_code")
    )


def _age(value: pl.Expr) -> pl.Expr:
    """'age 10' / 'Aged 10' -> '10'; 'under 3', '(age) 2 and under' -> '0-2'; '20 and over' -> '20+'."""
    bare = value.str.replace(r"^aged? ", "")
    return (
        pl.when(bare == "under 3")
        .then(pl.lit("0-2"))
        .otherwise(bare.str.replace(r"^([0-9]+) and under$", "0-$1").str.replace(r"^([0-9]+) and over$", "$1+"))
    )


def _years_in_place(value: pl.Expr) -> pl.Expr:
    return (
        pl.when(value == "less than a year")
        .then(pl.lit("0"))
        .otherwise(value.str.replace(r"^([0-9]+) or more$", "$1+"))
    )


# breakdown_topic (lower case) -> prefix of the breakdown code, and how its values are written.
TOPICS_2025: Mapping[str, str] = {
    "child or young persons age": "age",
    "age when plan started": "age_at_start",
    "sex": "sex",
    "ethnicity": "ethnicity",
    "years ehc plan in place": "years_in_place",
    "type of placement": "setting",
}


def breakdown_2025() -> pl.Expr:
    """A 2025 row's (breakdown_topic, breakdown) as one code: the all-plans row is 'total' (its topic and
    breakdown are the same words), others '<topic>:<value>'. Topics not listed keep their slug; a row
    without a topic gets NULL and fails validation."""
    topic, value = _lower("breakdown_topic"), _lower("breakdown")
    prefix = topic.replace_strict(dict(TOPICS_2025), default=_slug(topic), return_dtype=pl.String)
    written = (
        pl.when(prefix.is_in(["age", "age_at_start"]))
        .then(_range_slug(_age(value)))
        .when(prefix == "years_in_place")
        .then(_range_slug(_years_in_place(value)))
        .otherwise(_slug(value))
    )
    return pl.when(topic == value).then(pl.lit(TOTAL)).otherwise(prefix + ":" + written).alias("row_breakdown")


def breakdown_age_2022() -> pl.Expr:
    age = _lower("characteristic_age")
    return age.replace_strict(dict(AGE_BANDS_2022), default="age:" + _range_slug(age), return_dtype=pl.String).alias(
        "row_breakdown"
    )


def breakdown_estab_2022() -> pl.Expr:
    group, kind = _lower("establishment_group"), _lower("establishment_type")
    mapping = {f"{g}|{t}": b for (g, t), b in ESTABLISHMENTS_2022.items()}
    # A type named like its group (NEET in NEET, Other in Other) is the group itself.
    key = pl.when(kind == group).then(group + "|total").otherwise(group + "|" + kind)
    named = key.replace_strict(mapping, default=None, return_dtype=pl.String)
    # An establishment type this code does not know still loads, under its own name.
    unknown = pl.when(kind == "total").then("setting:" + _slug(group)).otherwise("setting:" + _slug(kind))
    return named.fill_null(unknown).alias("row_breakdown")


def _row_breakdown(layout: str) -> pl.Expr:
    if layout == AGE_CASELOAD_2022.name:
        return breakdown_age_2022()
    if layout == ESTAB_CASELOAD_2022.name:
        return breakdown_estab_2022()
    if layout in (SEN2_MI_CAMEL.name, SEN2_MI_SNAKE.name):
        return pl.lit(TOTAL).alias("row_breakdown")
    return breakdown_2025()


def repeats_its_group(layout: str) -> pl.Expr:
    """The 2022 establishment rows that repeat their group's Total row (type 'NEET' in group 'NEET', 'Other'
    in 'Other'...): the same breakdown twice, so they are set aside where the Total row is there."""
    if layout != ESTAB_CASELOAD_2022.name:
        return pl.lit(False)
    group, kind = _lower("establishment_group"), _lower("establishment_type")
    has_total = (kind == "total").any().over("time_period", "geographic_level", "old_la_code", group)
    return ((kind == group) & (kind != "total") & has_total).fill_null(False)


def _is_region() -> pl.Expr:
    return ees.is_level(ees.REGIONAL).alias("is_region")


REGION_KEYS = ("region_code", "calendar_year", "measure", "breakdown")


def flag_region_totals(long: pl.DataFrame) -> pl.DataFrame:
    """Regional rows are set aside, but first used for one check: an LA value that repeats its region's
    total while the region's LAs add up to more than that total is a copy of the region, not the LA's own
    figure (the 2025 newplans.csv gives all 15 Yorkshire and The Humber LAs 6,078 new plans in 2022, the
    region's total). `not_region_total_copy` is False on such rows, for the suite to quarantine them."""
    keys = list(REGION_KEYS)
    regional = (
        long.filter(pl.col("is_region"))
        .select(*keys, pl.col("value").alias("region_value"))
        .unique(subset=keys, keep="none")  # a region published twice gives nothing to compare with
    )
    in_grain = long.filter(~pl.col("is_region"))
    la_rows = pl.col("la_code").fill_null("") != ENGLAND_LA_CODE
    region_sums = in_grain.filter(la_rows).group_by(keys).agg(pl.col("value").sum().alias("region_la_sum"))
    copied = (
        la_rows
        & (pl.col("value") > 0)
        & (pl.col("value") == pl.col("region_value"))
        & (pl.col("region_la_sum") > pl.col("region_value"))
    )
    return (
        in_grain.join(regional, on=keys, how="left")
        .join(region_sums, on=keys, how="left")
        .with_columns((~copied).fill_null(True).alias("not_region_total_copy"))
    )


def _layout(name: str) -> Layout:
    for layout in LAYOUTS:
        if layout.name == name:
            return layout
    raise ValueError(f"{DATASET} has no layout {name!r}")


def release_of(calendar_years: pl.Series, snapshot: bool) -> int:
    """The publication year: the latest January a snapshot file counts, or the year after the latest
    calendar year of activity (that year's activity is collected in the next January's SEN2 return)."""
    latest = calendar_years.drop_nulls().cast(pl.Int64).max()
    if not isinstance(latest, int):  # None: no row has a year
        raise SourceError(
            "no time_period gives a year (expected e.g. 2024 or 202425), so the release the file belongs to "
            "cannot be told"
        )
    return latest if snapshot else latest + 1


def la_ehcp_observation(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """Every loaded value of one file as (LA or ENG, year, measure, breakdown) rows with release and
    source_table; regional rows and duplicated group rows set aside."""
    layout = _layout(source.layout)
    shape = SHAPES[layout.name]
    present = match_columns(raw.columns, layout.columns)
    missing = [c for c in layout.required if c not in present]
    if missing:
        raise SourceError(f"missing required column(s) for layout {layout.name}: {', '.join(missing)}")
    frame = raw.select(SOURCE_ROW, *[pl.col(actual).alias(canonical) for canonical, actual in present.items()])
    region = code_text("region_code") if "region_code" in present else pl.lit(None, dtype=pl.String)
    frame = frame.filter(~repeats_its_group(layout.name)).with_columns(
        la_code(), ees.calendar_year(), _row_breakdown(layout.name), region.alias("region_code"), _is_region()
    )
    frame = parse_cells(frame, layout)
    in_grain = frame.filter(~pl.col("is_region"))
    release = release_of(in_grain["calendar_year"], shape.snapshot) if in_grain.height else None

    parts = []
    for value in shape.values:
        if value.column not in present:
            continue  # an optional column this file does not publish: nothing to say, not a symbol 'x'
        rows = frame.filter(pl.col("row_breakdown") == TOTAL) if value.total_row_only else frame
        parts.append(
            rows.select(
                "la_code",
                "calendar_year",
                pl.lit(value.measure).alias("measure"),
                (pl.lit(value.breakdown) if value.breakdown else pl.col("row_breakdown")).alias("breakdown"),
                cell_value(value.column).alias("value"),
                cell_status(value.column).alias("value_status"),
                "region_code",
                "is_region",
                SOURCE_ROW,
            )
        )
    return (
        flag_region_totals(pl.concat(parts))
        .with_columns(
            pl.lit(release, dtype=pl.Int64).alias("release"),
            pl.lit(shape.source_table).alias("source_table"),
            pl.lit(layout.name).alias("source_layout"),
        )
        .select(
            pl.col("la_code").cast(pl.String),
            pl.col("calendar_year").cast(pl.Int64),
            pl.col("measure").cast(pl.String),
            pl.col("breakdown").cast(pl.String),
            pl.col("value").cast(pl.Float64),
            pl.col("value_status").cast(pl.String),
            "release",
            "source_table",
            "source_layout",
            pl.col(SOURCE_ROW).cast(pl.Int64),
            "not_region_total_copy",
        )
    )


# Where one release publishes a figure in two tables, the first here wins. Only the 2022 release does so
# (the total, in its age and establishment tables), and they disagree for January 2016 and 2018: the age
# table gives the headline figures (319,819 statements and plans in 2018), the establishment table less.
SOURCE_TABLE_PRECEDENCE: tuple[str, ...] = (
    "caseload", "newplans", "requests", "sen_needs_all_plans", "sen2_age_caseload", "sen2_estab_caseload", "sen2_mi",
)  # fmt: skip


def fct_la_ehcp(observations: pl.DataFrame) -> pl.DataFrame:
    """One row per LA (or ENG), year, measure and breakdown: the newest release's value (ties within a
    release by SOURCE_TABLE_PRECEDENCE, so the result never depends on the order files were loaded).
    Each row keeps the load_id of the load that brought its value, not of the load that rebuilt the table."""
    precedence = {table: rank for rank, table in enumerate(SOURCE_TABLE_PRECEDENCE)}
    if "load_id" not in observations.columns:
        observations = observations.with_columns(pl.lit(None, dtype=pl.Int64).alias("load_id"))
    ranked = observations.with_columns(
        pl.col("source_table")
        .replace_strict(precedence, default=len(precedence), return_dtype=pl.Int64)
        .alias("_precedence"),
    )
    newest = ranked.sort(["release", "_precedence", "source_table"], descending=[True, False, False]).unique(
        subset=list(GRAIN), keep="first", maintain_order=True
    )
    return newest.select(FCT_COLUMNS).sort(list(GRAIN))


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"la_ehcp_observation": la_ehcp_observation(raw, source)}
