"""The load ledger: one etl_load row per file offered, one etl_quarantine row per source row held back."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index, text
from sqlmodel import Field, SQLModel

from sendflow.core.vocabulary import LoadStatus
from sendflow.warehouse.models.columns import AutoId, code, count, moment
from sendflow.warehouse.models.columns import text as long_text

*_EARLIER, _LAST = tuple(LoadStatus)


class EtlLoad(SQLModel, table=True):
    __tablename__ = "etl_load"
    __table_args__ = (
        # At most one successful load per file content, whatever its name: the database breaks races.
        Index(
            "uq_etl_load_loaded_sha256",
            "source_sha256",
            unique=True,
            sqlite_where=text(f"status = '{LoadStatus.LOADED}'"),
            postgresql_where=text(f"status = '{LoadStatus.LOADED}'"),
        ),
        {"comment": "One row per file offered to the pipeline, whatever happened to it."},
    )

    load_id: int | None = Field(
        default=None,
        sa_column=Column(AutoId, primary_key=True, autoincrement=True, comment="Identifies this load."),
    )
    dataset: str | None = code("Registered dataset the file was identified as (NULL if unidentified).")
    source_name: str | None = long_text("File name as offered.")
    source_sha256: str | None = code("SHA-256 of the file's bytes; the bronze copy is stored under it.", index=True)
    source_bytes: int | None = count("Size of the file in bytes.")
    source_layout: str | None = code("Which published layout of the dataset the header matched.")
    status: str | None = code(f"{', '.join(_EARLIER)} or {_LAST}.")
    partition_values: str | None = long_text(
        "The partitions this load replaced, comma-separated: years, snapshot dates, release/file, or a count of "
        "schools per census for pupil-level returns."
    )
    rows_read: int | None = count("Data rows in the file.")
    rows_loaded: int | None = count("Rows published to the warehouse.")
    rows_quarantined: int | None = count("Rows held back in etl_quarantine.")
    rows_skipped: int | None = count("Rows that are not part of the grain (e.g. national totals).")
    started_at: datetime | None = moment("When processing of the file began (UTC).")
    finished_at: datetime | None = moment("When the outcome was recorded (UTC).")
    message: str | None = long_text("What happened, in words; for rejections, the reason.")
    superseded_by_load_id: int | None = count("A later load that replaced this load's rows.")


class EtlQuarantine(SQLModel, table=True):
    __tablename__ = "etl_quarantine"
    __table_args__ = ({"comment": "One row per source row held back by validation, with every failed check."},)

    load_id: int = Field(
        sa_column=Column(BigInteger, primary_key=True, autoincrement=False, comment="The load that held this row back.")
    )
    source_row_number: int = Field(
        sa_column=Column(
            BigInteger, primary_key=True, autoincrement=False, comment="Row in the file, counting the header as row 1."
        )
    )
    dataset: str | None = code("Dataset of the file.")
    reasons: str | None = long_text("Every check the row failed, with the offending values.")
    record: str | None = long_text("The source row as JSON text, restricted to the columns the layout reads.")
