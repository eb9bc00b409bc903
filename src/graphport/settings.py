"""Process settings, read once from the environment (official variable names).

Nothing else in graphport reads ``os.environ``; the CLI hands its flags to the server
process through these same variables so that ``--reload`` children see them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_LEVELS = ("CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    database_uri: str | None = Field(default=None, alias="DATABASE_URI")
    redis_uri: str | None = Field(default=None, alias="REDIS_URI")
    config_path: Path = Field(default=Path("langgraph.json"), alias="GRAPHPORT_CONFIG")
    data_dir: Path | None = Field(default=None, alias="GRAPHPORT_DATA_DIR")
    # all: API + run executor + crons + sweepers; api: the API only (runs are queued for
    # worker processes); worker: executor, crons and sweepers, with a health port only
    role: Literal["all", "api", "worker"] = Field(default="all", alias="GRAPHPORT_ROLE")
    run_migrations: bool = Field(default=True, alias="GRAPHPORT_MIGRATE")
    db_pool_size: int = Field(default=10, alias="GRAPHPORT_DB_POOL_SIZE", ge=1)
    db_pool_timeout_secs: float = Field(default=30, alias="GRAPHPORT_DB_POOL_TIMEOUT_SECS", gt=0)
    n_jobs_per_worker: int = Field(default=32, alias="N_JOBS_PER_WORKER", ge=0)
    bg_job_timeout_secs: float | None = Field(default=None, alias="BG_JOB_TIMEOUT_SECS", gt=0)
    bg_job_max_retries: int = Field(default=3, alias="BG_JOB_MAX_RETRIES", ge=0)
    bg_job_shutdown_grace_period_secs: float = Field(
        default=180, alias="BG_JOB_SHUTDOWN_GRACE_PERIOD_SECS", ge=0
    )
    # Largest request body accepted (413 past it): room for a few base64 images in messages.
    max_body_bytes: int = Field(default=8 * 1024 * 1024, alias="GRAPHPORT_MAX_BODY_BYTES", ge=1)
    stream_retention_secs: float = Field(default=600, alias="GRAPHPORT_STREAM_RETENTION_SECS", ge=0)
    dev_mode: bool = Field(default=False, alias="GRAPHPORT_DEV")
    log_level: str = Field(default="INFO", alias="LOG_LEVEL")
    allow_private_network: bool = Field(default=False, alias="ALLOW_PRIVATE_NETWORK")
    log_json: bool = Field(default=False, alias="LOG_JSON")  # one JSON object per line

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in _LEVELS:
            raise ValueError(f"LOG_LEVEL must be one of {', '.join(_LEVELS)}, not {value!r}")
        return value.upper()

    def resolved_data_dir(self) -> Path:
        """Where the embedded Postgres keeps its files: ``.graphport/`` beside the config."""
        if self.data_dir is not None:
            return self.data_dir.resolve()
        return (self.config_path.resolve().parent / ".graphport").resolve()
