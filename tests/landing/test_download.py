"""The pullers' downloads against a real HTTP server on 127.0.0.1 (tests/http_source.py)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from sendflow.core.settings import Settings
from sendflow.core.vocabulary import PullStatus
from sendflow.landing.download import Fetcher, PullError, PullState, SourceSeen, UrlSeen
from sendflow.landing.pullers import latest_published_version, pull_ees_data_sets, pull_gias_files
from tests.http_source import Source, http_source

BODY = b"URN,LA (code),EstablishmentName\n100000,201,The Aldgate School\n" * 200


@pytest.fixture
def source() -> Iterator[Source]:
    with http_source() as served:
        yield served


@pytest.fixture
def quick(settings: Settings) -> Settings:
    """Retries without real waiting, and a timeout the stall outlasts."""
    return settings.model_copy(update={"pull_backoff_seconds": 0.01, "pull_timeout_seconds": 0.5, "pull_attempts": 4})


def _fetcher(settings: Settings, waits: list[float] | None = None) -> Fetcher:
    return Fetcher(settings, sleep=(waits.append if waits is not None else lambda _: None))


def test_a_new_file_lands_under_its_name_with_its_hash_recorded(source: Source, quick: Settings) -> None:
    source.put("/edubasealldata20261129.csv", BODY)
    pulled = _fetcher(quick).download("gias:x", f"{source.base_url}/edubasealldata20261129.csv", "edubase.csv")

    assert pulled.status is PullStatus.NEW
    assert pulled.path == quick.landing_dir / "processing" / "edubase.csv"
    assert pulled.path.read_bytes() == BODY
    assert pulled.sha256 == hashlib.sha256(BODY).hexdigest()
    recorded = json.loads(quick.pull_state_file.read_text())["urls"][f"{source.base_url}/edubasealldata20261129.csv"]
    assert recorded["sha256"] == pulled.sha256 and recorded["etag"] == source.etag("/edubasealldata20261129.csv")
    assert (recorded["source"], recorded["bytes"], recorded["landed_as"]) == ("gias:x", len(BODY), str(pulled.path))
    assert not list((quick.landing_dir / "processing").glob(".*"))  # no temporary left behind


def test_the_second_pull_is_conditional_and_lands_nothing(source: Source, quick: Settings) -> None:
    source.put("/f.csv", BODY)
    fetcher = _fetcher(quick)
    fetcher.download("s", f"{source.base_url}/f.csv", "f.csv")
    again = fetcher.download("s", f"{source.base_url}/f.csv", "f.csv")

    assert again.status is PullStatus.NOT_MODIFIED and again.path is None
    assert source.requests[-1][1].get("If-None-Match") == source.etag("/f.csv")
    assert [p.name for p in (quick.landing_dir / "processing").iterdir()] == ["f.csv"]


def test_same_bytes_from_the_same_url_are_unchanged(source: Source, quick: Settings) -> None:
    """A 200 (here: asked unconditionally) whose bytes hash as last time announces nothing."""
    source.put("/f.csv", BODY)
    fetcher = _fetcher(quick)
    first = fetcher.download("gias:edubase", f"{source.base_url}/f.csv", "f.csv")
    second = fetcher.download("gias:edubase", f"{source.base_url}/f.csv", "f-again.csv", conditional=False)

    assert (first.status, second.status) == (PullStatus.NEW, PullStatus.UNCHANGED)
    assert "If-None-Match" not in source.requests[-1][1]  # so the 200 really came, and the hash decided
    assert not (quick.landing_dir / "processing" / "f-again.csv").exists()


def test_same_bytes_from_another_url_land(source: Source, quick: Settings) -> None:
    """ "Unchanged" is per URL: another day's extract is a file of its own, even when its bytes are the
    same as the last day's (the ledger tells it is a duplicate when it loads)."""
    source.put("/day1.csv", BODY)
    source.put("/day2.csv", BODY)
    fetcher = _fetcher(quick)
    first = fetcher.download("gias:edubase", f"{source.base_url}/day1.csv", "day1.csv")
    second = fetcher.download("gias:edubase", f"{source.base_url}/day2.csv", "day2.csv")

    assert (first.status, second.status) == (PullStatus.NEW, PullStatus.NEW)
    assert "If-None-Match" not in source.requests[-1][1]


def test_changed_content_lands_again(source: Source, quick: Settings) -> None:
    source.put("/f.csv", BODY)
    fetcher = _fetcher(quick)
    fetcher.download("s", f"{source.base_url}/f.csv", "f.csv")
    source.put("/f.csv", BODY + b"100001,201,Another School\n")
    changed = fetcher.download("s", f"{source.base_url}/f.csv", "f.csv")

    assert changed.status is PullStatus.NEW
    assert changed.path is not None and changed.path.name == "f-2.csv"  # the first copy is never overwritten


