"""Reporting views, written once in SQL both backends accept (dates compare as ISO text in SQLite)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class View:
    name: str
    comment: str
    sql: str
    requires: tuple[str, ...]  # tables and views it reads: created only once they all exist


_COMPLETE = "c.total_pupils IS NOT NULL AND c.ehc_plan IS NOT NULL AND c.sen_support IS NOT NULL"
# Rates are taken over schools that publish all three counts, so numerator and denominator cover the same pupils.
_CENSUS_MEASURES = """
    COUNT(*) AS schools,
    SUM(c.total_pupils) AS total_pupils,
    SUM(c.ehc_plan) AS ehc_plan,
    SUM(c.sen_support) AS sen_support,
    CAST(100.0 * SUM(c.ehc_plan) / NULLIF(SUM(c.total_pupils), 0) AS DOUBLE PRECISION) AS ehc_plan_pct,
    CAST(100.0 * SUM(c.sen_support) / NULLIF(SUM(c.total_pupils), 0) AS DOUBLE PRECISION) AS sen_support_pct
"""

LA_CENSUS_SUMMARY = View(
    "v_la_census_summary",
    "One row per LA per academic year: pupils, EHC plans and SEN support from the census.",
    f"""
    SELECT c.la_code, la.la_name, c.academic_year, {_CENSUS_MEASURES}
    FROM fct_school_census c
    LEFT JOIN dim_local_authority la ON la.la_code = c.la_code
    WHERE {_COMPLETE}
    GROUP BY c.la_code, la.la_name, c.academic_year
    """,
    ("fct_school_census", "dim_local_authority"),
)

NATIONAL_CENSUS_SUMMARY = View(
    "v_national_census_summary",
    "One row per academic year: England totals of the loaded school census.",
    f"""
    SELECT c.academic_year, {_CENSUS_MEASURES}
    FROM fct_school_census c
    WHERE {_COMPLETE}
    GROUP BY c.academic_year
    """,
    ("fct_school_census",),
)

_EXTRACT_DATE = "Date of the GIAS group-links extract the year's membership comes from: the one nearest the census day."
_AGE_MONTHS = (
    "Months from that extract to the census day (21: April 2017 membership on the January 2019 census; negative "
    "when the extract is later): how far the membership may be from the truth that day."
)


def _month_index(column: str) -> str:
    """Months since year 0 of a date column, in SQL both backends take (a date is ISO text once cast)."""
    text = f"CAST({column} AS TEXT)"
    return f"(CAST(SUBSTR({text}, 1, 4) AS INTEGER) * 12 + CAST(SUBSTR({text}, 6, 2) AS INTEGER))"


# Which group-links extract a trust's membership in a year comes from, and how old it is on the census day: of
# the extracts naming the trust, the one nearest the census day, the later on a tie (a trust gone from a newer
# extract is known only from an older one, and that is how old its membership is). GIAS's 3 April 2017 links
# are 21 months old on the January 2019 census day and 81 on January 2024's. Members are the trust_membership
# spans open on the extract's date; a member whose URN is not in that year's census is unmatched
# (v_trust_unmatched_school says why, where GIAS's links can).
_MEMBERSHIP_AT_CENSUS = f"""
    censuses AS (
        SELECT academic_year, MAX(census_date) AS census_date FROM fct_school_census GROUP BY academic_year
    ),
    aged AS (
        SELECT c.academic_year, c.census_date, e.trust_id, e.snapshot_date AS membership_extract_date,
               {_month_index("c.census_date")} - {_month_index("e.snapshot_date")} AS membership_age_months
        FROM censuses c
        CROSS JOIN (SELECT DISTINCT group_uid AS trust_id, snapshot_date FROM trust_membership_snapshot) e
    ),
    ranked AS (
        SELECT aged.*, ROW_NUMBER() OVER (
            PARTITION BY academic_year, trust_id ORDER BY ABS(membership_age_months), membership_extract_date DESC
        ) AS pick
        FROM aged
    ),
    chosen AS (
        SELECT academic_year, census_date, trust_id, membership_extract_date, membership_age_months
        FROM ranked WHERE pick = 1
    ),
    extract_members AS (
        SELECT ch.academic_year, t.trust_id, t.urn
        FROM chosen ch
        JOIN trust_membership t ON t.trust_id = ch.trust_id AND t.member_from <= ch.membership_extract_date
         AND (t.member_to IS NULL OR t.member_to > ch.membership_extract_date)
    ),
    in_census AS (SELECT DISTINCT academic_year, urn FROM fct_school_census)
