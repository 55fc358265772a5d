"""The one settings object. Every knob is an environment variable with the SENDFLOW_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SENDFLOW_", extra="ignore")

    home: Path = Field(
        default=Path("var"), description="Working folder for the embedded warehouse, lake and landing zone."
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
    prefect_log_level: str = Field(default="WARNING", description="Log level for Prefect's own loggers on the CLI.")
    pupil_key: SecretStr | None = Field(default=None, description="Secret for the HMAC that pseudonymises UPNs.")
    pupil_key_file: Path | None = Field(
        default=None, description="A file holding that secret (default: home/pupil.key)."
    )
    pupil_key_block: str | None = Field(default=None, description="Name of a Prefect Secret block holding it.")

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
    def prefect_home(self) -> Path:
        return self.home / "prefect"

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

            value = Secret.load(self.pupil_key_block).get()
            return str(value).encode() if value else None
        return None


def get_settings() -> Settings:
    """Read afresh each time: cheap, and tests and long-running servers see changed environments."""
    return Settings()