@pytest.mark.parametrize("failures", [["500"], ["500", "503", "500"], ["stall"], ["truncate"], ["truncate", "stall"]])
def test_server_errors_timeouts_and_cut_off_bodies_are_retried_with_backoff(
    source: Source, quick: Settings, failures: list[str]
) -> None:
    source.put("/f.csv", BODY)
    source.failures = list(failures)
    waits: list[float] = []
    pulled = _fetcher(quick, waits).download("s", f"{source.base_url}/f.csv", "f.csv")

    assert pulled.status is PullStatus.NEW and pulled.attempts == len(failures) + 1
    assert pulled.path is not None and pulled.path.read_bytes() == BODY  # never the half body
    assert waits == [0.01 * 2**n for n in range(len(failures))]


def test_giving_up_names_every_attempt_and_leaves_nothing(source: Source, quick: Settings) -> None:
    source.put("/f.csv", BODY)
    source.failures = ["500", "stall", "truncate", "500"]
    with pytest.raises(PullError) as raised:
        _fetcher(quick).download("s", f"{source.base_url}/f.csv", "f.csv")

    message = str(raised.value)
    assert "gave up after 4 attempts" in message
    assert "HTTP 500" in message and "timed out" in message and "cut off" in message
    assert not list((quick.landing_dir / "processing").iterdir())
    assert PullState(quick.pull_state_file).seen_url(f"{source.base_url}/f.csv") == UrlSeen()
    assert not quick.pull_state_file.exists()


def test_a_client_error_is_not_retried(source: Source, quick: Settings) -> None:
    with pytest.raises(PullError, match="404"):
        _fetcher(quick).download("s", f"{source.base_url}/missing.csv", "missing.csv")
    assert len(source.requests) == 1


def test_gias_falls_back_to_the_previous_day_until_today_is_published(source: Source, quick: Settings) -> None:
    settings = quick.model_copy(update={"gias_base_url": source.base_url, "gias_files": ["edubasealldata{date}.csv"]})
    source.put("/edubasealldata20261128.csv", BODY)
    [pulled] = pull_gias_files(settings, _fetcher(settings), date(2026, 11, 29))

    assert pulled.status is PullStatus.NEW
    assert pulled.path is not None and pulled.path.name == "edubasealldata20261128.csv"
    assert [path for path, _ in source.requests] == ["/edubasealldata20261129.csv", "/edubasealldata20261128.csv"]


def _versions(*entries: tuple[str, str]) -> dict:
    return {
        "paging": {"page": 1, "pageSize": 20, "totalResults": len(entries), "totalPages": 1},
        "results": [{"version": version, "status": status, "type": "Major"} for version, status in entries],
    }


def test_ees_downloads_a_version_once_and_again_only_when_a_newer_one_is_listed(
    source: Source, quick: Settings
) -> None:
    settings = quick.model_copy(update={"ees_api_url": source.base_url, "ees_data_sets": {"s251": "abc-123"}})
    listing = "/data-sets/abc-123/versions?page=1&pageSize=20"
    source.json_documents[listing] = _versions(("1.0", "Published"), ("1.1", "Published"), ("2.0", "Draft"))
    source.put("/data-sets/abc-123/csv?dataSetVersion=1.1", BODY)
    fetcher = _fetcher(settings)

    [first] = pull_ees_data_sets(settings, fetcher)
    [second] = pull_ees_data_sets(settings, fetcher)
    source.json_documents[listing] = _versions(("1.0", "Published"), ("1.1", "Published"), ("1.10", "Published"))
    source.put("/data-sets/abc-123/csv?dataSetVersion=1.10", BODY + b"more\n")
    [third] = pull_ees_data_sets(settings, fetcher)

    assert first.status is PullStatus.NEW and first.path is not None and first.path.name == "ees_s251_v1.1.csv"
    assert second.status is PullStatus.UNCHANGED
    assert third.status is PullStatus.NEW and third.path is not None and third.path.name == "ees_s251_v1.10.csv"
    assert sum(1 for path, _ in source.requests if "/csv" in path) == 2


def test_the_version_listing_is_read_across_pages(source: Source, quick: Settings) -> None:
    base = "/data-sets/d/versions?page={}&pageSize=20"
    source.json_documents[base.format(1)] = {**_versions(("1.0", "Published")), "paging": {"totalPages": 2}}
    source.json_documents[base.format(2)] = {**_versions(("3.0", "Published")), "paging": {"totalPages": 2}}
    assert latest_published_version(_fetcher(quick), source.base_url, "d") == "3.0"


def test_state_survives_a_new_fetcher(source: Source, quick: Settings, tmp_path: Path) -> None:
    source.put("/f.csv", BODY)
    _fetcher(quick).download("s", f"{source.base_url}/f.csv", "f.csv")
    assert _fetcher(quick).download("s", f"{source.base_url}/f.csv", "f.csv").status is PullStatus.NOT_MODIFIED


def _gias(settings: Settings, source: Source) -> Settings:
    return settings.model_copy(update={"gias_base_url": source.base_url, "gias_files": ["edubasealldata{date}.csv"]})


