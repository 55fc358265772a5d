"""Downloads for the pullers: conditional, retried, written under a temporary name, hashed.

A download is news only when its bytes are: a 304, or a 200 whose SHA-256 equals the last one, lands
nothing and announces nothing. What was last seen of each source (ETag, Last-Modified, hash, and for
EES the version) is kept in one small JSON file under the sendflow home, locked while it is updated.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


class PullState:
    """source -> what was last fetched from it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def read(self) -> dict[str, dict[str, Any]]:
        try:
            state: dict[str, dict[str, Any]] = json.loads(self.path.read_text(encoding="utf-8"))
            return state
        except FileNotFoundError:
            return {}

    def get(self, source: str) -> dict[str, Any]:
        return self.read().get(source, {})

    @contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_name(self.path.name + ".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def put(self, source: str, values: dict[str, Any]) -> None:
        with self._locked():
            state = self.read()
            state[source] = {**state.get(source, {}), **values, "checked_at": datetime.now(UTC).isoformat()}
            atomic_write_bytes(self.path, (json.dumps(state, indent=2, sort_keys=True) + "\n").encode("utf-8"))


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
        seen = self.state.get(source)
        headers: dict[str, str] = {}
        if conditional and seen.get("etag"):
            headers["If-None-Match"] = seen["etag"]
        if conditional and seen.get("last_modified"):
            headers["If-Modified-Since"] = seen["last_modified"]
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
        validators = {
            "url": url,
            "etag": response.headers.get("ETag", seen.get("etag")),
            "last_modified": response.headers.get("Last-Modified", seen.get("last_modified")),
        }
        if saved is None:
            self.state.put(source, validators)
            return Pulled(source, url, PullStatus.NOT_MODIFIED, attempts=attempts)
        sha256, size = saved
        if sha256 == seen.get("sha256"):
            partial.unlink(missing_ok=True)
            self.state.put(source, validators)
            return Pulled(source, url, PullStatus.UNCHANGED, sha256=sha256, size=size, attempts=attempts)
        target = free_name(self.inbox / name)
        os.replace(partial, target)
        self.state.put(source, {**validators, "sha256": sha256, "bytes": size, "landed_as": str(target)})
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
