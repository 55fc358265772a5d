"""Read a trust's figures from the warehouse: everything its report shows, for one year.

The warehouse is read only through `warehouse.ledger.query` (one library per SQLite file; see
warehouse/connection.py). SQL values come from validated codes and years or are bound as parameters.
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from sendflow.core.vocabulary import NEED_CODES
from sendflow.reports.model import TrustData
from sendflow.transforms.common import normalise_academic_year
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query

# The bundled group-links file of `make demo`: its schools are real, their trust is invented (ATTRIBUTION.md).
DEMO_MEMBERSHIP_FILE = "demo_trust_allgroupslinksdata20240901.csv"


DEMO_TRUST_ID = "900001"


DEMO_NOTE = (
    "this trust and its membership are invented for the sendflow demo. The schools are real and their figures "
    "are DfE's as published, but they do not form a trust; the pupil-level returns are synthetic."
)


TERM_PREFERENCE = ("spring", "summer", "autumn")  # spring first: only January is published to compare with


# v_la_census_summary's columns, for a trust whose census rows name no LA (validation makes that rare).
LA_CENSUS_SCHEMA = {
    "la_code": pl.String, "la_name": pl.String, "academic_year": pl.String, "schools": pl.Int64,
    "total_pupils": pl.Int64, "ehc_plan": pl.Int64, "sen_support": pl.Int64, "ehc_plan_pct": pl.Float64,
    "sen_support_pct": pl.Float64,
}  # fmt: skip


_NEED_COLUMNS = [f"{kind}_primary_need_{code}" for kind in ("ehc", "sen_support") for code in NEED_CODES]


class ReportError(ValueError):
    """The trust is unknown, or nothing is loaded for it (for the year asked)."""


def in_list(warehouse: Warehouse, values: Sequence[object]) -> str:
    return f"({warehouse.params(len(values))})"


def valid_at(alias: str, day: str) -> str:
    return f"{alias}.valid_from <= {day} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {day})"


def reportable_years(warehouse: Warehouse, trust_id: str) -> list[str]:
    frame = query(
        warehouse,
        f"SELECT DISTINCT academic_year FROM v_trust_send_summary WHERE trust_id = {warehouse.param()} "
        "ORDER BY academic_year",
        [trust_id],
    )
    return [str(y) for y in frame["academic_year"].to_list()] if frame.height else []


def reportable_trusts(warehouse: Warehouse, academic_year: str | None = None) -> list[str]:
    """Trusts with at least one school in a loaded census (in that year, if given)."""
    where = f"WHERE academic_year = {warehouse.param()}" if academic_year else ""
    frame = query(
        warehouse,
        f"SELECT DISTINCT trust_id FROM v_trust_send_summary {where} ORDER BY trust_id",
        [normalise_academic_year(academic_year)] if academic_year else [],
    )
    return [str(t) for t in frame["trust_id"].to_list()] if frame.height else []


def load_trust_data(warehouse: Warehouse, trust_id: str, academic_year: str | None = None) -> TrustData:
    """Everything the report shows for the trust and year (default: its latest year with a census)."""
    trust = query(warehouse, f"SELECT * FROM dim_trust WHERE trust_id = {warehouse.param()}", [trust_id])
    if trust.is_empty():
        raise ReportError(f"unknown trust {trust_id!r}: no such trust_id in dim_trust (a GIAS Group UID)")
    years = reportable_years(warehouse, trust_id)
    if not years:
        raise ReportError(
            f"nothing is loaded for trust {trust_id}: none of its schools has a school census row while a member "
            "(load the census years and a register or group links covering them)"
        )
    year = normalise_academic_year(academic_year) if academic_year else years[-1]
    if year not in years:
        raise ReportError(
            f"nothing is loaded for trust {trust_id} in {year}; years with its schools: {', '.join(years)}"
        )
    row = trust.row(0, named=True)
    members = _members(warehouse, trust_id, year)
    in_year = members.filter(pl.col("academic_year") == year)
    la_codes = sorted(in_year["la_code"].drop_nulls().unique().to_list())
    all_las = sorted(members["la_code"].drop_nulls().unique().to_list())
    all_years = sorted(members["academic_year"].unique().to_list())
    la_census = query(
        warehouse,
        f"SELECT * FROM v_la_census_summary WHERE la_code IN {in_list(warehouse, all_las)} "
        f"AND academic_year IN {in_list(warehouse, all_years)}",
        [*all_las, *all_years],
    ) if all_las else pl.DataFrame(schema=LA_CENSUS_SCHEMA)  # fmt: skip
    national = query(
        warehouse,
        f"SELECT * FROM v_national_census_summary WHERE academic_year IN {in_list(warehouse, all_years)}",
        all_years,
    )
    funding = (
        query(
            warehouse,
            f"SELECT * FROM v_la_send_funding_gap WHERE la_code IN {in_list(warehouse, la_codes)} ORDER BY la_code, "
            "financial_year",
            la_codes,
        )
        if la_codes
        else pl.DataFrame()
    )
    term = _pupil_term(warehouse, trust_id, year)
    pupil_counts = reconciliation = None
    if term is not None:
        pupil_counts = _pupil_counts(warehouse, trust_id, year, term)
        reconciliation = _reconciliation(warehouse, trust_id, year, term)
    return TrustData(
        trust_id=trust_id,
        trust_name=row["trust_name"],
        trust_ref=row["trust_ref"],
        trust_type=row["trust_type"],
        academic_year=year,
        members=members,
        la_census=la_census,
        national=national,
        funding=funding,
        pupil_counts=pupil_counts,
        pupil_term=term,
        reconciliation=reconciliation,
        sources=_sources(warehouse, trust_id, members, la_codes, year, term),
        demo_note=DEMO_NOTE if _is_demo(warehouse, trust_id) else None,
    )


def _members(warehouse: Warehouse, trust_id: str, year: str) -> pl.DataFrame:
    """The trust's schools on each census day up to `year` (dim_school's version valid that day)."""
    p = warehouse.param()
    needs = ", ".join(f"c.{c}" for c in _NEED_COLUMNS)
    frame = query(
        warehouse,
        f"""
        SELECT c.urn, c.academic_year, c.la_code, la.la_name, d.school_name, c.school_type,
               c.total_pupils, c.total_pupils_status, c.ehc_plan, c.ehc_plan_status, c.sen_support,
               c.sen_support_status, c.ehc_plan_pct, c.sen_support_pct, {needs}, c.load_id
        FROM fct_school_census c
        JOIN dim_school d ON d.urn = c.urn AND {valid_at("d", "c.census_date")}
        LEFT JOIN dim_local_authority la ON la.la_code = c.la_code
        WHERE d.trust_id = {p} AND c.academic_year <= {p}
        ORDER BY c.academic_year, c.la_code, c.urn
        """,
        [trust_id, year],
    )
    counts = ["total_pupils", "ehc_plan", "sen_support", *_NEED_COLUMNS]
    return frame.with_columns(
        pl.col(counts).cast(pl.Int64),
        pl.col("ehc_plan_pct", "sen_support_pct").cast(pl.Float64),
        pl.col("academic_year", "urn", "la_code").cast(pl.String),
    )


def _pupil_term(warehouse: Warehouse, trust_id: str, year: str) -> str | None:
    p = warehouse.param()
    terms = query(
        warehouse,
        f"""
        SELECT DISTINCT pc.census_term FROM fct_pupil_census pc
        JOIN dim_school d ON d.urn = pc.urn AND {valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND pc.academic_year = {p}
        """,
        [trust_id, year],
    )
    loaded = set(terms["census_term"].to_list()) if terms.height else set()
    return next((term for term in TERM_PREFERENCE if term in loaded), None)


def _pupil_counts(warehouse: Warehouse, trust_id: str, year: str, term: str) -> pl.DataFrame:
    # Pupils on roll (single and main registrations), as v_census_reconciliation counts them.
    p = warehouse.param()
    frame = query(
        warehouse,
        f"""
        SELECT pc.urn, pc.nc_year, pc.primary_need, pc.sen_provision, COUNT(*) AS pupils
        FROM fct_pupil_census pc
        JOIN dim_school d ON d.urn = pc.urn AND {valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND pc.academic_year = {p} AND pc.census_term = {p}
          AND (pc.enrol_status IS NULL OR pc.enrol_status IN ('C', 'M'))
        GROUP BY pc.urn, pc.nc_year, pc.primary_need, pc.sen_provision
        """,
        [trust_id, year, term],
    )
    return frame.with_columns(pl.col("pupils").cast(pl.Int64))


def _reconciliation(warehouse: Warehouse, trust_id: str, year: str, term: str) -> pl.DataFrame:
    p = warehouse.param()
    return query(
        warehouse,
        f"""
        SELECT d.school_name, r.*
        FROM v_census_reconciliation r
        JOIN (SELECT urn, MIN(census_date) AS census_date FROM fct_pupil_census
              WHERE academic_year = {p} AND census_term = {p} GROUP BY urn) pc ON pc.urn = r.urn
        JOIN dim_school d ON d.urn = r.urn AND {valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND r.academic_year = {p} AND r.census_term = {p}
        """,
        [year, term, trust_id, year, term],
    )


def _is_demo(warehouse: Warehouse, trust_id: str) -> bool:
    p = warehouse.param()
    frame = query(
        warehouse,
        f"SELECT DISTINCT e.source_name FROM trust_membership_snapshot s JOIN etl_load e ON e.load_id = s.load_id "
        f"WHERE s.group_uid = {p}",
        [trust_id],
    )
    return frame.height > 0 and DEMO_MEMBERSHIP_FILE in frame["source_name"].to_list()


def _sources(
    warehouse: Warehouse, trust_id: str, members: pl.DataFrame, la_codes: list[str], year: str, term: str | None
) -> pl.DataFrame:
    """The etl_load rows whose rows the report shows or compares with."""
    p = warehouse.param()
    years = sorted(members["academic_year"].unique().to_list())
    urns = sorted(members["urn"].unique().to_list())
    parts = [
        (f"SELECT DISTINCT load_id FROM fct_school_census WHERE academic_year IN {in_list(warehouse, years)}", years),
        (f"SELECT DISTINCT load_id FROM trust_membership_snapshot WHERE group_uid = {p}", [trust_id]),
        (f"SELECT DISTINCT load_id FROM school_register_snapshot WHERE urn IN {in_list(warehouse, urns)}", urns),
    ]
    if la_codes:
        las = in_list(warehouse, la_codes)
        parts += [
            (
                f"SELECT DISTINCT load_id FROM fct_la_dsg_allocation WHERE block = 'high_needs' AND la_code IN {las}",
                la_codes,
            ),
            (
                f"SELECT DISTINCT load_id FROM fct_la_ehcp WHERE measure = 'caseload' AND breakdown = 'total' "
                f"AND la_code IN {las}",
                la_codes,
            ),
            (
                f"SELECT DISTINCT load_id FROM fct_la_high_needs_spend WHERE kind = 'outturn' AND la_code IN {las}",
                la_codes,
            ),
        ]
    if term is not None:
        parts.append(
            (
                f"SELECT DISTINCT load_id FROM fct_pupil_census WHERE academic_year = {p} AND census_term = {p} "
                f"AND urn IN {in_list(warehouse, urns)}",
                [year, term, *urns],
            )
        )
    load_ids: set[int] = set()
    for sql, parameters in parts:
        frame = query(warehouse, sql, parameters)
        load_ids |= {int(v) for v in frame["load_id"].drop_nulls().to_list()} if frame.height else set()
    if not load_ids:
        return pl.DataFrame()
    ids = sorted(load_ids)
    return query(
        warehouse,
        f"SELECT load_id, dataset, source_name, finished_at FROM etl_load WHERE load_id IN {in_list(warehouse, ids)} "
        "ORDER BY dataset, load_id",
        ids,
    )
