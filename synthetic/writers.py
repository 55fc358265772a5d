"""Synthetic pupil-level census returns, written as files a school or trust would send.

The schools' published counts come from `fct_school_census` for the academic year (the year's January
census serves every term), the need mix from `fct_la_ehcp` (England, the latest January loaded) or, if none
is loaded, the committed January 2025 mix (synthetic/census.py). Files are written under temporary names
beside their targets and renamed when complete (core.files), so a file that exists is whole.

- one file per school: `<laestab>_<AUT|SPR|SUM>_<2023-24>.csv` or `.xml`;
- `combined=True` (CSV only): one `pupil_census_<selection>_<term>_<2023-24>.csv` for all selected schools,
  written batch by batch so the national file (~9.1 million rows) never sits in memory whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import IO, Literal
from xml.sax.saxutils import escape

import polars as pl

from sendflow.core.files import atomic_path, atomic_write_bytes
from sendflow.core.vocabulary import ENGLAND_LA_CODE, SYNTHETIC_MARK
from sendflow.synthetic.census import (
    DEFAULT_NEED_MIX,
    DEFAULT_NEED_MIX_YEAR,
    PUPIL_COLUMNS,
    SEN_TYPES,
    synthetic_batches,
)
from sendflow.transforms.common import normalise_academic_year
from sendflow.transforms.pupil_census import TERM_CODES, census_day_of, census_term
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query, read_table

FileFormat = Literal["csv", "xml"]
SCHOOL_COLUMNS = ("urn", "la_code", "estab", "school_type", "total_pupils", "ehc_plan", "sen_support",
                  "fsm_pupils", "girls", "boys")  # fmt: skip
# Items of a PupilOnRoll in the order written; SEN types go in their SENtypes block after SENprovision.
PUPIL_ITEMS = ("UPN", "Surname", "Forename", "DOB", "Sex", "NCyearActual", "EnrolStatus", "FSMeligible",
               "SENprovision")  # fmt: skip
XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'


class SynthError(ValueError):
    """The warehouse cannot give what was asked for (no census for the year, no such school or trust)."""


@dataclass(frozen=True)
class SynthSummary:
    paths: list[Path]
    schools: int  # schools with pupils written
    pupils: int
    not_published: tuple[str, ...]  # selected URNs whose counts are NULL: skipped
    empty: tuple[str, ...]  # selected URNs with no pupils on roll: no file
    need_mix: str  # where the need mix came from
    academic_year: str
    term: str
    seed: int
    file_format: str

    def lines(self, shown: int = 10) -> list[str]:
        """What was written, for people: the first files, then the counts and anything skipped."""
        lines = [str(path) for path in self.paths[:shown]]
        if len(self.paths) > shown:
            lines.append(f"... and {len(self.paths) - shown:,} more in {self.paths[0].parent}")
        lines.append(
            f"wrote {len(self.paths):,} {self.file_format.upper()} file(s): {self.schools:,} school(s), "
            f"{self.pupils:,} pupil(s), {self.academic_year} {self.term}, seed {self.seed}; need mix: {self.need_mix}"
        )
        if self.not_published:
            lines.append(
                f"skipped {len(self.not_published)} school(s) whose counts are not published: "
                + ", ".join(self.not_published[:shown])
            )
        if self.empty:
            lines.append(f"no pupils on roll at {len(self.empty)} school(s): {', '.join(self.empty[:shown])}")
        return lines


def generate_census(
    warehouse: Warehouse,
    *,
    urns: Sequence[str] | None = None,
    trust_id: str | None = None,
    national: bool = False,
    academic_year: str,
    term: str,
    file_format: FileFormat,
    seed: int,
    out_dir: Path,
    combined: bool = False,
) -> SynthSummary:
    """Write synthetic returns for the selected schools (exactly one of `urns`, `trust_id`, `national`); returns
    the files written with the counts of schools and pupils."""
    if sum((urns is not None, trust_id is not None, national)) != 1:
        raise ValueError("select schools by exactly one of urns, trust_id or national")
    if file_format not in ("csv", "xml"):
        raise ValueError(f"unknown file format {file_format!r}: csv or xml")
    if combined and file_format != "csv":
        raise ValueError("a combined file is CSV only: an XML return is one school's")
    year = normalise_academic_year(academic_year)
    term_name = census_term(term)
    census_day = census_day_of(term_name, year)

    census = _published_census(warehouse, year)
    if urns is not None:
        selected, label = _by_urn(census, urns, year), "schools"
    elif trust_id is not None:
        selected = _by_trust(warehouse, census, trust_id.strip(), year, census_day)
        label = "trust" + re.sub(r"[^A-Za-z0-9_-]", "_", trust_id.strip())  # a file name, whatever the ID holds
    else:
        selected, label = census, "national"
    selected = selected.sort("la_code", "estab", "urn")
    counted = pl.all_horizontal(pl.col("total_pupils", "ehc_plan", "sen_support").is_not_null())
    not_published = tuple(selected.filter(~counted)["urn"].to_list())
    empty = tuple(selected.filter(counted & (pl.col("total_pupils") == 0))["urn"].to_list())

    need_mix, need_source = need_mix_from(warehouse)
    batches = synthetic_batches(selected.select(SCHOOL_COLUMNS), need_mix, year, term_name, seed)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"{SYNTHETIC_MARK}_{TERM_CODES[term_name]}_{year.replace('/', '-')}"
    if combined:
        path = out_dir / f"pupil_census_{label}_{stem}.csv"
        pupils = _write_combined(batches, path)
        paths = [path]
    elif file_format == "csv":
        paths, pupils = _write_per_school(batches, out_dir, f"{stem}.csv", _csv_files)
    else:
        names = _school_names(warehouse, census_day)
        paths, pupils = _write_per_school(batches, out_dir, f"{stem}.xml", lambda batch: _xml_files(batch, names))
    schools = selected.height - len(not_published) - len(empty)
    return SynthSummary(paths, schools, pupils, not_published, empty, need_source, year, term_name, seed, file_format)


def _published_census(warehouse: Warehouse, year: str) -> pl.DataFrame:
    # `year` has been normalised to NNNN/NN, so it is safe inside the SQL text.
    census = read_table(warehouse, "fct_school_census", f"academic_year = '{year}'")
    if census.is_empty():
        loaded = query(warehouse, "SELECT DISTINCT academic_year FROM fct_school_census ORDER BY academic_year")
        years = ", ".join(str(y) for y in loaded["academic_year"].to_list()) if loaded.height else "none"
        raise SynthError(
            f"no published school census for {year} is loaded (years loaded: {years}); ingest that year's "
            "performance-tables england_census file first"
        )
    return census


def _by_urn(census: pl.DataFrame, urns: Sequence[str], year: str) -> pl.DataFrame:
    wanted = list(dict.fromkeys(u.strip() for u in urns if u.strip()))
    if not wanted:
        raise SynthError("no URNs given")
    missing = sorted(set(wanted) - set(census["urn"].to_list()))
    if missing:
        raise SynthError(f"no published {year} census for URN(s) {', '.join(missing)}")
    return census.filter(pl.col("urn").is_in(wanted))


def _valid_on(day: date) -> str:
    return f"valid_from <= '{day.isoformat()}' AND (valid_to IS NULL OR valid_to > '{day.isoformat()}')"


def _by_trust(warehouse: Warehouse, census: pl.DataFrame, trust_id: str, year: str, day: date) -> pl.DataFrame:
    """Schools whose dim_school version valid on the census day has this trust."""
    members = read_table(warehouse, "dim_school", _valid_on(day)).filter(pl.col("trust_id") == trust_id)
    if members.is_empty():
        raise SynthError(
            f"trust {trust_id} has no schools on {day.isoformat()} in dim_school (load a GIAS register with "
            "trusts, or group links, that covers that day)"
        )
    selected = census.filter(pl.col("urn").is_in(members["urn"].to_list()))
    if selected.is_empty():
        raise SynthError(
            f"none of trust {trust_id}'s {members.height} school(s) on {day.isoformat()} has a published "
            f"{year} census (URNs {', '.join(members['urn'].sort().head(10).to_list())})"
        )
    return selected


def need_mix_from(warehouse: Warehouse) -> tuple[pl.DataFrame, str]:
    """England's EHC plans by primary need for the latest January in fct_la_ehcp, else the committed
    January 2025 mix; with a note of which."""
    rows = query(
        warehouse,
        "SELECT calendar_year, breakdown, value FROM fct_la_ehcp "
        f"WHERE la_code = '{ENGLAND_LA_CODE}' AND measure = 'caseload' "
        "AND breakdown LIKE 'need:%' AND value IS NOT NULL",
    )
    if rows.height:
        latest: int = rows.select(pl.col("calendar_year").cast(pl.Int64).max()).item()
        mix = rows.filter(pl.col("calendar_year") == latest).select(
            pl.col("breakdown").cast(pl.String).str.strip_prefix("need:").str.to_uppercase().alias("need"),
            pl.col("value").cast(pl.Float64).alias("pupils"),
        )
        mix = mix.filter(pl.col("need").is_in(SEN_TYPES) & (pl.col("pupils") > 0))  # 'unknown' is no SEN type
        if mix.height:
            return mix, f"fct_la_ehcp, England, January {latest}"
    return DEFAULT_NEED_MIX, f"committed default, England, January {DEFAULT_NEED_MIX_YEAR}"


def _school_names(warehouse: Warehouse, day: date) -> dict[str, str]:
    """Each school's name on the census day, else in its latest version; none if no register is loaded."""
    versions = read_table(warehouse, "dim_school").filter(pl.col("school_name").is_not_null())
    valid = (pl.col("valid_from") <= day) & (pl.col("valid_to").is_null() | (pl.col("valid_to") > day))
    named = versions.sort(valid, "valid_from").unique("urn", keep="last")
    return dict(zip(named["urn"].to_list(), named["school_name"].to_list(), strict=True))


