"""One file from offer to warehouse, on the real embedded database (and PostgreSQL where marked)."""

from __future__ import annotations

import json
import shutil
import threading
from pathlib import Path

import polars as pl

from sendflow.core.settings import Settings
from sendflow.loading.file_load import Context, ingest_path
from sendflow.loading.outcomes import FileOutcome
from sendflow.warehouse import ledger
from sendflow.warehouse.schema import ensure_schema
from tests.conftest import SAMPLE_DIR, count_rows

CENSUS_2324 = SAMPLE_DIR / "england_census_2023-24.csv"
CENSUS_1819 = SAMPLE_DIR / "england_census_2018-19.csv"
REGISTER = SAMPLE_DIR / "england_school_information_2023-24.csv"


def _raw(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False)


def _write(frame: pl.DataFrame, path: Path, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frame.write_csv().encode(encoding))
    return path


def _lake_files(context: Context) -> dict[str, float]:
    return {str(p): p.stat().st_mtime_ns for p in context.lake.root.rglob("*") if p.is_file()}


def _published_census(context: Context) -> pl.DataFrame:
    return ledger.query(context.warehouse, "SELECT * FROM fct_school_census ORDER BY academic_year, urn")


def test_sample_census_sums_match_the_file(context: Context) -> None:
    outcome = ingest_path(CENSUS_2324, None, context)

    assert outcome.status == "loaded", outcome.message
    schools = _raw(CENSUS_2324).filter(pl.col("URN") != "NAT")
    published = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS n, SUM(total_pupils) AS pupils, SUM(ehc_plan) AS ehc, SUM(sen_support) AS k "
        "FROM fct_school_census WHERE academic_year = '2023/24'",
    ).row(0, named=True)
    assert published["n"] == schools.height
    assert published["pupils"] == schools["NOR"].cast(pl.Int64).sum()
    assert published["ehc"] == schools["TSENELSE"].cast(pl.Int64).sum()
    assert published["k"] == schools["TSENELK"].cast(pl.Int64).sum()
    assert outcome.rows_read == schools.height + 3  # the three national rows are read, then set aside
    assert count_rows(context.warehouse, "fct_school_census", "WHERE load_id IS NULL") == 0


def test_register_builds_dim_school_and_every_la_is_known(context: Context) -> None:
    outcome = ingest_path(REGISTER, None, context)

    assert outcome.status == "loaded", outcome.message
    raw = _raw(REGISTER)
    assert count_rows(context.warehouse, "dim_school") == raw.height
    assert count_rows(context.warehouse, "dim_school", "WHERE is_current") == raw["URN"].n_unique()
    unknown = ledger.query(
        context.warehouse,
        "SELECT DISTINCT s.la_code FROM dim_school s LEFT JOIN dim_local_authority la ON la.la_code = s.la_code "
        "WHERE la.la_code IS NULL",
    )
    assert unknown.is_empty()


def test_redelivery_under_another_name_is_a_duplicate_and_changes_nothing(context: Context, tmp_path: Path) -> None:
    first = ingest_path(CENSUS_2324, None, context)
    before_rows, before_lake = _published_census(context), _lake_files(context)
    renamed = tmp_path / "2023-24" / "census_resent_by_email.csv"
    renamed.parent.mkdir()
    shutil.copyfile(CENSUS_2324, renamed)

    second = ingest_path(renamed, None, context)

    assert (first.status, second.status) == ("loaded", "duplicate")
    assert f"load {first.load_id}" in second.message
    assert _published_census(context).equals(before_rows)
    assert _lake_files(context) == before_lake
    loads = ledger.query(context.warehouse, "SELECT status, source_name FROM etl_load ORDER BY load_id")
    assert loads.rows() == [("loaded", CENSUS_2324.name), ("duplicate", renamed.name)]


