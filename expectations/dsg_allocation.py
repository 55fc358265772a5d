"""fct_la_dsg_allocation: one row per LA per financial year per DSG block per basis."""

from __future__ import annotations

from sendflow.expectations.suite import (
    Reconciliation,
    Suite,
    at_least_rows,
    between,
    in_set,
    matches,
    not_null,
    unique_together,
)
from sendflow.transforms.common import STATUS_SYMBOLS
from sendflow.transforms.dsg_allocation import BASES, BLOCK_LABELS
from sendflow.warehouse.reference import known_la_codes

GRAIN = "One row per LA per financial year per DSG block (schools ... total) per basis (before or after deductions)."

SUITE = Suite(
    dataset="dsg_allocation",
    table="fct_la_dsg_allocation",
    grain=GRAIN,
    row_checks=(
        not_null("la_code", "la_code_present"),
        matches("la_code", r"^[0-9]{3}$", "la_code_is_three_digits"),
        in_set("la_code", known_la_codes(), "la_code_known"),
        matches("financial_year", r"^[0-9]{4}-[0-9]{2}$", "financial_year_format"),
        in_set("block", {name for _, name in BLOCK_LABELS}, "block_known"),
        in_set("basis", set(BASES), "basis_known"),
        between("amount_gbp", "amount_non_negative", min_value=0),
        in_set("amount_status", STATUS_SYMBOLS, "amount_is_number_or_symbol"),
        unique_together(("la_code", "financial_year", "block", "basis"), "one_amount_per_la_block_basis"),
    ),
    table_checks=(at_least_rows(1, "file_has_la_rows"),),
    # ESFA's ENGLAND row is the sum of the LA rows to the pound in every published year.
    reconciliations=(
        Reconciliation("la_rows_sum_to_england", ("financial_year", "block", "basis"), "amount_gbp", tolerance=0.5),
    ),
)
