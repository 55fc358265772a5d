"""Runs a suite with Great Expectations and turns failures into quarantine rows.

GX has no Polars support, so this is the one place that hands a frame to pandas. Every frame carries
its source row number, passed to GX as the unexpected-index column, so each failure names its row.

For a personal dataset (a suite with a `Disclosure`) every value this module hands on (reasons,
quarantine records, table failures, the GX result its Data Docs page is rendered from) passes the
disclosure first: row numbers, check names and counts always; a cell only when its column may be shown
and the value is in that column's format.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass, field
from datetime import date, datetime, time
from functools import cache
from pathlib import Path
from typing import Any

import polars as pl

from sendflow.expectations.suite import WITHHELD, Check, Disclosure, Reconciliation, Suite
from sendflow.transforms.common import SOURCE_ROW

_GX_LOCK = threading.Lock()


@dataclass
class Validation:
    suite: Suite
    valid: pl.DataFrame
    quarantine: pl.DataFrame  # source_row_number, reasons, record
    failed_row_checks: dict[str, int] = field(default_factory=dict)
    table_failures: list[str] = field(default_factory=list)
    gx_result: Any = None  # GX's own validation result when GX ran, for its Data Docs page

    @property
    def rows_checked(self) -> int:
        """Source rows checked: a long table has several rows per source row, held back together."""
        return self.valid[SOURCE_ROW].n_unique() + self.quarantine.height


class SuiteError(RuntimeError):
    """A check could not run at all: a bug in the suite or the transform, not bad data."""


@dataclass
class Seen:
    """What the earlier batches of one file left for the rules that look across the whole file
    (`Suite.one_place`): per rule, the first row number of each key. Pass one Seen to every batch's
    `validate`; it stays as small as a hash and a row number per key."""

    keys: dict[str, pl.DataFrame] = field(default_factory=dict)


@cache
def _batch_definition() -> Any:
    os.environ.setdefault("TQDM_DISABLE", "1")
    import great_expectations as gx  # deferred: importing GX costs seconds
    from great_expectations.data_context.types.base import ProgressBarsConfig

    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    logging.getLogger("great_expectations.data_context.types.base").setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    asset = context.data_sources.add_pandas("sendflow").add_dataframe_asset(name="frame")
    return asset.add_batch_definition_whole_dataframe("whole_frame")


def _expectation(check: Check) -> Any:
    import great_expectations as gx

    expectation_class = getattr(gx.expectations, check.expectation)
    return expectation_class(**dict(check.kwargs), meta={"check": check.name})


def _plain(value: Any) -> Any:
    """A value as it was before pandas: None for NULL (pandas makes it NaN, NA or NaT on the way through
    GX), a date for a midnight Timestamp, a plain number for a NumPy scalar, an int for a whole float."""
    if value is None or value != value or str(value) in ("<NA>", "NaT"):
        return None
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp, as GX hands back a date column
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        value = value.date() if value.time() == time() else value
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def _shown(value: Any, column: str, disclose: Disclosure | None) -> str:
    # NULL as the warehouse says it; a marker (invalid, withheld) bare, so it never reads as a value.
    value = _plain(value)
    if value is None:
        return "NULL"
    if disclose is not None:
        shown = disclose.shown(column, value)
        if shown is not value:
            return str(shown)
    if isinstance(value, date):
        return repr(value.isoformat())
    return repr(value)


def _describe(index_entry: dict[str, Any], check: Check, disclose: Disclosure | None = None) -> str:
    values = ", ".join(f"{k}={_shown(v, k, disclose)}" for k, v in index_entry.items() if k != SOURCE_ROW)
    return f"{check.name} ({values})" if values else check.name


def _check_columns(check: Check) -> list[str]:
    kwargs = check.kwargs
    named = [kwargs.get("column"), kwargs.get("column_A"), kwargs.get("column_B"), *kwargs.get("column_list", [])]
    return [c for c in named if c]


def _raised(exception_info: dict[str, Any]) -> str | None:
    """GX reports a check that could not run either at the top level or per metric; find either."""
    if exception_info.get("raised_exception"):
        return str(exception_info.get("exception_message"))
    for detail in exception_info.values():
        if isinstance(detail, dict) and detail.get("raised_exception"):
            return str(detail.get("exception_message"))
    return None


def reconcile(
    frame: pl.DataFrame,
    reconciliation: Reconciliation,
    controls: pl.DataFrame | None,
    disclose: Disclosure | None = None,
) -> list[str]:
    """Each group whose rows do not sum to its control total, in words; a group missing either side counts."""
    if controls is None:
        return [f"{reconciliation.name} (the file has no control totals to check against)"]
    keys, value = list(reconciliation.keys), reconciliation.value
    sums = frame.group_by(keys).agg(pl.col(value).sum().alias("rows_total"))
    joined = sums.join(controls.select(*keys, pl.col(value).alias("control_total")), on=keys, how="full", coalesce=True)
    joined = joined.with_columns(
        (pl.col("rows_total").fill_null(0) - pl.col("control_total").fill_null(0)).alias("diff")
    )
    wrong = joined.filter((pl.col("diff").abs() > reconciliation.tolerance) | pl.col("control_total").is_null())

    def amount(value: float | None) -> str:
        return "missing" if value is None else f"{value:,.0f}"

    def group(row: dict[str, Any]) -> str:
        return "/".join(str(row[k] if disclose is None else disclose.shown(k, row[k])) for k in keys)

    return [
        f"{reconciliation.name}: {group(row)}: rows sum to {amount(row['rows_total'])}, "
        f"the file's total is {amount(row['control_total'])} (difference {row['diff']:+,.0f})"
        for row in wrong.sort(keys).iter_rows(named=True)
    ]


# Above this many rows a frame is checked by the Polars translation of its suite: GX takes about 3 s per
# million rows for a 20-check suite here, which at national scale would dominate the load. The two
# engines are held to the same answers by tests/expectations/test_engines.py.
GX_MAX_ROWS = 250_000


def validate(
    frame: pl.DataFrame,
    suite: Suite,
    records: pl.DataFrame | None = None,
    controls: pl.DataFrame | None = None,
    engine: str = "auto",
    gx_max_rows: int = GX_MAX_ROWS,
    record_keys: pl.DataFrame | None = None,
    held_back: pl.DataFrame | None = None,
    seen: Seen | None = None,
) -> Validation:
    """Run every check of `suite` on `frame`; `records` (source row number + raw columns) fill `record`;
    `controls` holds the file's own totals for the suite's reconciliations; `record_keys` (source row
    number + keys from the transformed table) are added to each record. `engine` is 'gx', 'polars' or
    'auto' (GX up to `gx_max_rows` rows, or for a suite the Polars translation cannot express).
    `held_back` (source_row_number, check, reasons: one row per problem) names rows intake kept from the
    transform (a ragged row, a control character): they are quarantined beside the suite's failures.
    `seen` carries the suite's whole-file rules (`Suite.one_place`) from one batch of a file to the next."""
    checked = frame.with_columns(**suite.derived) if suite.derived else frame
    checked = _with_one_place(checked, suite, seen)
    absent = sorted(
        {f"{c.name} ({col})" for c in suite.checks for col in _check_columns(c) if col not in checked.columns}
    )
    if absent:
        raise SuiteError(f"checks of {suite.dataset} name columns the frame does not have: {', '.join(absent)}")
    translatable = all(c.expectation in POLARS_CHECKS for c in suite.checks)
    if engine == "auto":
        engine = "polars" if translatable and checked.height > gx_max_rows else "gx"
    gx_result = None
    if engine == "polars":
        reasons, failed_row_checks, table_failures = _run_polars(checked, suite)
    else:
        reasons, failed_row_checks, table_failures, gx_result = _run_gx(checked, suite)
    for reconciliation in suite.reconciliations:
        table_failures += reconcile(frame, reconciliation, controls, suite.disclose)
    if held_back is not None and held_back.height:
        for check, rows in held_back.group_by("check").agg(pl.col(SOURCE_ROW).n_unique()).iter_rows():
            failed_row_checks[check] = failed_row_checks.get(check, 0) + rows
        for row, reason in held_back.select(SOURCE_ROW, "reasons").iter_rows():
            reasons.setdefault(int(row), []).append(reason)
    failures = pl.DataFrame(
        {SOURCE_ROW: list(reasons), "reasons": ["; ".join(r) for r in reasons.values()]},
        schema={SOURCE_ROW: pl.Int64, "reasons": pl.String},
    )
    quarantine = _with_records(failures, records, record_keys, suite.disclose)
    valid = frame.filter(~pl.col(SOURCE_ROW).is_in(failures[SOURCE_ROW].implode()))
    return Validation(suite, valid, quarantine.sort(SOURCE_ROW), failed_row_checks, table_failures, gx_result)


