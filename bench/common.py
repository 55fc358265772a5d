"""What the benchmarks share; light on imports, as bench/pupil_census.py measures its children's memory."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REAL = Path(os.environ.get("SENDFLOW_REAL_DATA", Path(__file__).resolve().parents[2] / "shared" / "data" / "real"))
CENSUS = REAL / "sen_school_level" / "perf_tables_england_census_2023-24.csv"


T = TypeVar("T")


def timed(label: str, rows: int | None, action: Callable[[], T]) -> T:
    start = time.perf_counter()
    result = action()
    seconds = time.perf_counter() - start
    rate = f"{rows / seconds:>12,.0f} rows/s" if rows else ""
    print(f"  {label:<28} {seconds:>8.3f} s {rate}")
    return result


def default_postgres() -> str | None:
    """SENDFLOW_BENCH_POSTGRES, else the local server if it answers: PostgreSQL is measured beside SQLite."""
    url = os.environ.get("SENDFLOW_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=2):
            return url
    except Exception:
        return None
