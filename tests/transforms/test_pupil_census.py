"""The pupil census transform: pseudonymised keys, typed items, and nothing personal in its output."""

from __future__ import annotations

import hashlib
import hmac
from datetime import date

import polars as pl
import pytest

from sendflow.core.vocabulary import CensusTerm
from sendflow.transforms.common import SOURCE_ROW, SourceError, SourceInfo
from sendflow.transforms.pupil_census import (
    COLUMNS,
    PUPIL_CSV,
    build,
    census_day_of,
    census_term,
    fct_pupil_census,
    pupil_key,
)
from tests.pupils import School, pupils

KEY = b"test-secret-not-for-production"
SCHOOLS = pl.DataFrame({"laestab": ["2022001"], "urn": ["100050"]})


def raw(rows: list[dict[str, str]]) -> pl.DataFrame:
    frame = pl.DataFrame(rows, schema=dict.fromkeys(rows[0], pl.String))
    return frame.with_row_index(SOURCE_ROW, offset=2).with_columns(pl.col(SOURCE_ROW).cast(pl.Int64))


def transform(rows: list[dict[str, str]], key: bytes = KEY) -> pl.DataFrame:
    source = SourceInfo(PUPIL_CSV.name, "p.csv", lookups={"schools": SCHOOLS}, pupil_key=key)
    return build(raw(rows), source)["fct_pupil_census"]


ROWS = pupils(School("202", "2001", pupils=6, ehc=1, support=2))


def test_pupil_key_is_the_hmac_sha256_of_the_upn() -> None:
    keys = pupil_key(pl.Series(["B801200005001", None]), KEY).to_list()

    assert keys[0] == hmac.new(KEY, b"B801200005001", hashlib.sha256).hexdigest()
    assert keys[1] is None


def test_the_same_upn_under_two_keys_gives_two_pupil_keys() -> None:
    first, second = (pupil_key(pl.Series(["B801200005001"]), key)[0] for key in (b"key one", b"key two"))

    assert first != second


def test_output_has_the_contract_columns_and_nothing_personal() -> None:
    frame = transform(ROWS)

    assert tuple(frame.columns) == COLUMNS
    values = {str(v) for row in frame.rows() for v in row}
    for personal in ("UPN", "Surname", "Forename", "DOB", "Postcode"):
        assert not {row[personal] for row in ROWS} & values


def test_items_are_typed() -> None:
    frame = transform(ROWS).sort(SOURCE_ROW)
    first = frame.row(0, named=True)

    assert (first["urn"], first["academic_year"], first["census_term"]) == ("100050", "2023/24", "spring")
    assert first["census_date"] == date(2024, 1, 18)
    assert frame["sen_provision"].to_list() == ["E", "K", "K", "N", "N", "N"]
    assert frame["primary_need"].to_list()[:3] == ["ASD", "SLCN", "SLCN"]
    assert set(frame["upn_status"]) == {"permanent"}
    born = date.fromisoformat(ROWS[0]["DOB"])
    expected_age = 2024 - born.year - (1 if (born.month, born.day) > (1, 18) else 0)
    assert first["age_at_census"] == expected_age


def test_legacy_statement_counts_as_an_ehc_plan() -> None:
    rows = [{**ROWS[0], "SENprovision": "S"}]

    assert transform(rows)["sen_provision"].to_list() == ["E"]


@pytest.mark.parametrize("code", ["A", "P"])
def test_school_action_codes_are_refused_as_pre_2014_data(code: str) -> None:
    rows = [ROWS[0], {**ROWS[1], "SENprovision": code}]

    with pytest.raises(SourceError, match=r"row 3 .*pre-2014 data"):
        transform(rows)


def test_a_school_the_register_does_not_know_has_no_urn() -> None:
    rows = [{**ROWS[0], "Estab": "9999"}]

    assert transform(rows)["urn"].to_list() == [None]


def test_without_a_key_the_transform_refuses() -> None:
    with pytest.raises(SourceError, match="key"):
        fct_pupil_census(raw(ROWS), SourceInfo(PUPIL_CSV.name, "p.csv"))


def test_census_days_follow_the_dfe_calendar() -> None:
    assert census_day_of(CensusTerm.AUTUMN, "2023/24") == date(2023, 10, 5)
    assert census_day_of(CensusTerm.SPRING, "2023/24") == date(2024, 1, 18)
    assert census_day_of(CensusTerm.SUMMER, "2023/24") == date(2024, 5, 16)


@pytest.mark.parametrize(
    ("text", "term"),
    [("AUT", CensusTerm.AUTUMN), (" spr ", CensusTerm.SPRING), ("Summer", CensusTerm.SUMMER), ("SPRING", "spring")],
)
def test_census_term_reads_a_code_or_a_name(text: str, term: CensusTerm) -> None:
    assert census_term(text) == term


def test_an_unknown_census_term_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown term 'winter'"):
        census_term("winter")
