"""Settings every service has; each service subclasses with its own env prefix (`CATALOG_`, `AUTH_`, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

EMBEDDED_BUS = "embedded"


class ServiceSettings(BaseSettings):
    """Read once, by the service's settings factory, never at import time."""

    model_config = SettingsConfigDict(extra="ignore", env_nested_delimiter="__")

    environment: Literal["development", "production"] = Field(
        default="development", description="`production` refuses unsafe defaults."
    )
    data_dir: Path = Field(
        default=Path(".data"), validation_alias="DATA_DIR", description="Embedded databases live here."
    )
    database_url: str = Field(default="", description="SQLAlchemy URL; empty means a SQLite file under DATA_DIR.")
    bus_url: str = Field(
        default=EMBEDDED_BUS, description="`embedded` (in-process, durable in DATA_DIR) or an amqp:// URL. With "
        "BUS_USERNAME set, give the URL without credentials: they are added percent-encoded."
    )
    bus_username: str = Field(
        default="", validation_alias="BUS_USERNAME", description="Broker user, kept out of BUS_URL so that any "
        "character is safe (the Messaging Topology Operator generates base64, with `/`, `+` and `=`)."
    )
    bus_password: SecretStr = Field(
        default=SecretStr(""), validation_alias="BUS_PASSWORD", description="Password of BUS_USERNAME."
    )
    exchange: str = Field(default="bibliomesh.events", description="Topic exchange all events are published to.")
    public_url: str = Field(default="http://127.0.0.1:8000", description="Base URL callers reach the platform at.")
    token_issuer: str = Field(default="http://127.0.0.1:8000", description="Expected `iss` of access tokens.")
    jwks_url: str = Field(default="", description="Where to fetch signing keys; empty means the auth service's URL.")
    auth_url: str = Field(default="http://127.0.0.1:8000", description="Base URL of the auth service.")
    jwks_max_stale_seconds: float = Field(
        default=3_600, ge=0, description="How long the last signing keys fetched stay in use while the auth service "
        "cannot be reached; after that every token is refused until the keys can be fetched again. An hour outlives "
        "every access token issued before an outage, and bounds how long a key withdrawn meanwhile is still trusted."
    )
    token_audience: str = Field(default="bibliomesh", description="Expected `aud` of access tokens.")
    log_level: str = Field(default="INFO")
    log_json: bool = Field(default=True, description="JSON log lines (off only for humans at a terminal).")
    otel_exporter: Literal["none", "console", "memory", "otlp"] = Field(
        default="none", description="Where spans go: `otlp` batches them to an OpenTelemetry Collector over "
        "OTLP/HTTP. Its address (`OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and the "
        "sampling (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`) are the standard variables, read by the "
        "OpenTelemetry SDK itself; `console` and `memory` are for a terminal and for tests."
    )
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    relay_max_attempts: int = Field(
        default=5, ge=1, le=100, description="How often an event that fails on its own (a body that is not an event, a "
        "message the broker refuses while it takes the others) is tried, after pauses of 1 s, 5 s, 25 s, 125 s, ... "
        "(the events behind it go on meanwhile), before the relay parks it; `bibliomesh <service> outbox release` "
        "puts it back. A failure of the whole bus never counts.")
    bus_connect_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long one attempt to reach the event bus may take; at startup, the service "
        "starts serving without the bus after that and keeps trying in the background.")
    worker_restart_seconds: float = Field(default=5.0, gt=0, description="Pause before a crashed worker restarts.")
    consumer_prefetch: int = Field(default=64, ge=1, le=1000)
    consumer_batches: bool = Field(
        default=True, description="Apply the events waiting in a batched consumer's queue several to a transaction "
        "(up to `consumer_prefetch`); off, every consumer applies one event at a time.")
    retry_delays_seconds: list[float] = Field(default=[1.0, 5.0, 30.0, 120.0])

    service_name: str = "service"

    def sqlite_path(self) -> Path:
        return self.data_dir / f"{self.service_name}.sqlite"

    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.sqlite_path()}"

    def effective_jwks_url(self) -> str:
        return self.jwks_url or f"{self.auth_url.rstrip('/')}/auth/jwks"

    def effective_bus_url(self) -> str:
        """`bus_url` with BUS_USERNAME and BUS_PASSWORD put in percent-encoded, when they are set."""
        if self.uses_embedded_bus or not self.bus_username:
            return self.bus_url
        parts = urlsplit(self.bus_url)
        userinfo = f"{quote(self.bus_username, safe='')}:{quote(self.bus_password.get_secret_value(), safe='')}"
        return urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.netloc}"))

    @property
    def uses_embedded_bus(self) -> bool:
        return self.bus_url == EMBEDDED_BUS

    @model_validator(mode="after")
    def _bus_credentials_given_once(self) -> ServiceSettings:
        # Never name the values: the message ends up in logs.
        if self.bus_password.get_secret_value() and not self.bus_username:
            raise ValueError("BUS_PASSWORD is set without BUS_USERNAME")
        if self.bus_username and not self.uses_embedded_bus and "@" in urlsplit(self.bus_url).netloc:
            raise ValueError("bus_url already holds credentials and BUS_USERNAME is set too: give them one way")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> ServiceSettings:
        if self.environment == "production":
            if not self.database_url or self.database_url.startswith("sqlite"):
                raise ValueError("production needs a PostgreSQL database_url")
            if self.uses_embedded_bus:
                raise ValueError("production needs an amqp:// bus_url")
        return self
