"""The events sendflow emits and reacts to. Deployments in prefect.yaml match on these names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sendflow.loading.events import LoadedPayload

EXTRACT_LANDED = "sendflow.extract.landed"
EXTRACT_REFUSED = "sendflow.extract.refused"
DATASET_LOADED = "sendflow.dataset.loaded"


def emit(event: str, resource_id: str, payload: dict[str, Any], name: str | None = None) -> bool:
    """Emit to the Prefect API in use; False (not an error) where events cannot be delivered, since the
    caller's work is done either way and the ledger, not the event, is the record."""
    from prefect.events import emit_event

    resource = {"prefect.resource.id": resource_id}
    if name:
        resource["prefect.resource.name"] = name
    return emit_event(event=event, resource=resource, payload=payload) is not None


def extract_landed(path: Path, sha256: str, source: str) -> bool:
    return emit(
        EXTRACT_LANDED,
        f"sendflow.extract.{sha256}",
        {"path": str(path), "sha256": sha256, "name": path.name, "bytes": path.stat().st_size, "source": source},
        name=path.name,
    )


def extract_refused(path: Path, reason: str) -> bool:
    return emit(EXTRACT_REFUSED, f"sendflow.landing.{path.name}", {"path": str(path), "reason": reason}, path.name)


def dataset_loaded(payload: LoadedPayload) -> bool:
    dataset = payload["dataset"]
    return emit(DATASET_LOADED, f"sendflow.dataset.{dataset}", dict(payload), name=dataset)
