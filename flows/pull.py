"""Scheduled pulls: GIAS daily, the EES public API weekly. Each new file lands in the landing zone's
processing/ folder and is announced with `sendflow.extract.landed`, which runs `ingest-extract`.
What is fetched, and how, is landing/pullers.py's; these flows run it and announce the news. (Run by hand
with no server to hear the announcement, `sendflow pull` loads each new file itself: cli/local.py.)"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from sendflow.core.settings import get_settings
from sendflow.core.vocabulary import PullSource, PullStatus
from sendflow.flows import events
from sendflow.landing.download import Pulled
from sendflow.landing.pullers import pull


def _announce(pulled: list[Pulled]) -> list[str]:
    logger = get_run_logger()
    for result in pulled:
        if result.status == PullStatus.NEW and result.path and result.sha256:
            events.extract_landed(result.path, result.sha256, result.url)
        logger.info(result.line())
    return [result.line() for result in pulled]


@flow(name="pull-gias", persist_result=False)
def pull_gias(day: str | None = None) -> list[str]:
    """Today's GIAS extracts (as dated in Europe/London), or those of `day` (YYYY-MM-DD)."""
    return _announce(pull(get_settings(), PullSource.GIAS, date.fromisoformat(day) if day else None))


@flow(name="pull-ees", persist_result=False)
def pull_ees() -> list[str]:
    """A new version of each configured EES data set (SENDFLOW_EES_DATA_SETS), when the API lists one."""
    return _announce(pull(get_settings(), PullSource.EES))
