"""Downloads for the pullers: conditional, retried, written under a temporary name, hashed.

A download is news only when its bytes are: a 304, or a 200 whose SHA-256 equals the last one, lands
nothing and announces nothing. What was last seen of each exact URL (ETag, Last-Modified, hash), and of
each source (EES's version), is kept in one small JSON file under the sendflow home, locked while it is
updated.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from sendflow.core.files import atomic_write_bytes, temporary_beside
from sendflow.core.settings import Settings
from sendflow.core.vocabulary import PullStatus
from sendflow.landing.zone import free_name

RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
_MAX_WAIT_SECONDS = 300.0
_CHUNK = 1024 * 1024


class PullError(RuntimeError):
    """A download that did not succeed, with every attempt's reason."""


class NotPublished(PullError):
    """404: the source has no such file (yet)."""


@dataclass(frozen=True)
class Pulled:
    source: str
    url: str
    status: PullStatus
    path: Path | None = None  # where a new file landed
    sha256: str | None = None
    size: int = 0
    attempts: int = 1

    def line(self) -> str:
        if self.status == PullStatus.NEW:
            return f"{self.source}: new ({self.size:,} bytes, {self.sha256[:12] if self.sha256 else ''}) -> {self.path}"
        return f"{self.source}: {self.status}"


# The state file's shape: {"format": 2, "urls": {url: ...}, "sources": {source: ...}}. Before format 2 it was
# {source: {...}}, one entry per source, which sent one day's validators with another day's URL.
_FORMAT = 2


@dataclass(frozen=True)
class UrlSeen:
    """What was last fetched from one exact URL: what a conditional request sends, and what "unchanged" means."""

    source: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    sha256: str | None = None
    bytes: int | None = None
    landed_as: str | None = None
    checked_at: str | None = None


@dataclass(frozen=True)
class SourceSeen:
    """What belongs to a source whatever its URL: for EES, the last version downloaded."""

    version: str | None = None
    checked_at: str | None = None


