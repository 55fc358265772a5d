"""What a load replaced, as values: one `Partition` per replaced partition, partition key -> value.

Values are JSON scalars, so a partition crosses the ledger, events and artifacts unchanged: text stays
text, integers stay integers (an EHCP release, 2025), dates are ISO strings ("2023-09-01"). A partition
may name only the leading keys of its dataset: it then stands for every partition with those values (a
national pupil census replaces 24,000 schools' rows; the event names its census, not every school).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date
from typing import Any

PartitionValue = str | int
Partition = dict[str, PartitionValue]

# Past this many partitions a load names them by their leading keys: events and artifacts stay small.
MANY = 12


def value_of(value: Any) -> PartitionValue:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return str(value)


def replaced(rows: Iterable[tuple], keys: Sequence[str]) -> tuple[Partition, ...]:
    """The partitions a load replaced: each one, or beyond MANY for a dataset of several keys, the distinct
    leading keys (the last key dropped). A single-key dataset keeps them all: a year or a date each."""
    distinct = sorted(set(rows))
    if len(distinct) > MANY and len(keys) > 1:
        distinct = sorted({row[:-1] for row in distinct})
    return tuple({key: value_of(v) for key, v in zip(keys, row, strict=False)} for row in distinct)


def summary(rows: Iterable[tuple], keys: Sequence[str]) -> tuple[str, ...]:
    """How a person reads the same (the load's message, etl_load.partition_values): each partition, or for
    many a count per leading keys ("2023/24/spring (7 urns)"). Nothing parses this back."""
    distinct = sorted(set(rows))
    if len(distinct) <= MANY:
        return tuple("/".join(str(value_of(v)) for v in row) for row in distinct)
    heads = sorted({row[:-1] for row in distinct})
    return tuple(
        f"{'/'.join(str(value_of(v)) for v in head)} ({sum(1 for row in distinct if row[:-1] == head)} {keys[-1]}s)"
        for head in heads
    )


def years_of(partitions: Iterable[Mapping[str, PartitionValue]], year_key: str | None) -> list[str]:
    """The years a load's partitions are of, as the dataset writes them ("2023/24", "2023-24", "2025")."""
    if year_key is None:
        return []
    return sorted({str(p[year_key]) for p in partitions if year_key in p})
