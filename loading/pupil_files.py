"""Pupil-level housekeeping: the name an offered file is shown by, the reconciliation printed after a load,
and purging raw pupil files."""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import polars as pl

from sendflow.core.identifiers import UPN_SHAPED
from sendflow.core.settings import Settings
from sendflow.core.text import table
from sendflow.intake.header import identify
from sendflow.intake.raw import Rejection
from sendflow.intake.reader import read_head
from sendflow.loading.shown_names import REDACTED, source_label
from sendflow.registry.datasets import BY_NAME, DATASETS, all_layouts
from sendflow.transforms.common import match_columns
from sendflow.warehouse import ledger
from sendflow.warehouse.connection import Warehouse


@dataclass(frozen=True)
class _Head:
    """What a file's head says, decided once: its dataset (None when unidentified) and whether it is personal."""

    dataset: str | None
    personal: bool


def _read_head_facts(path: Path) -> _Head:
    """Whether a file holds pupil-level data, from its head: identified as a personal dataset, or not
    identified but with a personal column in its header (a pupil export of another shape) or a UPN where
    the header should be (a return without one). A head that cannot be read at all says nothing, and its
    name is only redacted of UPNs."""
    try:
        raw = read_head(path, all_layouts())
    except Exception:  # the load meets it again in its turn and records it
        return _Head(None, False)
    try:
        dataset = BY_NAME[identify(raw.header, all_layouts(), path.name).layout.dataset]
    except Rejection:
        personal = [c for d in DATASETS if d.personal for layout in d.layouts for c in layout.personal]
        found = bool(match_columns(raw.header, personal)) or any(re.search(UPN_SHAPED, c) for c in raw.header)
        return _Head(None, found)
    return _Head(dataset.name, dataset.personal)


_NAMES: OrderedDict[str, tuple[tuple[int, int] | None, str, _Head]] = OrderedDict()
_NAMES_LOCK = threading.Lock()
_NAMES_KEPT = 4096


def _remembered(path: Path) -> tuple[str, _Head]:
    """The shown name and head facts of a file, read once and remembered by path, size and time."""
    key = str(path.absolute())
    try:
        stat = path.stat()
        signature: tuple[int, int] | None = (stat.st_size, stat.st_mtime_ns)
    except OSError:
        signature = None
    with _NAMES_LOCK:
        cached = _NAMES.get(key)
    if cached is not None and (signature is None or cached[0] == signature):
        return cached[1], cached[2]
    head = _read_head_facts(path) if signature is not None else _Head(None, False)
    label = source_label(path.name, head.personal)
    with _NAMES_LOCK:
        _NAMES[key] = (signature, label, head)
        _NAMES.move_to_end(key)
        while len(_NAMES) > _NAMES_KEPT:
            _NAMES.popitem(last=False)
    return label, head


def shown_name(path: Path) -> str:
    """The one name an offered file is shown by: in etl_load.source_name, messages, the outcome line,
    Prefect's task run names and artifacts, and the rejected area. Decided once per file (its head is
    read, to know whether it is a pupil file) and remembered by path, size and time, so the task run
    name, the ledger and the outcome agree even after the file was moved to the rejected area."""
    return _remembered(path)[0]


def identified_dataset(path: Path) -> str | None:
    """The dataset a file's head identifies, from the same remembered read as its shown name (a run orders
    its files by it, then names their task runs, without reading each head twice)."""
    return _remembered(path)[1].dataset


def reconciliation_for_loads(warehouse: Warehouse, load_ids: list[int]) -> pl.DataFrame:
    """v_census_reconciliation for the schools and censuses these loads brought in."""
    if not load_ids:
        return pl.DataFrame()
    ids = ", ".join(str(int(i)) for i in load_ids)
    return ledger.query(
        warehouse,
        "SELECT r.* FROM v_census_reconciliation r JOIN (SELECT DISTINCT urn, academic_year, census_term "
        f"FROM fct_pupil_census WHERE load_id IN ({ids})) l ON l.urn = r.urn AND l.academic_year = r.academic_year "
        "AND l.census_term = r.census_term ORDER BY r.urn",
    )


def reconciliation_text(rows: pl.DataFrame, limit: int = 30) -> str:
    if rows.is_empty():
        return "No pupil-level returns to reconcile."
    differing = rows.filter(
        (pl.col("pupils_diff") != 0) | (pl.col("ehc_plan_diff") != 0) | (pl.col("sen_support_diff") != 0)
    )
    unpublished = rows.filter(pl.col("pupils_published").is_null()).height
    shown = (differing if differing.height else rows).head(limit)
    columns = ["urn", "academic_year", "census_term", "pupils_returned", "pupils_published", "pupils_diff",
               "ehc_plan_returned", "ehc_plan_published", "ehc_plan_diff", "sen_support_returned",
               "sen_support_published", "sen_support_diff"]  # fmt: skip
    headline = (
        f"Reconciliation against the published school census: {rows.height} school census(es), "
        f"{differing.height} with differences, {unpublished} with nothing published to compare"
    )
    headers = [
        "URN",
        "year",
        "term",
        "pupils",
        "published",
        "diff",
        "EHC",
        "published",
        "diff",
        "K",
        "published",
        "diff",
    ]
    return headline + "\n" + table(headers, shown.select(columns).rows())


def shown_message(message: str, path: Path) -> str:
    """A message for the ledger and the outcome line, naming the file by its shown name (intake and the
    transforms name it by its own) and with nothing in it shaped like a UPN."""
    name = shown_name(path)
    for spelling in (str(path), path.name):
        message = message.replace(spelling, name)
    return re.sub(UPN_SHAPED, REDACTED, message)


def purge_pupil_files(settings: Settings, older_than_days: int, dry_run: bool = False) -> list[Path]:
    """Delete raw pupil-level files (bronze copies and rejected copies) offered more than N days ago, and
    return them; with `dry_run`, return the same files and delete none. A file rejected before its dataset
    was known may be a pupil file (kept owner-only for that reason): its rejected copy goes with them."""
    personal = [d.name for d in DATASETS if d.personal]
    warehouse = Warehouse(settings.warehouse_url)
    cutoff = ledger.now() - timedelta(days=older_than_days)
    names = ", ".join(f"'{name}'" for name in personal)
    offered = ledger.read_table(warehouse, "etl_load", f"dataset IN ({names}) OR dataset IS NULL")
    old = offered.filter(pl.col("started_at") < cutoff)["source_sha256"].unique().to_list()
    removed: list[Path] = []
    for sha in old:
        candidates = [
            *(settings.lake_dir / "bronze").glob(f"{sha}*"),
            *(settings.landing_dir / "rejected").glob(f"{sha[:12]}_*"),
        ]
        for path in candidates:
            if path.is_file():
                if not dry_run:
                    path.unlink()
                removed.append(path)
    return removed
