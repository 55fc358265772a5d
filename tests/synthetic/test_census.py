"""Synthetic pupils agree with the published counts, carry valid unique UPNs and plausible years, and are
reproducible per seed and per school."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from sendflow.synthetic.census import (
    DEFAULT_NEED_MIX,
    PUPIL_COLUMNS,
    synthetic_batches,
)
from sendflow.transforms.pupil_census import PUPIL_CSV
from sendflow.transforms.upn import upn_status

YEAR = "2023/24"
SCHOOLS = pl.DataFrame(
    {
        "urn": ["100001", "100002", "100003", "100004", "100005", "100006", "100007", "100008"],
        "la_code": ["201", "202", "202", "203", "204", "205", "206", "206"],
        "estab": ["3614", "4001", "7001", "1001", "1100", "6005", "2001", "2002"],
        "school_type": ["State-funded primary", "State-funded secondary", "State-funded special school",
                        "State-funded nursery", "State-funded AP school", "Independent school",
                        "State-funded primary", "State-funded primary"],
        "total_pupils": [244, 900, 120, 60, 40, 300, None, 0],
        "ehc_plan": [11, 30, 118, 1, 6, 4, 2, 0],
        "sen_support": [59, 120, 2, 5, 30, 40, 9, 0],
        "fsm_pupils": [53, 900, 30, 5, 20, None, 1, 0],
        "girls": [112, 0, 40, 30, 10, 300, None, 0],
        "boys": [132, 900, 80, 30, 30, 0, None, 0],
    }
)  # fmt: skip
# Each kind of school's NC years, and the youngest and oldest age on census day any of them may have.
EXPECTED_YEARS = {
    "100001": {"N1", "N2", "R", "1", "2", "3", "4", "5", "6"},
    "100002": {"7", "8", "9", "10", "11", "12", "13"},
    "100003": {"N1", "N2", "R", *(str(y) for y in range(1, 15))},
    "100004": {"N1", "N2"},
    "100005": {"7", "8", "9", "10", "11"},
    "100006": {"N1", "N2", "R", *(str(y) for y in range(1, 14))},
}
NC_VALUE = {"N1": -2, "N2": -1, "R": 0, **{str(y): y for y in range(1, 15)}}


def _pupils(
    schools: pl.DataFrame = SCHOOLS, seed: int = 11, term: str = "spring", need_mix: pl.DataFrame = DEFAULT_NEED_MIX
) -> pl.DataFrame:
    return pl.concat(synthetic_batches(schools, need_mix, YEAR, term, seed))


def _number(value: object) -> float:
    """A Series aggregate as a number (Polars types it as any Python literal)."""
    assert isinstance(value, int | float), value
    return float(value)


@pytest.fixture(scope="module")
def pupils() -> pl.DataFrame:
    return _pupils()


def test_every_school_has_exactly_its_published_counts(pupils: pl.DataFrame) -> None:
    counts = pupils.group_by("urn").agg(
        pl.len().alias("total_pupils"),
        (pl.col("SENprovision") == "E").sum().alias("ehc_plan"),
        (pl.col("SENprovision") == "K").sum().alias("sen_support"),
    )
    expected = SCHOOLS.filter(pl.col("total_pupils") > 0).select("urn", "total_pupils", "ehc_plan", "sen_support")

    assert counts.sort("urn").rows() == expected.cast({c: pl.UInt32 for c in expected.columns[1:]}).rows()
    assert set(pupils["SENprovision"].unique()) == {"E", "K", "N"}
    assert "100007" not in pupils["urn"].to_list()  # NULL total: skipped, not guessed


def test_columns_are_the_csv_layout_all_text(pupils: pl.DataFrame) -> None:
    assert pupils.columns == ["urn", *PUPIL_COLUMNS]
    assert set(PUPIL_COLUMNS) == set(PUPIL_CSV.columns)
    assert all(dtype == pl.String for dtype in pupils.dtypes)
    assert pupils.select("Term", "ReferenceDate", "EnrolStatus").unique().rows() == [("SPR", "2024-01-18", "C")]


def test_every_upn_is_a_valid_permanent_upn_unique_and_issued_by_its_school(pupils: pl.DataFrame) -> None:
    statuses = pupils.select(upn_status("UPN").alias("status"))["status"]

    assert statuses.unique().to_list() == ["permanent"]
    assert pupils["UPN"].n_unique() == pupils.height
    assert (pupils["UPN"].str.slice(1, 7) == pupils["LEA"] + pupils["Estab"]).all()
    issue_years = pupils["UPN"].str.slice(8, 2).cast(pl.Int64)
    assert _number(issue_years.min()) >= 10 and _number(issue_years.max()) <= 23  # joined by September 2023


def test_more_than_999_joiners_in_a_year_still_get_unique_upns() -> None:
    big = SCHOOLS.head(1).with_columns(
        pl.lit("State-funded nursery").alias("school_type"), pl.lit(3000).alias("total_pupils")
    )
    pupils = _pupils(big)

    assert pupils.height == 3000
    assert pupils["UPN"].n_unique() == 3000
    assert pupils.select(upn_status("UPN").alias("s"))["s"].unique().to_list() == ["permanent"]
    assert _number(pupils["UPN"].str.slice(8, 2).value_counts()["count"].max()) <= 999


def test_needs_only_for_sen_pupils_from_the_mix_and_never_twice(pupils: pl.DataFrame) -> None:
    with_sen = pupils.filter(pl.col("SENprovision") != "N")
    without = pupils.filter(pl.col("SENprovision") == "N")

    assert with_sen["SENtype1"].null_count() == 0
    assert set(with_sen["SENtype1"]) <= set(DEFAULT_NEED_MIX["need"])
    assert set(with_sen["SENtype2"].drop_nulls()) <= set(DEFAULT_NEED_MIX["need"])
    assert without.select(pl.col("SENtype1", "SENtype2").is_not_null().any()).row(0) == (False, False)
    assert with_sen.filter(pl.col("SENtype1") == pl.col("SENtype2")).is_empty()
    secondary = _number(with_sen["SENtype2"].is_not_null().mean())
    assert 0.15 < secondary < 0.35, secondary  # about a quarter of 497 SEN pupils


def test_a_two_code_mix_gives_only_those_codes_and_the_other_as_secondary() -> None:
    mix = pl.DataFrame({"need": ["ASD", "HI", "VI"], "pupils": [60, 40, 0]})
    with_sen = _pupils(need_mix=mix).filter(pl.col("SENprovision") != "N")

    assert set(with_sen["SENtype1"]) == {"ASD", "HI"}
    seconds = with_sen.filter(pl.col("SENtype2").is_not_null())
    assert not seconds.is_empty()
    assert (seconds["SENtype2"] == seconds["SENtype1"].replace({"ASD": "HI", "HI": "ASD"})).all()


def test_a_mix_with_codes_that_are_not_sen_types_is_refused() -> None:
    with pytest.raises(ValueError, match="not SEN types: UNKNOWN"):
        _pupils(need_mix=pl.DataFrame({"need": ["ASD", "unknown"], "pupils": [5, 1]}))


def test_nc_years_fit_the_school_type_and_ages_fit_the_nc_year(pupils: pl.DataFrame) -> None:
    years = pupils.group_by("urn").agg(pl.col("NCyearActual").unique())
    for urn, found in years.iter_rows():
        assert set(found) <= EXPECTED_YEARS[urn], urn
    secondary = pupils.filter(pl.col("urn") == "100002")["NCyearActual"]
    assert _number(secondary.is_in(["12", "13"]).mean()) < 0.2  # a sixth form, not half the school

    census_day = date(2024, 1, 18)
    born = pupils["DOB"].str.to_date("%Y-%m-%d").to_list()
    ages = [census_day.year - b.year - ((census_day.month, census_day.day) < (b.month, b.day)) for b in born]
    nc = [NC_VALUE[y] for y in pupils["NCyearActual"].to_list()]
    # On 18 January a Year 1 pupil is 6 if born 1 September to 18 January, else 5.
    assert all(age in (year + 4, year + 5) for age, year in zip(ages, nc, strict=True))
    birthday_passed = [b.month >= 9 or (b.month, b.day) <= (1, 18) for b in born]
    assert all((age == year + 5) == had for age, year, had in zip(ages, nc, birthday_passed, strict=True))


def test_sex_follows_the_school_and_fsm_its_published_share(pupils: pl.DataFrame) -> None:
    by_school = pupils.group_by("urn").agg(
        (pl.col("Sex") == "F").mean().alias("girls"),
        (pl.col("FSMeligible") == "true").mean().alias("fsm"),
        pl.col("FSMeligible").null_count().alias("fsm_unknown"),
        pl.len(),
    )
    share = {row["urn"]: row for row in by_school.iter_rows(named=True)}

    assert share["100002"]["girls"] == 0.0 and share["100006"]["girls"] == 1.0  # single-sex stay so
    assert set(pupils["Sex"].unique()) == {"M", "F"}
    assert share["100002"]["fsm"] == 1.0  # 900 of 900
    assert share["100006"]["fsm_unknown"] == share["100006"]["len"]  # independent: no FSM count, NULL
    assert 0.12 < share["100001"]["fsm"] < 0.32  # 53 of 244 = 0.22
    sen_boys = pupils.filter((pl.col("urn") == "100001") & (pl.col("SENprovision") != "N"))["Sex"] == "M"
    assert _number(sen_boys.mean()) > 0.5  # 70 E and K pupils, boys twice as likely as girls


def test_same_seed_same_pupils_other_seed_other_pupils(pupils: pl.DataFrame) -> None:
    again = _pupils()
    other = _pupils(seed=12)

    assert again.equals(pupils)
    assert not other.equals(pupils)
    assert other.height == pupils.height
    assert set(other["UPN"]) != set(pupils["UPN"])


def test_a_schools_pupils_do_not_depend_on_the_other_schools_selected(pupils: pl.DataFrame) -> None:
    alone = _pupils(SCHOOLS.filter(pl.col("urn") == "100003"))
    reordered = _pupils(SCHOOLS.reverse())

    assert alone.equals(pupils.filter(pl.col("urn") == "100003"))
    for urn in ("100001", "100005"):
        assert reordered.filter(pl.col("urn") == urn).equals(pupils.filter(pl.col("urn") == urn))


def test_batches_are_whole_schools_and_add_up_to_the_frame(pupils: pl.DataFrame) -> None:
    batches = list(synthetic_batches(SCHOOLS, DEFAULT_NEED_MIX, YEAR, "spring", 11, batch_pupils=300))

    assert len(batches) > 2
    assert pl.concat(batches).equals(pupils)
    seen = [set(batch["urn"]) for batch in batches]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1 :])


def test_the_terms_of_a_year_have_the_same_pupils_on_their_own_census_days(pupils: pl.DataFrame) -> None:
    autumn = _pupils(term="autumn")

    assert autumn.select("Term", "ReferenceDate").unique().rows() == [("AUT", "2023-10-05")]
    assert autumn.drop("Term", "ReferenceDate").equals(pupils.drop("Term", "ReferenceDate"))


def test_counts_that_cannot_be_met_or_codes_that_cannot_make_a_upn_are_refused() -> None:
    too_many = SCHOOLS.head(1).with_columns(pl.lit(240).alias("sen_support"))
    with pytest.raises(ValueError, match="EHC plan \\+ SEN support above the total"):
        _pupils(too_many)
    short_estab = SCHOOLS.head(1).with_columns(pl.lit("361").alias("estab"))
    with pytest.raises(ValueError, match="4-digit establishment number"):
        _pupils(short_estab)
    shared = SCHOOLS.head(2).with_columns(pl.lit("201").alias("la_code"), pl.lit("3614").alias("estab"))
    with pytest.raises(ValueError, match="UPNs could collide"):
        _pupils(shared)


def test_no_countable_school_gives_no_batch() -> None:
    uncountable = SCHOOLS.filter(pl.col("urn").is_in(["100007", "100008"]))

    assert list(synthetic_batches(uncountable, DEFAULT_NEED_MIX, YEAR, "spring", 11)) == []
