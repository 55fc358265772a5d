"""The Parquet lake: bronze keeps every offered file unchanged under its SHA-256; silver holds typed tables,
Hive-partitioned (key=value folders, values percent-encoded as Hive and Polars do: 2023/24 -> 2023%2F24)."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from urllib.parse import quote

import polars as pl

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
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        shutil.copyfile(source, temporary)
        if mode is not None:
            temporary.chmod(mode)
        os.replace(temporary, target)
        return target

    def table_dir(self, table: str) -> Path:
        return self.silver / table

    def partition_dir(self, table: str, keys: tuple[str, ...] | str, values: tuple[object, ...] | object) -> Path:
        keys, values = ((keys,), (values,)) if isinstance(keys, str) else (keys, values)
        directory = self.table_dir(table)
        for key, value in zip(keys, values, strict=True):  # type: ignore[arg-type]
            text = value.isoformat() if isinstance(value, date) else str(value)
            directory = directory / f"{key}={quote(text, safe='')}"
        return directory

    def stage(self, frame: pl.DataFrame, directory: Path) -> StagedFile:
        """Write to a hidden temporary name beside the target; commit() renames it into place atomically."""
        directory.mkdir(parents=True, exist_ok=True)
        temporary = directory / f".{DATA_FILE}.{uuid.uuid4().hex}.tmp"
        frame.write_parquet(temporary, compression="zstd")
        return StagedFile(temporary, directory / DATA_FILE)

    def stage_partitions(self, frame: pl.DataFrame, table: str, keys: tuple[str, ...] | str) -> list[StagedFile]:
        keys = (keys,) if isinstance(keys, str) else keys
        return [
            self.stage(part, self.partition_dir(table, keys, values))
            for values, part in frame.partition_by(list(keys), as_dict=True, maintain_order=True).items()
        ]

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
