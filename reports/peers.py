"""Every trust's years as the reports state them: which are reported (membership recent enough), and each
reported multi-academy trust's standing among all of that year's MATs. Pure Polars: frames in, frame out.

A trust's membership comes from the group-links extract nearest its census day (v_trust_membership_coverage).
An extract taken before the census day misses every school that joined or left since, so a year whose
extract is older than `max_age_months` is not reported as the trust's: it is kept, with the reason. An
extract taken after the census day dates each school's joining, so its (negative) age never leaves a year out.
"""

from __future__ import annotations

import polars as pl

from sendflow.core.vocabulary import TrustType

# Fewer matched schools than this and a trust's rates move with one school: flagged "small" wherever shown.
SMALL_TRUST_SCHOOLS = 3

RANKED = ("ehc_plan_pct", "sen_support_pct")


def _left_out_reason(max_age_months: int) -> pl.Expr:
    extract = pl.col("membership_extract_date").dt.strftime("%-d %B %Y")
    return (
        pl.when(pl.col("membership_age_months") > max_age_months)
        .then(
            pl.format(
                "membership from the group-links extract of {}, {} months before the census day (more than the "
                "{} months of SENDFLOW_REPORT_MAX_MEMBERSHIP_AGE_MONTHS): schools that joined or left since are "
                "not known",
                extract,
                pl.col("membership_age_months"),
                pl.lit(max_age_months),
            )
        )
        .otherwise(None)
    )


def trust_years(summary: pl.DataFrame, max_age_months: int) -> pl.DataFrame:
    """One row per trust per year of `summary` (v_trust_send_summary's rows with dim_trust's `trust_type`):
    its gaps to its LAs and England, whether the year is reported (`left_out_reason` NULL) or left out and
    why, the small-trust flag, and, for a reported MAT, its rank (1 = highest rate) and percentile (the share
    of the year's reported MATs with a lower rate) on EHC plan % and SEN support % among them."""
    years = summary.with_columns(
        (pl.col("ehc_plan_pct") - pl.col("la_ehc_plan_pct")).alias("ehc_plan_gap_la_pp"),
        (pl.col("ehc_plan_pct") - pl.col("national_ehc_plan_pct")).alias("ehc_plan_gap_england_pp"),
        (pl.col("sen_support_pct") - pl.col("national_sen_support_pct")).alias("sen_support_gap_england_pp"),
        _left_out_reason(max_age_months).alias("left_out_reason"),
        (pl.col("schools") < SMALL_TRUST_SCHOOLS).alias("is_small"),
        (pl.col("trust_type") == TrustType.MULTI_ACADEMY.value).fill_null(False).alias("is_multi_academy"),
    )
    peers = years.filter(pl.col("is_multi_academy") & pl.col("left_out_reason").is_null())
    ranked = peers.select(
        "trust_id",
        "academic_year",
        pl.len().over("academic_year").alias("peer_trusts"),
        *(
            expression
            for measure in RANKED
            for expression in (
                pl.col(measure).rank("min", descending=True).over("academic_year").alias(f"{measure}_rank"),
                (100.0 * (pl.col(measure).rank("min") - 1) / pl.col(measure).count())
                .over("academic_year")
                .alias(f"{measure}_percentile"),
            )
        ),
    )
    return years.join(ranked, on=["trust_id", "academic_year"], how="left").sort("trust_id", "academic_year")


def peer_rates(years: pl.DataFrame, academic_year: str) -> pl.DataFrame:
    """The rates of the year's ranked MATs, the distribution a trust's page places it in."""
    return years.filter((pl.col("academic_year") == academic_year) & pl.col("peer_trusts").is_not_null()).select(
        "trust_id", *RANKED
    )
