"""Which trusts' reports a load may change, from what the load replaced (its partitions).

Each registered dataset declares its reach (registry/reach.py); this module turns a reach and the load's
partitions into one query. Partition values are bound as parameters, never written into the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sendflow.registry.datasets import BY_NAME, Dataset
from sendflow.registry.partitions import PartitionValue
from sendflow.registry.reach import SchoolsAtCensus, SchoolsEver, SchoolsInLas, TrustReach, TrustsInRows
from sendflow.reports.read import reportable_trusts, valid_at
from sendflow.warehouse import models
from sendflow.warehouse.connection import Warehouse
from sendflow.warehouse.ledger import query


def trusts_affected_by(
    warehouse: Warehouse, dataset: str, partitions: Sequence[Mapping[str, PartitionValue]]
) -> list[str]:
    """Trusts whose report a load of `dataset` replacing `partitions` (as in the sendflow.dataset.loaded event)
    may change, limited to trusts with a report to write. Raises ValueError for an unknown dataset or a
    partition that is not one of the dataset's."""
    if not partitions:
        return []
    registered = BY_NAME.get(dataset)
    if registered is None:
        raise ValueError(f"unknown dataset {dataset!r}")
    where, parameters = _selected(warehouse, registered, partitions)
    sql, uses = _trusts_sql(registered.reach, where)
    affected = query(warehouse, sql, parameters * uses)
    reportable = set(reportable_trusts(warehouse))
    ids = {str(v) for v in affected[affected.columns[0]].drop_nulls().to_list()} if affected.height else set()
    return sorted(ids & reportable)


def _selected(
    warehouse: Warehouse, dataset: Dataset, partitions: Sequence[Mapping[str, PartitionValue]]
) -> tuple[str, list[Any]]:
    """A WHERE condition selecting the partitions' rows (a partition naming fewer keys selects more)."""
    columns = models.metadata.tables[dataset.table].columns
    clauses, parameters = [], []
    for partition in partitions:
        if not isinstance(partition, Mapping) or not set(partition) <= set(dataset.partition_keys):
            known = ", ".join(dataset.partition_keys)
            raise ValueError(f"cannot read partition {partition!r} of {dataset.name}: its keys are {known}")
        keys = [key for key in dataset.partition_keys if key in partition]
        clauses.append("(" + (" AND ".join(f"{key} = {warehouse.param()}" for key in keys) or "1 = 1") + ")")
        parameters += [_bound(warehouse, columns[key].type.python_type, partition[key]) for key in keys]
    return " OR ".join(clauses), parameters


def _bound(warehouse: Warehouse, kind: type, value: PartitionValue) -> Any:
    """The value as the column holds it: SQLite keeps dates as ISO text, PostgreSQL as dates."""
    try:
        if kind is date:
            day = date.fromisoformat(str(value))
            return day.isoformat() if warehouse.dialect == "sqlite" else day
        return kind(value)
    except (TypeError, ValueError) as error:
        raise ValueError(f"cannot read {value!r} as a {kind.__name__}") from error


def _trusts_sql(reach: TrustReach, where: str) -> tuple[str, int]:
    """The query naming the trusts, and how many times it uses the condition (its parameters repeat)."""
    match reach:
        case TrustsInRows(table, trust_column):
            return f"SELECT DISTINCT {trust_column} FROM {table} WHERE {where}", 1
        case SchoolsAtCensus(table, urn_column, date_column):
            return (
                f"SELECT DISTINCT d.trust_id FROM (SELECT DISTINCT {urn_column} AS urn, {date_column} AS census_date "
                f"FROM {table} WHERE {where}) p JOIN dim_school d ON d.urn = p.urn AND {valid_at('d', 'p.census_date')}"
            ), 1
        case SchoolsEver(table, urn_columns, trust_columns):
            urns = " UNION ".join(f"SELECT {column} FROM {table} WHERE {where}" for column in urn_columns)
            named = "".join(f" UNION SELECT {column} FROM {table} WHERE {where}" for column in trust_columns)
            return f"SELECT DISTINCT trust_id FROM dim_school WHERE urn IN ({urns}){named}", len(urn_columns) + len(
                trust_columns
            )
        case SchoolsInLas(table, la_column):
            return (
                "SELECT DISTINCT d.trust_id FROM fct_school_census c "
                f"JOIN dim_school d ON d.urn = c.urn AND {valid_at('d', 'c.census_date')} "
                f"WHERE d.trust_id IS NOT NULL AND c.la_code IN (SELECT {la_column} FROM {table} WHERE {where})"
            ), 1
