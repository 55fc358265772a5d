"""The one settings object. Every knob is an environment variable with the SENDFLOW_ prefix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import cast

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

HOME_FOLDER = "var"
# What makes a var/ folder a sendflow home rather than any folder of that name (/var is not one).
_HOME_FILES = ("warehouse.sqlite",)
_HOME_FOLDERS = ("lake", "landing", "prefect")


def discovered_home() -> Path:
    """The home every command uses when SENDFLOW_HOME is not set: the nearest var/ that is a sendflow home, in
    the current folder or one above it (a command run from a subfolder of the project finds the project's),
    else ./var, where the first command that writes makes one. A few stat calls: get_settings stays cheap."""
    here = Path.cwd()
    for folder in (here, *here.parents):
        candidate = folder / HOME_FOLDER
        if any((candidate / name).is_file() for name in _HOME_FILES) or any(
            (candidate / name).is_dir() for name in _HOME_FOLDERS
        ):
            return candidate
    return here / HOME_FOLDER


@dataclass(frozen=True)
class ReportOptions:
    """What writing trust reports needs to know, and no more: reports take this, never the whole Settings."""

    suppression_threshold: int = 10
    la_distance_pct_points: float = 5.0
    workers: int = 0  # processes writing reports when there are several; 0: one per CPU
    max_membership_age_months: int = 24  # a year whose membership extract is older is left out, with the reason


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SENDFLOW_", extra="ignore")

    home: Path = Field(
        default_factory=discovered_home,
        description="Working folder for the embedded warehouse, lake and landing zone. Unset, it is the nearest "
        "var/ holding a sendflow home (warehouse.sqlite, lake/, landing/ or prefect/) in the current folder or "
        "one above it, else ./var.",
    )
    warehouse_url: str = Field(default="", description="sqlite:///path or postgresql://user@host:port/db")
    lake_dir: Path = Field(default=Path(), description="Root of the Parquet lake (bronze/silver/gold).")
    landing_dir: Path = Field(
        default=Path(), description="Where files arrive; rejected files are kept under rejected/."
    )
    quarantine_threshold: float = Field(
        default=0.05, ge=0, le=1, description="Share of quarantined rows above which a whole file is rejected."
    )
    gx_max_rows: int = Field(
        default=250_000,
        ge=0,
        description="Frames up to this many rows are validated by Great Expectations; larger ones by the Polars "
        "translation of the same suite (GX takes ~3 s per million rows).",
    )
    hand_run_gx_max_rows: int = Field(
        default=0,
        ge=0,
        description="gx_max_rows for a command run by hand with no Prefect server (ingest, demo, watch, pull): 0, "
        "every frame checked by the Polars translation of its suite, with the same answers "
        "(tests/expectations/test_engines.py), since importing Great Expectations alone takes ~4 s there and a "
        "served process pays it once. Raise it for GX and its Data Docs pages by hand too.",
    )
    prefect_log_level: str = Field(default="WARNING", description="Log level for Prefect's own loggers on the CLI.")
    pupil_key: SecretStr | None = Field(default=None, description="Secret for the HMAC that pseudonymises UPNs.")
    pupil_key_file: Path | None = Field(
        default=None, description="A file holding that secret (default: home/pupil.key)."
    )
    pupil_key_block: str | None = Field(default=None, description="Name of a Prefect Secret block holding it.")
    report_suppression_threshold: int = Field(
        default=10, ge=1, description="Trust reports show counts from pupil-level data below this as c."
    )
    report_la_distance_pct_points: float = Field(
        default=5.0,
        gt=0,
        description="Trust reports flag a school whose EHC plan % or SEN support % is this many percentage points "
        "or more from its LA's.",
    )
    report_workers: int = Field(
        default=0,
        ge=0,
        description="Processes writing trust reports when there are many (--all-trusts, refresh-marts); 0: one per "
        "CPU.",
    )
    report_max_membership_age_months: int = Field(
        default=24,
        ge=0,
        description="Trust reports leave out, and list with the reason, a year whose trust membership comes from a "
        "group-links extract taken more than this many months before the census day (an extract taken after it "
        "dates each school's joining, so it is not stale).",
    )
    task_runner: str = Field(
        default="threads",
        description="'threads' (a thread pool in the flow's process) or 'dask://host:port' (a Dask cluster's "
        "scheduler) for fanning out the files of one ingest run.",
    )
    serve_port: int = Field(
        default=4200, ge=0, le=65535, description="Port for the Prefect server `sendflow serve` starts (0: any)."
    )
    files_url: str = Field(
        default="",
        description="The read-only file server of the home's published folders (e.g. http://127.0.0.1:4201/), set "
        "by `sendflow serve` for its child processes; run records link files there. Empty: they show paths.",
    )
    watch_interval_seconds: float = Field(default=2.0, gt=0, description="How often `sendflow watch` looks.")
    watch_settle_seconds: float = Field(
        default=3.0, ge=0, description="A landed file is taken once its size and time have not changed for this long."
    )
    watch_recover_seconds: float = Field(
        default=30.0,
        gt=0,
        description="How often the watcher looks in processing/ for files left with no outcome (a loader killed, an "
        "event unheard) and takes them over; it also looks when it starts.",
    )
    watch_stranded_seconds: float = Field(
        default=600.0,
        ge=0,
        description="After its first look, the watcher takes over a file in processing/ only once it has lain "
        "there this long with no outcome: its announced run has that long to start.",
    )
    landing_max_bytes: int = Field(
        default=4 * 1024**3, gt=0, description="Files (and archives) larger than this are refused on landing."
    )
    archive_max_expanded_bytes: int = Field(
        default=8 * 1024**3, gt=0, description="A zip whose members expand past this in total is refused."
    )
    archive_max_members: int = Field(default=1000, gt=0, description="A zip with more members than this is refused.")
    sheet_max_expanded_bytes: int = Field(
        default=256 * 1024**2,
        gt=0,
        description="A workbook whose members read (workbook, styles, shared strings, visible sheets) decompress "
        "past this many bytes, counted as they stream, is refused (the largest real one expands to 24 MB).",
    )
    sheet_max_cells: int = Field(
        default=5_000_000,
        gt=0,
        description="A workbook whose sheets read hold more cells than this (repeated ODS cells each counted), or "
        "whose chosen sheet spans a grid of more, is refused (the largest real sheet fills 663,000).",
    )
    sheet_max_seconds: float = Field(
        default=120.0, gt=0, description="A workbook still being read after this many seconds is refused."
    )
    xls_max_memory_bytes: int = Field(
        default=2 * 1024**3,
        gt=0,
        description="Address space of the child process that reads an old binary .xls; past it that file fails, "
        "not the run.",
    )
    pull_attempts: int = Field(default=5, ge=1, description="Tries per download (5xx, 429, timeouts, cut-off bodies).")
    pull_backoff_seconds: float = Field(
        default=2.0, ge=0, description="First wait between download tries; doubles each time."
    )
    pull_timeout_seconds: float = Field(default=60.0, gt=0, description="Connect and read timeout per request.")
    gias_base_url: str = Field(
        default="https://ea-edubase-api-prod.azurewebsites.net/edubase/downloads/public",
        description="Where GIAS publishes its daily extracts.",
    )
    gias_files: list[str] = Field(
        default=["edubasealldata{date}.csv", "links_edubasealldata{date}.csv"],
        description="GIAS extract names to pull each day; {date} is the day as YYYYMMDD.",
    )
    report_trusts: list[str] = Field(
        default_factory=list,
        description="Trusts (GIAS Group UIDs, JSON list) whose reports refresh-marts keeps current, besides "
        "those already written under home/reports.",
    )
    ees_api_url: str = Field(
        default="https://api.education.gov.uk/statistics/v1", description="The EES public API (data sets by id)."
    )
    ees_data_sets: dict[str, str] = Field(
        default_factory=dict,
        description='EES data sets to pull weekly, as JSON {"name": "data set id"}; a new version is fetched '
        "when the API's version listing shows one.",
    )

    @model_validator(mode="after")
    def _fill_paths_from_home(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.warehouse_url:
            self.warehouse_url = f"sqlite:///{self.home / 'warehouse.sqlite'}"
        if self.lake_dir == Path():
            self.lake_dir = self.home / "lake"
        if self.landing_dir == Path():
            self.landing_dir = self.home / "landing"
        self.lake_dir = self.lake_dir.expanduser().resolve()
        self.landing_dir = self.landing_dir.expanduser().resolve()
        return self

    @property
    def report_options(self) -> ReportOptions:
        return ReportOptions(
            self.report_suppression_threshold,
            self.report_la_distance_pct_points,
            self.report_workers,
            self.report_max_membership_age_months,
        )

    @property
    def prefect_home(self) -> Path:
        return self.home / "prefect"

    @property
    def data_docs_dir(self) -> Path:
        return self.home / "data-docs"

    @property
    def reports_dir(self) -> Path:
        return self.home / "reports"

    @property
    def pull_state_file(self) -> Path:
        return self.home / "pull-state.json"

    @property
    def default_pupil_key_file(self) -> Path:
        return self.home / "pupil.key"

    def pupil_key_bytes(self) -> bytes | None:
        """The pseudonymisation secret: the variable, else the key file, else the Prefect Secret block."""
        if self.pupil_key is not None and self.pupil_key.get_secret_value():
            return self.pupil_key.get_secret_value().encode()
        key_file = self.pupil_key_file or self.default_pupil_key_file
        if key_file.is_file():
            text = key_file.read_text(encoding="utf-8").strip()
            return text.encode() if text else None
        if self.pupil_key_block:
            from prefect.blocks.system import Secret

            # Block.load is sync-compatible: called outside an event loop it returns the block itself.
            secret = cast("Secret[str]", Secret.load(self.pupil_key_block))
            value = secret.get()
            return str(value).encode() if value else None
        return None


def thread_count(task_runner: str) -> int | None:
    """The N of SENDFLOW_TASK_RUNNER='threads:N' (None for 'threads': the pool's default). The one reading of
    it, for Prefect's thread pool and for the hand-run path's."""
    count = task_runner.strip().partition(":")[2]
    if count and not count.isdigit():
        raise ValueError(f"SENDFLOW_TASK_RUNNER={task_runner!r}: the thread count must be a whole number")
    return int(count) if count else None


def get_settings() -> Settings:
    """Read afresh each time: cheap, and tests and long-running servers see changed environments."""
    return Settings()
