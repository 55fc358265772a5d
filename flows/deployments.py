"""prefect.yaml read as the one description of sendflow's deployments, for `sendflow serve` and its tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PROJECT_DIR = Path(__file__).resolve().parents[1]
PREFECT_YAML = PROJECT_DIR / "prefect.yaml"


@dataclass(frozen=True)
class DeploymentSpec:
    name: str
    entrypoint: str
    description: str
    parameters: dict[str, Any]
    schedules: list[dict[str, Any]]
    triggers: list[dict[str, Any]]


def deployment_specs(path: Path = PREFECT_YAML) -> list[DeploymentSpec]:
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        DeploymentSpec(
            name=entry["name"],
            entrypoint=entry["entrypoint"],
            description=entry.get("description", ""),
            parameters=dict(entry.get("parameters") or {}),
            schedules=list(entry.get("schedules") or []),
            triggers=list(entry.get("triggers") or []),
        )
        for entry in document["deployments"]
    ]


def load_flow(spec: DeploymentSpec, project_dir: Path = PROJECT_DIR) -> Any:
    from prefect.flows import load_flow_from_entrypoint

    module_path, _, name = spec.entrypoint.partition(":")
    return load_flow_from_entrypoint(f"{project_dir / module_path}:{name}")


def schedules_of(spec: DeploymentSpec) -> list[Any]:
    from prefect.schedules import Cron

    return [Cron(entry["cron"], timezone=entry.get("timezone")) for entry in spec.schedules]


def triggers_of(spec: DeploymentSpec) -> list[Any]:
    from prefect.events import DeploymentTriggerTypes
    from pydantic import TypeAdapter

    adapter: TypeAdapter[Any] = TypeAdapter(DeploymentTriggerTypes)
    return [
        adapter.validate_python({"name": f"{spec.name}__trigger_{number}", **trigger})
        for number, trigger in enumerate(spec.triggers, start=1)
    ]


def runner_deployments(specs: list[DeploymentSpec]) -> list[Any]:
    """What `prefect.serve` takes: each flow with its schedules and triggers (work pools are for workers)."""
    return [
        load_flow(spec).to_deployment(
            name=spec.name,
            description=spec.description or None,
            parameters=spec.parameters or None,
            schedules=schedules_of(spec) or None,
            triggers=triggers_of(spec) or None,
        )
        for spec in specs
    ]
