"""Settings: environment variables prefixed HOLDSPACE_ override a settings file, which overrides defaults.

The settings file is `holdspace.toml` in the data folder (or the path in HOLDSPACE_SETTINGS_FILE).
No secret is ever written by the app: keys are read from the environment or the file the user wrote.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, TomlConfigSettingsSource

#: The checkout (or installed tree) that holds scenarios/, personas/, guide_corpus/ and evaluation/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent

BackendName = Literal["embedded", "openai", "scripted"]


def _settings_file() -> Path:
    explicit = os.environ.get("HOLDSPACE_SETTINGS_FILE")
    if explicit:
        return Path(explicit)
    data_dir = Path(os.environ.get("HOLDSPACE_DATA_DIR", PROJECT_ROOT / "data"))
    return data_dir / "holdspace.toml"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOLDSPACE_", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / "data", description="SQLite file, Chroma index, exports")
    content_dir: Path = Field(default=PROJECT_ROOT, description="folder holding scenarios/ and personas/")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir")
    chroma_url: str | None = Field(default=None, description="Chroma server URL; default embedded")

    persona_backend: BackendName = "embedded"
    persona_model: str = "smollm2-135m-instruct"
    judge_backend: Literal["none", "embedded", "openai", "scripted"] = "none"
    judge_model: str = "gpt-4o-mini"
    openai_base_url: str | None = None
    openai_api_key: str | None = None
    #: llama.cpp threads: two where there are two cores (the round halves; the app idles while members
    #: speak), never more, so the embedder and the web server keep a core between them on bigger machines
    llm_threads: int = Field(default_factory=lambda: max(1, min(2, os.cpu_count() or 1)))
    embedder_threads: int = 1
    llm_port: int = 0  # 0 = pick a free loopback port
    llm_timeout_s: float = 20.0
    llm_retries: int = 2

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "holdspace.sqlite3"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = TomlConfigSettingsSource(settings_cls, toml_file=_settings_file())
        return (init_settings, env_settings, toml)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()


def reset_settings_cache() -> None:
    """Tests change the environment; this makes the next get_settings() read it again."""
    get_settings.cache_clear()