def _with_one_place(checked: pl.DataFrame, suite: Suite, seen: Seen | None) -> pl.DataFrame:
    """Each whole-file rule's helper column: the other row a key stands at, for the row checks to read."""
    for rule in suite.one_place:
        others, keys = rule.check(checked, seen.keys.get(rule.column) if seen is not None else None)
        if seen is not None:
            seen.keys[rule.column] = keys
        checked = checked.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)).join(
            others, on=SOURCE_ROW, how="left", maintain_order="left"
        )
    return checked


def write_data_docs_page(validation: Validation, path: Path) -> Path | None:
    """GX's Data Docs page for this validation (the page a Data Docs site would show), or None when the
    Polars translation ran instead. Values shown are of the transformed table (no personal column is in
    it) and, for a personal dataset, only those its disclosure allows: the GX result was redacted when
    the checks ran (`_redact`), before anything could render it."""
    if validation.gx_result is None:
        return None
    from great_expectations.render.renderer import ValidationResultsPageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    html = DefaultJinjaPageView().render(ValidationResultsPageRenderer().render(validation.gx_result))
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(html, encoding="utf-8")
    temporary.replace(path)
    return path


Findings = tuple[dict[int, list[str]], dict[str, int], list[str]]


def _run_gx(checked: pl.DataFrame, suite: Suite) -> tuple[dict[int, list[str]], dict[str, int], list[str], Any]:
    import great_expectations as gx

    by_name = {check.name: check for check in suite.checks}
    with _GX_LOCK:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": checked.to_pandas()})
        gx_suite = gx.ExpectationSuite(name=f"{suite.dataset}.{suite.table}")
        for check in suite.checks:
            gx_suite.add_expectation(_expectation(check))
        result = batch.validate(
            gx_suite,
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": [SOURCE_ROW]},
        )
    reasons: dict[int, list[str]] = {}
    failed_row_checks: dict[str, int] = {}
    table_failures: list[str] = []
    table_check_names = {c.name for c in suite.table_checks}
    disclose = suite.disclose
    for outcome in result.results:
        name = outcome.expectation_config.meta["check"]
        problem = _raised(outcome.exception_info or {})
        if problem is not None:
            # A library's message may quote the cell it choked on: for personal data, the check's name only.
            detail = problem if disclose is None else "the reason is withheld, as the data is personal"
            raise SuiteError(f"check {name} of {suite.dataset} could not run: {detail}")
        if outcome.success:
            continue
        if name in table_check_names:
            observed = outcome.result.get("observed_value")
            column = by_name[name].kwargs.get("column")
            if observed is not None and disclose is not None:
                observed = disclose.shown(column, _plain(observed)) if column else _plain(observed)
            table_failures.append(f"{name} (observed {observed!r})" if observed is not None else name)
            continue
        entries = outcome.result.get("unexpected_index_list") or []
        failed_row_checks[name] = len(entries)
        for entry in entries:
            reasons.setdefault(int(entry[SOURCE_ROW]), []).append(_describe(entry, by_name[name], disclose))
    if disclose is not None:
        _redact(result, disclose)
    return reasons, failed_row_checks, table_failures, result


