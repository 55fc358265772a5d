"""A trust's own pupil-level school census returns, pseudonymised on the way in.

Accepted layouts (item names are the DfE Common Basic Data Set's):

- **CSV**: one row per pupil with the columns `LEA`, `Estab`, `Term` (AUT, SPR, SUM), `ReferenceDate`
  (the census day, YYYY-MM-DD or DD/MM/YYYY), `UPN`, `DOB`, `Sex` (M, F), `NCyearActual`, `SENprovision`
  (E, K, N; legacy S counts as E), and optionally `Surname`, `Forename`, `EnrolStatus` (C, M, S, G),
  `FSMeligible` (true/false, 1/0, Y/N), `SENtype1`, `SENtype2` (primary and secondary need by rank),
  `Postcode`. One file may hold several schools.
- **XML**: a school census return, root `SchoolCensus`: `Header/CollectionDetails/Term` and
  `ReferenceDate`, `Header/Source/LEA` and `Estab`, then one `PupilOnRoll` per pupil with the items above
  as child elements, SEN types as `SENtypes/SENtype` each holding `SENtypeRank` and `SENtype`. The intake
  flattens it into the CSV layout (intake/census_xml.py).

UPN, names, date of birth and postcode never leave this module: the UPN becomes `pupil_key`, an
HMAC-SHA256 of the UPN (stripped of surrounding space) under the key from settings, and the date of birth
becomes the age on census day. The UPN's validity is kept as `upn_status` (never the UPN).
"""

from __future__ import annotations

import hashlib
from datetime import date

import polars as pl

from sendflow.core.vocabulary import CensusTerm
from sendflow.transforms.common import (
    SOURCE_ROW,
    Layout,
    SourceError,
    SourceInfo,
    academic_year_start,
    code_text,
    harmonise_columns,
    spring_census_date,
)
from sendflow.transforms.upn import upn_status

PUPIL_CSV = Layout(
    name="pupil_census_csv",
    dataset="pupil_census",
    description="pupil-level school census return (CSV export or flattened XML, CBDS item names)",
    required=("LEA", "Estab", "Term", "ReferenceDate", "UPN", "DOB", "Sex", "NCyearActual", "SENprovision"),
    optional=("Surname", "Forename", "EnrolStatus", "FSMeligible", "SENtype1", "SENtype2", "Postcode"),
    year_from="column",
    # Never copied out of the raw file: not to silver, SQL, quarantine records, logs or results.
    personal=("UPN", "Surname", "Forename", "DOB", "Postcode"),
)
LAYOUTS: tuple[Layout, ...] = (PUPIL_CSV,)

# The CBDS term codes a return writes; a term's own name (any case) is read as well.
TERM_CODES: dict[CensusTerm, str] = {CensusTerm.AUTUMN: "AUT", CensusTerm.SPRING: "SPR", CensusTerm.SUMMER: "SUM"}
TERMS: dict[str, CensusTerm] = {
    **{code: term for term, code in TERM_CODES.items()},
    **{term.upper(): term for term in CensusTerm},
}


def census_term(text: str) -> CensusTerm:
    """'AUT', 'spring', ' Summer ' -> the census term; ValueError for anything else."""
    term = TERMS.get(text.strip().upper())
    if term is None:
        raise ValueError(f"unknown term {text!r}: give autumn, spring or summer")
    return term


PROVISION = {"E": "E", "K": "K", "N": "N", "S": "E"}  # S (statement) was folded into E by 2018
PRE_2014_PROVISION = {"A": "School Action", "P": "School Action Plus"}
FSM_VALUES = {"true": True, "1": True, "y": True, "yes": True, "false": False, "0": False, "n": False, "no": False}

COLUMNS: tuple[str, ...] = (
    "pupil_key", "urn", "academic_year", "census_term", "census_date", "la_code", "estab", "laestab",
    "nc_year", "age_at_census", "sex", "sen_provision", "primary_need", "secondary_need", "is_fsm_eligible",
    "enrol_status", "upn_status", "source_layout", SOURCE_ROW,
)  # fmt: skip


def pupil_key(upns: pl.Series, key: bytes) -> pl.Series:
    """HMAC-SHA256 (hex) of each UPN under `key`, with the pads computed once (RFC 2104), ~0.5 us a UPN."""
    block = key if len(key) <= 64 else hashlib.sha256(key).digest()
    block = block.ljust(64, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in block)).copy
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in block)).copy

    def keyed(upn: bytes) -> bytes:
        first = inner()
        first.update(upn)
        second = outer()
        second.update(first.digest())
        return second.digest()

    # Bytes straight from Arrow, raw digests back, hex in one vectorised pass: encoding 9 million strings
    # one by one in Python would cost as much as hashing them (a quarter of this function's time, measured).
    digests = [keyed(u) if u else None for u in upns.cast(pl.Binary).to_list()]
    return pl.Series(upns.name, digests, dtype=pl.Binary).bin.encode("hex")


_DAY, _BORN = "_census_day", "_born"  # working columns, dropped by the final select


def _census_day(column: str) -> pl.Expr:
    text = pl.col(column).str.strip_chars()
    return pl.coalesce(text.str.to_date("%Y-%m-%d", strict=False), text.str.to_date("%d/%m/%Y", strict=False))


