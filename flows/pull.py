"""Scheduled pulls: GIAS daily, the EES public API weekly. Each new file lands in the landing zone's
processing/ folder and is announced with `sendflow.extract.landed`, which runs `ingest-extract`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from prefect import flow, get_run_logger

from sendflow.core.settings import Settings, get_settings
from sendflow.flows import events
from sendflow.landing.download import Fetcher, NotPublished, Pulled, PullError

LONDON = ZoneInfo("Europe/London")
# GIAS writes the day's extract overnight; before it appears, yesterday's is the newest.
GIAS_DAYS_BACK = 3


def pull_gias_files(settings: Settings, fetcher: Fetcher, today: date) -> list[Pulled]:
    pulled = []
    for template in settings.gias_files:
        source = "gias:" + template.replace("{date}", "")
        problem: NotPublished | None = None
        for back in range(GIAS_DAYS_BACK):
            name = template.format(date=(today - timedelta(days=back)).strftime("%Y%m%d"))
            try:
                pulled.append(fetcher.download(source, f"{settings.gias_base_url.rstrip('/')}/{name}", name))
                break
            except NotPublished as error:
                problem = error
        else:
            raise PullError(f"no GIAS {template} for the last {GIAS_DAYS_BACK} days: {problem}")
    return pulled


def latest_published_version(fetcher: Fetcher, api_url: str, data_set_id: str) -> str:
    """The newest `Published` version in the data set's version listing (paged, 20 a page)."""
    versions: list[str] = []
    page, pages = 1, 1
    while page <= pages:
        listing = fetcher.get_json(f"{api_url.rstrip('/')}/data-sets/{data_set_id}/versions?page={page}&pageSize=20")
        versions += [v["version"] for v in listing.get("results", []) if v.get("status") == "Published"]
        pages = int(listing.get("paging", {}).get("totalPages", 1))
        page += 1
    if not versions:
        raise PullError(f"EES data set {data_set_id} lists no published version")
    return max(versions, key=lambda v: tuple(int(part) for part in v.split(".") if part.isdigit()))


def pull_ees_data_sets(settings: Settings, fetcher: Fetcher) -> list[Pulled]:
    pulled = []
    for name, data_set_id in settings.ees_data_sets.items():
        source = f"ees:{data_set_id}"
        version = latest_published_version(fetcher, settings.ees_api_url, data_set_id)
        seen = fetcher.state.get(source)
        url = f"{settings.ees_api_url.rstrip('/')}/data-sets/{data_set_id}/csv?dataSetVersion={version}"
        if seen.get("version") == version:
            pulled.append(Pulled(f"{name} v{version}", url, "unchanged"))
            continue
        result = fetcher.download(source, url, f"ees_{name}_v{version}.csv", conditional=False)
        fetcher.state.put(source, {"version": version})
        pulled.append(result)
    return pulled


def _announce(pulled: list[Pulled]) -> list[str]:
    logger = get_run_logger()
    for result in pulled:
        if result.status == "new" and result.path and result.sha256:
            events.extract_landed(result.path, result.sha256, result.url)
        logger.info(result.line())
    return [result.line() for result in pulled]


@flow(name="pull-gias", persist_result=False)
def pull_gias(day: str | None = None) -> list[str]:
    """Today's GIAS extracts (as dated in Europe/London), or those of `day` (YYYY-MM-DD)."""
    settings = get_settings()
    today = date.fromisoformat(day) if day else datetime.now(LONDON).date()
    fetcher = Fetcher(settings)
    try:
        return _announce(pull_gias_files(settings, fetcher, today))
    finally:
        fetcher.close()


@flow(name="pull-ees", persist_result=False)
def pull_ees() -> list[str]:
    """A new version of each configured EES data set (SENDFLOW_EES_DATA_SETS), when the API lists one."""
    settings = get_settings()
    fetcher = Fetcher(settings)
    try:
        return _announce(pull_ees_data_sets(settings, fetcher))
    finally:
        fetcher.close()
