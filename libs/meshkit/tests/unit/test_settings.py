"""Production refuses the conveniences of development: a SQLite database or the embedded bus. Broker credentials
given apart from the URL reach it percent-encoded."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from yarl import URL

from meshkit.settings import ServiceSettings

POSTGRES = "postgresql+asyncpg://ill@db/ill"
AMQP = "amqp://ill:secret@rabbitmq/"


@pytest.fixture(autouse=True)
def _no_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ENVIRONMENT", "DATABASE_URL", "BUS_URL", "DATA_DIR", "BUS_USERNAME", "BUS_PASSWORD"):
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


# The Messaging Topology Operator generates base64 credentials; `@` and `:` would break a URL just the same.
AWKWARD_USER = "u/s+e=r@x:y"
AWKWARD_PASSWORD = "p/a+s=s@w:o%rd"


def test_bus_credentials_are_encoded_into_a_url_that_parses_back() -> None:
    settings = ServiceSettings(bus_url="amqp://rabbitmq:5672/bibliomesh",
                               bus_username=AWKWARD_USER, bus_password=AWKWARD_PASSWORD)
    url = URL(settings.effective_bus_url())  # what aio-pika parses
    assert (url.user, url.password) == (AWKWARD_USER, AWKWARD_PASSWORD)
    assert (url.host, url.port, url.path) == ("rabbitmq", 5672, "/bibliomesh")


def test_bus_credentials_come_from_the_unprefixed_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BUS_USERNAME", AWKWARD_USER)
    monkeypatch.setenv("BUS_PASSWORD", AWKWARD_PASSWORD)
    settings = ServiceSettings(environment="production", database_url=POSTGRES, bus_url="amqp://rabbitmq/")
    url = URL(settings.effective_bus_url())
    assert (url.user, url.password, url.host) == (AWKWARD_USER, AWKWARD_PASSWORD, "rabbitmq")
    assert AWKWARD_PASSWORD not in repr(settings)


def test_a_bus_url_without_separate_credentials_is_used_as_given() -> None:
    assert ServiceSettings(bus_url=AMQP).effective_bus_url() == AMQP


def test_credentials_in_the_url_and_beside_it_are_refused() -> None:
    with pytest.raises(ValidationError, match="already holds credentials") as refused:
        ServiceSettings(bus_url=AMQP, bus_username="ill", bus_password=AWKWARD_PASSWORD)
    assert AWKWARD_PASSWORD not in str(refused.value)


def test_a_password_without_a_user_is_refused() -> None:
    with pytest.raises(ValidationError, match="BUS_PASSWORD is set without BUS_USERNAME"):
        ServiceSettings(bus_url="amqp://rabbitmq/", bus_password="secret")
