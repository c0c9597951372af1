"""The gateway's settings (`GATEWAY_*`), read once by `create_app`; defaults are the documented ones."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    mode: Literal["embedded", "distributed"] = Field(
        default="distributed", description="`embedded`: rate limits in memory, no HSTS. `distributed`: rate limits "
        "in Redis (shared by every gateway replica) and HSTS.")
    environment: Literal["development", "production"] = "development"
    metrics_port: int = Field(
        default=9000, ge=1, le=65535, description="Distributed mode: `serve` serves `/metrics` (Prometheus) on this "
        "port of the same host, and the public port answers `/metrics` and `/web/metrics` with 404. Embedded mode: "
        "`/metrics` is on the gateway's one port (one process, on loopback), and this is unused.")
    auth_url: str = Field(default="http://127.0.0.1:8001", description="Base URL of the auth service.")
    catalog_url: str = Field(default="http://127.0.0.1:8002", description="Base URL of the catalogue.")
    ill_url: str = Field(default="http://127.0.0.1:8003", description="Base URL of the ILL broker.")
    notify_url: str = Field(default="http://127.0.0.1:8004", description="Base URL of notify.")
    web_url: str = Field(default="", description="The web front end: every path no service or gateway route claims "
                                                 "goes there. Empty: none (those paths are 404).")

    token_issuer: str = Field(default="http://127.0.0.1:8000", description="Expected `iss` of access tokens.")
    token_audience: str = Field(default="bibliomesh", description="Expected `aud` of access tokens.")
    jwks_url: str = Field(default="", description="Signing keys; empty means `<auth_url>/auth/jwks`.")
    jwks_max_stale_seconds: float = Field(
        default=3_600, ge=0, description="How long the last signing keys fetched stay in use while the auth service "
        "cannot be reached (the services' `JWKS_MAX_STALE_SECONDS`; keep the two equal).")

    redis_url: str = Field(default="redis://127.0.0.1:6379/0", description="Rate-limit counters (distributed mode).")
    rate_limit_key_prefix: str = Field(default="bibliomesh:gateway", description="Prefix of the Redis keys.")
    rate_limit_anonymous: str = Field(default="300/minute", description="Per client IP address, without a token.")
    rate_limit_caller: str = Field(default="1200/minute", description="Per token subject (an API client or a person).")
    rate_limit_institution: str = Field(default="6000/minute", description="All callers of one institution together.")

    connect_timeout_seconds: float = Field(default=3.0, gt=0)
    upstream_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait for a service's answer, or for the next piece of its body.")
    route_timeouts: dict[str, float] = Field(
        default={"/notify/stream": 0, "/catalog/imports": 300, "/catalog/records": 120},
        description="Path prefix -> timeout in seconds (0: none, for live streams); the longest prefix wins.")
    max_body_bytes: int = Field(default=10 * MIB, ge=0, description="Largest request body; 413 beyond it.")
    route_body_limits: dict[str, int] = Field(
        default={"/catalog/imports": 2048 * MIB, "/catalog/records": 64 * MIB, "/ill/requests": 64 * MIB,
                 "/staff/imports": 2048 * MIB, "/requests/": 64 * MIB},
        description="Path prefix -> largest body in bytes (0: no limit at the gateway); the longest prefix wins, "
        "else `max_body_bytes`. Prefixes of no service are the web front end's pages: its staff uploads (an import "
        "streams through it to `/catalog/imports`, as large as `CATALOG_MAX_IMPORT_BYTES`; a delivered copy).")

    breaker_failure_threshold: int = Field(default=5, ge=1, description="Failures in a row that open a breaker.")
    breaker_open_seconds: float = Field(default=5.0, gt=0, description="How long an open breaker refuses at once.")
    retry_attempts: int = Field(default=1, ge=0, description="Retries of one GET/HEAD/OPTIONS after a connection "
                                "failure.")
    retry_budget_ratio: float = Field(default=0.2, ge=0, description="Retries allowed per request, over 10 s.")
    retry_budget_minimum: int = Field(default=10, ge=0, description="Retries always allowed per 10 s.")

    cors_origins: list[str] = Field(default=[], description="Origins of web front ends allowed to call the API.")
    hsts_seconds: int = Field(default=31_536_000, ge=0, description="`Strict-Transport-Security` max-age "
                              "(distributed mode only).")
    openapi_cache_seconds: float = Field(default=60.0, ge=0, description="How long a service's OpenAPI is reused.")
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter: Literal["none", "console", "memory", "otlp"] = Field(
        default="none", description="Where spans go: `otlp` batches them to an OpenTelemetry Collector over "
        "OTLP/HTTP. Its address (`OTEL_EXPORTER_OTLP_ENDPOINT`, or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and the "
        "sampling (`OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG`) are the standard variables, read by the "
        "OpenTelemetry SDK itself; `console` and `memory` are for a terminal and for tests.")

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> GatewaySettings:
        if self.environment == "production" and self.mode != "distributed":
            raise ValueError("production needs mode=distributed (rate limits shared through Redis)")
        return self

    def upstreams(self) -> dict[str, str]:
        """Path prefix -> service base URL; the service keeps the prefix in its own routes."""
        return {"auth": self.auth_url, "catalog": self.catalog_url, "ill": self.ill_url, "notify": self.notify_url}

    def effective_jwks_url(self) -> str:
        return self.jwks_url or f"{self.auth_url.rstrip('/')}/auth/jwks"


def load_settings() -> GatewaySettings:
    return GatewaySettings()
