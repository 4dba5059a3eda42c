"""Settings from ``AMIGO_*`` environment variables, one class per section."""

from __future__ import annotations

import os
from functools import cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class DatabaseSettings(BaseSettings):
    """Where the operational store lives."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_DATABASE_", extra="ignore")

    url: str = Field(
        default="sqlite:///./amigo.db",
        description="SQLAlchemy URL; the embedded default is a SQLite file in the current "
        "directory, production uses postgresql+psycopg://...",
    )
    echo: bool = Field(default=False, description="Log every SQL statement (debugging only).")


class LoadSettings(BaseSettings):
    """How `amigo load` batches its work."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_LOAD_", extra="ignore")

    batch_size: int = Field(
        default=5000,
        ge=1,
        le=100_000,
        description="Rows per transaction: each batch and its checkpoint commit together.",
    )
    workers: int = Field(
        default_factory=lambda: min(3, os.cpu_count() or 1),
        ge=0,
        le=32,
        description="Processes loading files of different sources side by side within a "
        "phase (0 or 1: one file at a time). Default: one per core, at most 3 (the sources).",
    )


class IdentitySettings(BaseSettings):
    """How identity resolution decides that two records are one person."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_IDENTITY_", extra="ignore")

    auto_merge_threshold: float = Field(
        default=0.9,
        gt=0,
        le=1,
        description="Match probability at or above which two profiles merge without a person "
        "(the guards still apply). Chosen by the identity benchmark (docs/BENCHMARKS.md).",
    )
    review_threshold: float = Field(
        default=0.5,
        gt=0,
        le=1,
        description="Match probability from which a pair goes to the review queue; below it, "
        "no link.",
    )
    backend: str = Field(
        default="duckdb",
        pattern="^(duckdb|spark)$",
        description="Where Splink runs batch resolution: duckdb (embedded, the default) or "
        "spark (pyspark installed, for data that outgrows one machine).",
    )
    seed: int = Field(default=42, description="Seed of the random pair sampling in training.")
    incremental: bool = Field(
        default=True,
        description="Resolve new and changed source customer records against existing "
        "profiles as they are loaded (once a model has been trained).",
    )


class Settings(BaseSettings):
    """All settings, grouped by section."""

    model_config = SettingsConfigDict(env_prefix="AMIGO_", extra="ignore")

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    load: LoadSettings = Field(default_factory=LoadSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)


@cache
def get_settings() -> Settings:
    """Build the settings once per process from the environment."""
    return Settings()
