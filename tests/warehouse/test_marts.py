"""Gold Parquet of the views: only the views over what was loaded, each equal to its view, on both backends."""

from __future__ import annotations

import polars as pl

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger
from sendflow.warehouse.marts import gold_path, views_reading, write_gold
from sendflow.warehouse.views import VIEWS
from tests.conftest import SAMPLE_DIR


def test_views_are_found_through_the_views_they_read() -> None:
    names = [v.name for v in views_reading({"fct_school_census"})]
    assert names[:2] == ["v_la_census_summary", "v_national_census_summary"]
    assert "v_trust_send_summary" in names and "v_census_reconciliation" in names
    assert [v.name for v in views_reading({"fct_la_dsg_allocation"})] == ["v_la_send_funding_gap"]
    assert views_reading({"etl_load"}) == []
    # the dependency order views_reading relies on: every view after those it reads
    seen: set[str] = set()
    for view in VIEWS:
        assert not ({r for r in view.requires if r.startswith("v_")} - seen), view.name
        seen.add(view.name)


def test_gold_equals_its_view_and_is_replaced_whole(backend_context: Context) -> None:
    ingest_path(SAMPLE_DIR / "england_census_2023-24.csv", None, backend_context)
    [summary] = [v for v in VIEWS if v.name == "v_la_census_summary"]

    path, rows = write_gold(backend_context.warehouse, backend_context.lake, summary)
    ingest_path(SAMPLE_DIR / "england_census_2018-19.csv", None, backend_context)
    again, more = write_gold(backend_context.warehouse, backend_context.lake, summary)

    assert path == again == gold_path(backend_context.lake, "v_la_census_summary")
    view = ledger.query(backend_context.warehouse, "SELECT * FROM v_la_census_summary")
    gold = pl.read_parquet(path)
    assert more > rows and gold.height == view.height
    assert (
        gold.sort("la_code", "academic_year")["total_pupils"].to_list()
        == view.sort("la_code", "academic_year")["total_pupils"].to_list()
    )
    assert [p.name for p in path.parent.iterdir()] == ["data.parquet"]  # no temporary left behind
