"""The school register: performance-tables school information and GIAS edubasealldata snapshots,
turned into a type-2 school dimension and a trust dimension."""

from __future__ import annotations

from datetime import date

import polars as pl

from sendflow.core.vocabulary import ACADEMY_TRUST_TYPES, TrustType
from sendflow.transforms.common import (
    INVALID_CELLS,
    SOURCE_ROW,
    CellKind,
    Layout,
    SourceError,
    SourceInfo,
    academic_year_start,
    cell_value,
    cells,
    code_text,
    extract_date,
    harmonise_columns,
    invalid_cells,
    match_columns,
    parse_cells,
)

PERF_SCHOOL_INFORMATION = Layout(
    name="perf_tables_school_information",
    dataset="school_register",
    description="performance-tables england_school_information (GIAS-derived register, no trusts)",
    required=(
        "URN",
        "LA",
        "ESTAB",
        "LAESTAB",
        "SCHNAME",
        "SCHSTATUS",
        "OPENDATE",
        "CLOSEDATE",
        "MINORGROUP",
        "SCHOOLTYPE",
        "ISPRIMARY",
        "ISSECONDARY",
        "ISPOST16",
    ),
    optional=("LANAME", "AGELOW", "AGEHIGH"),
    year_from="external",
    cells=(*cells(CellKind.DATE, "OPENDATE", "CLOSEDATE"), *cells(CellKind.COUNT, "AGELOW", "AGEHIGH")),
)
GIAS_ESTABLISHMENTS = Layout(
    name="gias_edubasealldata",
    dataset="school_register",
    description="GIAS edubasealldata establishment extract",
    required=(
        "URN",
        "LA (code)",
        "EstablishmentNumber",
        "EstablishmentName",
        "TypeOfEstablishment (name)",
        "EstablishmentStatus (name)",
        "OpenDate",
        "CloseDate",
        "PhaseOfEducation (name)",
    ),
    optional=(
        "EstablishmentTypeGroup (name)",
        "Trusts (code)",
        "Trusts (name)",
        "TrustSchoolFlag (name)",
        "LastChangedDate",
        "StatutoryLowAge",
        "StatutoryHighAge",
    ),
    year_from="snapshot",
    cells=(
        *cells(CellKind.DATE, "OpenDate", "CloseDate", "LastChangedDate"),
        *cells(CellKind.COUNT, "StatutoryLowAge", "StatutoryHighAge"),
    ),
)
LAYOUTS: tuple[Layout, ...] = (PERF_SCHOOL_INFORMATION, GIAS_ESTABLISHMENTS)

OPEN_STATUSES = ("Open", "Open, but proposed to close")

TRUST_TYPES = {
    "Supported by a multi-academy trust": TrustType.MULTI_ACADEMY.value,
    "Supported by a single-academy trust": TrustType.SINGLE_ACADEMY.value,
    "Supported by a trust": "Trust",
}
# The attributes whose change opens a new dim_school version.
SNAPSHOT_COLUMNS: tuple[str, ...] = (
    "urn", "snapshot_date", "laestab", "la_code", "estab", "school_name", "establishment_type",
    "establishment_group", "phase", "school_status", "is_open", "open_date", "close_date",
    "statutory_low_age", "statutory_high_age", "trust_id", "trust_name", "trust_type", "has_trust_info",
    "source_layout", INVALID_CELLS, SOURCE_ROW,
)  # fmt: skip


def _phase_from_flags() -> pl.Expr:
    primary, secondary, post16 = (pl.col(c).str.strip_chars() == "1" for c in ("ISPRIMARY", "ISSECONDARY", "ISPOST16"))
    return (
        pl.when(primary & secondary).then(pl.lit("All-through"))
        .when(primary).then(pl.lit("Primary"))
        .when(secondary).then(pl.lit("Secondary"))
        .when(post16).then(pl.lit("16 plus"))
        .otherwise(pl.lit("Not applicable"))
    )  # fmt: skip


def _perf_snapshot_date(source: SourceInfo) -> date:
    # The register published with a year's tables describes the schools of that year.
    if source.snapshot_date is not None:
        return source.snapshot_date
    if source.academic_year is None:
        raise SourceError(
            "the performance-tables school information does not name its year; an academic year is required"
        )
    return date(academic_year_start(source.academic_year), 9, 1)


