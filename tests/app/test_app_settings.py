"""Settings: the README table matches the code, the secret key is generated once, placeholders are refused."""
import dataclasses
from pathlib import Path

import numpy  # noqa: F401  (loads the BLAS thread pool the analysis cap limits)
import pytest
from threadpoolctl import threadpool_info

from app.config import SettingsError, load_settings
from app.main import create_app
from app.settings_doc import all_sections, describe
from moderation.analysis import _text

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


def test_analysis_threads_setting_caps_the_analysis_thread_pools(tmp_path, monkeypatch, settings, engine):
    """CIVIC_ANALYSIS_THREADS is read like every other setting, and the app it starts caps BLAS/OpenMP there."""
    monkeypatch.setattr(_text, "_threads", _text._threads)  # the cap is process-wide: restore it afterwards
    monkeypatch.setenv("CIVIC_ANALYSIS_THREADS", "3")
    assert load_settings(env_file=None, data_dir=tmp_path).analysis_threads == 3
    create_app(dataclasses.replace(settings, analysis_threads=3), engine=engine, run_worker=False)
    with _text.thread_limit():
        assert {pool["num_threads"] for pool in threadpool_info()} == {3}
    create_app(dataclasses.replace(settings, analysis_threads=0), engine=engine, run_worker=False)
    with _text.thread_limit():
        assert {pool["num_threads"] for pool in threadpool_info()} == {1}