class PullState:
    """Exact URL -> what was last fetched from it; source -> what is the source's own (EES's version).

    Old files (one entry per source) are read as the new shape: an entry's URL keeps its validators and hash,
    the rest stays with the source. The next write saves the new shape."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, Any]:
        try:
            stored: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {"format": _FORMAT, "urls": {}, "sources": {}}
        return stored if stored.get("format") == _FORMAT else _migrated(stored)

    def seen_url(self, url: str) -> UrlSeen:
        return _known(UrlSeen, self.read()["urls"].get(url, {}))

    def seen_source(self, source: str) -> SourceSeen:
        return _known(SourceSeen, self.read()["sources"].get(source, {}))

    def record_url(self, url: str, seen: UrlSeen) -> None:
        """Merge what `seen` knows (its fields that are not None) into the URL's entry."""
        self._merge("urls", url, seen)

    def record_source(self, source: str, seen: SourceSeen) -> None:
        self._merge("sources", source, seen)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _merge(self, kind: str, key: str, seen: UrlSeen | SourceSeen) -> None:
        values = {name: value for name, value in asdict(seen).items() if value is not None}
        # Read, change and write under the lock: two pulls at once must not each drop the other's entry.
        with self._locked():
            state = self.read()
            entries: dict[str, dict[str, Any]] = state[kind]
            entries[key] = {**entries.get(key, {}), **values, "checked_at": datetime.now(UTC).isoformat()}
            atomic_write_bytes(self.path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8"))


_URL_FIELDS = {item.name for item in fields(UrlSeen)} - {"source"}
_Seen = TypeVar("_Seen", UrlSeen, SourceSeen)


def _migrated(per_source: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The pre-format-2 shape, {source: {"url": ..., "etag": ..., "version": ...}}, as format 2. Nothing is
    dropped: what describes the URL goes to the URL's entry, the rest (all of an entry without a URL) stays
    with the source."""
    urls: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, Any]] = {}
    for source, entry in per_source.items():
        url = entry.get("url")
        if not isinstance(url, str):
            sources[source] = dict(entry)
            continue
        described = {name: value for name, value in entry.items() if name in _URL_FIELDS}
        # Two old sources that last fetched the same URL: the later check is what the server last answered.
        if str(described.get("checked_at", "")) >= str(urls.get(url, {}).get("checked_at", "")):
            urls[url] = {**described, "source": source}
        sources[source] = {
            name: value for name, value in entry.items() if name == "checked_at" or name not in {*_URL_FIELDS, "url"}
        }
    return {"format": _FORMAT, "urls": urls, "sources": sources}


def _known(kind: type[_Seen], entry: dict[str, Any]) -> _Seen:
    """The dataclass of an entry; keys it does not name stay in the file, unread."""
    return kind(**{item.name: entry[item.name] for item in fields(kind) if item.name in entry})


class Fetcher:
    def __init__(
        self,
        settings: Settings,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.state = PullState(settings.pull_state_file)
        self.inbox = settings.landing_dir / "processing"
        self.client = client or httpx.Client(
            timeout=httpx.Timeout(settings.pull_timeout_seconds),
            follow_redirects=True,
            headers={"User-Agent": "sendflow (+https://github.com/sendflow/sendflow)"},
        )
        self.sleep = sleep

    def close(self) -> None:
        self.client.close()

    def get_json(self, url: str) -> Any:
        def read(response: httpx.Response) -> Any:
            response.read()
            return response.json()

        result, _ = self._with_retries(url, {}, read)
        return result

    def download(self, source: str, url: str, name: str, conditional: bool = True) -> Pulled:
        """Fetch `url` into the landing zone's processing/ as `name`, unless it has not changed."""
        # Keyed by the exact URL: another day's extract of the same source has validators of its own.
        seen = self.state.seen_url(url)
        headers: dict[str, str] = {}
        if conditional and seen.etag:
            headers["If-None-Match"] = seen.etag
        if conditional and seen.last_modified:
            headers["If-Modified-Since"] = seen.last_modified
        self.inbox.mkdir(parents=True, exist_ok=True)
        # Hidden ('.' first) and marked in progress ('.partial' last): nothing takes it before the rename.
        partial = temporary_beside(self.inbox / name)

        def save(response: httpx.Response) -> tuple[str, int] | None:
            if response.status_code == 304:
                return None
            digest, size = hashlib.sha256(), 0
            with open(partial, "wb") as sink:
                for chunk in response.iter_bytes(_CHUNK):
                    digest.update(chunk)
                    sink.write(chunk)
                    size += len(chunk)
            expected = response.headers.get("Content-Length")
            if expected is not None and "Content-Encoding" not in response.headers and int(expected) != size:
                raise httpx.RemoteProtocolError(f"body cut off: {size:,} of {int(expected):,} bytes")
            return digest.hexdigest(), size

        try:
            saved, response = self._with_retries(url, headers, save)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        attempts = self._attempts
        validators = UrlSeen(
            source=source,
            etag=response.headers.get("ETag", seen.etag),
            last_modified=response.headers.get("Last-Modified", seen.last_modified),
        )
        if saved is None:
            self.state.record_url(url, validators)
            return Pulled(source, url, PullStatus.NOT_MODIFIED, attempts=attempts)
        sha256, size = saved
        if sha256 == seen.sha256:
            partial.unlink(missing_ok=True)
            self.state.record_url(url, validators)
            return Pulled(source, url, PullStatus.UNCHANGED, sha256=sha256, size=size, attempts=attempts)
        target = free_name(self.inbox / name)
        os.replace(partial, target)
        self.state.record_url(url, replace(validators, sha256=sha256, bytes=size, landed_as=str(target)))
        return Pulled(source, url, PullStatus.NEW, target, sha256, size, attempts)

    def _with_retries(
        self, url: str, headers: dict[str, str], handle: Callable[[httpx.Response], Any]
    ) -> tuple[Any, httpx.Response]:
        """5xx, 408/425/429, timeouts and cut-off bodies are tried again after 1, 2, 4... times the backoff
        (or the server's Retry-After); other 4xx are final. The error names every attempt."""
        problems: list[str] = []
        self._attempts = 0
        for attempt in range(self.settings.pull_attempts):
            self._attempts = attempt + 1
            wait = self.settings.pull_backoff_seconds * 2**attempt
            try:
                with self.client.stream("GET", url, headers=headers) as response:
                    if response.status_code in RETRYABLE_STATUS:
                        problems.append(f"HTTP {response.status_code}")
                        wait = max(wait, _retry_after(response))
                    elif response.status_code == 404:
                        raise NotPublished(f"{url}: HTTP 404 (not published)")
                    elif response.status_code >= 400:
                        raise PullError(f"{url}: HTTP {response.status_code} {response.reason_phrase}")
                    else:
                        return handle(response), response
            except httpx.TimeoutException as error:
                problems.append(f"timed out ({type(error).__name__})")
            except httpx.RemoteProtocolError as error:
                problems.append(f"body cut off or connection dropped ({error})")
            except httpx.TransportError as error:
                problems.append(f"{type(error).__name__}: {error}")
            if attempt + 1 < self.settings.pull_attempts:
                self.sleep(min(wait, _MAX_WAIT_SECONDS))
        raise PullError(f"{url}: gave up after {len(problems)} attempts: {'; '.join(problems)}")


def _retry_after(response: httpx.Response) -> float:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else 0.0
