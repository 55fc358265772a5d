"""The landing folder's rules, on real files, links and archives built here."""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import struct
import zipfile
from pathlib import Path

import pytest

from sendflow.core.settings import Settings
from sendflow.landing.zone import LandingZone, check_archive, unsafe_name
from tests.conftest import SAMPLE_DIR

CENSUS = SAMPLE_DIR / "england_census_2023-24.csv"
MiB = 1024 * 1024


@pytest.fixture
def limits(settings: Settings) -> Settings:
    return settings.model_copy(
        update={
            "watch_settle_seconds": 0,
            "landing_max_bytes": 5 * MiB,
            "archive_max_expanded_bytes": 10 * MiB,
            "archive_max_members": 20,
        }
    )


@pytest.fixture
def zone(limits: Settings) -> LandingZone:
    landing = LandingZone(limits)
    landing.prepare()
    return landing


def _reason(rejected: Path) -> str:
    return rejected.with_name(rejected.name + ".reason.txt").read_text()


def test_a_settled_file_moves_to_processing_with_its_hash(zone: LandingZone) -> None:
    shutil.copyfile(CENSUS, zone.root / CENSUS.name)
    swept = zone.sweep(now=0)

    [accepted] = swept.accepted
    assert accepted.path == zone.processing / CENSUS.name
    assert accepted.sha256 == hashlib.sha256(CENSUS.read_bytes()).hexdigest()
    assert not (zone.root / CENSUS.name).exists() and not swept.refused


def test_a_file_still_growing_is_left_until_it_settles(limits: Settings) -> None:
    zone = LandingZone(limits.model_copy(update={"watch_settle_seconds": 3}))
    zone.prepare()
    landing = zone.root / "arriving.csv"
    landing.write_bytes(b"URN,LA\n")
    assert zone.sweep(now=0).accepted == []
    with open(landing, "ab") as more:
        more.write(b"100000,201\n" * 1000)
    assert zone.sweep(now=2).accepted == []  # changed since last look: the clock starts again
    assert zone.sweep(now=4).accepted == []
    assert [a.path.name for a in zone.sweep(now=5.1).accepted] == ["arriving.csv"]


def test_names_still_being_written_are_not_touched(zone: LandingZone) -> None:
    for name in ("census.csv.part", "census.csv.crdownload", ".hidden.csv"):
        (zone.root / name).write_text("URN\n")
    assert zone.sweep(now=0).accepted == [] and zone.sweep(now=0).refused == []
    assert sorted(p.name for p in zone.root.iterdir() if p.is_file()) == [
        ".hidden.csv", "census.csv.crdownload", "census.csv.part",
    ]  # fmt: skip


def test_a_symlink_is_refused_moved_as_a_link_and_its_target_left_alone(zone: LandingZone, tmp_path: Path) -> None:
    secret = tmp_path / "elsewhere.csv"
    secret.write_text("not for loading\n")
    (zone.root / "link.csv").symlink_to(secret)
    [(rejected, reason)] = zone.sweep(now=0).refused

    assert rejected == zone.rejected / "link.csv" and rejected.is_symlink()
    assert "symbolic link" in reason and reason in _reason(rejected)
    assert secret.read_text() == "not for loading\n"


@pytest.mark.parametrize(
    ("name", "problem"),
    [("census..csv", "'..'"), ("a..b.csv", "'..'"), ("dir\\census.csv", "path separator"),
     ("tab\tname.csv", "control")],
)  # fmt: skip
def test_unsafe_names_are_refused(zone: LandingZone, name: str, problem: str) -> None:
    (zone.root / name).write_text("URN\n")
    [(rejected, reason)] = zone.sweep(now=0).refused
    assert problem in reason and rejected.parent == zone.rejected
    assert ".." not in rejected.name and "\\" not in rejected.name and "\t" not in rejected.name
    assert unsafe_name("england_census_2023-24.csv") is None


def test_a_folder_and_an_oversized_file_are_refused(zone: LandingZone) -> None:
    (zone.root / "a folder").mkdir()
    with open(zone.root / "huge.csv", "wb") as huge:
        huge.truncate(6 * MiB)
    reasons = dict((path.name, reason) for path, reason in zone.sweep(now=0).refused)
    assert "is a folder" in reasons["a folder"]
    assert "over the limit of 5,242,880" in reasons["huge.csv"]


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, body in members.items():
            archive.writestr(name, body)
    return path


