"""The Parquet lake: bronze keeps offered bytes by hash; silver partitions are staged, then committed or discarded."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from sendflow.warehouse.lake import DATA_FILE, Lake

PART = "part-0.parquet"

TABLE = "fct_school_census"


def _census_rows() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "urn": ["100000", "100001", "100002"],
            "academic_year": ["2023/24", "2023/24", "2018/19"],
            "total_pupils": [244, 764, 285],
        }
    )


def _files(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())


# --- bronze -----------------------------------------------------------------------------------------------------


def test_keep_bronze_copies_bytes_unchanged_under_their_hash(tmp_path: Path) -> None:
    data = b"\xef\xbb\xbfURN,LA\r\n100000,201\r\n"
    source = tmp_path / "england_census_2023-24.CSV"
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    lake = Lake(tmp_path / "lake")

    kept = lake.keep_bronze(source, digest)

    assert kept == lake.bronze / f"{digest}.csv"
    assert kept.read_bytes() == data
    assert _files(lake.bronze) == [f"{digest}.csv"]


def test_keep_bronze_twice_leaves_the_first_copy_alone(tmp_path: Path) -> None:
    data = b"URN,LA\n100000,201\n"
    source = tmp_path / "census.csv"
    source.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    lake = Lake(tmp_path / "lake")
    first = lake.keep_bronze(source, digest)
    # An old timestamp makes any rewrite visible, however fast the second call is.
    os.utime(first, ns=(1_000_000_000, 1_000_000_000))

    second = lake.keep_bronze(source, digest)

    assert second == first
    assert first.stat().st_mtime_ns == 1_000_000_000
    assert _files(lake.bronze) == [f"{digest}.csv"]


def test_keep_bronze_applies_the_requested_mode(tmp_path: Path) -> None:
    source = tmp_path / "census.csv"
    source.write_bytes(b"URN\n1\n")
    lake = Lake(tmp_path / "lake")

    kept = lake.keep_bronze(source, sha256="ab" * 32, mode=0o440)

    assert stat.S_IMODE(kept.stat().st_mode) == 0o440


# --- silver partitions ------------------------------------------------------------------------------------------


def test_staged_partitions_are_hidden_until_committed(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")

    staged = lake.stage_partitions(_census_rows(), TABLE, "academic_year")

    written = _files(lake.table_dir(TABLE))
    assert len(staged) == 2
    assert len(written) == 2
    # Readers glob '*.parquet' and skip dot-files, so nothing staged may look like a data file yet.
    assert all(Path(name).name.startswith(".") and name.endswith(".partial") for name in written)
    assert not any(s.target.exists() for s in staged)


def test_commit_puts_partition_at_percent_encoded_hive_path(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")

    for staged in lake.stage_partitions(_census_rows(), TABLE, "academic_year"):
        staged.commit()

    assert _files(lake.table_dir(TABLE)) == [
        f"academic_year=2018%2F19/{PART}",
        f"academic_year=2023%2F24/{PART}",
    ]


def test_discard_leaves_no_file(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")

    for staged in lake.stage_partitions(_census_rows(), TABLE, "academic_year"):
        staged.discard()

    assert _files(lake.table_dir(TABLE)) == []


def test_commit_replaces_an_existing_partition(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    older = _census_rows().filter(pl.col("academic_year") == "2023/24")
    newer = older.with_columns(pl.col("total_pupils") + 1)
    for frame in (older, newer):
        (staged,) = lake.stage_partitions(frame, TABLE, "academic_year")
        staged.commit()

    target = lake.partition_dir(TABLE, "academic_year", "2023/24") / PART
    assert pl.read_parquet(target)["total_pupils"].to_list() == [245, 765]
    assert _files(lake.table_dir(TABLE)) == [f"academic_year=2023%2F24/{PART}"]


def test_committed_partitions_read_back_with_polars_hive_partitioning(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for staged in lake.stage_partitions(_census_rows(), TABLE, "academic_year"):
        staged.commit()

    back = pl.read_parquet(lake.table_dir(TABLE), hive_partitioning=True).sort("urn")

    assert back["academic_year"].to_list() == ["2023/24", "2023/24", "2018/19"]
    assert back["total_pupils"].to_list() == [244, 764, 285]


def test_committed_partitions_read_back_with_duckdb_hive_partitioning(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for staged in lake.stage_partitions(_census_rows(), TABLE, "academic_year"):
        staged.commit()
    pattern = str(lake.table_dir(TABLE) / "*" / "*.parquet")

    # Both readers take a hive column's value from the folder name, so this checks the encoding round-trips.
    with duckdb.connect() as connection:
        rows = connection.execute(
            "select academic_year, count(*) from read_parquet(?, hive_partitioning = true) group by 1 order by 1",
            [pattern],
        ).fetchall()

    assert rows == [("2018/19", 1), ("2023/24", 2)]


def test_date_keyed_partition_folder_uses_iso_date(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    frame = pl.DataFrame({"urn": ["100000"], "snapshot_date": [date(2023, 9, 1)]})

    (staged,) = lake.stage_partitions(frame, "school_register_snapshot", "snapshot_date")
    staged.commit()

    assert staged.target.parent.name == "snapshot_date=2023-09-01"
    back = pl.read_parquet(lake.table_dir("school_register_snapshot"), hive_partitioning=True)
    assert back["snapshot_date"].to_list() == [date(2023, 9, 1)]


def test_stage_table_writes_unpartitioned_table_on_commit(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    frame = pl.DataFrame({"trust_id": ["2044"], "trust_name": ["Example Trust"]})

    staged = lake.stage_table(frame, "dim_trust")
    assert not staged.target.exists()
    staged.commit()

    assert staged.target == lake.silver / "dim_trust" / DATA_FILE
    assert pl.read_parquet(staged.target).equals(frame)


def test_a_load_replacing_whole_partitions_removes_the_files_it_supersedes(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    for staged in lake.stage_partitions(_census_rows(), TABLE, "academic_year", "1-1"):
        staged.commit()
    newer = _census_rows().filter(pl.col("academic_year") == "2023/24")
    replacing = lake.stage_partitions(newer, TABLE, "academic_year", "2-1")

    lake.replace_partitions(TABLE, ("academic_year",), ("academic_year",), {("2023/24",)}, "2-")
    for file in replacing:
        file.commit()

    assert _files(lake.table_dir(TABLE)) == ["academic_year=2018%2F19/part-1-1.parquet",
                                             "academic_year=2023%2F24/part-2-1.parquet"]  # fmt: skip


def test_replacing_one_school_keeps_the_other_schools_of_its_folder(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    pupils = pl.DataFrame({"urn": ["100001", "100001", "100002"], "la_code": ["202"] * 3, "pupil_key": ["a", "b", "c"]})
    for staged in lake.stage_partitions(pupils, "fct_pupil_census", ("la_code",), "1-1"):
        staged.commit()
    resent = pl.DataFrame({"urn": ["100001"], "la_code": ["202"], "pupil_key": ["z"]})
    replacing = lake.stage_partitions(resent, "fct_pupil_census", ("la_code",), "2-1")

    lake.replace_partitions("fct_pupil_census", ("urn",), ("la_code",), {("100001",)}, "2-")
    for file in replacing:
        file.commit()

    folder = lake.partition_dir("fct_pupil_census", ("la_code",), ("202",))
    rows = pl.read_parquet(folder / "*.parquet").sort("pupil_key")
    assert rows["pupil_key"].to_list() == ["c", "z"]
