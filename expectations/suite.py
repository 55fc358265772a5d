"""The vocabulary suites are written in. A check is a GX expectation type plus its arguments and a name."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import polars as pl

from sendflow.transforms.common import SOURCE_ROW


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


# What a reason, a quarantine record or a Data Docs page shows instead of a value it may not show.
INVALID = "invalid"  # a column that may be shown, holding something that is not in its format
WITHHELD = "withheld"  # a column that may not be shown at all


@dataclass(frozen=True)
class Disclosure:
    """Which cell values of a personal dataset may be shown in reasons, quarantine records and Data Docs.

    A column named in `formats` is non-identifying, and its value is shown when the whole of it (as text)
    matches the column's regex; any other value of it is shown as `invalid`, and a value of any column
    not named as `withheld`. NULL and blank cells carry nothing and are shown as they are. A shifted row
    puts a UPN or a surname in a code column: the format, not the column's name, decides what is shown.
    A regex is written for both Python's `re` and Polars (Rust) regex: ASCII classes (`[0-9]`, never
    `\\d`), no anchors (the whole value must match), flags only scoped, as `(?i:...)`.
    """

    formats: Mapping[str, str] = field(default_factory=dict)

    def allows(self, column: str, text: str) -> bool:
        regex = self.formats.get(column)
        return regex is not None and re.fullmatch(regex, text) is not None

    def shown(self, column: str, value: Any) -> Any:
        """The value itself when it may be shown, else the marker (a plain string)."""
        if value is None or (isinstance(value, str) and not value.strip()):
            return value
        if column not in self.formats:
            return WITHHELD
        text = value.isoformat() if isinstance(value, date) else str(value)
        return value if self.allows(column, text) else INVALID

    def expr(self, column: str) -> pl.Expr:
        """`shown` as a Polars expression on a column read as text (the raw cells of a quarantine record)."""
        value = pl.col(column).cast(pl.String)
        blank = value.is_null() | (value.str.strip_chars() == "")
        regex = self.formats.get(column)
        if regex is None:
            return pl.when(blank).then(value).otherwise(pl.lit(WITHHELD)).alias(column)
        fits = value.str.contains(f"^(?:{regex})$")
        return pl.when(blank | fits).then(value).otherwise(pl.lit(INVALID)).alias(column)


def one_of(values: Iterable[str], ignore_case: bool = False) -> str:
    """A Disclosure format for a set of codes: `one_of({"M", "F"})` -> `(?:F|M)`."""
    codes = sorted(set(values), key=lambda v: (-len(v), v))  # longest first: `N1` before `N`
    if not all(code.isascii() and code.replace("_", "").isalnum() for code in codes):
        raise ValueError(f"a code set for a Disclosure holds plain ASCII codes only: {codes}")
    return f"(?{'i' if ignore_case else ''}:{'|'.join(codes)})"


@dataclass(frozen=True)
class OnePlace:
    """Rows of one `key` within one group must stand at one place (one pupil, one school, one census),
    counting only rows where `counted` holds (single registrations, not dual ones).

    Before the checks run, the runner gives every counted row that breaks the rule the number of another
    row of the same key at another place, in `column` (NULL for a row that keeps the rule); a row check
    `is_null(column, ...)` quarantines it, so the reason names the other row, never the key. Within one
    validated frame every such row is held back. For a file read in batches, the runner keeps the first
    row number of each key (as a 64-bit hash of the key and the group) from earlier batches: a later
    batch's row whose key was seen earlier is held back naming that earlier row, which was checked, and
    published or not, with its own batch. Batches never split a place (a school), so a key found in an
    earlier batch stood at another place. Two keys sharing a 64-bit hash would be taken for one: for the
    9 million pupils of a national file, a chance of about one in a million.
    """

    column: str
    key: str
    within: tuple[str, ...]
    place: tuple[str, ...]
    counted: pl.Expr

    def check(self, frame: pl.DataFrame, earlier: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame]:
        """(source row number -> `column`: the first other row of the same key at another place, for the rows
        that have one; the keys seen so far: `earlier` (`group_hash`, `first_row`) with this frame's added).
        Keys and places are compared by 64-bit hashes, so a batch of a million rows takes well under a second."""
        rows = frame.filter(self.counted.fill_null(False) & pl.col(self.key).is_not_null()).select(
            pl.col(SOURCE_ROW).cast(pl.Int64), _hash([self.key, *self.within], "group_hash"),
            _hash(list(self.place), "place_hash"),
        )  # fmt: skip
        firsts = rows.group_by("group_hash").agg(
            pl.col(SOURCE_ROW).min().alias("first_row"), pl.col("place_hash").n_unique().alias("places")
        )
        twice = rows.join(firsts.filter(pl.col("places") > 1).select("group_hash"), on="group_hash", how="semi")
        at = twice.group_by("group_hash", "place_hash").agg(pl.col(SOURCE_ROW).min().alias("first_row"))
        found = [
            twice.join(at, on="group_hash", suffix="_other")
            .filter(pl.col("place_hash") != pl.col("place_hash_other"))
            .select(SOURCE_ROW, "first_row")
        ]
        seen = firsts.select("group_hash", "first_row")
        if earlier is not None and earlier.height:
            found.append(rows.join(earlier, on="group_hash").select(SOURCE_ROW, "first_row"))
            seen = pl.concat([earlier, seen.join(earlier, on="group_hash", how="anti")])
        others = pl.concat(found).group_by(SOURCE_ROW).agg(pl.col("first_row").min().alias(self.column))
        return others, seen


def _hash(columns: list[str], name: str) -> pl.Expr:
    """One 64-bit hash of several columns: each column's own (a seed apiece), combined by XOR."""
    combined = pl.col(columns[0]).hash(seed=1)
    for seed, column in enumerate(columns[1:], start=2):
        combined = combined.xor(pl.col(column).hash(seed=seed))
    return combined.alias(name)


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
    # Rules across rows (one pupil at one school), computed into helper columns its row checks read.
    one_place: tuple[OnePlace, ...] = ()
    # Personal data: which values may be shown (None: a dataset with no personal data shows them all).
    disclose: Disclosure | None = None

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.row_checks + self.table_checks


def matches(column: str, regex: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToMatchRegex", {"column": column, "regex": regex})


def not_null(column: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToNotBeNull", {"column": column})


def is_null(column: str, name: str) -> Check:
    return Check(name, "ExpectColumnValuesToBeNull", {"column": column})


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