def test_missing_required_column_rejects_whole_file_and_keeps_earlier_loads(context: Context, tmp_path: Path) -> None:
    ingest_path(CENSUS_1819, None, context)
    earlier = _published_census(context)
    broken = _write(_raw(CENSUS_2324).drop("TSENELK"), tmp_path / "england_census_2023-24.csv")

    outcome = ingest_path(broken, None, context)

    assert outcome.status == "rejected"
    assert "TSENELK" in outcome.message and "school_census" in outcome.message
    assert _published_census(context).equals(earlier)
    assert not (context.lake.silver / "fct_school_census" / "academic_year=2023%2F24").exists()
    kept = list((context.settings.landing_dir / "rejected").glob("*england_census_2023-24.csv"))
    assert len(kept) == 1 and kept[0].read_bytes() == broken.read_bytes()
    reason = kept[0].with_name(kept[0].name + ".reason.txt").read_text()
    assert "TSENELK" in reason
    assert broken.exists(), "a file offered from outside the landing zone is copied, never moved"


def test_cp1252_file_loads_the_same_as_its_utf8_twin(tmp_path: Path) -> None:
    raw = _raw(REGISTER).head(40)
    raw = raw.with_columns(
        pl.when(pl.int_range(pl.len()) == 0)
        .then(pl.lit("École Sainte-Thérèse\u00a0à Camden"))
        .otherwise(pl.col("SCHNAME"))
        .alias("SCHNAME")
    )
    utf8 = _write(raw, tmp_path / "utf8" / "school_information_2023-24.csv", "utf-8")
    cp1252 = _write(raw, tmp_path / "cp1252" / "school_information_2023-24.csv", "cp1252")
    assert utf8.read_bytes() != cp1252.read_bytes()

    dims = []
    for name, path in (("a", utf8), ("b", cp1252)):
        ctx = Context.from_settings(Settings(home=tmp_path / name))
        ensure_schema(ctx.warehouse)
        assert ingest_path(path, None, ctx).status == "loaded"
        dims.append(ledger.query(ctx.warehouse, "SELECT * FROM dim_school ORDER BY urn").drop("load_id"))

    assert dims[0].equals(dims[1])
    assert "École Sainte-Thérèse\u00a0à Camden" in dims[1]["school_name"].to_list()


def test_newer_file_for_a_year_replaces_that_year_only(context: Context, tmp_path: Path) -> None:
    old_1819 = ingest_path(CENSUS_1819, None, context)
    old_2324 = ingest_path(CENSUS_2324, None, context)
    before_1819 = _published_census(context).filter(pl.col("academic_year") == "2018/19")
    revised = _raw(CENSUS_2324).filter(pl.col("URN") != _raw(CENSUS_2324)["URN"][0])
    revised_path = _write(revised, tmp_path / "england_census_2023-24_revised.csv")

    new = ingest_path(revised_path, None, context)

    assert new.status == "loaded", new.message
    after = _published_census(context)
    assert after.filter(pl.col("academic_year") == "2018/19").equals(before_1819)
    this_year = after.filter(pl.col("academic_year") == "2023/24")
    assert this_year.height == revised.filter(pl.col("URN") != "NAT").height
    assert set(this_year["load_id"].to_list()) == {new.load_id}
    superseded = ledger.query(
        context.warehouse, "SELECT load_id, superseded_by_load_id FROM etl_load ORDER BY load_id"
    ).rows()
    assert superseded == [(old_1819.load_id, None), (old_2324.load_id, new.load_id), (new.load_id, None)]
    lake = pl.read_parquet(context.lake.silver / "fct_school_census" / "academic_year=2023%2F24" / "*.parquet")
    assert lake.height == this_year.height


def _with_bad_la(path: Path, out: Path, bad_rows: int) -> Path:
    raw = _raw(path)
    bad = (pl.int_range(pl.len()) < bad_rows) & (pl.col("URN") != "NAT")
    return _write(raw.with_columns(pl.when(bad).then(pl.lit("999")).otherwise(pl.col("LA")).alias("LA")), out)