def test_a_zip_bomb_is_refused_before_anything_is_written(zone: LandingZone) -> None:
    # 64 MiB of zeros deflates to about 64 KiB: small to land, far past the 10 MiB expansion limit.
    bomb = _zip(zone.root / "census.zip", {f"part{n}.csv": bytes(16 * MiB) for n in range(4)})
    assert bomb.stat().st_size < 5 * MiB
    [(rejected, reason)] = zone.sweep(now=0).refused

    assert "would expand to 67,108,864 bytes" in reason and "zip bomb" in reason
    assert rejected == zone.rejected / "census.zip"
    assert list(zone.processing.iterdir()) == []


def test_a_zip_whose_headers_understate_its_size_is_stopped(zone: LandingZone) -> None:
    """Declared sizes are patched down to 100 bytes; the real member is 12 MiB."""
    liar = _zip(zone.root / "liar.zip", {"big.csv": bytes(12 * MiB)})
    data = bytearray(liar.read_bytes())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, 100)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 100)
    liar.write_bytes(bytes(data))
    [(rejected, reason)] = zone.sweep(now=0).refused

    assert rejected.name == "liar.zip" and "could not be unpacked" in reason
    assert list(zone.processing.iterdir()) == []


@pytest.mark.parametrize(
    ("member", "problem"),
    [("../../etc/cron.d/evil", "outside the landing folder"), ("/etc/passwd", "outside the landing folder"),
     ("C:/windows/evil.csv", "outside the landing folder"), ("ok/../../evil.csv", "outside the landing folder")],
)  # fmt: skip
def test_members_that_would_escape_are_refused(zone: LandingZone, member: str, problem: str) -> None:
    archive = zone.root / "escape.zip"
    with zipfile.ZipFile(archive, "w") as opened:
        opened.writestr(zipfile.ZipInfo(member), b"x")
    [(_, reason)] = zone.sweep(now=0).refused
    assert problem in reason and repr(member) in reason
    assert not Path("/etc/cron.d/evil").exists()


def test_a_symlink_member_and_too_many_members_are_refused(zone: LandingZone, limits: Settings) -> None:
    link = zipfile.ZipInfo("link.csv")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(zone.root / "link.zip", "w") as opened:
        opened.writestr(link, "/etc/passwd")
    _zip(zone.root / "many.zip", {f"f{n}.csv": b"URN\n" for n in range(21)})
    reasons = {path.name: reason for path, reason in zone.sweep(now=0).refused}
    assert "is a symbolic link" in reasons["link.zip"]
    assert "21 members, over the limit of 20" in reasons["many.zip"]


def test_a_safe_zip_is_unpacked_into_processing_member_by_member(zone: LandingZone) -> None:
    body = CENSUS.read_bytes()
    _zip(zone.root / "returns.zip", {"spring/census.csv": body, "notes/": b"", "register.csv": b"URN\n"})
    accepted = zone.sweep(now=0).accepted

    assert sorted(a.path.name for a in accepted) == ["census.csv", "register.csv"]
    assert all(a.path.parent == zone.processing / "returns.unpacked" for a in accepted)
    census = next(a for a in accepted if a.path.name == "census.csv")
    assert census.sha256 == hashlib.sha256(body).hexdigest() and census.source == "returns.zip:spring/census.csv"
    assert not (zone.root / "returns.zip").exists()


def test_a_spreadsheet_is_a_zip_but_is_taken_as_itself(zone: LandingZone) -> None:
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(["URN", "LA (code)"])
    book.save(zone.root / "census.xlsx")
    [accepted] = zone.sweep(now=0).accepted
    assert accepted.path == zone.processing / "census.xlsx"
    assert check_archive(accepted.path, zone.settings)  # its members were still counted and bounded


def test_a_second_file_of_the_same_name_never_overwrites_the_first(zone: LandingZone) -> None:
    for _ in range(2):
        shutil.copyfile(CENSUS, zone.root / CENSUS.name)
        zone.sweep(now=0)
    assert sorted(p.name for p in zone.processing.iterdir()) == [
        "england_census_2023-24-2.csv", "england_census_2023-24.csv",
    ]  # fmt: skip
    assert os.listdir(zone.rejected) == []