def test_a_backfill_of_an_older_day_is_fetched_with_its_own_validators(source: Source, quick: Settings) -> None:
    """The bug: after pulling 2025-04-22, 2023-04-21 was sent 2025's ETag and answered not-modified."""
    settings = _gias(quick, source)
    newer, older = "/edubasealldata20250422.csv", "/edubasealldata20230421.csv"
    source.put(newer, BODY + b"100002,202,Opened In 2024\n")
    source.put(older, BODY)
    fetcher = _fetcher(settings)

    [first] = pull_gias_files(settings, fetcher, date(2025, 4, 22))
    [backfill] = pull_gias_files(settings, fetcher, date(2023, 4, 21))
    backfill_request = len(source.requests) - 1
    [newer_again] = pull_gias_files(settings, fetcher, date(2025, 4, 22))
    [older_again] = pull_gias_files(settings, _fetcher(settings), date(2023, 4, 21))

    assert first.status is PullStatus.NEW and backfill.status is PullStatus.NEW
    assert backfill.path is not None and backfill.path.read_bytes() == BODY
    path, headers = source.requests[backfill_request]
    assert path == older
    assert "If-None-Match" not in headers and "If-Modified-Since" not in headers
    assert newer_again.status is PullStatus.NOT_MODIFIED and older_again.status is PullStatus.NOT_MODIFIED
    assert source.requests[-2][0] == newer
    assert source.requests[-2][1]["If-None-Match"] == source.etag(newer)
    assert source.requests[-1][1]["If-None-Match"] == source.etag(older)
    urls = json.loads(settings.pull_state_file.read_text())["urls"]
    assert {url: entry["sha256"] for url, entry in urls.items()} == {
        source.base_url + newer: first.sha256,
        source.base_url + older: backfill.sha256,
    }


def test_a_state_file_of_the_old_per_source_shape_is_read_and_rewritten(source: Source, quick: Settings) -> None:
    """Files written before per-URL state (one entry per source) keep every value: the entry's URL keeps its
    validators and hash, the source keeps its EES version, and the next write saves the new shape."""
    settings = _gias(quick, source).model_copy(
        update={"ees_api_url": source.base_url, "ees_data_sets": {"s251": "abc-123"}}
    )
    newer, older = "/edubasealldata20250422.csv", "/edubasealldata20230421.csv"
    source.put(newer, BODY)
    source.put(older, BODY + b"100003,203,Closed In 2024\n")
    source.json_documents["/data-sets/abc-123/versions?page=1&pageSize=20"] = _versions(("1.1", "Published"))
    ees_url = f"{source.base_url}/data-sets/abc-123/csv?dataSetVersion=1.1"
    old_gias = {
        "url": source.base_url + newer,
        "etag": source.etag(newer),
        "last_modified": "Tue, 22 Apr 2025 06:00:00 GMT",
        "sha256": hashlib.sha256(BODY).hexdigest(),
        "bytes": len(BODY),
        "landed_as": "/somewhere/edubasealldata20250422.csv",
        "checked_at": "2025-04-22T06:01:00+00:00",
    }
    old_ees = {"url": ees_url, "sha256": "ab" * 32, "version": "1.1", "checked_at": "2025-04-20T00:00:00+00:00"}
    settings.pull_state_file.parent.mkdir(parents=True, exist_ok=True)
    settings.pull_state_file.write_text(json.dumps({"gias:edubasealldata.csv": old_gias, "ees:abc-123": old_ees}))
    state = PullState(settings.pull_state_file)

    assert state.seen_url(source.base_url + newer).etag == source.etag(newer)
    assert state.seen_source("ees:abc-123") == SourceSeen(version="1.1", checked_at=old_ees["checked_at"])
    fetcher = _fetcher(settings)
    [newer_again] = pull_gias_files(settings, fetcher, date(2025, 4, 22))
    assert newer_again.status is PullStatus.NOT_MODIFIED
    assert source.requests[-1][1]["If-None-Match"] == source.etag(newer)
    assert source.requests[-1][1]["If-Modified-Since"] == old_gias["last_modified"]
    [backfill] = pull_gias_files(settings, fetcher, date(2023, 4, 21))
    assert backfill.status is PullStatus.NEW and "If-None-Match" not in source.requests[-1][1]
    [ees] = pull_ees_data_sets(settings, fetcher)
    assert ees.status is PullStatus.UNCHANGED and not any("/csv" in path for path, _ in source.requests)

    rewritten = json.loads(settings.pull_state_file.read_text())
    assert rewritten["format"] == 2 and set(rewritten) == {"format", "urls", "sources"}
    kept = rewritten["urls"][source.base_url + newer]
    assert {name: kept[name] for name in ("sha256", "bytes", "landed_as", "etag")} == {
        name: old_gias[name] for name in ("sha256", "bytes", "landed_as", "etag")
    }
    assert kept["source"] == "gias:edubasealldata.csv" and kept["checked_at"] > old_gias["checked_at"]
    assert rewritten["urls"][ees_url]["sha256"] == old_ees["sha256"]
    assert rewritten["sources"]["ees:abc-123"]["version"] == "1.1"
    assert rewritten["urls"][source.base_url + older]["sha256"] == backfill.sha256
