"""Reading a report page back, and checking its numbers against direct SQL on the warehouse."""

from __future__ import annotations

import html.parser
import math

from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query

COMPLETE = "c.total_pupils IS NOT NULL AND c.ehc_plan IS NOT NULL AND c.sen_support IS NOT NULL"
MEMBER = "d.urn = c.urn AND d.valid_from <= c.census_date AND (d.valid_to IS NULL OR d.valid_to > c.census_date)"


class Cells(html.parser.HTMLParser):
    """Every `<td data-col data-value>` of every `<table data-table>`: {table: [{column: value}, ...]}."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[dict[str, str]]] = {}
        self._table: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "table":
            self._table = values.get("data-table") or ""
            self.tables.setdefault(self._table, [])
        elif tag == "tr" and self._table is not None:
            self.tables[self._table].append({})
        elif tag == "td" and self._table is not None and "data-col" in values:
            self.tables[self._table][-1][values["data-col"] or ""] = values.get("data-value") or ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._table = None


def page_cells(page: str) -> dict[str, list[dict[str, str]]]:
    parser = Cells()
    parser.feed(page)
    return {name: [row for row in rows if row] for name, rows in parser.tables.items()}


def same(shown: str, expected: object) -> bool:
    if expected is None:
        return shown == ""
    if isinstance(expected, int | float):
        return shown not in ("", "c") and math.isclose(float(shown), float(expected), rel_tol=1e-9, abs_tol=1e-9)
    return shown == str(expected)


def _check(where: str, shown: dict[str, str], expected: dict[str, object]) -> None:
    for column, value in expected.items():
        assert same(shown[column], value), f"{where} {column}: page {shown[column]!r}, warehouse {value!r}"


def assert_page_matches_warehouse(
    cells: dict[str, list[dict[str, str]]], warehouse: Warehouse, trust_id: str, year: str, threshold: int
) -> None:
    """Every number the page shows, against SQL written here independently of reports/sections/."""
    p = warehouse.param()
    summary = query(
        warehouse,
        "SELECT schools, total_pupils, ehc_plan, sen_support, ehc_plan_pct, sen_support_pct, la_ehc_plan_pct, "
        f"national_ehc_plan_pct, national_sen_support_pct FROM v_trust_send_summary WHERE trust_id = {p} "
        f"AND academic_year = {p}",
        [trust_id, year],
    ).row(0, named=True)
    la_sen = query(
        warehouse,
        f"""
        WITH m AS (SELECT c.la_code, c.total_pupils FROM fct_school_census c JOIN dim_school d ON {MEMBER}
                   WHERE d.trust_id = {p} AND c.academic_year = {p} AND {COMPLETE}),
             r AS (SELECT c.la_code, 1.0 * SUM(c.sen_support) / SUM(c.total_pupils) AS rate FROM fct_school_census c
                   WHERE c.academic_year = {p} AND {COMPLETE} GROUP BY c.la_code)
        SELECT 100.0 * SUM(m.total_pupils * r.rate) / SUM(m.total_pupils) AS pct FROM m JOIN r ON r.la_code = m.la_code
        """,
        [trust_id, year, year],
    )["pct"][0]
    (trust_row,) = [row for row in cells["trust_by_year"] if row["academic_year"] == year]
    _check("trust_by_year", trust_row, {**summary, "la_sen_support_pct": la_sen})

    schools = query(
        warehouse,
        f"""
        SELECT c.urn, c.total_pupils, c.ehc_plan, c.sen_support, c.ehc_plan_pct, c.sen_support_pct,
               l.ehc_plan_pct AS la_ehc_plan_pct, l.sen_support_pct AS la_sen_support_pct
        FROM fct_school_census c JOIN dim_school d ON {MEMBER}
        JOIN v_la_census_summary l ON l.la_code = c.la_code AND l.academic_year = c.academic_year
        WHERE d.trust_id = {p} AND c.academic_year = {p}
        """,
        [trust_id, year],
    )
    shown_schools = {row["urn"]: row for row in cells["schools"]}
    assert set(shown_schools) == set(schools["urn"].to_list())
    for row in schools.iter_rows(named=True):
        _check(f"school {row['urn']}", shown_schools[row["urn"]], row)

    las = sorted(query(
        warehouse,
        f"SELECT DISTINCT c.la_code FROM fct_school_census c JOIN dim_school d ON {MEMBER} "
        f"WHERE d.trust_id = {p} AND c.academic_year = {p}",
        [trust_id, year],
    )["la_code"].to_list())  # fmt: skip
    funding = query(
        warehouse,
        "SELECT la_code, financial_year, ehcp_caseload, high_needs_block_gbp, high_needs_gbp_per_ehcp, "
        "high_needs_net_outturn_gbp, high_needs_block_real_2024_gbp, high_needs_per_ehcp_real_2024_gbp "
        f"FROM v_la_send_funding_gap WHERE la_code IN ({warehouse.params(len(las))}) "
        "AND (ehcp_caseload IS NOT NULL OR high_needs_block_gbp IS NOT NULL)",
        las,
    )
    shown_funding = {(row["la_code"], row["financial_year"]): row for row in cells["la_funding"]}
    assert set(shown_funding) == {(r["la_code"], r["financial_year"]) for r in funding.iter_rows(named=True)}
    for row in funding.iter_rows(named=True):
        _check(
            f"funding {row['la_code']} {row['financial_year']}",
            shown_funding[(row["la_code"], row["financial_year"])],
            row,
        )

    reconciliation = query(
        warehouse,
        f"SELECT * FROM v_census_reconciliation WHERE academic_year = {p} AND census_term = 'spring'",
        [year],
    )
    shown_rec = {row["urn"]: row for row in cells["reconciliation"] if row["urn"]}
    assert set(shown_rec) == set(reconciliation["urn"].to_list())
    for row in reconciliation.iter_rows(named=True):
        shown = shown_rec[row["urn"]]
        _check(f"reconciliation {row['urn']}", shown, {f"{m}_published": row[f"{m}_published"]
                                                       for m in ("pupils", "ehc_plan", "sen_support")})  # fmt: skip
        for measure in ("pupils", "ehc_plan", "sen_support"):
            returned, value = shown[f"{measure}_returned"], row[f"{measure}_returned"]
            if 1 <= value < threshold:
                assert returned == "c", f"{row['urn']} {measure}: {value} below {threshold} shown"
            if returned == "c":
                assert shown[f"{measure}_diff"] == "c", "a difference would reveal its hidden count"
            else:
                _check(f"reconciliation {row['urn']}", shown, {f"{measure}_returned": value,
                                                               f"{measure}_diff": row[f"{measure}_diff"]})  # fmt: skip

    needs = query(
        warehouse,
        f"""
        SELECT COALESCE(pc.primary_need, 'Not recorded') AS need, pc.nc_year, COUNT(*) AS pupils
        FROM fct_pupil_census pc
        WHERE pc.academic_year = {p} AND pc.census_term = 'spring' AND pc.sen_provision IN ('E', 'K')
          AND (pc.enrol_status IS NULL OR pc.enrol_status IN ('C', 'M'))
        GROUP BY COALESCE(pc.primary_need, 'Not recorded'), pc.nc_year
        """,
        [year],
    )
    shown_needs = {row["primary_need"]: row for row in cells["need_by_year_group"]}
    for row in needs.iter_rows(named=True):
        cell = shown_needs[row["need"]][row["nc_year"]]
        if 1 <= row["pupils"] < threshold:
            assert cell == "c", f"{row['need']} year {row['nc_year']}: {row['pupils']} below {threshold} shown"
        elif cell != "c":
            assert int(cell) == row["pupils"], (row, cell)