def _write_combined(batches: Iterator[pl.DataFrame], path: Path) -> int:
    pupils = 0
    with _atomic(path) as handle:
        for batch in batches:
            batch.select(PUPIL_COLUMNS).write_csv(handle, include_header=pupils == 0)
            pupils += batch.height
        if pupils == 0:
            pl.DataFrame(schema=dict.fromkeys(PUPIL_COLUMNS, pl.String)).write_csv(handle)
    return pupils


# A batch's schools as (LA and establishment number, pupils, the file's bytes).
Rendered = Iterator[tuple[str, int, bytes]]


def _write_per_school(
    batches: Iterator[pl.DataFrame], out_dir: Path, suffix: str, render: Callable[[pl.DataFrame], Rendered]
) -> tuple[list[Path], int]:
    paths: list[Path] = []
    pupils = 0
    for batch in batches:
        for laestab, count, content in render(batch):
            path = out_dir / f"{laestab}_{suffix}"
            paths.append(atomic_write_bytes(path, content))
            pupils += count
    return paths, pupils


def _csv_files(batch: pl.DataFrame) -> Rendered:
    for school in batch.partition_by("urn", maintain_order=True):
        laestab = school["LEA"][0] + school["Estab"][0]
        yield laestab, school.height, school.select(PUPIL_COLUMNS).write_csv().encode("utf-8")