def test_a_few_bad_rows_are_quarantined_with_row_numbers_and_the_rest_published(
    context: Context, tmp_path: Path
) -> None:
    path = _with_bad_la(CENSUS_2324, tmp_path / "england_census_2023-24.csv", bad_rows=2)

    outcome = ingest_path(path, None, context)

    assert outcome.status == "loaded", outcome.message
    assert outcome.rows_quarantined == 2
    held = ledger.query(context.warehouse, "SELECT * FROM etl_quarantine ORDER BY source_row_number")
    assert held["source_row_number"].to_list() == [2, 3]  # the header is row 1
    assert all("la_code_known" in reasons for reasons in held["reasons"])
    first_record = json.loads(held["record"][0])
    assert first_record["URN"] == _raw(path)["URN"][0] and first_record["LA"] == "999"
    published = count_rows(context.warehouse, "fct_school_census")
    assert published == _raw(path).filter(pl.col("URN") != "NAT").height - 2


def test_too_many_bad_rows_reject_the_whole_file(context: Context, tmp_path: Path) -> None:
    path = _with_bad_la(CENSUS_2324, tmp_path / "england_census_2023-24.csv", bad_rows=100)

    outcome = ingest_path(path, None, context)

    assert outcome.status == "rejected"
    assert "above the 5% threshold" in outcome.message and "row 2: la_code_known" in outcome.message
    assert count_rows(context.warehouse, "fct_school_census") == 0
    load = ledger.query(context.warehouse, "SELECT * FROM etl_load").row(0, named=True)
    assert (load["status"], load["rows_quarantined"]) == ("rejected", 100)
    assert count_rows(context.warehouse, "etl_quarantine", f"WHERE load_id = {load['load_id']}") == 100


def test_a_year_the_file_does_not_name_must_be_given(context: Context, tmp_path: Path) -> None:
    unnamed = tmp_path / "downloads" / "england_census.csv"
    unnamed.parent.mkdir()
    shutil.copyfile(CENSUS_2324, unnamed)

    refused = ingest_path(unnamed, None, context)
    accepted = ingest_path(unnamed, "2023-24", context)

    assert refused.status == "rejected" and "--academic-year" in refused.message
    assert accepted.status == "loaded" and accepted.partitions == ({"academic_year": "2023/24"},)


def test_unknown_header_is_rejected_naming_the_known_datasets(context: Context, tmp_path: Path) -> None:
    path = tmp_path / "budget.csv"
    path.write_text("Cost centre,Amount\nA1,100\n")

    outcome = ingest_path(path, None, context)

    assert outcome.status == "rejected"
    assert "unknown header" in outcome.message
    assert "nearest layout: " in outcome.message and "reason file" in outcome.message
    reason = next((context.settings.landing_dir / "rejected").glob("*budget.csv.reason.txt")).read_text()
    assert "school_census" in reason and "school_register" in reason


def test_both_backends_load_then_recognise_a_duplicate(backend_context: Context) -> None:
    loaded = ingest_path(CENSUS_2324, None, backend_context)
    again = ingest_path(CENSUS_2324, None, backend_context)

    assert (loaded.status, again.status) == ("loaded", "duplicate")
    expected = _raw(CENSUS_2324).filter(pl.col("URN") != "NAT").height
    assert count_rows(backend_context.warehouse, "fct_school_census") == expected


def test_the_same_file_offered_twice_at_once_loads_exactly_once(backend_context: Context) -> None:
    start = threading.Barrier(2)
    outcomes: list[FileOutcome] = []

    def offer() -> None:
        start.wait()
        outcomes.append(ingest_path(REGISTER, None, backend_context))

    threads = [threading.Thread(target=offer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(o.status for o in outcomes) == ["duplicate", "loaded"]
    assert count_rows(backend_context.warehouse, "etl_load", "WHERE status = 'loaded'") == 1
    assert count_rows(backend_context.warehouse, "dim_school") == _raw(REGISTER).height
