"""The committed LA reference as a new warehouse is seeded with it: the DfE number is the key, and every ONS
code an LA has carried is kept for looking up, several per LA where the ONS changed them."""

from __future__ import annotations

from pathlib import Path

from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query
from sendflow.warehouse.reference import known_la_codes
from sendflow.warehouse.schema import ensure_schema


def test_every_ons_code_an_la_has_carried_is_seeded_and_belongs_to_a_known_la(tmp_path: Path) -> None:
    warehouse = Warehouse(f"sqlite:///{tmp_path / 'w.sqlite'}")
    ensure_schema(warehouse)
    codes = query(warehouse, "SELECT ons_code, la_code FROM la_ons_code")
    by_ons = dict(codes.iter_rows())

    # Buckinghamshire and Gateshead each carried two codes over the years; both lead to the one LA.
    assert (by_ons["E10000002"], by_ons["E06000060"]) == ("825", "825")
    assert (by_ons["E08000020"], by_ons["E08000037"]) == ("390", "390")
    assert by_ons["E09000007"] == "202"
    assert codes["ons_code"].is_unique().all()  # one ONS code never names two LAs
    assert set(codes["la_code"].to_list()) <= known_la_codes()
    # The LA dimension points to the same LAs by their DfE numbers.
    las = query(warehouse, "SELECT la_code FROM dim_local_authority")["la_code"].to_list()
    assert set(codes["la_code"].to_list()) <= set(las)
