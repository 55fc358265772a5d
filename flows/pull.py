"""Scheduled pulls: GIAS daily, the EES public API weekly. Each new file lands in the landing zone's
processing/ folder and is announced with `sendflow.extract.landed`, which runs `ingest-extract`.
What is fetched, and how, is landing/pullers.py's; these flows run it and announce the news.

Run by hand with no service to hear the event (`sendflow pull` with no running `sendflow serve` and no
PREFECT_API_URL), a pull loads each new file itself (`load_here`), through the same `ingest-extract`:
an announcement nobody hears would strand the file in processing/."""

from __future__ import annotations

from datetime import date, datetime

from prefect import flow, get_run_logger

from sendflow.core.settings import get_settings
from sendflow.core.vocabulary import PullStatus
from sendflow.flows import events
from sendflow.landing.download import Fetcher, Pulled
from sendflow.landing.pullers import LONDON, pull_ees_data_sets, pull_gias_files


def _announce(pulled: list[Pulled], load_here: bool) -> list[str]:
    from sendflow.flows.ingest import ingest_extract

    logger = get_run_logger()
    lines = []
    for result in pulled:
        logger.info(result.line())
        lines.append(result.line())
        if result.status == PullStatus.NEW and result.path and result.sha256:
            if load_here:
                lines.append("  " + ingest_extract(str(result.path), result.sha256).line())
            else:
                events.extract_landed(result.path, result.sha256, result.url)
    return lines


@flow(name="pull-gias", persist_result=False)
def pull_gias(day: str | None = None, load_here: bool = False) -> list[str]:
    """Today's GIAS extracts (as dated in Europe/London), or those of `day` (YYYY-MM-DD)."""
    settings = get_settings()
    today = date.fromisoformat(day) if day else datetime.now(LONDON).date()
    fetcher = Fetcher(settings)
    try:
        return _announce(pull_gias_files(settings, fetcher, today), load_here)
    finally:
        fetcher.close()


@flow(name="pull-ees", persist_result=False)
def pull_ees(load_here: bool = False) -> list[str]:
    """A new version of each configured EES data set (SENDFLOW_EES_DATA_SETS), when the API lists one."""
    settings = get_settings()
    fetcher = Fetcher(settings)
    try:
        return _announce(pull_ees_data_sets(settings, fetcher), load_here)
    finally:
        fetcher.close()
