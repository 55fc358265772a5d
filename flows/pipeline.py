"""One offered file, start to finish: offer -> bronze -> read -> identify -> transform -> validate -> publish.

Plain functions (the Prefect flow wraps them), so the whole path runs and is tested without a server.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from expectations.runner import Validation, validate
from flows.intake import (
    Rejection,
    academic_year_for,
    identify,
    read_table,
    sha256_of,
    snapshot_date_in_name,
)
from flows.registry import BY_NAME, Dataset, all_layouts
from flows.settings import Settings
from transforms.common import CONTROLS, SOURCE_ROW, Layout, SourceError, SourceInfo, normalise_academic_year
from warehouse import ledger
from warehouse.connection import Warehouse
from warehouse.lake import Lake
from warehouse.ledger import LoadRecord
from warehouse.publish import Partitioned, publish

EXAMPLES_IN_MESSAGE = 3


@dataclass(frozen=True)
class FileOutcome:
    path: str
    status: str  # loaded, duplicate, rejected or failed
    message: str
    dataset: str | None = None
    load_id: int | None = None
    partitions: tuple[str, ...] = ()
    rows_read: int = 0
    rows_loaded: int = 0
    rows_quarantined: int = 0

    @property
    def ok(self) -> bool:
        return self.status in ("loaded", "duplicate")

    def line(self) -> str:
        name = Path(self.path).name
        if self.status in ("loaded", "duplicate"):
            return f"{name}: {self.status} ({self.message})"
        return f"{name}: {self.status}: {self.message}"


@dataclass(frozen=True)
class Context:
    settings: Settings
    warehouse: Warehouse
    lake: Lake

    @classmethod
    def from_settings(cls, settings: Settings) -> Context:
        return cls(settings, Warehouse(settings.warehouse_url), Lake(settings.lake_dir))


def ingest_path(path: Path, academic_year: str | None, context: Context) -> FileOutcome:
    """Load one file; never raises for bad input: the outcome (and its etl_load row) says what happened."""
    record = LoadRecord(
        source_name=path.name,
        source_sha256=sha256_of(path),
        status="failed",
        started_at=ledger.now(),
        source_bytes=path.stat().st_size,
    )
    try:
        previous = ledger.loaded_with_sha256(context.warehouse, record.source_sha256)
        if previous is not None:
            return _duplicate(path, record, previous, context)
        context.lake.keep_bronze(path, record.source_sha256)
        return _load(path, academic_year, record, context)
    except Rejection as rejection:
        record.status, record.message = "rejected", str(rejection)
        _keep_rejected(path, record, context)
        load_id = ledger.record_outcome(context.warehouse, record, getattr(rejection, "quarantine", None))
    except Exception as error:  # a failure of ours, not of the file: record it and carry on with other files
        record.status, record.message = "failed", f"{type(error).__name__}: {error}"
        load_id = ledger.record_outcome(context.warehouse, record)
    return FileOutcome(
        str(path), record.status, record.message or "", record.dataset, load_id, (), record.rows_read,
        0, record.rows_quarantined,
    )  # fmt: skip


def _duplicate(path: Path, record: LoadRecord, previous: dict, context: Context) -> FileOutcome:
    record.status = "duplicate"
    record.dataset = previous["dataset"]
    record.message = f"same bytes as load {previous['load_id']} ({previous['source_name']}); nothing changed"
    load_id = ledger.record_outcome(context.warehouse, record)
    return FileOutcome(str(path), "duplicate", record.message, record.dataset, load_id)


def source_info(path: Path, layout: Layout, academic_year: str | None, preamble: tuple[str, ...] = ()) -> SourceInfo:
    year = academic_year_for(path, academic_year)
    if layout.year_from == "external" and year is None:
        raise Rejection(
            f"cannot tell the academic year of {path.name}: pass --academic-year 2023/24 or put the year "
            "in the file or folder name (e.g. england_census_2023-24.csv)"
        )
    return SourceInfo(
        layout=layout.name,
        source_name=path.name,
        academic_year=normalise_academic_year(year) if year else None,
        snapshot_date=snapshot_date_in_name(path),
        preamble=preamble,
    )


def _load(path: Path, academic_year: str | None, record: LoadRecord, context: Context) -> FileOutcome:
    raw = read_table(path, all_layouts())
    found = identify(raw.header, all_layouts(), path.name)
    dataset = BY_NAME[found.layout.dataset]
    record.dataset, record.source_layout = dataset.name, found.layout.name
    record.rows_read = raw.frame.height
    if found.missing:
        raise Rejection(
            f"identified as {dataset.name} ({found.layout.description}) but required column(s) missing: "
            + ", ".join(found.missing)
        )
    source = source_info(path, found.layout, academic_year, raw.preamble)
    try:
        built = dataset.build(raw.frame, source)
    except SourceError as error:
        raise Rejection(f"{path.name}: {error}") from error
    table = built[dataset.table]
    _check_year_agrees(table, found.layout, academic_year, path)
    # Long-format datasets turn one source row into several; a row is skipped when it yields none.
    record.rows_skipped = raw.frame.height - table[SOURCE_ROW].n_unique()
    records = raw.frame.select(SOURCE_ROW, *found.layout.columns_in(raw.header))
    checked = validate(table, dataset.suite, records, built.get(CONTROLS))
    _reject_if_unfit(checked, record, context.settings.quarantine_threshold)
    return _publish(path, dataset, checked, record, context)


def _check_year_agrees(table: pl.DataFrame, layout: Layout, given: str | None, path: Path) -> None:
    if layout.year_from != "column" or not given or "academic_year" not in table.columns:
        return
    wanted = normalise_academic_year(given)
    found = sorted(table["academic_year"].drop_nulls().unique().to_list())
    if found and found != [wanted]:
        raise Rejection(
            f"{path.name} says {', '.join(found)} in its time_period column but --academic-year says {wanted}"
        )


def _reject_if_unfit(checked: Validation, record: LoadRecord, threshold: float) -> None:
    record.rows_quarantined = checked.quarantine.height
    if checked.table_failures:
        rejection = Rejection("file-level check failed: " + "; ".join(checked.table_failures))
        rejection.quarantine = checked.quarantine  # type: ignore[attr-defined]
        raise rejection
    if checked.quarantined_share > threshold:
        examples = "; ".join(
            f"row {row[SOURCE_ROW]}: {row['reasons']}"
            for row in checked.quarantine.head(EXAMPLES_IN_MESSAGE).iter_rows(named=True)
        )
        rejection = Rejection(
            f"{checked.quarantine.height} of {checked.rows_checked} rows ({checked.quarantined_share:.1%}) failed "
            f"validation, above the {threshold:.0%} threshold; nothing was published. First failures: {examples}"
        )
        rejection.quarantine = checked.quarantine  # type: ignore[attr-defined]
        raise rejection


def _publish(path: Path, dataset: Dataset, checked: Validation, record: LoadRecord, context: Context) -> FileOutcome:
    valid = checked.valid
    partitions = tuple(
        "/".join(str(v) for v in values)
        for values in sorted(valid.select(dataset.partition_keys).unique().drop_nulls().rows())
    )
    record.status = "loaded"
    record.rows_loaded = valid.height
    record.partition_values = ", ".join(partitions)
    record.message = _loaded_message(dataset, partitions, record)
    published = publish(
        context.warehouse,
        context.lake,
        record,
        [Partitioned(dataset.table, dataset.partition_keys, valid)],
        dataset.derived,
        checked.quarantine,
    )
    if published.status == "duplicate":
        return FileOutcome(str(path), "duplicate", published.message, dataset.name, published.load_id)
    return FileOutcome(
        str(path), "loaded", f"{record.message}; load {published.load_id}", dataset.name, published.load_id,
        partitions, record.rows_read, record.rows_loaded, record.rows_quarantined,
    )  # fmt: skip


def _loaded_message(dataset: Dataset, partitions: tuple[str, ...], record: LoadRecord) -> str:
    parts = [
        f"{dataset.name} {', '.join(partitions)}",
        f"{record.rows_read} rows read",
        f"{record.rows_loaded} loaded",
        f"{record.rows_quarantined} quarantined",
    ]
    if record.rows_skipped:
        parts.append(f"{record.rows_skipped} rows outside the table's grain set aside (totals, notes, cross-tabs)")
    return ", ".join(parts)


def _keep_rejected(path: Path, record: LoadRecord, context: Context) -> None:
    """The rejected file stays in the landing zone's rejected area with its reason beside it."""
    rejected = context.settings.landing_dir / "rejected"
    rejected.mkdir(parents=True, exist_ok=True)
    target = rejected / f"{record.source_sha256[:12]}_{path.name}"
    if path.resolve().parent == context.settings.landing_dir.resolve():
        shutil.move(path, target)
    elif not target.exists():
        shutil.copyfile(path, target)
    target.with_name(target.name + ".reason.txt").write_text((record.message or "") + "\n", encoding="utf-8")