# What a GX result may keep for a personal dataset: counts and row numbers. Anything else GX writes (the
# values themselves, and whatever a later GX adds) is dropped, or for the value lists, redacted.
_COUNTS = frozenset(
    {
        "element_count", "unexpected_count", "unexpected_percent", "unexpected_percent_total",
        "unexpected_percent_nonmissing", "missing_count", "missing_percent", "unexpected_index_column_names",
    }
)  # fmt: skip
_VALUE_LISTS = ("partial_unexpected_list", "unexpected_list", "partial_unexpected_index_list", "unexpected_index_list")


def _redact(result: Any, disclose: Disclosure) -> None:
    """Redact a GX validation result in place, so its Data Docs page shows only what `disclose` allows:
    each value as itself or its marker (`invalid`, `withheld`), counts of values merged by what is
    shown, row numbers kept. The index query (pandas row positions) is dropped with everything else."""
    for outcome in result.results:
        kwargs = outcome.expectation_config.kwargs
        columns = [kwargs["column"]] if kwargs.get("column") else list(kwargs.get("column_list") or [])

        def shown_in(column: str, value: Any) -> Any:
            plain = _plain(value)
            return plain if column == SOURCE_ROW else disclose.shown(column, plain)

        def shown(value: Any, columns: list[str] = columns) -> Any:
            if isinstance(value, dict):  # an index entry, or a compound check's row: each column on its own
                return {k: shown_in(k, v) for k, v in value.items()}
            return shown_in(columns[0], value) if len(columns) == 1 else WITHHELD

        original = dict(outcome.result or {})
        kept: dict[str, Any] = {k: v for k, v in original.items() if k in _COUNTS}
        for key in _VALUE_LISTS:
            if key in original:
                kept[key] = [shown(value) for value in original[key] or []]
        if "partial_unexpected_counts" in original:
            merged: dict[str, int] = {}
            for item in original["partial_unexpected_counts"] or []:
                label = str(shown(item.get("value")))
                merged[label] = merged.get(label, 0) + int(item.get("count") or 0)
            kept["partial_unexpected_counts"] = [{"value": v, "count": c} for v, c in merged.items()]
        if "observed_value" in original:  # a row count is kept; a column's statistic is a value of it
            observed = _plain(original["observed_value"])
            kept["observed_value"] = observed if isinstance(observed, int | float) and not columns else WITHHELD
        outcome.result = kept


