"""What a load tells the rest of the system: the payload of `sendflow.dataset.loaded` (flows/events.py sends it).

Plain data, so the registry test asserts the very payload ingest emits without a Prefect server."""

from __future__ import annotations

from typing import TypedDict

from sendflow.core.vocabulary import LoadStatus
from sendflow.loading.outcomes import FileOutcome
from sendflow.registry.datasets import BY_NAME
from sendflow.registry.partitions import Partition, years_of


class LoadedPayload(TypedDict):
    dataset: str
    partitions: list[Partition]  # what the load replaced; refresh-marts narrows the reports by them
    years: list[str]  # the years of those partitions, by the dataset's year key; none for snapshots
    load_id: int | None


def loaded_event_payload(outcome: FileOutcome) -> LoadedPayload | None:
    """The event payload of a load that published rows; None for any other outcome (nothing changed)."""
    if outcome.status is not LoadStatus.LOADED or outcome.dataset is None:
        return None
    partitions = [dict(p) for p in outcome.partitions]
    years = years_of(partitions, BY_NAME[outcome.dataset].year_key)
    return LoadedPayload(dataset=outcome.dataset, partitions=partitions, years=years, load_id=outcome.load_id)
