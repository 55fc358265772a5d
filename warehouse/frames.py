"""Exact column types between Polars, Arrow and the SQL tables (ADBC refuses near-misses like Int64 into INTEGER)."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import sqlalchemy as sa


def _arrow_type(column: sa.Column) -> pa.DataType:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return pa.bool_()
    if isinstance(kind, sa.BigInteger):
        return pa.int64()
    if isinstance(kind, sa.SmallInteger):
        return pa.int16()
    if isinstance(kind, sa.Integer):
        return pa.int32() if not column.primary_key else pa.int64()
    if isinstance(kind, sa.Double | sa.Float | sa.Numeric):
        return pa.float64()
    if isinstance(kind, sa.DateTime):
        return pa.timestamp("us", tz="UTC")
    if isinstance(kind, sa.Date):
        return pa.date32()
    if isinstance(kind, sa.String | sa.Text):
        return pa.string()
    raise TypeError(f"no Arrow type for {column.table.name}.{column.name} ({kind!r})")


def _polars_type(column: sa.Column) -> pl.DataType:
    return pl.from_arrow(pa.array([], type=_arrow_type(column))).dtype  # type: ignore[union-attr]


def arrow_schema(table: sa.Table) -> pa.Schema:
    return pa.schema([pa.field(c.name, _arrow_type(c)) for c in table.columns])


def polars_schema(table: sa.Table) -> dict[str, pl.DataType]:
    return {c.name: _polars_type(c) for c in table.columns}


def conform(frame: pl.DataFrame, table: sa.Table) -> pl.DataFrame:
    """The table's columns in its order and types; columns the frame lacks become NULL, extras are dropped."""
    schema = polars_schema(table)
    return frame.select(
        [
            (pl.col(name) if name in frame.columns else pl.lit(None)).cast(dtype).alias(name)
            for name, dtype in schema.items()
        ]
    )


def to_arrow(frame: pl.DataFrame, table: sa.Table) -> pa.Table:
    conformed = conform(frame, table).to_arrow(compat_level=pl.CompatLevel.oldest())
    return conformed.cast(arrow_schema(table))


def from_arrow(data: pa.Table, table: sa.Table) -> pl.DataFrame:
    """Rows read back from either backend, typed as the model says (SQLite returns dates as text)."""
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    casts = []
    for name, dtype in polars_schema(table).items():
        if name not in frame.columns:
            continue
        current = frame.schema[name]
        if dtype == pl.Date and current == pl.String:
            casts.append(pl.col(name).str.to_date("%Y-%m-%d", strict=True))
        elif isinstance(dtype, pl.Datetime) and current == pl.String:
            casts.append(pl.col(name).str.to_datetime(time_zone="UTC", strict=False))
        else:
            casts.append(pl.col(name).cast(dtype))
    return frame.with_columns(casts)
