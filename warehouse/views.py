"""Reporting views, written once in SQL both backends accept."""

from __future__ import annotations

from collections.abc import Mapping

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

VIEWS: Mapping[str, str] = {
    "v_la_census_summary": f"""
        SELECT c.la_code, la.la_name, c.academic_year, {_CENSUS_MEASURES}
        FROM fct_school_census c
        LEFT JOIN dim_local_authority la ON la.la_code = c.la_code
        WHERE {_COMPLETE}
        GROUP BY c.la_code, la.la_name, c.academic_year
    """,
    "v_national_census_summary": f"""
        SELECT c.academic_year, {_CENSUS_MEASURES}
        FROM fct_school_census c
        WHERE {_COMPLETE}
        GROUP BY c.academic_year
    """,
}

VIEW_COMMENTS: Mapping[str, str] = {
    "v_la_census_summary": "One row per LA per academic year: pupils, EHC plans and SEN support from the census.",
    "v_national_census_summary": "One row per academic year: England totals of the loaded school census.",
}
