"""The Parquet lake: bronze keeps every offered file unchanged under its SHA-256; silver holds typed tables,
Hive-partitioned (key=value folders, values percent-encoded as Hive and Polars do: 2023/24 -> 2023%2F24)."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import cast
from urllib.parse import quote

import polars as pl

from sendflow.core.files import atomic_write_with, temporary_beside

DATA_FILE = "data.parquet"


@dataclass(frozen=True)
class Lake:
    root: Path

    @property
    def bronze(self) -> Path:
        return self.root / "bronze"

    @property
    def silver(self) -> Path:
        return self.root / "silver"

    def bronze_path(self, sha256: str, suffix: str) -> Path:
        return self.bronze / f"{sha256}{suffix.lower()}"

    def keep_bronze(self, source: Path, sha256: str, mode: int | None = None) -> Path:
        """Copy the offered file, unchanged, into bronze; a second offer of the same bytes is a no-op."""
        target = self.bronze_path(sha256, source.suffix)
        if target.exists():
            return target
        return atomic_write_with(target, lambda temporary: shutil.copyfile(source, temporary), mode)

    def table_dir(self, table: str) -> Path:
        return self.silver / table

    def partition_dir(self, table: str, keys: tuple[str, ...] | str, values: tuple[object, ...] | object) -> Path:
        """One key and its value, or a tuple of keys and the tuple of their values."""
        pairs = [(keys, values)] if isinstance(keys, str) else zip(keys, cast(tuple[object, ...], values), strict=True)
        directory = self.table_dir(table)
        for key, value in pairs:
            text = value.isoformat() if isinstance(value, date) else str(value)
            directory = directory / f"{key}={quote(text, safe='')}"
        return directory

    def stage(self, frame: pl.DataFrame, directory: Path, name: str = DATA_FILE) -> StagedFile:
        """Write to a hidden temporary name beside the target; commit() renames it into place atomically.
        Two-phase, not core.files.atomic_path: the rename waits until the warehouse transaction commits."""
        directory.mkdir(parents=True, exist_ok=True)
        temporary = temporary_beside(directory / name)
        frame.write_parquet(temporary, compression="zstd")
        return StagedFile(temporary, directory / name)

    def stage_partitions(
        self, frame: pl.DataFrame, table: str, keys: tuple[str, ...] | str, part: str = "0"
    ) -> list[StagedFile]:
        """One part file per partition the frame touches, named part-<part>.parquet."""
        keys = (keys,) if isinstance(keys, str) else keys
        return [
            self.stage(rows, self.partition_dir(table, keys, values), f"part-{part}.parquet")
            for values, rows in frame.partition_by(list(keys), as_dict=True, maintain_order=True).items()
        ]

    def replace_partitions(
        self, table: str, keys: tuple[str, ...], lake_keys: tuple[str, ...], replaced: set[tuple], own_prefix: str
    ) -> None:
        """Before a load's part files move in, drop what they replace from the folders they go to: whole
        files where the folder is the replaced partition, else the replaced partitions' rows."""
        if not replaced:
            return
        replaced_rows = pl.DataFrame(sorted(replaced), schema=list(keys), orient="row")
        folders = replaced_rows.select(lake_keys).unique() if set(lake_keys) <= set(keys) else None
        for directory in self._touched_folders(table, lake_keys, folders):
            for existing in sorted(directory.glob("*.parquet")):
                if existing.name.startswith(f"part-{own_prefix}"):
                    continue
                if tuple(lake_keys) == tuple(keys):
                    existing.unlink()
                    continue
                rows = pl.read_parquet(existing)
                kept = rows.join(replaced_rows.cast(rows.select(keys).schema), on=list(keys), how="anti")
                if kept.height == rows.height:
                    continue
                if kept.is_empty():
                    existing.unlink()
                else:
                    self.stage(kept, directory, existing.name).commit()

    def _touched_folders(self, table: str, lake_keys: tuple[str, ...], folders: pl.DataFrame | None) -> list[Path]:
        if folders is None:  # the lake partitions are not implied by the replaced keys: look everywhere
            return [p for p in self.table_dir(table).rglob("*") if p.is_dir() and any(p.glob("*.parquet"))]
        return [p for values in folders.rows() if (p := self.partition_dir(table, lake_keys, values)).is_dir()]

    def stage_table(self, frame: pl.DataFrame, table: str) -> StagedFile:
        return self.stage(frame, self.table_dir(table))


@dataclass(frozen=True)
class StagedFile:
    temporary: Path
    target: Path

    def commit(self) -> None:
        os.replace(self.temporary, self.target)

    def discard(self) -> None:
        self.temporary.unlink(missing_ok=True)