def _failing(check: Check) -> pl.Expr:
    """The rows a GX map expectation would list as unexpected (GX skips NULLs except for not-null)."""
    kwargs = check.kwargs
    kind = check.expectation
    if kind == "ExpectColumnValuesToNotBeNull":
        return pl.col(kwargs["column"]).is_null()
    if kind == "ExpectColumnValuesToBeNull":
        return pl.col(kwargs["column"]).is_not_null()
    if kind == "ExpectColumnValuesToMatchRegex":
        value = pl.col(kwargs["column"])
        return value.is_not_null() & ~value.cast(pl.String).str.contains(kwargs["regex"])
    if kind == "ExpectColumnValuesToBeInSet":
        value = pl.col(kwargs["column"])
        return value.is_not_null() & ~value.is_in(list(kwargs["value_set"]))
    if kind == "ExpectColumnValuesToBeBetween":
        value = pl.col(kwargs["column"])
        low, high = kwargs.get("min_value"), kwargs.get("max_value")
        outside = pl.lit(False)
        if low is not None:
            outside = outside | (value < low)
        if high is not None:
            outside = outside | (value > high)
        return value.is_not_null() & outside
    if kind == "ExpectColumnValuesToBeUnique":
        value = pl.col(kwargs["column"])
        return value.is_not_null() & value.is_duplicated()
    if kind == "ExpectCompoundColumnsToBeUnique":
        columns = list(kwargs["column_list"])
        all_missing = pl.all_horizontal([pl.col(c).is_null() for c in columns])
        return ~all_missing & pl.struct(columns).is_duplicated()
    raise SuiteError(f"no Polars translation of {kind}")


POLARS_CHECKS = frozenset(
    {
        "ExpectColumnValuesToNotBeNull", "ExpectColumnValuesToBeNull", "ExpectColumnValuesToMatchRegex",
        "ExpectColumnValuesToBeInSet",
        "ExpectColumnValuesToBeBetween", "ExpectColumnValuesToBeUnique", "ExpectCompoundColumnsToBeUnique",
        "ExpectTableRowCountToBeBetween",
    }
)  # fmt: skip


def _run_polars(checked: pl.DataFrame, suite: Suite) -> Findings:
    reasons: dict[int, list[str]] = {}
    failed_row_checks: dict[str, int] = {}
    table_failures: list[str] = []
    for check in suite.table_checks:  # row counts only: nothing to disclose
        low, high = check.kwargs.get("min_value"), check.kwargs.get("max_value")
        if (low is not None and checked.height < low) or (high is not None and checked.height > high):
            table_failures.append(f"{check.name} (observed {checked.height!r})")
    masks = checked.select([_failing(check).alias(check.name) for check in suite.row_checks])
    for check in suite.row_checks:
        failing = checked.filter(masks[check.name]).select(SOURCE_ROW, *_check_columns(check))
        if failing.is_empty():
            continue
        failed_row_checks[check.name] = failing.height
        for entry in failing.iter_rows(named=True):
            reasons.setdefault(int(entry[SOURCE_ROW]), []).append(_describe(entry, check, suite.disclose))
    return reasons, failed_row_checks, table_failures


def _with_records(
    failures: pl.DataFrame,
    records: pl.DataFrame | None,
    record_keys: pl.DataFrame | None = None,
    disclose: Disclosure | None = None,
) -> pl.DataFrame:
    if records is None:
        return failures.with_columns(pl.lit(None, dtype=pl.String).alias("record"))
    # Only held-back rows are encoded: a million-row batch with three bad rows encodes three.
    held = failures.select(pl.col(SOURCE_ROW).cast(pl.Int64))
    records = records.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)).join(held, on=SOURCE_ROW, how="semi")
    if record_keys is not None:
        keys = record_keys.with_columns(pl.col(SOURCE_ROW).cast(pl.Int64)).join(held, on=SOURCE_ROW, how="semi")
        records = records.join(keys, on=SOURCE_ROW, how="left")
    if disclose is not None:  # each cell as itself when its format allows, else `invalid` or `withheld`
        records = records.select(SOURCE_ROW, *(disclose.expr(c) for c in records.columns if c != SOURCE_ROW))
    encoded = records.select(
        pl.col(SOURCE_ROW),
        pl.struct(pl.exclude(SOURCE_ROW)).struct.json_encode().alias("record"),
    )
    return failures.join(encoded, on=SOURCE_ROW, how="left")
