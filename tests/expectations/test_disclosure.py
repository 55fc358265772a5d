"""What a personal dataset's reasons and records may show: the same answer from Python and from Polars,
and from both engines, whatever the cell holds."""

from __future__ import annotations

import polars as pl
import pytest

from sendflow.expectations.pupil_census import DISCLOSE, SUITE
from sendflow.expectations.runner import Seen, validate
from sendflow.expectations.suite import INVALID, WITHHELD, one_of
from sendflow.transforms.common import SourceInfo
from sendflow.transforms.pupil_census import PUPIL_CSV, build
from tests.pupils import School, personal_values, pupils
from tests.transforms.test_pupil_census import KEY, raw

SCHOOLS = pl.DataFrame({"laestab": ["2013614", "2022019"], "urn": ["100000", "100008"]})


def transform(rows: list[dict[str, str]]) -> pl.DataFrame:
    source = SourceInfo(PUPIL_CSV.name, "p.csv", lookups={"schools": SCHOOLS}, pupil_key=KEY)
    return build(raw(rows), source)["fct_pupil_census"]


HOSTILE = ["201", "3614", "spr", "SPR", "K", "k", "ASD", "asd", "N1", "True", "1234\n", "\n201", "١٢٣", "２０１",
           " 201", "", "  ", None, "G201361416001", "NW1 1AB", "2016-10-03", "Adams", "201 ", "2019/20"]  # fmt: skip


@pytest.mark.parametrize("column", [*sorted(DISCLOSE.formats), "Surname", "ReferenceDate"])
def test_python_and_polars_show_the_same_for_any_cell(column: str) -> None:
    by_polars = pl.DataFrame({column: HOSTILE}, schema={column: pl.String}).select(DISCLOSE.expr(column))[column]

    assert by_polars.to_list() == [DISCLOSE.shown(column, value) for value in HOSTILE]


def test_only_a_declared_column_in_its_format_is_shown() -> None:
    assert DISCLOSE.shown("LEA", "201") == "201"
    assert [DISCLOSE.shown("LEA", v) for v in ("1234\n", "١٢٣", "２０１", "G201361416001")] == [INVALID] * 4
    assert DISCLOSE.shown("primary_need", "G201361416001") == INVALID
    assert DISCLOSE.shown("Surname", "Adams") == WITHHELD and DISCLOSE.shown("ReferenceDate", "2016-10-03") == WITHHELD
    assert DISCLOSE.shown("SENtype1", "") == "" and DISCLOSE.shown("SENtype1", None) is None  # blanks carry nothing


def test_a_code_set_is_written_longest_first_and_refuses_anything_but_codes() -> None:
    assert one_of({"N", "N1", "R"}) == "(?:N1|N|R)"
    with pytest.raises(ValueError, match="plain ASCII codes"):
        one_of({"a|b"})


def test_both_engines_hold_back_the_same_rows_and_show_the_same() -> None:
    rows = pupils(School("202", "2019", pupils=12, ehc=2, support=3))
    upns = [row["UPN"] for row in rows]
    rows[2] |= {"SENtype1": upns[5], "Sex": "ADAMS", "NCyearActual": rows[7]["DOB"]}  # a shifted row
    rows[4] |= {"UPN": upns[3], "LEA": "201", "Estab": "3614"}  # one pupil single-registered at two schools
    rows[6] |= {"UPN": upns[8], "LEA": "201", "Estab": "3614", "EnrolStatus": "S"}  # dual registration: kept
    table, records = transform(rows), raw(rows).drop(PUPIL_CSV.personal)

    by_gx = validate(table, SUITE, records, engine="gx")
    by_polars = validate(table, SUITE, records, engine="polars")

    assert by_gx.quarantine.equals(by_polars.quarantine)
    reasons = dict(by_gx.quarantine.select("source_row_number", "reasons").rows())
    assert set(reasons) == {4, 5, 6}  # rows[2] (shifted) and rows[3], rows[4] (the same pupil twice)
    assert "sex_known (sex=invalid); primary_need_known (primary_need=invalid)" in reasons[4]
    assert reasons[5] == "one_school_per_single_registration (also_single_registered_at_row=6)"
    assert reasons[6].endswith("one_school_per_single_registration (also_single_registered_at_row=5)")
    text = by_gx.quarantine.write_csv()
    assert not [s for s in personal_values(rows) if s in text]


def test_a_key_seen_in_an_earlier_batch_holds_back_the_later_row_only() -> None:
    first = pupils(School("201", "3614", pupils=6, ehc=1, support=1))
    second = pupils(School("202", "2019", pupils=6, ehc=1, support=1))
    second[2] |= {"UPN": first[4]["UPN"]}
    table = transform([*first, *second])
    seen = Seen()

    earlier = validate(table.filter(pl.col("la_code") == "201"), SUITE, seen=seen)
    later = validate(table.filter(pl.col("la_code") == "202"), SUITE, seen=seen)

    assert earlier.quarantine.is_empty()
    assert later.quarantine.select("source_row_number", "reasons").rows() == [
        (10, "one_school_per_single_registration (also_single_registered_at_row=6)")
    ]


def test_a_upn_in_another_script_s_digits_is_not_a_usable_upn() -> None:
    rows = pupils(School("201", "3614", pupils=4, ehc=0, support=0))
    arabic = rows[1]["UPN"][0] + rows[1]["UPN"][1:].translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    rows[1] |= {"UPN": arabic}

    reasons = dict(validate(transform(rows), SUITE).quarantine.select("source_row_number", "reasons").rows())

    assert reasons == {3: "upn_valid (upn_status='bad_characters')"}