def _academic_year(day: pl.Expr) -> pl.Expr:
    start = pl.when(day.dt.month() >= 9).then(day.dt.year()).otherwise(day.dt.year() - 1)
    return start.cast(pl.String) + "/" + ((start + 1) % 100).cast(pl.String).str.zfill(2)


def _as_yyyymmdd(day: pl.Expr) -> pl.Expr:
    return day.dt.year().cast(pl.Int32) * 10_000 + day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)


def _age_on(day: pl.Expr, born: pl.Expr) -> pl.Expr:
    """Whole years from `born` to `day`: YYYYMMDD minus YYYYMMDD, floor-divided by 10,000, is the year
    difference less one until the birthday (-1 for a birth after the day), in one integer pass."""
    return (_as_yyyymmdd(day) - _as_yyyymmdd(born)) // 10_000


def _need(column: str) -> pl.Expr:
    return pl.col(column).str.strip_chars().str.to_uppercase().replace("", None)


def refuse_pre_2014(frame: pl.DataFrame) -> None:
    """School Action (A) and School Action Plus (P) ended with the 2014 SEND code of practice."""
    legacy = frame.filter(pl.col("SENprovision").str.strip_chars().str.to_uppercase().is_in(list(PRE_2014_PROVISION)))
    if not legacy.is_empty():
        first = legacy.row(0, named=True)
        code = first["SENprovision"].strip().upper()
        raise SourceError(
            f"SENprovision '{code}' ({PRE_2014_PROVISION[code]}) on row {first[SOURCE_ROW]} and "
            f"{legacy.height - 1} other row(s): this is pre-2014 data; since the 2014 SEND code of practice "
            "SEN support is 'K'. Recode A and P as K, or load a return from 2014/15 on"
        )


def fct_pupil_census(raw: pl.DataFrame, source: SourceInfo, schools: pl.DataFrame | None = None) -> pl.DataFrame:
    """One row per pupil per school per census. `schools` maps laestab to urn (from the school register)."""
    if source.pupil_key is None:
        raise SourceError("pupil-level data needs a pseudonymisation key and none was given")
    frame = harmonise_columns(raw, PUPIL_CSV)
    refuse_pre_2014(frame)
    # Each date is parsed once, in its own pass: the census day feeds three columns and the age, and an
    # eager select would parse it again for each (a third of this function's time at national scale).
    frame = frame.with_columns(_census_day("ReferenceDate").alias(_DAY), _census_day("DOB").alias(_BORN))
    day = pl.col(_DAY)
    born = pl.col(_BORN)
    provision = pl.col("SENprovision").str.strip_chars().str.to_uppercase()
    fsm = pl.col("FSMeligible").str.strip_chars().str.to_lowercase()
    typed = frame.select(
        pl.col("UPN"),
        code_text("LEA").alias("la_code"),
        code_text("Estab").alias("estab"),
        (code_text("LEA") + code_text("Estab")).alias("laestab"),
        pl.col("Term")
        .str.strip_chars()
        .str.to_uppercase()
        .replace_strict(TERMS, default=None, return_dtype=pl.String)
        .alias("census_term"),
        day.alias("census_date"),
        _academic_year(day).alias("academic_year"),
        code_text("NCyearActual").str.to_uppercase().alias("nc_year"),
        _age_on(day, born).cast(pl.Int64).alias("age_at_census"),
        pl.col("Sex").str.strip_chars().str.to_uppercase().alias("sex"),
        provision.replace_strict(PROVISION, default=None).alias("sen_provision"),
        _need("SENtype1").alias("primary_need"),
        _need("SENtype2").alias("secondary_need"),
        fsm.replace_strict(FSM_VALUES, default=None, return_dtype=pl.Boolean).alias("is_fsm_eligible"),
        code_text("EnrolStatus").str.to_uppercase().alias("enrol_status"),
        upn_status("UPN").alias("upn_status"),
        pl.lit(PUPIL_CSV.name).alias("source_layout"),
        pl.col(SOURCE_ROW),
    )
    keyed = typed.with_columns(pupil_key(typed["UPN"].str.strip_chars(), source.pupil_key).alias("pupil_key")).drop(
        "UPN"
    )
    lookup = schools if schools is not None else pl.DataFrame(schema={"laestab": pl.String, "urn": pl.String})
    keyed = keyed.join(lookup.select("laestab", "urn").unique("laestab"), on="laestab", how="left")
    return keyed.select(COLUMNS)


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"fct_pupil_census": fct_pupil_census(raw, source, source.lookups.get("schools"))}


def census_day_of(term: CensusTerm, academic_year: str) -> date:
    """The DfE census day of a term: autumn the first Thursday of October, spring the third Thursday of
    January, summer the third Thursday of May."""
    start = academic_year_start(academic_year)
    if term == CensusTerm.SPRING:
        return spring_census_date(academic_year)
    year, month, nth = (start, 10, 1) if term == CensusTerm.AUTUMN else (start + 1, 5, 3)
    first = date(year, month, 1)
    first_thursday = first.toordinal() + (3 - first.weekday()) % 7
    return date.fromordinal(first_thursday + 7 * (nth - 1))
