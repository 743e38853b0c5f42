"""Settings: declared once, read from BALISE_* variables, every one documented in the README."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from balise import config

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.parametrize("setting", config.SETTINGS, ids=lambda s: s.env)
def test_readme_documents_every_setting(setting):
    assert f"`{setting.env}`" in README.read_text(encoding="utf-8"), (
        f"{setting.env} is missing from the README's Settings table"
    )


def test_environment_variables_override_defaults(tmp_path):
    values = config.load(
        {"BALISE_PORT": "9000", "BALISE_DATA_DIR": str(tmp_path), "BALISE_TRUSTED_PROXIES": "1"}
    )
    assert values["PORT"] == 9000
    assert values["TRUSTED_PROXIES"] == 1
    assert values["DATABASE_URL"] == f"sqlite:///{tmp_path / 'balise.db'}"
    assert values["BASE_URL"] == "http://127.0.0.1:9000"


def test_an_unparsable_value_names_the_variable():
    with pytest.raises(config.SettingError, match="BALISE_PORT"):
        config.load({"BALISE_PORT": "eighty"})


def test_secret_key_is_generated_once_and_kept_private(tmp_path):
    values = config.load({"BALISE_DATA_DIR": str(tmp_path)})
    first = config.secret_key(values)
    assert len(first) >= 40
    assert config.secret_key(values) == first
    mode = stat.S_IMODE(os.stat(tmp_path / "secret_key").st_mode)
    assert mode == 0o600


def test_a_configured_secret_key_is_used_and_not_written(tmp_path):
    values = config.load({"BALISE_DATA_DIR": str(tmp_path), "BALISE_SECRET_KEY": "s3cret"})
    assert config.secret_key(values) == "s3cret"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("BALISE_CACHE_SIZE", "99"),
        ("BALISE_CACHE_SIZE", "10000001"),
        ("BALISE_CACHE_SIZE", "lots"),
        ("BALISE_CLICK_STORE", "elsewhere"),
        ("BALISE_SERVE_CPU", "first"),
        ("BALISE_SERVE_CPU", "-1"),
        ("BALISE_SERVE_CPU", "0,1"),
        ("BALISE_PORT", "0"),
        ("BALISE_PORT", "70000"),  # the socket would take it modulo 65536, and say 70000
        ("BALISE_THREADS", "0"),
    ],
)
def test_cache_size_and_click_store_are_validated(variable, value):
    with pytest.raises(config.SettingError, match=variable):
        config.load({variable: value})


def test_cache_size_and_click_store_defaults_and_values():
    assert config.load({})["CACHE_SIZE"] == 15_000
    assert config.load({})["CLICK_STORE"] == "process"
    values = config.load({"BALISE_CACHE_SIZE": "250000", "BALISE_CLICK_STORE": "thread"})
    assert (values["CACHE_SIZE"], values["CLICK_STORE"]) == (250_000, "thread")


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("mysql://balise:hunter22@db/balise", "not mysql+mysqldb"),
        ("postgres://balise:hunter22@db/balise", "not postgres"),  # not SQLAlchemy's name
        ("postgresql+psycopg2://balise:hunter22@db/balise", "not postgresql+psycopg2"),
        ("hunter22", "is not a database URL"),
    ],
)
def test_a_database_balise_does_not_run_on_is_refused_without_its_password(url, named):
    with pytest.raises(config.SettingError) as refused:
        config.load({"BALISE_DATABASE_URL": url})
    said = str(refused.value)
    assert said.startswith("BALISE_DATABASE_URL") and named in said
    assert "postgresql+psycopg://user:pass@host/db" in said or "not a database URL" in said
    assert "hunter22" not in said


@pytest.mark.parametrize(
    "url",
    ["sqlite:///x/balise.db", "postgresql://u@h/d", "postgresql+psycopg://u:p@h:5433/d"],
)
def test_sqlite_and_postgresql_through_psycopg_are_accepted(url):
    assert config.load({"BALISE_DATABASE_URL": url})["DATABASE_URL"] == url