"""

TRUST_MEMBERSHIP_COVERAGE = View(
    "v_trust_membership_coverage",
    "One row per trust per academic year: the group-links extract its membership comes from, how many months "
    "that extract is from the census day, and its member schools matched and not matched in the census.",
    f"""
    WITH {_MEMBERSHIP_AT_CENSUS}
    SELECT m.trust_id, ch.academic_year, ch.census_date, ch.membership_extract_date, ch.membership_age_months,
           COUNT(*) AS member_schools,
           SUM(CASE WHEN i.urn IS NOT NULL THEN 1 ELSE 0 END) AS matched_schools,
           SUM(CASE WHEN i.urn IS NULL THEN 1 ELSE 0 END) AS unmatched_schools
    FROM extract_members m
    JOIN chosen ch ON ch.academic_year = m.academic_year AND ch.trust_id = m.trust_id
    LEFT JOIN in_census i ON i.academic_year = m.academic_year AND i.urn = m.urn
    GROUP BY m.trust_id, ch.academic_year, ch.census_date, ch.membership_extract_date, ch.membership_age_months
    """,
    ("fct_school_census", "trust_membership_snapshot", "trust_membership"),
)

# GIAS's establishment links say what became of a URN (closed and replaced, converted, merged): the newest links
# extract's rows for it, each a reason; none, and the reason says so.
TRUST_UNMATCHED_SCHOOL = View(
    "v_trust_unmatched_school",
    "One row per trust, academic year, member school of the membership extract that is not in the year's "
    "census, and GIAS establishment link that may say why.",
    f"""
    WITH {_MEMBERSHIP_AT_CENSUS},
    newest_links AS (
        SELECT urn, link_urn, link_type, link_established_date FROM school_link
        WHERE snapshot_date = (SELECT MAX(snapshot_date) FROM school_link)
    )
    SELECT m.trust_id, m.academic_year, m.urn, l.link_type, l.link_urn, l.link_established_date,
           CASE WHEN l.link_type IS NULL THEN 'not in the census, and no GIAS establishment link explains it'
                ELSE 'not in the census; GIAS links it: ' || l.link_type || ' ' || l.link_urn END AS reason
    FROM extract_members m
    LEFT JOIN in_census i ON i.academic_year = m.academic_year AND i.urn = m.urn
    LEFT JOIN newest_links l ON l.urn = m.urn
    WHERE i.urn IS NULL
    """,
    ("fct_school_census", "trust_membership_snapshot", "trust_membership", "school_link"),
)

# Membership is taken as at each census day from dim_school's history; the LA comparison weights each LA's
# rate by the trust's own pupils there, so a trust is compared with the places it actually works.
TRUST_SEND_SUMMARY = View(
    "v_trust_send_summary",
    "One row per trust per academic year: its schools' pupils, EHC plans and SEN support, beside the "
    "pupil-weighted rate of the LAs it works in and the national rates.",
    f"""
    WITH members AS (
        SELECT d.trust_id, c.academic_year, c.la_code, c.total_pupils, c.ehc_plan, c.sen_support
        FROM fct_school_census c
        JOIN dim_school d
          ON d.urn = c.urn AND d.valid_from <= c.census_date AND (d.valid_to IS NULL OR d.valid_to > c.census_date)
        WHERE d.trust_id IS NOT NULL AND {_COMPLETE}
    ),
    la_rates AS (
        SELECT c.academic_year, c.la_code, 1.0 * SUM(c.ehc_plan) / NULLIF(SUM(c.total_pupils), 0) AS ehc_rate
        FROM fct_school_census c
        WHERE {_COMPLETE}
        GROUP BY c.academic_year, c.la_code
    ),
    trust_las AS (
        SELECT trust_id, academic_year, la_code, SUM(total_pupils) AS pupils
        FROM members GROUP BY trust_id, academic_year, la_code
    ),
    la_weighted AS (
        SELECT t.trust_id, t.academic_year,
               CAST(100.0 * SUM(t.pupils * r.ehc_rate) / NULLIF(SUM(t.pupils), 0) AS DOUBLE PRECISION)
                   AS la_ehc_plan_pct
        FROM trust_las t
        JOIN la_rates r ON r.academic_year = t.academic_year AND r.la_code = t.la_code
        GROUP BY t.trust_id, t.academic_year
    ),
    totals AS (
        SELECT trust_id, academic_year, COUNT(*) AS schools, SUM(total_pupils) AS total_pupils,
               SUM(ehc_plan) AS ehc_plan, SUM(sen_support) AS sen_support
        FROM members GROUP BY trust_id, academic_year
    )
    SELECT t.trust_id, tr.trust_name, t.academic_year, t.schools, t.total_pupils, t.ehc_plan, t.sen_support,
           CAST(100.0 * t.ehc_plan / NULLIF(t.total_pupils, 0) AS DOUBLE PRECISION) AS ehc_plan_pct,
           CAST(100.0 * t.sen_support / NULLIF(t.total_pupils, 0) AS DOUBLE PRECISION) AS sen_support_pct,
           w.la_ehc_plan_pct,
           n.ehc_plan_pct AS national_ehc_plan_pct,
           n.sen_support_pct AS national_sen_support_pct,
           m.membership_extract_date, m.membership_age_months
    FROM totals t
    LEFT JOIN dim_trust tr ON tr.trust_id = t.trust_id
    LEFT JOIN la_weighted w ON w.trust_id = t.trust_id AND w.academic_year = t.academic_year
    LEFT JOIN v_national_census_summary n ON n.academic_year = t.academic_year
    LEFT JOIN v_trust_membership_coverage m ON m.trust_id = t.trust_id AND m.academic_year = t.academic_year
    """,
    ("fct_school_census", "dim_school", "dim_trust", "v_national_census_summary", "v_trust_membership_coverage"),
)

# Financial year 2023-24 runs April 2023 to March 2024: its January is January 2024. High-needs spend
# counts s251 line 1.0.2 and the 1.2.x lines (place and top-up funding, support services, AP, hospital,
# therapies), or the benchmarking sheet's lines built from them ('hnb:1.0.2...'); SEN transport (1.4.11,
# 2.1.x) is not high-needs block spend.
# Real terms: the deflator held is calendar-year only, so a financial year takes the deflator of the calendar
# year it starts in (2023 for 2023-24: April to December, 9 of its 12 months). Scaling by 2024's own index,
# not a literal 100, keeps the columns in 2024 prices should a later copy of the series be indexed to another
# year; a year the series lacks (2025 on) gives NULL, never a guess.
LA_SEND_FUNDING_GAP = View(
    "v_la_send_funding_gap",
    "One row per LA per financial year: EHC plans (January in the year) beside the high-needs block "
    "before deductions, per plan, growth against the LA's first year loaded, and s251 net outturn; the money "
    "also in 2024 prices by HM Treasury's calendar-year GDP deflator (ref_gdp_deflator).",
    """
    WITH hnb AS (
        SELECT la_code, financial_year, SUM(amount_gbp) AS high_needs_block_gbp
        FROM fct_la_dsg_allocation
        WHERE block = 'high_needs' AND basis = 'before_deductions'
        GROUP BY la_code, financial_year
    ),
    ehcp AS (
        SELECT la_code,
               CAST(calendar_year - 1 AS TEXT) || '-' || SUBSTR(CAST(calendar_year AS TEXT), 3, 2) AS financial_year,
               SUM(value) AS ehcp_caseload
        FROM fct_la_ehcp
        WHERE measure = 'caseload' AND breakdown = 'total' AND la_code <> 'ENG' AND value IS NOT NULL
        GROUP BY la_code, calendar_year
    ),
    outturn AS (
        SELECT la_code, financial_year, SUM(net_gbp) AS high_needs_net_outturn_gbp
        FROM fct_la_high_needs_spend
        WHERE kind = 'outturn' AND (line_code = '1.0.2' OR line_code LIKE '1.2.%' OR line_code LIKE 'hnb:1.0.2%')
        GROUP BY la_code, financial_year
    ),
    spine AS (
        SELECT la_code, financial_year FROM hnb
        UNION
        SELECT la_code, financial_year FROM ehcp
    ),
    joined AS (
        SELECT s.la_code, la.la_name, s.financial_year, e.ehcp_caseload, h.high_needs_block_gbp,
               o.high_needs_net_outturn_gbp
        FROM spine s
        LEFT JOIN dim_local_authority la ON la.la_code = s.la_code
        LEFT JOIN ehcp e ON e.la_code = s.la_code AND e.financial_year = s.financial_year
        LEFT JOIN hnb h ON h.la_code = s.la_code AND h.financial_year = s.financial_year
        LEFT JOIN outturn o ON o.la_code = s.la_code AND o.financial_year = s.financial_year
    ),
    firsts AS (
        SELECT la_code,
               MIN(CASE WHEN ehcp_caseload IS NOT NULL THEN financial_year END) AS first_ehcp_year,
               MIN(CASE WHEN high_needs_block_gbp IS NOT NULL THEN financial_year END) AS first_hnb_year
        FROM joined GROUP BY la_code
    )
    SELECT j.la_code, j.la_name, j.financial_year, j.ehcp_caseload, j.high_needs_block_gbp,
           CAST(j.high_needs_block_gbp / NULLIF(j.ehcp_caseload, 0) AS DOUBLE PRECISION) AS high_needs_gbp_per_ehcp,
           CAST(100.0 * (j.ehcp_caseload / NULLIF(fe.ehcp_caseload, 0) - 1) AS DOUBLE PRECISION) AS ehcp_growth_pct,
           CAST(100.0 * (j.high_needs_block_gbp / NULLIF(fh.high_needs_block_gbp, 0) - 1) AS DOUBLE PRECISION)
               AS high_needs_growth_pct,
           j.high_needs_net_outturn_gbp,
           CAST(SUBSTR(j.financial_year, 1, 4) AS INTEGER) AS deflator_calendar_year,
           r.index_value AS gdp_deflator_index,
           CAST(j.high_needs_block_gbp * b.index_value / r.index_value AS DOUBLE PRECISION)
               AS high_needs_block_real_2024_gbp,
           CAST(j.high_needs_block_gbp / NULLIF(j.ehcp_caseload, 0) * b.index_value / r.index_value AS DOUBLE PRECISION)
               AS high_needs_per_ehcp_real_2024_gbp,
           CAST(j.high_needs_net_outturn_gbp * b.index_value / r.index_value AS DOUBLE PRECISION)
               AS high_needs_net_outturn_real_2024_gbp
    FROM joined j
    JOIN firsts f ON f.la_code = j.la_code
    LEFT JOIN joined fe ON fe.la_code = j.la_code AND fe.financial_year = f.first_ehcp_year
    LEFT JOIN joined fh ON fh.la_code = j.la_code AND fh.financial_year = f.first_hnb_year
    LEFT JOIN ref_gdp_deflator r ON r.calendar_year = CAST(SUBSTR(j.financial_year, 1, 4) AS INTEGER)
    LEFT JOIN ref_gdp_deflator b ON b.calendar_year = 2024
    """,
    ("fct_la_dsg_allocation", "fct_la_ehcp", "fct_la_high_needs_spend", "dim_local_authority", "ref_gdp_deflator"),
)

# A school's published headcount counts pupils on its roll (single and main dual registrations), so the
# returned count does too; only the January (spring) census is published, so other terms compare to nothing.
CENSUS_RECONCILIATION = View(
    "v_census_reconciliation",
    "One row per school per census loaded from a trust's own returns: pupils, EHC plans and SEN support "
    "returned beside the published school-level figures (returned minus published; NULL where none).",
    """
    WITH returned AS (
        SELECT urn, academic_year, census_term,
               COUNT(*) AS pupils_returned,
               SUM(CASE WHEN sen_provision = 'E' THEN 1 ELSE 0 END) AS ehc_plan_returned,
               SUM(CASE WHEN sen_provision = 'K' THEN 1 ELSE 0 END) AS sen_support_returned
        FROM fct_pupil_census
        WHERE enrol_status IS NULL OR enrol_status IN ('C', 'M')
        GROUP BY urn, academic_year, census_term
    )
    SELECT r.urn, r.academic_year, r.census_term,
           r.pupils_returned, p.total_pupils AS pupils_published, r.pupils_returned - p.total_pupils AS pupils_diff,
           r.ehc_plan_returned, p.ehc_plan AS ehc_plan_published, r.ehc_plan_returned - p.ehc_plan AS ehc_plan_diff,
           r.sen_support_returned, p.sen_support AS sen_support_published,
           r.sen_support_returned - p.sen_support AS sen_support_diff
    FROM returned r
    LEFT JOIN fct_school_census p
      ON p.urn = r.urn AND p.academic_year = r.academic_year AND r.census_term = 'spring'
    """,
    ("fct_pupil_census", "fct_school_census"),
)


def _census_measures(schools: str) -> dict[str, str]:
    # The summary views share their measures (views._CENSUS_MEASURES): only whose schools they count differs.
    return {
        "schools": f"{schools} that publish total pupils, EHC plans and SEN support (the others are left out of "
        "every count and rate, so numerators and denominators cover the same pupils).",
        "total_pupils": "Pupils on roll in those schools.",
        "ehc_plan": "Pupils with an EHC plan in those schools.",
        "sen_support": "Pupils on SEN support in those schools.",
        "ehc_plan_pct": "EHC plans as a percentage of those schools' pupils (0-100).",
        "sen_support_pct": "SEN support as a percentage of those schools' pupils (0-100).",
    }


_ACADEMIC_YEAR = "Academic year of the January census, e.g. 2023/24."
_LA_CODE = "3-digit DfE LA number."
_LA_NAME = "LA name (dim_local_authority)."
_REAL_2024 = (
    "{cash} in 2024 prices, in pounds: {cash} x 100 / gdp_deflator_index (HM Treasury GDP deflator at market "
    "prices, calendar-year, 2024 = 100, of deflator_calendar_year, from a secondary source); NULL where {cash} "
    "is NULL or the series has no index for that year (financial years from 2025-26 on)."
)

# Every view column's description: COMMENT ON COLUMN in PostgreSQL (warehouse/schema.py) and the data
# dictionary. A view column missing here fails tests/warehouse/test_dictionary.py.
VIEW_COLUMNS: dict[str, dict[str, str]] = {
    "v_la_census_summary": {
        "la_code": "3-digit DfE LA number as published with the census.",
        "la_name": _LA_NAME,
        "academic_year": _ACADEMIC_YEAR,
        **_census_measures("The LA's schools in the census"),
    },
    "v_national_census_summary": {
        "academic_year": _ACADEMIC_YEAR,
        **_census_measures("Schools loaded for the year (all of England once a national file is loaded)"),
    },
    "v_trust_send_summary": {
        "trust_id": "GIAS Group UID of the trust (dim_trust.trust_id).",
        "trust_name": "Trust name (dim_trust).",
        "academic_year": _ACADEMIC_YEAR,
        **_census_measures("The trust's schools on census day (by dim_school's history)"),
        "la_ehc_plan_pct": "EHC plan percentage of the LAs the trust's schools are in, each LA's rate weighted by "
        "the trust's own pupils there (0-100).",
        "national_ehc_plan_pct": "EHC plan percentage of all schools loaded for the year (v_national_census_summary).",
        "national_sen_support_pct": "SEN support percentage of all schools loaded for the year "
        "(v_national_census_summary).",
        "membership_extract_date": _EXTRACT_DATE,
        "membership_age_months": _AGE_MONTHS,
    },
    "v_trust_membership_coverage": {
        "trust_id": "GIAS Group UID of the trust (trust_membership.trust_id).",
        "academic_year": "Academic year of the census, e.g. 2023/24.",
        "census_date": "The census day of that year (fct_school_census).",
        "membership_extract_date": _EXTRACT_DATE,
        "membership_age_months": _AGE_MONTHS,
        "member_schools": "Schools in the trust on the extract's date (trust_membership spans open then).",
        "matched_schools": "Of those, schools whose URN is in the year's school census.",
        "unmatched_schools": "Of those, schools whose URN is not in the year's census (v_trust_unmatched_school).",
    },
    "v_trust_unmatched_school": {
        "trust_id": "GIAS Group UID of the trust.",
        "academic_year": "Academic year of the census the school is missing from.",
        "urn": "The member school's URN in the membership extract.",
        "link_type": "GIAS establishment link of that URN in the newest links extract (Successor, Successor - "
        "merged, ...); NULL when GIAS has none.",
        "link_urn": "The linked establishment's URN: a successor under a new URN belongs to whichever trust it "
        "joined, never carried over.",
        "link_established_date": "Date the link took effect.",
        "reason": "Why the school is not matched, in words, from the link where there is one.",
    },
    "v_la_send_funding_gap": {
        "la_code": _LA_CODE,
        "la_name": _LA_NAME,
        "financial_year": "Financial year, April to March, e.g. 2023-24.",
        "ehcp_caseload": "EHC plans the LA maintained in the January within the financial year (January 2024 for "
        "2023-24): fct_la_ehcp caseload, total.",
        "high_needs_block_gbp": "DSG high-needs block allocation before deductions, in pounds; NULL where no "
        "allocation is loaded for the year.",
        "high_needs_gbp_per_ehcp": "high_needs_block_gbp divided by ehcp_caseload, in pounds.",
        "ehcp_growth_pct": "Percentage change in ehcp_caseload since the LA's first financial year with a caseload "
        "in the warehouse (0 in that year).",
        "high_needs_growth_pct": "Percentage change in high_needs_block_gbp since the LA's first financial year "
        "with an allocation in the warehouse (0 in that year).",
        "high_needs_net_outturn_gbp": "s251 net outturn on the high-needs lines (1.0.2 and 1.2.x, or the "
        "benchmarking sheet's lines built from them), in pounds; NULL where no outturn is loaded.",
        "deflator_calendar_year": "Calendar year whose GDP deflator puts the row's money in real terms: the year "
        "the financial year starts in (2023 for 2023-24, which holds April to December, 9 of its 12 months), "
        "because the deflator held is a calendar-year series.",
        "gdp_deflator_index": "HM Treasury GDP deflator at market prices, December 2025 update, calendar year "
        "deflator_calendar_year, 2024 = 100 (ref_gdp_deflator: a calendar-year series from a secondary source, "
        "the greenbook R package); NULL where the series has no such year (2025 on).",
        "high_needs_block_real_2024_gbp": _REAL_2024.format(cash="high_needs_block_gbp"),
        "high_needs_per_ehcp_real_2024_gbp": _REAL_2024.format(cash="high_needs_gbp_per_ehcp"),
        "high_needs_net_outturn_real_2024_gbp": _REAL_2024.format(cash="high_needs_net_outturn_gbp"),
    },
    "v_census_reconciliation": {
        "urn": "School URN.",
        "academic_year": "Academic year of the census, e.g. 2023/24.",
        "census_term": "autumn, spring or summer; only spring (January) is published, so only it has comparisons.",
        "pupils_returned": "Pupils on roll in the trust's return (enrolment status C or M, or not given).",
        "pupils_published": "total_pupils in the published school-level census; NULL where none is published.",
        "pupils_diff": "pupils_returned minus pupils_published; NULL where nothing is published.",
        "ehc_plan_returned": "Pupils on roll in the return with SEN provision E (EHC plan).",
        "ehc_plan_published": "ehc_plan in the published school-level census; NULL where none is published.",
        "ehc_plan_diff": "ehc_plan_returned minus ehc_plan_published; NULL where nothing is published.",
        "sen_support_returned": "Pupils on roll in the return with SEN provision K (SEN support).",
        "sen_support_published": "sen_support in the published school-level census; NULL where none is published.",
        "sen_support_diff": "sen_support_returned minus sen_support_published; NULL where nothing is published.",
    },
}

VIEWS: tuple[View, ...] = (
    LA_CENSUS_SUMMARY, NATIONAL_CENSUS_SUMMARY, TRUST_MEMBERSHIP_COVERAGE, TRUST_UNMATCHED_SCHOOL, TRUST_SEND_SUMMARY,
    LA_SEND_FUNDING_GAP, CENSUS_RECONCILIATION,
)  # fmt: skip
