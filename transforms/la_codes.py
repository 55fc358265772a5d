"""The one LA-code reconciliation every dataset uses.

The 3-digit DfE LA number is the join key. Publications also carry ONS GSS codes, and the same LA has
carried several (Buckinghamshire 825 is E10000002 in some years, E06000060 in others; Gateshead,
Northumberland, North Yorkshire and Somerset changed too), so an ONS code is only ever looked up, never
joined on. Reorganised LAs keep their own numbers; dim_local_authority points them to their successors.
"""

from __future__ import annotations

import polars as pl

from sendflow.transforms.common import code_text
from sendflow.warehouse.reference import la_code_by_ons_code


def la_code(number: str, ons: str | None = None) -> pl.Expr:
    """The DfE number where the row has one, else the LA the row's ONS code belongs to."""
    given = code_text(number)
    if ons is None:
        return given
    return pl.coalesce(given, code_text(ons).replace_strict(la_code_by_ons_code(), default=None))


def ons_code_agrees(la: str, ons: str) -> pl.Expr:
    """True unless the row's ONS code belongs to a different LA than its DfE number (NULLs agree)."""
    given = pl.col(ons).str.strip_chars()
    owner = given.replace_strict(la_code_by_ons_code(), default=None)
    agrees = given.is_null() | pl.col(la).is_null() | (owner == pl.col(la)).fill_null(False)
    return agrees.alias(f"{ons}_agrees_with_{la}")
