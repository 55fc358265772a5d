"""The vocabulary suites are written in. A check is a GX expectation type plus its arguments and a name."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import polars as pl


@dataclass(frozen=True)
class Check:
    """One named rule. Row checks quarantine the rows that break them; table checks reject the file."""

    name: str
    expectation: str  # a GX 1.x expectation class name, e.g. "ExpectColumnValuesToMatchRegex"
    kwargs: Mapping[str, Any]


@dataclass(frozen=True)
class Reconciliation:
    """A file's rows must add up to its own published totals (the controls its build returns).

    Summed over every row, before quarantine: it tests the publication's consistency, and a file that
    fails it is rejected whole, naming each group and the difference.
    """

    name: str
    keys: tuple[str, ...]
    value: str
    tolerance: float = 0.0


@dataclass(frozen=True)
class Suite:
    dataset: str
    table: str
    grain: str
    row_checks: tuple[Check, ...]
    table_checks: tuple[Check, ...] = ()
    reconciliations: tuple[Reconciliation, ...] = ()
    # Helper columns computed in Polars before the hand-off, for rules GX cannot state on raw columns.
    derived: Mapping[str, pl.Expr] = field(default_factory=dict)

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.row_checks + self.table_checks


def matches(column: str, regex: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToMatchRegex", {"column": column, "regex": regex})


def not_null(column: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToNotBeNull", {"column": column})


def in_set(column: str, values: frozenset[str] | set[str], name: str) -> Check:
    return Check(name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": sorted(values)})


def between(column: str, name: str, min_value: float | None = None, max_value: float | None = None) -> Check:
    return Check(
        name, "ExpectColumnValuesToBeBetween", {"column": column, "min_value": min_value, "max_value": max_value}
    )


def is_true(column: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToBeInSet", {"column": column, "value_set": [True]})


def unique_together(columns: tuple[str, ...], name: str) -> Check:
    if len(columns) == 1:
        return Check(name, "ExpectColumnValuesToBeUnique", {"column": columns[0]})
    return Check(name, "ExpectCompoundColumnsToBeUnique", {"column_list": list(columns)})


def at_least_rows(count: int, name: str) -> Check:
    return Check(name, "ExpectTableRowCountToBeBetween", {"min_value": count})
