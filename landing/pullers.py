"""What each scheduled puller fetches: GIAS's dated daily extracts, and the newest published version of each
configured EES data set. The Prefect flows in flows/pull.py run these and announce what landed."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import PullSource, PullStatus
from sendflow.landing.download import Fetcher, NotPublished, Pulled, PullError, SourceSeen

# GIAS dates its extracts by the day in England.
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
        seen = fetcher.state.seen_source(source)
        url = f"{settings.ees_api_url.rstrip('/')}/data-sets/{data_set_id}/csv?dataSetVersion={version}"
        if seen.version == version:
            pulled.append(Pulled(f"{name} v{version}", url, PullStatus.UNCHANGED))
            continue
        result = fetcher.download(source, url, f"ees_{name}_v{version}.csv", conditional=False)
        fetcher.state.record_source(source, SourceSeen(version=version))
        pulled.append(result)
    return pulled


def pull(settings: Settings, source: PullSource, day: date | None = None) -> list[Pulled]:
    """Run one puller now: GIAS's extracts of `day` (default today, as dated in Europe/London), or each
    configured EES data set's newest version. What landed is in processing/; announcing or loading it is the
    caller's (a flow announces it, the hand-run path with no server loads it)."""
    fetcher = Fetcher(settings)
    try:
        if source is PullSource.GIAS:
            return pull_gias_files(settings, fetcher, day or datetime.now(LONDON).date())
        return pull_ees_data_sets(settings, fetcher)
    finally:
        fetcher.close()
