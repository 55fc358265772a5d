"""Read a trust's figures from the warehouse: everything its report shows, for one year.

The warehouse is read only through `warehouse.ledger.query` (one library per SQLite file; see
warehouse/connection.py). SQL values come from validated codes and years or are bound as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polars as pl

from sendflow.core.settings import ReportOptions
from sendflow.core.vocabulary import NEED_CODES, SYNTHETIC_MARK
from sendflow.reports.model import TrustData
from sendflow.reports.peers import peer_rates, trust_years
from sendflow.transforms.common import normalise_academic_year
from sendflow.warehouse import models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.frames import from_arrow
from sendflow.warehouse.ledger import query

SYNTHETIC_NOTE = (
    "the pupil-level returns behind this page are synthetic: written by sendflow synth for the trust's real "
    "schools, they describe no real pupil. Every published figure is DfE's, as published."
)


TERM_PREFERENCE = ("spring", "summer", "autumn")  # spring first: only January is published to compare with


# v_la_census_summary's columns, for a trust whose census rows name no LA (validation makes that rare).
LA_CENSUS_SCHEMA = {
    "la_code": pl.String, "la_name": pl.String, "academic_year": pl.String, "schools": pl.Int64,
    "total_pupils": pl.Int64, "ehc_plan": pl.Int64, "sen_support": pl.Int64, "ehc_plan_pct": pl.Float64,
    "sen_support_pct": pl.Float64,
}  # fmt: skip


_NEED_COLUMNS = [f"{kind}_primary_need_{code}" for kind in ("ehc", "sen_support") for code in NEED_CODES]


DEFAULT_MAX_AGE = ReportOptions().max_membership_age_months


class ReportError(ValueError):
    """The trust is unknown, or nothing is loaded for it (for the year asked)."""


def in_list(warehouse: Warehouse, values: Sequence[object]) -> str:
    return f"({warehouse.params(len(values))})"


def valid_at(alias: str, day: str) -> str:
    return f"{alias}.valid_from <= {day} AND ({alias}.valid_to IS NULL OR {alias}.valid_to > {day})"


def read_trust_years(warehouse: Warehouse, max_age_months: int = DEFAULT_MAX_AGE) -> pl.DataFrame:
    """Every trust's years with a census, as `peers.trust_years` states them. A trust's own report still
    needs every trust of its years, for its standing among them."""
    frame = query(
        warehouse,
        "SELECT s.*, t.trust_type FROM v_trust_send_summary s LEFT JOIN dim_trust t ON t.trust_id = s.trust_id "
        "ORDER BY s.trust_id, s.academic_year",
    )
    extract = pl.col("membership_extract_date")
    frame = frame.with_columns(
        pl.col("trust_id", "academic_year", "trust_type").cast(pl.String),
        # SQLite gives the date as text, PostgreSQL as a date.
        extract.str.to_date("%Y-%m-%d")
        if frame.schema["membership_extract_date"] == pl.String
        else extract.cast(pl.Date),
        pl.col("membership_age_months").cast(pl.Int64),
    )
    return trust_years(frame, max_age_months)


def reportable_trusts(warehouse: Warehouse, academic_year: str | None = None) -> list[str]:
    """Trusts with at least one school in a loaded census (in that year, if given), whether or not their
    membership is recent enough to report: a load may change what their report says, or whether it can be
    written at all (refresh-marts then skips it with the reason)."""
    where = f"WHERE academic_year = {warehouse.param()}" if academic_year else ""
    frame = query(
        warehouse,
        f"SELECT DISTINCT trust_id FROM v_trust_send_summary {where} ORDER BY trust_id",
        [normalise_academic_year(academic_year)] if academic_year else [],
    )
    return [str(t) for t in frame["trust_id"].to_list()] if frame.height else []


def load_trust_data(
    warehouse: Warehouse,
    trust_id: str,
    academic_year: str | None = None,
    max_age_months: int = DEFAULT_MAX_AGE,
    years: pl.DataFrame | None = None,
) -> TrustData:
    """Everything the report shows for the trust and year (default: its latest reported year). `years` is
    `read_trust_years` of the whole warehouse, when the caller writes many reports and has read it once."""
    trust = from_arrow(
        query(warehouse, f"SELECT * FROM dim_trust WHERE trust_id = {warehouse.param()}", [trust_id]).to_arrow(),
        models.metadata.tables["dim_trust"],
    )  # typed as the model says: SQLite gives dates as text
    if trust.is_empty():
        raise ReportError(f"unknown trust {trust_id!r}: no such trust_id in dim_trust (a GIAS Group UID)")
    every_trust = years if years is not None else read_trust_years(warehouse, max_age_months)
    own = every_trust.filter(pl.col("trust_id") == trust_id)
    if own.is_empty():
        raise ReportError(
            f"nothing is loaded for trust {trust_id}: none of its schools has a school census row while a member "
            "(load the census years and a register or group links covering them)"
        )
    reported = own.filter(pl.col("left_out_reason").is_null())["academic_year"].to_list()
    stale = own.filter(pl.col("left_out_reason").is_not_null())
    left_out: dict[str, str] = dict(stale.select("academic_year", "left_out_reason").rows())
    year = normalise_academic_year(academic_year) if academic_year else (reported[-1] if reported else None)
    if year is None or year in left_out:
        shown = year or max(left_out)
        raise ReportError(
            f"trust {trust_id} is not reported for {shown}: {left_out[shown]}"
            + (f"; reported years: {', '.join(reported)}" if reported else "")
        )
    if year not in reported:
        raise ReportError(
            f"nothing is loaded for trust {trust_id} in {year}; years with its schools: "
            f"{', '.join(sorted([*reported, *left_out]))}"
        )
    row = trust.row(0, named=True)
    members = _members(warehouse, trust_id, year).filter(pl.col("academic_year").is_in(reported))
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
        synthetic_note=SYNTHETIC_NOTE
        if term is not None and _synthetic_returns(warehouse, trust_id, year, term)
        else None,
        years=own,
        peers=peer_rates(every_trust, year),
        unmatched=_unmatched(warehouse, trust_id, year),
        trust_status=row.get("trust_status"),
        closed_date=row.get("closed_date"),
    )


def _unmatched(warehouse: Warehouse, trust_id: str, year: str) -> pl.DataFrame:
    """Member schools of the year's membership extract that are not in its census, with GIAS's reason."""
    p = warehouse.param()
    frame = query(
        warehouse,
        f"""
        SELECT u.urn, s.school_name, u.reason
        FROM v_trust_unmatched_school u
        LEFT JOIN (SELECT urn, MAX(school_name) AS school_name FROM trust_membership_snapshot
                   WHERE group_uid = {p} GROUP BY urn) s ON s.urn = u.urn
        WHERE u.trust_id = {p} AND u.academic_year = {p}
        ORDER BY u.urn, u.reason
        """,
        [trust_id, trust_id, year],
    )
    return frame.with_columns(pl.col("urn", "school_name", "reason").cast(pl.String)) if frame.height else frame


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


def _synthetic_returns(warehouse: Warehouse, trust_id: str, year: str, term: str) -> bool:
    """Whether any pupil-level return behind the page was written by `sendflow synth` (its files say so)."""
    p = warehouse.param()
    frame = query(
        warehouse,
        f"""
        SELECT DISTINCT e.source_name FROM fct_pupil_census pc
        JOIN etl_load e ON e.load_id = pc.load_id
        JOIN dim_school d ON d.urn = pc.urn AND {valid_at("d", "pc.census_date")}
        WHERE d.trust_id = {p} AND pc.academic_year = {p} AND pc.census_term = {p}
        """,
        [trust_id, year, term],
    )
    names = frame["source_name"].to_list() if frame.height else []
    return any(SYNTHETIC_MARK in re.split(r"[-_. ]+", str(name).lower()) for name in names)


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
