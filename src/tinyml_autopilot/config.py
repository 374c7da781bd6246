"""Settings from flags, a config file, .env and the environment (in that order of precedence)."""

from __future__ import annotations

import difflib
import os
from pathlib import Path
from typing import Any

import yaml

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib
from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
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
CONFIG_SUFFIXES = (".toml", ".yaml", ".yml")
ENV_PREFIX = "TINYML_"
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
    sandbox_memory_mb: int = Field(6144, ge=512)  # the built-in templates peak near 310 MB
    libraries: str | None = Field(None, description="Arduino library folder(s) (os.pathsep-separated); default: "
                                  "arduino-cli's directories.user/libraries, else ~/Arduino/libraries")
    yes: bool = False
    debug: bool = False

    @field_validator("api_base")
    @classmethod
    def _is_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("give the server's http:// or https:// URL, e.g. http://localhost:8000/v1")
        return value

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

    def provider_key(self, variable: str | None) -> str | None:
        """An API key: api_key from the config first, then `variable` from .env, then the environment."""
        if self.api_key is not None:
            return self.api_key.get_secret_value()
        if variable is None:
            return None
        dotenv = dotenv_values(_FILES["env"]) if _FILES["env"] else {}
        return dotenv.get(variable) or os.environ.get(variable)


class _DotEnvSource(PydanticBaseSettingsSource):
    """TINYML_* entries of a .env file (other entries, such as provider keys, are read on demand)."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path) -> None:
        super().__init__(settings_cls)
        values = dotenv_values(path)
        secrets.register(*(v for k, v in values.items() if v and secrets.is_secret_name(k)))
        self.values = {
            k[len(ENV_PREFIX) :].lower(): v
            for k, v in values.items()
            if k.upper().startswith(ENV_PREFIX) and v is not None
        }

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:
        return self.values.get(field_name), field_name, False

    def __call__(self) -> dict[str, Any]:
        return dict(self.values)  # unknown TINYML_* entries are reported as unknown settings


def loaded_files() -> list[Path]:
    """The config and .env files the settings were read from (they may hold API keys)."""
    return [p for p in _FILES.values() if p is not None]


def find_config(explicit: Path | None, cwd: Path | None = None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            what = "is a folder, not a file" if explicit.is_dir() else "not found"
            raise UserError(f"config file {explicit} {what}: check --config")
        if explicit.suffix.lower() not in CONFIG_SUFFIXES:
            raise UserError(f"config file {explicit} is neither TOML nor YAML: name it *.toml or *.yaml "
                            "(check --config)")
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
    problems = _unknown_environment()
    if path is not None:
        _require_mapping(path)
    try:
        settings = Settings(**given)
    except ValidationError as err:
        raise UserError("\n".join([*problems, *_describe(err, given, path)])) from err
    except (OSError, ValueError, TypeError, yaml.YAMLError) as err:
        raise UserError(f"cannot read config file {path}: {_read_error(err)}; fix or remove it") from err
    if problems:
        raise UserError("\n".join(problems))
    if settings.api_key is not None:
        secrets.register(settings.api_key.get_secret_value())
    return settings


def _require_mapping(path: Path) -> None:
    """A YAML config must be `setting: value` lines; a list or a lone value is refused by name."""
    if path.suffix == ".toml":
        return  # TOML's top level is always a table
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return  # reported with the parser's own words below
    if data is not None and not isinstance(data, dict):
        kind = "a list" if isinstance(data, list) else f"a single {type(data).__name__} value"
        raise UserError(f"cannot read config file {path}: it holds {kind}, not settings: write one "
                        "`setting: value` per line (e.g. `llm: openai/gpt-4o`), without a leading '- '")


def _read_error(err: Exception) -> str:
    """The parser's own first line, with the line number where YAML gives one."""
    if isinstance(err, yaml.MarkedYAMLError) and err.problem_mark is not None:
        return f"{err.problem} (line {err.problem_mark.line + 1})"
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _describe(err: ValidationError, given: dict[str, Any], path: Path | None) -> list[str]:
    """One line per mistake, naming the setting as it is spelled where the wrong value was set."""
    lines = []
    for e in err.errors():
        field = ".".join(str(p) for p in e["loc"]) or "settings"
        name, origin = _source(field, given, path)
        if e["type"] == "extra_forbidden":
            lines.append(f"unknown setting '{name}' in {origin}: remove it or check its spelling"
                         f"{_did_you_mean(field, name)}")
            continue
        value = "***" if secrets.is_secret_name(field) else repr(e.get("input"))[:40]
        why = e["msg"].removeprefix("Value error, ")
        lines.append(f"{name} {value}: {why}" if origin is None else f"{name} = {value} in {origin}: {why}")
    return lines


def _source(field: str, given: dict[str, Any], path: Path | None) -> tuple[str, str | None]:
    """(the setting's name where it was set, that place), following the order of precedence."""
    variable = ENV_PREFIX + field.upper()
    if field in given:
        return f"--{field.replace('_', '-')}", None
    if path is not None and field in _file_keys(path):
        return field, str(path)
    if _FILES["env"] is not None and variable in {k.upper() for k in dotenv_values(_FILES["env"])}:
        return variable, str(_FILES["env"])
    return variable, "the environment"


def _file_keys(path: Path) -> set[str]:
    try:
        if path.suffix == ".toml":
            return set(tomllib.loads(path.read_text()))
        data = yaml.safe_load(path.read_text())
        return set(data) if isinstance(data, dict) else set()
    except (OSError, ValueError, yaml.YAMLError):
        return set()


def _unknown_environment() -> list[str]:
    """TINYML_* environment variables that name no setting (a typo would be silently ignored)."""
    names = {ENV_PREFIX + f.upper() for f in Settings.model_fields}
    unknown = sorted(k for k in os.environ if k.upper().startswith(ENV_PREFIX) and k.upper() not in names)
    return [f"unknown setting '{k}' in the environment: unset it or check its spelling"
            f"{_did_you_mean(k[len(ENV_PREFIX):].lower(), k)}" for k in unknown]


def _did_you_mean(field: str, spelled: str) -> str:
    """A close setting name, spelled like `spelled` (a field name or a TINYML_* variable)."""
    close = difflib.get_close_matches(field.lower(), list(Settings.model_fields), n=1)
    if not close:
        return ""
    return f" (did you mean {ENV_PREFIX + close[0].upper() if spelled.isupper() else close[0]}?)"
