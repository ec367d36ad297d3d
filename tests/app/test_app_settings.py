"""Settings: the README table matches the code, the secret key is generated once, placeholders are refused."""
from pathlib import Path

import pytest

from app.config import SettingsError, load_settings
from app.settings_doc import all_sections, describe

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_documents_every_setting_and_nothing_else():
    text = README.read_text()
    table = text.split("<!-- settings:start -->")[1].split("<!-- settings:end -->")[0]
    documented = {line.split("`")[1] for line in table.splitlines() if line.startswith("| `")}
    rows = describe(all_sections())
    in_code = {row["variable"] for row in rows}
    assert documented == in_code, f"run python scripts/settings_table.py: missing {in_code - documented}, stale {documented - in_code}"
    undocumented = [row["variable"] for row in rows if not row["meaning"]]
    assert not undocumented, f"settings without a docstring: {undocumented}"


def test_secret_key_is_generated_once_and_kept(tmp_path, monkeypatch):
    monkeypatch.delenv("CIVIC_SECRET_KEY", raising=False)
    first = load_settings(env_file=None, data_dir=tmp_path)
    second = load_settings(env_file=None, data_dir=tmp_path)
    assert len(first.secret_key) >= 40 and first.secret_key == second.secret_key
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_placeholder_secret_is_refused_in_production(tmp_path):
    with pytest.raises(SettingsError, match="placeholder"):
        load_settings(env_file=None, data_dir=tmp_path, secret_key="changeme", production=True)


def test_environment_and_env_file_are_read(tmp_path, monkeypatch):
    env = tmp_path / ".env"
    env.write_text("CIVIC_DEFAULT_LOCALE=zh-Hans\nCIVIC_ALLOWED_HOSTS=a.example, b.example\n")
    monkeypatch.setenv("CIVIC_MAX_BODY_BYTES", "1234")
    settings = load_settings(env_file=env, data_dir=tmp_path)
    assert settings.default_locale == "zh-Hans"
    assert settings.allowed_hosts == ("a.example", "b.example")
    assert settings.max_body_bytes == 1234


def test_bad_value_says_which_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("CIVIC_MAX_BODY_BYTES", "lots")
    with pytest.raises(SettingsError, match="CIVIC_MAX_BODY_BYTES"):
        load_settings(env_file=None, data_dir=tmp_path)
