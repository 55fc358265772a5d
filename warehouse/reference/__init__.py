"""Committed reference tables: every DfE LA number seen in the real publications, and reorganisations."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import polars as pl

REFERENCE_DIR = Path(__file__).parent


@cache
def local_authorities() -> pl.DataFrame:
    """la_code, la_name, ons_code, region_name, abolished_on, notes, successor_la_code."""
    authorities = pl.read_csv(REFERENCE_DIR / "local_authorities.csv", infer_schema=False).with_columns(
        pl.col("abolished_on").str.to_date()
    )
    successors = (
        la_successors().sort("successor_la_code").group_by("la_code").agg(pl.col("successor_la_code").str.join(","))
    )
    return authorities.join(successors, on="la_code", how="left")


@cache
def la_successors() -> pl.DataFrame:
    """One row per (abolished LA, successor LA): a split has two rows, a merger's LAs share a successor."""
    return pl.read_csv(REFERENCE_DIR / "la_successors.csv", infer_schema=False).with_columns(
        pl.col("effective_on").str.to_date()
    )


@cache
def known_la_codes() -> frozenset[str]:
    return frozenset(local_authorities()["la_code"].to_list())


@cache
def la_ons_codes() -> pl.DataFrame:
    """Every ONS GSS code each LA has carried in DfE files (Buckinghamshire: E10000002 and E06000060)."""
    return pl.read_csv(REFERENCE_DIR / "la_ons_codes.csv", infer_schema=False)
