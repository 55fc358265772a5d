"""The landing folder: what is taken from it, what is refused, and where each goes.

Files are dropped into the landing folder by people, by pullers and by other systems. A file is taken
only once it has stopped changing; what is unsafe is moved aside to `rejected/` with a `.reason.txt`
beside it, and what is safe is moved to `processing/`, from where one ingest run per file loads it.
Archives are opened here, never by the loader: their members are checked before a byte is written
and written with a running count, so an archive that lies about its sizes is still stopped.
"""

from __future__ import annotations

import os
import shutil
import stat
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from sendflow.core.files import atomic_write_bytes, sha256_of
from sendflow.core.settings import Settings
from sendflow.intake.limits import check_zip
from sendflow.intake.raw import Rejection

PROCESSING = "processing"
REJECTED = "rejected"
# Names that are still being written by a browser, rsync, a puller or an editor. Hidden names ('.' first)
# are never taken either: core.files writes its temporaries as .<name>.<writer>.partial.
_IN_PROGRESS_SUFFIXES = (".part", ".tmp", ".crdownload", ".partial", ".download", ".swp")
_ZIP_MAGIC = b"PK\x03\x04"
# Spreadsheets are zip containers too; they are loaded as themselves, but their expansion is still bounded.
_SPREADSHEET_SUFFIXES = (".xlsx", ".xlsm", ".ods")
_CHUNK = 1024 * 1024


class Refused(Exception):
    """A landed file that will not be loaded, with the reason a person can act on."""


@dataclass(frozen=True)
class Accepted:
    path: Path  # in processing/
    sha256: str
    source: str  # the name it landed under (and the archive it came in, if any)


@dataclass
class Sweep:
    accepted: list[Accepted] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)  # where it now lies in rejected/, and why


@dataclass
class Sighting:
    size: int
    mtime_ns: int
    since: float