def _element(name: str, value: pl.Expr, indent: str) -> pl.Expr:
    """`<name>value</name>` on its own line, escaped; nothing where the value is NULL."""
    text = value.str.replace_all("&", "&amp;", literal=True)
    text = text.str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True)
    line = pl.concat_str(pl.lit(f"{indent}<{name}>"), text, pl.lit(f"</{name}>\n"))
    return pl.when(value.is_not_null()).then(line).otherwise(pl.lit(""))


def _sen_type(column: str, rank: int) -> pl.Expr:
    inner = _element("SENtypeRank", pl.lit(str(rank)), " " * 10) + _element("SENtype", pl.col(column), " " * 10)
    block = pl.concat_str(pl.lit(" " * 8 + "<SENtype>\n"), inner, pl.lit(" " * 8 + "</SENtype>\n"))
    return pl.when(pl.col(column).is_not_null()).then(block).otherwise(pl.lit(""))


def _xml_files(batch: pl.DataFrame, names: dict[str, str]) -> Rendered:
    """Each school's return in the layout of transforms/pupil_census.py; the pupils' elements are built as
    text by Polars for the whole batch at once (per school, the national run would take a minute)."""
    indent = " " * 6
    has_sen = pl.col("SENtype1").is_not_null() | pl.col("SENtype2").is_not_null()
    sen_types = pl.concat_str(
        pl.lit(indent + "<SENtypes>\n"), _sen_type("SENtype1", 1), _sen_type("SENtype2", 2),
        pl.lit(indent + "</SENtypes>\n"),
    )  # fmt: skip
    pupil = pl.concat_str(
        pl.lit("    <PupilOnRoll>\n"),
        *[_element(item, pl.col(item), indent) for item in PUPIL_ITEMS],
        pl.when(has_sen).then(sen_types).otherwise(pl.lit("")),
        _element("Postcode", pl.col("Postcode"), indent),
        pl.lit("    </PupilOnRoll>\n"),
    )
    schools = batch.group_by("urn", maintain_order=True).agg(
        pl.col("LEA", "Estab", "Term", "ReferenceDate").first(),
        pl.len().alias("pupils"),
        pupil.str.join("").alias("body"),
    )
    for school in schools.iter_rows(named=True):
        name = names.get(school["urn"])
        header = (
            f"{XML_DECLARATION}<SchoolCensus>\n  <Header>\n    <CollectionDetails>\n"
            f"      <Term>{school['Term']}</Term>\n      <ReferenceDate>{school['ReferenceDate']}</ReferenceDate>\n"
            f"    </CollectionDetails>\n    <Source>\n      <LEA>{school['LEA']}</LEA>\n"
            f"      <Estab>{school['Estab']}</Estab>\n"
            + (f"      <SchoolName>{escape(name)}</SchoolName>\n" if name else "")
            + "    </Source>\n  </Header>\n  <Pupils>\n"
        )
        content = header + school["body"] + "  </Pupils>\n</SchoolCensus>\n"
        yield school["LEA"] + school["Estab"], school["pupils"], content.encode("utf-8")


@contextmanager
def _atomic(path: Path) -> Iterator[IO[bytes]]:
    """A handle on a temporary file beside `path`, renamed into place only once the block finishes (and the
    handle is closed) without error, so a file that exists is whole."""
    with atomic_path(path) as temporary, temporary.open("wb") as handle:
        yield handle
