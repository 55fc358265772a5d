"""One offered file, start to finish: offer -> bronze -> read -> identify -> transform -> validate -> publish.

Plain functions (the Prefect flow wraps them), so the whole path runs and is tested without a server.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path

import polars as pl

from sendflow.core.files import atomic_write_bytes, atomic_write_with, sha256_of
from sendflow.core.settings import Settings
from sendflow.core.vocabulary import LoadStatus
from sendflow.expectations.runner import Seen, Validation, validate, write_data_docs_page
from sendflow.expectations.suite import Disclosure, Suite
from sendflow.intake.delimited import batches
from sendflow.intake.header import identify
from sendflow.intake.limits import SheetLimits
from sendflow.intake.names import academic_year_for, snapshot_date_in_name
from sendflow.intake.raw import Rejection
from sendflow.intake.reader import read_head
from sendflow.intake.structure import ROW_PROBLEMS, blank_rows, cell_problems, from_column
from sendflow.loading import progress
from sendflow.loading.landed import rejected_copy
from sendflow.loading.offers import one_offer_at_a_time
from sendflow.loading.outcomes import FileOutcome
from sendflow.loading.pupil_files import identified_dataset, shown_message, shown_name
from sendflow.loading.repeats import duplicate
from sendflow.registry.datasets import BY_NAME, Dataset, all_layouts
from sendflow.registry.names import is_personal
from sendflow.registry.partitions import replaced, summary
from sendflow.transforms.common import (
    CONTROLS,
    SOURCE_ROW,
    Layout,
    SourceError,
    SourceInfo,
    match_columns,
    normalise_academic_year,
)
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.lake import Lake
from sendflow.warehouse.ledger import LoadRecord
from sendflow.warehouse.publish import Batch, Partitioned, publish

EXAMPLES_IN_MESSAGE = 3


def no_publish_limit(dataset: str) -> AbstractContextManager[object]:
    return nullcontext()


@dataclass(frozen=True)
class Context:
    settings: Settings
    warehouse: Warehouse
    lake: Lake
    # Held while a file's rows are published: the flows pass a Prefect concurrency slot per dataset.
    publish_slot: Callable[[str], AbstractContextManager[object]] = no_publish_limit

    @classmethod
    def from_settings(
        cls, settings: Settings, publish_slot: Callable[[str], AbstractContextManager[object]] = no_publish_limit
    ) -> Context:
        return cls(settings, Warehouse(settings.warehouse_url), Lake(settings.lake_dir), publish_slot)


BATCH_ROWS = 1_000_000


def ingest_path(path: Path, academic_year: str | None, context: Context) -> FileOutcome:
    """Load one file; never raises for bad input: the outcome (and its etl_load row) says what happened.
    Whatever goes wrong while offering it (a fault of the file or of ours) is this file's outcome, so a run's
    other files are still offered. Its start, batches and end are told to whoever listens (loading/progress)."""
    key = progress.file_key(path)
    progress.emit(progress.FileStarted(shown_name(path), key))
    outcome = _offer(path, academic_year, context)
    progress.emit(progress.FileFinished(outcome.name, key, outcome.status))
    return outcome


def _offer(path: Path, academic_year: str | None, context: Context) -> FileOutcome:
    record = LoadRecord(
        source_name=shown_name(path),  # a pupil file's name may be a pupil's: stored as shown, never as is
        source_sha256="",
        status=LoadStatus.FAILED,
        started_at=ledger.now(),
    )
    tally = Tally()
    try:
        record.source_sha256, record.source_bytes = sha256_of(path), path.stat().st_size
        # Until these bytes' outcome is known, a second offer of them waits (loading/offers.py).
        with one_offer_at_a_time(context.settings.home, record.source_sha256):
            previous = ledger.loaded_with_sha256(context.warehouse, record.source_sha256)
            if previous is not None:
                return duplicate(path, record, previous, context.warehouse)
            return _load(path, academic_year, record, context, tally)
    except Rejection as rejection:
        record.status, record.message = LoadStatus.REJECTED, shown_message(str(rejection), path)
        try:
            _keep_rejected(path, record, context, rejection.details)
        except OSError as error:
            record.message += f" (the file could not be kept in the rejected area: {error.strerror})"
        load_id = ledger.record_outcome(context.warehouse, record, rejection.quarantine)
    except Exception as error:  # a failure of ours, not of the file: record it and carry on with other files
        record.status, record.message = LoadStatus.FAILED, shown_message(_failure_message(error, record), path)
        load_id = ledger.record_outcome(context.warehouse, record)
    return FileOutcome(
        str(path), record.status, record.message or "", record.dataset, load_id, (), record.rows_read,
        0, record.rows_quarantined, tally.checks_failed, tally.docs_pages,
    )  # fmt: skip


FAILURE_MESSAGE_CHARS = 300


def _failure_message(error: Exception, record: LoadRecord) -> str:
    """What failed, for the ledger and the run's output. A library's message may quote cell values, so for a
    personal dataset only the kind of failure is said: the file itself, kept in bronze, shows the rest."""
    kind = type(error).__name__
    if record.dataset is not None and BY_NAME[record.dataset].personal:
        return f"{kind} while loading {record.dataset} (details withheld: the file holds personal data)"
    first_line = (str(error).splitlines() or [""])[0]
    return f"{kind}: {first_line[:FAILURE_MESSAGE_CHARS]}"


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


@dataclass
class Tally:
    """What the batches of one file added up to."""

    partitions: set[tuple] = field(default_factory=set)
    quarantine: list[pl.DataFrame] = field(default_factory=list)
    table_failures: list[str] = field(default_factory=list)
    rows_checked: int = 0
    failing_rows: dict[str, int] = field(default_factory=dict)
    pages: list[str] = field(default_factory=list)
    seen: Seen = field(default_factory=Seen)  # the keys of earlier batches, for the suite's whole-file rules

    @property
    def held_back(self) -> pl.DataFrame:
        return pl.concat(self.quarantine) if self.quarantine else pl.DataFrame()

    @property
    def checks_failed(self) -> tuple[tuple[str, int], ...]:
        return (*sorted(self.failing_rows.items()), *((failure, 0) for failure in self.table_failures))

    @property
    def docs_pages(self) -> tuple[str, ...]:
        return tuple(self.pages)

    def count(self, checked: Validation) -> None:
        self.rows_checked += checked.rows_checked
        self.quarantine.append(checked.quarantine)
        self.table_failures += checked.table_failures
        for name, rows in checked.failed_row_checks.items():
            self.failing_rows[name] = self.failing_rows.get(name, 0) + rows


def _load(path: Path, academic_year: str | None, record: LoadRecord, context: Context, tally: Tally) -> FileOutcome:
    raw = read_head(path, all_layouts(), SheetLimits.from_settings(context.settings))
    found = identify(raw.header, all_layouts(), path.name)
    dataset = BY_NAME[found.layout.dataset]
    record.dataset, record.source_layout = dataset.name, found.layout.name
    if found.missing:
        raise Rejection(
            f"identified as {dataset.name} ({found.layout.description}) but required column(s) missing: "
            + ", ".join(found.missing)
        )
    source = replace(
        source_info(path, found.layout, academic_year, raw.preamble),
        lookups={name: fetch(context.warehouse) for name, fetch in dataset.lookups.items()},
        pupil_key=_pupil_key(dataset, context.settings),
    )
    # Owner-only: the raw file of a pupil-level dataset is personal data, and bronze keeps it unchanged.
    context.lake.keep_bronze(path, record.source_sha256, mode=0o600)
    kept = [c for c in found.layout.columns_in(raw.header) if c not in found.layout.personal]

    def checked_batches() -> Iterator[Batch]:
        """Read, transform and check each batch as the publisher asks for it; after the last, refuse the
        file (raising, which aborts the publication) if it is unfit, else name what it replaces."""
        for number, batch in enumerate(batches(raw, dataset.batch_key, BATCH_ROWS), start=1):
            checked = _check(
                batch, dataset, found.layout, source, kept, academic_year, path, record, context.settings.gx_max_rows,
                tally.seen,
            )  # fmt: skip
            tally.count(checked)
            progress.emit(progress.BatchChecked(record.source_name, progress.file_key(path), number, record.rows_read))
            page = context.settings.data_docs_dir / dataset.name / f"{record.source_sha256[:16]}-{number}.html"
            if write_data_docs_page(checked, page):
                tally.pages.append(str(page))
            tally.partitions |= set(checked.valid.select(dataset.partition_keys).unique().drop_nulls().rows())
            record.rows_loaded += checked.valid.height
            yield Batch([Partitioned(dataset.table, dataset.partition_keys, checked.valid, dataset.lake_keys)],
                        checked.quarantine)  # fmt: skip
        _reject_if_unfit(tally, record, context.settings.quarantine_threshold)
        names = summary(tally.partitions, dataset.partition_keys)
        record.partition_values = ", ".join(names)
        record.message = _loaded_message(dataset, names, record)

    published = publish(
        context.warehouse, context.lake, record, checked_batches(), dataset.derived, context.publish_slot(dataset.name)
    )
    if published.status is LoadStatus.DUPLICATE:
        return FileOutcome(str(path), LoadStatus.DUPLICATE, published.message, dataset.name, published.load_id)
    return FileOutcome(
        str(path), LoadStatus.LOADED, f"{record.message}; load {published.load_id}", dataset.name, published.load_id,
        replaced(tally.partitions, dataset.partition_keys), record.rows_read, record.rows_loaded,
        record.rows_quarantined, tally.checks_failed, tally.docs_pages,
    )  # fmt: skip


def _check(
    batch: pl.DataFrame, dataset: Dataset, layout: Layout, source: SourceInfo, kept: list[str],
    academic_year: str | None, path: Path, record: LoadRecord, gx_max_rows: int, seen: Seen | None = None,
) -> Validation:  # fmt: skip
    """Transform and validate one batch; quarantine records carry no personal column, and for a personal
    dataset only the values its suite's disclosure allows. Rows intake holds back (ragged, or with a
    control character in a column the layout reads) skip the transform."""
    record.rows_read += batch.height
    blank = blank_rows(batch)
    if blank.any():  # a blank line holds no cell: nothing to load or hold back, counted as set aside
        record.rows_skipped += int(blank.sum())
        batch = batch.filter(~blank)
    held = pl.concat([from_column(batch), cell_problems(batch, layout.columns_in(batch.columns), path.name)])
    records = _records(batch, layout, kept)
    batch = batch.join(held, on=SOURCE_ROW, how="anti") if held.height else batch
    try:
        built = dataset.build(batch.drop(ROW_PROBLEMS, strict=False), source)
    except SourceError as error:
        raise Rejection(f"{path.name}: {error}") from error
    table = built[dataset.table]
    _check_year_agrees(table, layout, academic_year, path)
    # Long-format datasets turn one source row into several; a row is skipped when it yields none.
    record.rows_skipped += batch.height - table[SOURCE_ROW].n_unique()
    # A held-back pupil's record carries its key, so it can be found again without the UPN.
    keys = table.select(SOURCE_ROW, "pupil_key") if "pupil_key" in table.columns else None
    return validate(
        table, _suite(dataset), records, built.get(CONTROLS), gx_max_rows=gx_max_rows, record_keys=keys,
        held_back=held, seen=seen,
    )  # fmt: skip


def _records(batch: pl.DataFrame, layout: Layout, kept: list[str]) -> pl.DataFrame:
    """The raw cells a quarantine record keeps. For a layout with personal columns, its other columns under
    the layout's own names: a personal column is left out however the file spells it ('upn'), and the
    suite's disclosure finds each column by the name it declares."""
    if not layout.personal:
        return batch.select(SOURCE_ROW, *kept)
    found = match_columns(batch.columns, layout.columns)
    return batch.select(
        SOURCE_ROW, *(pl.col(actual).alias(name) for name, actual in found.items() if name not in layout.personal)
    )


