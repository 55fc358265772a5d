"""The real GIAS all-groups register of 17 February 2026 loads whole, and dim_trust takes every academy trust's
status from it (SOURCES.md: 1,762 multi-academy trusts, 1,346 open; 1,917 single-academy trusts, 961 open)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendflow.loading.file_load import Context, ingest_path
from sendflow.warehouse import ledger

pytestmark = pytest.mark.realdata


def test_the_2026_register_loads_every_group_and_gives_each_trust_its_status(real_data: Path, context: Context) -> None:
    outcome = ingest_path(real_data / "gias" / "allgroupsdata20260217.csv", None, context)

    assert outcome.status == "loaded", outcome.message
    assert (outcome.dataset, outcome.rows_loaded, outcome.rows_quarantined) == ("group_register", 7_168, 0)
    counts = ledger.query(
        context.warehouse,
        "SELECT trust_type, trust_status, COUNT(*) AS trusts FROM dim_trust GROUP BY trust_type, trust_status",
    )
    found = {(row["trust_type"], row["trust_status"]): row["trusts"] for row in counts.to_dicts()}
    assert found == {
        ("Multi-academy trust", "Open"): 1_346, ("Multi-academy trust", "Closed"): 1_762 - 1_346,
        ("Single-academy trust", "Open"): 961, ("Single-academy trust", "Closed"): 1_917 - 961,
    }  # fmt: skip
    closed = ledger.query(
        context.warehouse, "SELECT COUNT(*) AS n FROM dim_trust WHERE trust_status = 'Closed' AND closed_date IS NULL"
    )
    assert closed["n"][0] == 0


def test_the_2017_academy_links_load_as_published_and_the_register_dates_their_trusts(
    real_data: Path, context: Context
) -> None:
    """SOURCES.md: 4,775 schools in 1,206 multi-academy trusts and 1,743 single-academy trusts, beside 3,254
    sponsor and 81 umbrella-trust rows that are not membership; Windows-1252, CRLF, no final newline, and no
    row carries the header's last column."""
    links = ingest_path(real_data / "gias" / "grouplinks_edubaseallacademiesandfree20170403.csv", None, context)
    register = ingest_path(real_data / "gias" / "allgroupsdata20260217.csv", None, context)

    assert (links.status, links.rows_loaded, links.rows_quarantined) == ("loaded", 9_853, 0), links.message
    assert register.status == "loaded", register.message
    kinds = ledger.query(
        context.warehouse,
        "SELECT s.group_type, COUNT(DISTINCT m.urn) AS schools, COUNT(DISTINCT m.trust_id) AS trusts "
        "FROM trust_membership m JOIN trust_membership_snapshot s ON s.urn = m.urn AND s.group_uid = m.trust_id "
        "GROUP BY s.group_type ORDER BY s.group_type",
    ).rows()
    assert kinds == [("Multi-academy trust", 4_775, 1_206), ("Single-academy trust", 1_743, 1_743)]
    kept = dict(
        ledger.query(
            context.warehouse, "SELECT group_type, COUNT(*) FROM trust_membership_snapshot GROUP BY group_type"
        ).rows()
    )
    assert (kept["School sponsor"], kept["Umbrella trust"]) == (3_254, 81)  # kept with their type, never members
    both = ledger.query(
        context.warehouse,
        "SELECT COUNT(*) AS trusts, SUM(CASE WHEN t.trust_status = g.group_status THEN 1 ELSE 0 END) AS agree "
        "FROM dim_trust t JOIN group_register_snapshot g ON g.group_uid = t.trust_id "
        "WHERE t.trust_id IN (SELECT trust_id FROM trust_membership)",
    ).row(0, named=True)
    assert both["trusts"] > 2_800 and both["agree"] == both["trusts"]
    closed_since = ledger.query(
        context.warehouse,
        "SELECT COUNT(DISTINCT t.trust_id) AS n FROM dim_trust t JOIN trust_membership m USING (trust_id) "
        "WHERE t.trust_status = 'Closed' AND t.closed_date > '2017-04-03'",
    )
    assert closed_since["n"][0] > 0  # a trust closed since 2017 says so
