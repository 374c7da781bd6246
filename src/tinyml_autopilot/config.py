"""Settings from flags, a config file, .env and the environment (in that order of precedence)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml
from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
    YamlConfigSettingsSource,
)

from . import secrets
from .errors import UserError

CONFIG_NAMES = ("tinyml-autopilot.toml", "tinyml-autopilot.yaml", "tinyml-autopilot.yml")
PROVIDER_KEYS = {
    "openai": "OPENAI_API_KEY",
    "anthropic": "ANTHROPIC_API_KEY",
    "gemini": "GEMINI_API_KEY",
    "mistral": "MISTRAL_API_KEY",
    "groq": "GROQ_API_KEY",
    "deepseek": "DEEPSEEK_API_KEY",
}
# The files the settings were last loaded from (pydantic sources are built per class, not per call).
_FILES: dict[str, Path | None] = {"config": None, "env": None}


class Settings(BaseSettings):
    """Every setting a stage reads. Environment names are TINYML_<FIELD>, e.g. TINYML_LLM."""

    model_config = SettingsConfigDict(env_prefix="TINYML_", extra="forbid", validate_default=True)

    llm: str | None = Field(None, description="PROVIDER/MODEL, or 'offline'")
    api_base: str | None = Field(None, description="base URL of an OpenAI-compatible server")
    api_key: SecretStr | None = None
    out: Path = Path("runs")
    board: str | None = None
    max_attempts: int = Field(5, ge=1, le=100)
    cost_limit: float = Field(2.0, ge=0, description="USD per stage run")
    wall_limit: float = Field(1800.0, gt=0, description="seconds of repair attempts per task")
    llm_timeout: float = Field(120.0, gt=0)
    llm_retries: int = Field(3, ge=0, le=10)
    temperature: float = Field(0.2, ge=0, le=2)
    sandbox_timeout: float = Field(600.0, gt=0)
    sandbox_memory_mb: int = Field(6144, ge=256)
    yes: bool = False
    debug: bool = False

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings]
        path = _FILES["config"]
        if path is not None:
            if path.suffix == ".toml":
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
            else:
                sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path))
        if _FILES["env"] is not None:
            sources.append(_DotEnvSource(settings_cls, _FILES["env"]))
        sources.append(env_settings)
        return tuple(sources)

    def provider_key(self, provider: str) -> str | None:
        """The API key for a provider: api_key from the config first, then .env, then the environment."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        name = PROVIDER_KEYS.get(provider)
        if name is None:
            return None
        dotenv = dotenv_values(_FILES["env"]) if _FILES["env"] else {}
        return dotenv.get(name) or os.environ.get(name)


class _DotEnvSource(PydanticBaseSettingsSource):
    """TINYML_* entries of a .env file (other entries, such as provider keys, are read on demand)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        values = dotenv_values(path)
        secrets.register(*(v for k, v in values.items() if v and secrets.is_secret_name(k)))
        self.values = {
            k[len("TINYML_") :].lower(): v
            for k, v in values.items()
            if k.upper().startswith("TINYML_") and v is not None
        }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return {k: v for k, v in self.values.items() if k in self.settings_cls.model_fields}


def loaded_files() -> list[Path]:
    """The config and .env files the settings were read from (they may hold API keys)."""
    return [p for p in _FILES.values() if p is not None]


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise UserError(f"config file {explicit} not found: check --config")
        return explicit
    cwd = cwd or Path.cwd()
    return next((cwd / n for n in CONFIG_NAMES if (cwd / n).is_file()), None)


def load_settings(
    flags: dict[str, Any] | None = None,
    config: Path | None = None,
    env_file: Path | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Build Settings; any mistake becomes a UserError listing one line per problem."""
    cwd = cwd or Path.cwd()
    path = find_config(config, cwd)
    dotenv = env_file or (cwd / ".env")
    _FILES["config"] = path
    _FILES["env"] = dotenv if dotenv.is_file() else None
    given = {k: v for k, v in (flags or {}).items() if v is not None}
    try:
        settings = Settings(**given)
    except ValidationError as err:
        raise UserError(_describe(err, path)) from err
    except (OSError, ValueError, TypeError, yaml.YAMLError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise UserError(f"cannot read config file {path}: {first}; fix or remove it") from err
    if settings.api_key is not None:
        secrets.register(settings.api_key.get_secret_value())
    return settings


def _describe(err: ValidationError, path: Path | None) -> str:
    where = f" (flags, {path.name}, .env or TINYML_* environment)" if path else ""
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "settings"
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown setting '{field}'{where}: remove it or check its spelling")
        else:
            lines.append(f"setting '{field}': {e['msg']}{where}")
    return "\n".join(lines)