def _suite(dataset: Dataset) -> Suite:
    """The suite to validate with: a personal dataset's always discloses by a Disclosure, its own or, if it
    declares none, one that shows no value at all."""
    if dataset.personal and dataset.suite.disclose is None:
        return replace(dataset.suite, disclose=Disclosure())
    return dataset.suite


def _pupil_key(dataset: Dataset, settings: Settings) -> bytes | None:
    if not dataset.personal:
        return None
    key = settings.pupil_key_bytes()
    if key is None:
        raise Rejection(
            f"{dataset.name} is pupil-level personal data and no pseudonymisation key is set: set "
            "SENDFLOW_PUPIL_KEY to a long random secret, or SENDFLOW_PUPIL_KEY_FILE to a file holding one, or "
            "SENDFLOW_PUPIL_KEY_BLOCK to the name of a Prefect Secret block (`make demo` creates var/pupil.key)"
        )
    return key


def _check_year_agrees(table: pl.DataFrame, layout: Layout, given: str | None, path: Path) -> None:
    if not given or "academic_year" not in table.columns or layout.year_from != "column":
        return
    wanted = normalise_academic_year(given)
    found = sorted(table["academic_year"].drop_nulls().unique().to_list())
    if found and found != [wanted]:
        raise Rejection(f"{path.name} says {', '.join(found)} in its own columns but --academic-year says {wanted}")


