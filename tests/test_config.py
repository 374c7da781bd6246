"""Settings precedence (flags > config file > .env > environment) and one line per mistake."""

from __future__ import annotations

import pytest

from tinyml_autopilot.config import load_settings
from tinyml_autopilot.errors import UserError


def test_precedence_flags_file_dotenv_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYML_MAX_ATTEMPTS", "9")
    monkeypatch.setenv("TINYML_BOARD", "from-env")
    monkeypatch.setenv("TINYML_LLM", "ollama/from-env")
    monkeypatch.setenv("TINYML_COST_LIMIT", "7")
    (tmp_path / ".env").write_text("TINYML_BOARD=from-dotenv\nTINYML_LLM=ollama/from-dotenv\nTINYML_COST_LIMIT=6\n")
    (tmp_path / "tinyml-autopilot.toml").write_text('llm = "ollama/from-file"\ncost_limit = 5\n')
    s = load_settings({"cost_limit": 4.0}, cwd=tmp_path)
    assert s.cost_limit == 4.0  # flag
    assert s.llm == "ollama/from-file"  # config file over .env and environment
    assert s.board == "from-dotenv"  # .env over environment
    assert s.max_attempts == 9  # environment


def test_yaml_config(tmp_path):
    path = tmp_path / "tinyml-autopilot.yaml"
    path.write_text("max_attempts: 3\nboard: uno\n")
    s = load_settings({}, cwd=tmp_path)
    assert (s.max_attempts, s.board) == (3, "uno")


def test_each_mistake_gets_its_own_line(tmp_path):
    (tmp_path / "tinyml-autopilot.toml").write_text('max_attempts = 0\ntemperature = "hot"\nmodel = "x"\n')
    with pytest.raises(UserError) as err:
        load_settings({}, cwd=tmp_path)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert any("max_attempts" in line and "greater than or equal to 1" in line for line in lines)
    assert any("unknown setting 'model'" in line for line in lines)
    assert err.value.code == 2


def test_unreadable_config_is_one_line(tmp_path):
    (tmp_path / "tinyml-autopilot.toml").write_text("this is = = not toml")
    with pytest.raises(UserError, match="cannot read config file"):
        load_settings({}, cwd=tmp_path)


def test_missing_explicit_config(tmp_path):
    with pytest.raises(UserError, match="--config"):
        load_settings({}, config=tmp_path / "nope.toml", cwd=tmp_path)


def test_provider_key_from_dotenv_is_registered_as_secret(tmp_path, monkeypatch):
    from tinyml_autopilot.secrets import redact

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=sk-from-dotenv-123\n")
    s = load_settings({}, cwd=tmp_path)
    assert s.provider_key("OPENAI_API_KEY") == "sk-from-dotenv-123"
    assert redact("key sk-from-dotenv-123 here") == "key *** here"


@pytest.mark.parametrize("text", ["- a\n- b\n", "key: [unclosed\n"])
def test_malformed_yaml_is_one_line(tmp_path, text):
    (tmp_path / "tinyml-autopilot.yaml").write_text(text)
    with pytest.raises(UserError) as err:
        load_settings({}, cwd=tmp_path)
    assert "cannot read config file" in str(err.value) and len(str(err.value).splitlines()) == 1


def test_each_line_names_where_the_wrong_value_was_set(tmp_path, monkeypatch):
    monkeypatch.setenv("TINYML_LLM_RETRIES", "99")
    monkeypatch.setenv("TINYML_BORD", "uno")
    (tmp_path / ".env").write_text("TINYML_WALL_LIMIT=-1\nTINYML_COST_LIMT=3\n")
    (tmp_path / "tinyml-autopilot.toml").write_text("temperature = 5\n")
    with pytest.raises(UserError) as err:
        load_settings({"max_attempts": 0}, cwd=tmp_path)
    lines = str(err.value).splitlines()
    assert "--max-attempts 0: Input should be greater than or equal to 1" in lines
    assert f"temperature = 5 in {tmp_path / 'tinyml-autopilot.toml'}: Input should be less than or equal to 2" in lines
    assert f"TINYML_WALL_LIMIT = '-1' in {tmp_path / '.env'}: Input should be greater than 0" in lines
    assert "TINYML_LLM_RETRIES = '99' in the environment: Input should be less than or equal to 10" in lines
    assert any(line.startswith("unknown setting 'TINYML_COST_LIMT' in") and "TINYML_COST_LIMIT?" in line
               for line in lines)
    assert any(line.startswith("unknown setting 'TINYML_BORD' in the environment") and "TINYML_BOARD?" in line
               for line in lines)
    assert len(lines) == 6


def test_config_file_mistakes_are_one_line_each(tmp_path):
    ini = tmp_path / "settings.ini"
    ini.write_text("llm=offline\n")
    with pytest.raises(UserError, match="neither TOML nor YAML"):
        load_settings({}, config=ini, cwd=tmp_path)
    with pytest.raises(UserError, match="is a folder, not a file"):
        load_settings({}, config=tmp_path, cwd=tmp_path)
    (tmp_path / "tinyml-autopilot.yaml").write_text("key:\n  - a\n b: c\n")
    with pytest.raises(UserError, match=r"\(line 3\)"):
        load_settings({}, cwd=tmp_path)


def test_api_base_must_be_a_url(tmp_path):
    with pytest.raises(UserError, match="--api-base 'localhost:8000'.*http://"):
        load_settings({"api_base": "localhost:8000"}, cwd=tmp_path)