class LandingZone:
    """One landing folder. `sweep(now)` is called on every poll; it remembers what it saw last time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.landing_dir
        self.processing = self.root / PROCESSING
        self.rejected = self.root / REJECTED
        self._seen: dict[str, Sighting] = {}
        self._hashes: dict[tuple[str, int, int], str] = {}

    def prepare(self) -> None:
        for folder in (self.root, self.processing, self.rejected):
            folder.mkdir(parents=True, exist_ok=True)

    def pending(self) -> list[str]:
        """Names a sweep would look at: what is not yet taken or refused."""
        return [
            entry.name for entry in os.scandir(self.root)
            if entry.name not in (PROCESSING, REJECTED) and not entry.name.startswith(".")
            and not entry.name.lower().endswith(_IN_PROGRESS_SUFFIXES)
        ]  # fmt: skip

    def left_in_processing(self, now: float, older_than: float) -> list[Accepted]:
        """Files in processing/ (and the folders archives were unpacked into) that have been there, unchanged,
        for `older_than` seconds of wall-clock time `now` (by the later of their change and status-change
        times: a move into processing/ counts as arriving): each was handed on once, and whether it reached an
        outcome is the ledger's to say. Hashes are remembered by size and time, so a file left there is read
        once."""
        found = []
        for path in sorted(self.processing.rglob("*")):
            if any(part.startswith(".") for part in path.relative_to(self.processing).parts):
                continue  # a download or unpacking still being written
            if path.name.lower().endswith(_IN_PROGRESS_SUFFIXES) or path.is_symlink() or not path.is_file():
                continue
            info = path.stat()
            if now - max(info.st_mtime, info.st_ctime) < older_than:
                continue
            key = (str(path), info.st_size, info.st_mtime_ns)
            if key not in self._hashes:
                self._hashes[key] = sha256_of(path)
            found.append(Accepted(path, self._hashes[key], f"{PROCESSING}/{path.relative_to(self.processing)}"))
        return found

    def sweep(self, now: float) -> Sweep:
        self.prepare()
        result = Sweep()
        present = set()
        for entry in sorted(os.scandir(self.root), key=lambda e: e.name):
            if entry.name in (PROCESSING, REJECTED) or entry.name.startswith("."):
                continue
            if entry.name.lower().endswith(_IN_PROGRESS_SUFFIXES):
                continue
            present.add(entry.name)
            path = Path(entry.path)
            try:
                reason = unsafe_name(entry.name) or _unsafe_kind(path)
                if reason:
                    raise Refused(reason)
                if not self._settled(entry.name, path, now):
                    continue
                result.accepted += self._accept(path)
            except Refused as refusal:
                result.refused.append((self.refuse(path, str(refusal)), str(refusal)))
        for name in set(self._seen) - present:
            del self._seen[name]
        return result

    def _settled(self, name: str, path: Path, now: float) -> bool:
        """Unchanged in size and time for the settle period: a copy still in progress is left alone."""
        info = path.lstat()
        seen = self._seen.get(name)
        if seen is None or (seen.size, seen.mtime_ns) != (info.st_size, info.st_mtime_ns):
            self._seen[name] = Sighting(info.st_size, info.st_mtime_ns, now)
            return self.settings.watch_settle_seconds == 0
        return now - seen.since >= self.settings.watch_settle_seconds

    def _accept(self, path: Path) -> list[Accepted]:
        size = path.stat().st_size
        if size > self.settings.landing_max_bytes:
            raise Refused(f"{path.name} is {size:,} bytes, over the limit of {self.settings.landing_max_bytes:,}")
        if _is_zip(path):
            members = check_archive(path, self.settings)
            if not path.name.lower().endswith(_SPREADSHEET_SUFFIXES):
                return self._unpack(path, members)
        target = free_name(self.processing / path.name)
        os.replace(path, target)
        self._seen.pop(path.name, None)
        return [Accepted(target, sha256_of(target), path.name)]

    def _unpack(self, archive: Path, members: list[zipfile.ZipInfo]) -> list[Accepted]:
        """Members go flat into a folder of their own under processing/; the archive itself is kept in bronze
        by nobody: it is not a dataset, its members are."""
        folder = free_name(self.processing / f"{archive.stem}.unpacked")
        folder.mkdir(parents=True)
        budget = self.settings.archive_max_expanded_bytes
        accepted = []
        try:
            with zipfile.ZipFile(archive) as opened:
                for member in members:
                    target = free_name(folder / PurePosixPath(member.filename).name)
                    budget -= _extract(opened, member, target, budget, archive.name)
                    accepted.append(Accepted(target, sha256_of(target), f"{archive.name}:{member.filename}"))
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
            shutil.rmtree(folder, ignore_errors=True)
            raise Refused(f"{archive.name} could not be unpacked: {error}") from error
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        archive.unlink()
        self._seen.pop(archive.name, None)
        return accepted

    def refuse(self, path: Path, reason: str) -> Path:
        """Moved, never followed or opened: a symlink is moved as a link, and its target is left alone."""
        self.rejected.mkdir(parents=True, exist_ok=True)
        target = free_name(self.rejected / _printable(path.name))
        os.rename(path, target)
        atomic_write_bytes(target.with_name(target.name + ".reason.txt"), (reason + "\n").encode("utf-8"))
        self._seen.pop(path.name, None)
        return target


def unsafe_name(name: str) -> str | None:
    if "/" in name or "\\" in name:
        return f"{_printable(name)!r}: a file name may not contain a path separator"
    if ".." in name:
        return f"{_printable(name)!r}: a file name may not contain '..'"
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        return f"{_printable(name)!r}: a file name may not contain control characters"
    return None


def _unsafe_kind(path: Path) -> str | None:
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        return f"{path.name} is a symbolic link (to {os.readlink(path)}); only regular files are loaded"
    if stat.S_ISDIR(mode):
        return f"{path.name} is a folder; drop the files themselves, or a zip of them"
    if not stat.S_ISREG(mode):
        return f"{path.name} is not a regular file"
    return None


def check_archive(path: Path, settings: Settings) -> list[zipfile.ZipInfo]:
    """The members to unpack (files only), or Refused naming the first rule the archive breaks. The size and
    member-count rule is intake's (`check_zip`), the same one a workbook offered to `sendflow ingest` meets."""
    try:
        infos = check_zip(path, settings.archive_max_members, settings.archive_max_expanded_bytes)
    except Rejection as rejection:
        raise Refused(str(rejection)) from rejection
    members = []
    for info in infos:
        name = info.filename
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if name.startswith(("/", "\\")) or ".." in parts or (parts and parts[0].endswith(":")):
            raise Refused(f"{path.name}: member {name!r} would be written outside the landing folder")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise Refused(f"{path.name}: member {name!r} is a symbolic link")
        if info.is_dir():
            continue
        problem = unsafe_name(PurePosixPath(name).name)
        if problem:
            raise Refused(f"{path.name}: member {problem}")
        members.append(info)
    return members


def _extract(opened: zipfile.ZipFile, member: zipfile.ZipInfo, target: Path, budget: int, archive: str) -> int:
    """Counted as it is written: a member whose header understates its size is stopped at the budget."""
    written = 0
    with opened.open(member) as source, open(target, "xb") as sink:
        while chunk := source.read(_CHUNK):
            written += len(chunk)
            if written > budget:
                raise Refused(f"{archive}: member {member.filename!r} expands past the archive limit (a zip bomb)")
            sink.write(chunk)
    return written


def _is_zip(path: Path) -> bool:
    with open(path, "rb") as opened:
        return opened.read(4) == _ZIP_MAGIC


def free_name(path: Path) -> Path:
    """The name, or name-2, name-3...: a second file of the same name never overwrites the first."""
    if not path.exists() and not path.is_symlink():
        return path
    for number in range(2, 10_000):
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
        if not candidate.exists() and not candidate.is_symlink():
            return candidate
    raise FileExistsError(f"too many files named {path.name} in {path.parent}")


def _printable(name: str) -> str:
    cleaned = "".join(ch if ch.isprintable() and ch not in "/\\" else "_" for ch in name)
    return cleaned.replace("..", "__") or "unnamed"
