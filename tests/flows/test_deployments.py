"""prefect.yaml is code: every entrypoint imports, every trigger fills its flow's parameters, every schedule
is a valid cron in a real timezone."""

from __future__ import annotations

import inspect
import re
from zoneinfo import ZoneInfo

import pytest

from sendflow.flows.deployments import DeploymentSpec, deployment_specs, load_flow, schedules_of, triggers_of
from sendflow.flows.events import DATASET_LOADED, EXTRACT_LANDED

SPECS = deployment_specs()
_PAYLOAD_FIELD = re.compile(r"\{\{\s*event\.payload\.(\w+)\s*\}\}")


def test_the_issue_s_deployments_are_all_there() -> None:
    assert {s.name for s in SPECS} >= {"pull-gias", "pull-ees", "ingest-extract", "refresh-marts"}


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_entrypoint_imports_a_flow(spec: DeploymentSpec) -> None:
    flow = load_flow(spec)
    assert flow.name == spec.name  # the deployment and its flow share a name: runs are easy to find


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_parameters_and_trigger_parameters_match_the_flow_signature(spec: DeploymentSpec) -> None:
    signature = inspect.signature(load_flow(spec).fn)
    accepted = set(signature.parameters)
    required = {n for n, p in signature.parameters.items() if p.default is inspect.Parameter.empty}
    assert set(spec.parameters) <= accepted, f"unknown parameters {set(spec.parameters) - accepted}"
    for trigger in spec.triggers:
        given = set(trigger.get("parameters") or {})
        assert given <= accepted, f"{spec.name}: trigger passes {given - accepted}, not in the flow's signature"
        assert required <= given | set(spec.parameters), f"{spec.name}: trigger leaves {required - given} unset"
    if not spec.triggers:
        assert required <= set(spec.parameters), f"{spec.name}: nothing supplies {required - set(spec.parameters)}"


@pytest.mark.parametrize("spec", [s for s in SPECS if s.schedules], ids=lambda s: s.name)
def test_every_schedule_has_a_valid_cron_and_timezone(spec: DeploymentSpec) -> None:
    for entry, schedule in zip(spec.schedules, schedules_of(spec), strict=True):
        ZoneInfo(entry["timezone"])  # raises for an unknown zone
        assert schedule.timezone == entry["timezone"] == "Europe/London"
        assert schedule.cron == entry["cron"]


def test_gias_is_pulled_daily_at_six_london_time_and_ees_weekly() -> None:
    by_name = {s.name: s for s in SPECS}
    assert by_name["pull-gias"].schedules == [{"cron": "0 6 * * *", "timezone": "Europe/London"}]
    _minute, _hour, day, month, weekday = by_name["pull-ees"].schedules[0]["cron"].split()
    assert (day, month) == ("*", "*") and weekday.isdigit()


@pytest.mark.parametrize(
    ("name", "event", "payload_fields"),
    [("ingest-extract", EXTRACT_LANDED, {"path", "sha256"}), ("refresh-marts", DATASET_LOADED, {"dataset"})],
)
def test_event_triggers_expect_the_events_sendflow_emits(name: str, event: str, payload_fields: set[str]) -> None:
    spec = next(s for s in SPECS if s.name == name)
    [trigger] = triggers_of(spec)
    assert trigger.expect == {event}
    templated = {_PAYLOAD_FIELD.search(v).group(1) for v in spec.triggers[0]["parameters"].values()}  # type: ignore[union-attr]
    assert payload_fields <= templated
