from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    environment: str = "development"
    auth_url: str = Field(default="http://127.0.0.1:8001", description="Base URL of the auth service.")
    catalog_url: str = Field(default="http://127.0.0.1:8002")
    ill_url: str = Field(default="http://127.0.0.1:8003")
    notify_url: str = Field(default="http://127.0.0.1:8004")
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    readiness_timeout_seconds: float = Field(default=2.0, gt=0)
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter: str = "none"

    def upstreams(self) -> dict[str, str]:
        """Path prefix → service base URL; the service keeps the prefix in its own routes."""
        return {"auth": self.auth_url, "catalog": self.catalog_url, "ill": self.ill_url, "notify": self.notify_url}


def load_settings() -> GatewaySettings:
    return GatewaySettings()
