"""Production refuses the conveniences of development: a SQLite database or the embedded bus."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from meshkit.settings import ServiceSettings

POSTGRES = "postgresql+asyncpg://ill@db/ill"
AMQP = "amqp://ill:secret@rabbitmq/"


@pytest.fixture(autouse=True)
def _no_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "DATABASE_URL", "BUS_URL", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.parametrize("database_url", ["", "sqlite+aiosqlite:///data/ill.sqlite", "sqlite:///ill.sqlite"])
def test_production_refuses_sqlite(database_url: str) -> None:
    with pytest.raises(ValidationError, match="PostgreSQL"):
        ServiceSettings(environment="production", database_url=database_url, bus_url=AMQP)


def test_production_refuses_the_embedded_bus() -> None:
    with pytest.raises(ValidationError, match="amqp"):
        ServiceSettings(environment="production", database_url=POSTGRES, bus_url="embedded")


def test_production_refuses_the_embedded_bus_by_default() -> None:
    with pytest.raises(ValidationError, match="amqp"):
        ServiceSettings(environment="production", database_url=POSTGRES)


def test_production_accepts_postgresql_and_rabbitmq() -> None:
    settings = ServiceSettings(environment="production", database_url=POSTGRES, bus_url=AMQP)
    assert settings.effective_database_url() == POSTGRES
    assert not settings.uses_embedded_bus


def test_production_is_refused_when_it_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ENVIRONMENT", "production")
    with pytest.raises(ValidationError):
        ServiceSettings()


def test_development_runs_on_sqlite_and_the_embedded_bus(tmp_path: Path) -> None:
    settings = ServiceSettings(service_name="ill", data_dir=tmp_path)
    assert settings.uses_embedded_bus
    assert settings.effective_database_url() == f"sqlite+aiosqlite:///{tmp_path}/ill.sqlite"
