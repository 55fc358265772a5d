"""Column factories so every model says what a column is (type, key, description) in one line."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Double, Integer, String, Text
from sqlmodel import Field

# SQLite only auto-numbers an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
AutoId = BigInteger().with_variant(Integer(), "sqlite")


def _field(sa_type: Any, description: str, primary_key: bool = False, **kwargs: Any) -> Any:
    return Field(
        default=None,
        primary_key=primary_key,
        sa_type=sa_type,
        description=description,
        sa_column_kwargs={"comment": description, **kwargs.pop("sa_column_kwargs", {})},
        nullable=not primary_key if "nullable" not in kwargs else kwargs.pop("nullable"),
        **kwargs,
    )


def code(description: str, primary_key: bool = False, **kwargs: Any) -> Any:
    return _field(String, description, primary_key, **kwargs)


def text(description: str, **kwargs: Any) -> Any:
    return _field(Text, description, **kwargs)


def count(description: str, **kwargs: Any) -> Any:
    return _field(BigInteger, description, **kwargs)


def pct(description: str) -> Any:
    return _field(Double, description)


def money(description: str) -> Any:
    return _field(Double, description)


def day(description: str, primary_key: bool = False) -> Any:
    return _field(Date, description, primary_key)


def moment(description: str) -> Any:
    return _field(DateTime(timezone=True), description)


def flag(description: str) -> Any:
    return _field(Boolean, description)


REBUILT = "The etl_load row whose load last rebuilt this derived table (its values come from several loads)."


def load_id(indexed: bool = True, description: str = "The etl_load row that put this row here.") -> Any:
    # Very large fact tables skip the index: every index slows a national bulk load by about a tenth.
    return _field(BigInteger, description, index=indexed)