def _reject_if_unfit(tally: Tally, record: LoadRecord, threshold: float) -> None:
    held_back = tally.held_back
    record.rows_quarantined = held_back.height
    share = held_back.height / tally.rows_checked if tally.rows_checked else 0.0
    if tally.table_failures:
        raise Rejection("file-level check failed: " + "; ".join(tally.table_failures), held_back)
    if share > threshold:
        examples = "; ".join(
            f"row {row[SOURCE_ROW]}: {row['reasons']}"
            for row in held_back.head(EXAMPLES_IN_MESSAGE).iter_rows(named=True)
        )
        raise Rejection(
            f"{held_back.height} of {tally.rows_checked} rows ({share:.1%}) failed validation, above the "
            f"{threshold:.0%} threshold; nothing was published. First failures: {examples}",
            held_back,
        )


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


def _keep_rejected(path: Path, record: LoadRecord, context: Context, details: str | None = None) -> None:
    """The rejected file stays in the landing zone's rejected area with its reason beside it (the short message,
    then the rejection's details, such as every known layout), both named by the file's shown name. A pupil
    file, or one whose dataset was never found (it may be one), is kept owner-only, as bronze keeps it,
    and `sendflow purge --pupil-level` deletes it with bronze."""
    target = rejected_copy(context.settings.landing_dir, record.source_sha256, record.source_name)
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = 0o600 if is_personal(record.dataset) else None
    if path.resolve().is_relative_to(context.settings.landing_dir.resolve()):
        if mode is not None:
            os.chmod(path, mode)  # before the move, so it is never readable by others under its new name
        shutil.move(path, target)
    elif not target.exists():
        atomic_write_with(target, lambda temporary: shutil.copyfile(path, temporary), mode)
    reason = ((record.message or "") + "\n" + (f"\n{details}\n" if details else "")).encode("utf-8")
    atomic_write_bytes(target.with_name(target.name + ".reason.txt"), reason, mode)


def load_order(path: Path) -> int:
    """Files whose dataset looks up others' rows (pupil returns read dim_school) go after the rest of the run."""
    name = identified_dataset(path)  # unreadable or unidentified: its own turn meets it again and records it
    return 1 if name is not None and BY_NAME[name].lookups else 0