# Where each register attribute sits in each layout; _register_columns types them the same way for both.
PERF_SOURCE_COLUMNS = {
    "urn": "URN", "la_code": "LA", "estab": "ESTAB", "laestab": "LAESTAB", "school_name": "SCHNAME",
    "establishment_type": "SCHOOLTYPE", "establishment_group": "MINORGROUP", "school_status": "SCHSTATUS",
    "open_date": "OPENDATE", "close_date": "CLOSEDATE", "statutory_low_age": "AGELOW", "statutory_high_age": "AGEHIGH",
}  # fmt: skip
GIAS_SOURCE_COLUMNS = {
    "urn": "URN", "la_code": "LA (code)", "estab": "EstablishmentNumber", "school_name": "EstablishmentName",
    "establishment_type": "TypeOfEstablishment (name)", "establishment_group": "EstablishmentTypeGroup (name)",
    "phase": "PhaseOfEducation (name)", "school_status": "EstablishmentStatus (name)", "open_date": "OpenDate",
    "close_date": "CloseDate", "statutory_low_age": "StatutoryLowAge", "statutory_high_age": "StatutoryHighAge",
    "trust_name": "Trusts (name)",
}  # fmt: skip
_CODES = ("urn", "la_code", "estab", "laestab", "trust_id")


def _register_columns(layout: Layout, sources: dict[str, str]) -> list[pl.Expr]:
    """Codes as text, the layout's typed cells (dates, ages) as their kind, the rest as stripped text; a typed
    cell that does not parse is named in invalid_cells (the register has no status columns)."""
    typed_cells = {column for column, _ in layout.cells}

    def typed(target: str, source: str) -> pl.Expr:
        if target in _CODES:
            return code_text(source)
        if source in typed_cells:
            return cell_value(source)
        return pl.col(source).str.strip_chars().replace("", None)

    status = pl.col(sources["school_status"]).str.strip_chars()
    return [
        *(typed(target, source).alias(target) for target, source in sources.items()),
        status.is_in(OPEN_STATUSES).alias("is_open"),
        invalid_cells(column for column, _ in layout.cells),
        pl.col(SOURCE_ROW),
    ]


def _from_perf_tables(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    return parse_cells(harmonise_columns(raw, PERF_SCHOOL_INFORMATION), PERF_SCHOOL_INFORMATION).select(
        *_register_columns(PERF_SCHOOL_INFORMATION, PERF_SOURCE_COLUMNS),
        pl.lit(_perf_snapshot_date(source)).alias("snapshot_date"),
        _phase_from_flags().alias("phase"),
        pl.lit(None, dtype=pl.String).alias("trust_id"),
        pl.lit(None, dtype=pl.String).alias("trust_name"),
        pl.lit(None, dtype=pl.String).alias("trust_type"),
        pl.lit(False).alias("has_trust_info"),
        pl.lit(PERF_SCHOOL_INFORMATION.name).alias("source_layout"),
    )


def _from_gias(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    has_trust_info = bool(match_columns(raw.columns, ["Trusts (code)"]))
    frame = parse_cells(harmonise_columns(raw, GIAS_ESTABLISHMENTS), GIAS_ESTABLISHMENTS)
    snapshot = extract_date(frame, source, "LastChangedDate", "GIAS extract")
    trust_flag = pl.col("TrustSchoolFlag (name)").str.strip_chars()
    trust_type = trust_flag.replace_strict(TRUST_TYPES, default=None)
    return frame.select(
        *_register_columns(GIAS_ESTABLISHMENTS, GIAS_SOURCE_COLUMNS),
        # Foundation trusts are listed too; dim_trust holds academy trusts only.
        pl.when(trust_type.is_in(ACADEMY_TRUST_TYPES)).then(code_text("Trusts (code)")).alias("trust_id"),
        (code_text("LA (code)") + code_text("EstablishmentNumber")).alias("laestab"),
        pl.lit(snapshot, dtype=pl.Date).alias("snapshot_date"),
        trust_type.alias("trust_type"),
        pl.lit(has_trust_info).alias("has_trust_info"),
        pl.lit(GIAS_ESTABLISHMENTS.name).alias("source_layout"),
    )


def school_register_snapshot(raw: pl.DataFrame, source: SourceInfo) -> pl.DataFrame:
    """One row per establishment in one register snapshot, in one vocabulary whatever the source."""
    if source.layout == PERF_SCHOOL_INFORMATION.name:
        return _from_perf_tables(raw, source).select(SNAPSHOT_COLUMNS)
    if source.layout == GIAS_ESTABLISHMENTS.name:
        return _from_gias(raw, source).select(SNAPSHOT_COLUMNS)
    raise ValueError(f"school_register has no layout {source.layout!r}")


def build(raw: pl.DataFrame, source: SourceInfo) -> dict[str, pl.DataFrame]:
    return {"school_register_snapshot": school_register_snapshot(raw, source)}
