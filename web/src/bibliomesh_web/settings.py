from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class WebSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="WEB_", extra="ignore")

    environment: str = "development"
    public_url: str = Field(default="http://127.0.0.1:8000",
                            description="Where browsers reach the platform (the gateway); `/callback` is below it.")
    api_url: str = Field(default="", description="Where this app calls the public API; empty: `public_url`.")
    client_id: str = Field(default="bibliomesh-web", description="The public OAuth client registered for us.")
    session_idle_minutes: int = Field(default=480, gt=0)
    max_sessions: int = Field(default=50_000, gt=0, description="Most sessions kept of each kind (signed in, signing "
                              "in, anonymous); the least recently used of that kind is forgotten first.")
    upstream_timeout_seconds: float = Field(default=30.0, gt=0)
    metrics_port: int = Field(
        default=9005, ge=0, le=65535, description="`serve` serves `/metrics` (Prometheus) on this port of the same "
        "host, apart from the pages. 0: `/web/metrics` beside the pages instead (embedded mode: one process, on "
        "loopback, where the gateway passes it on).")
    max_form_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest body of an ordinary form (or any other body); larger is "
        "refused (413) before it is parsed. Starlette spools a file part over 1 MiB to /tmp, so forms up to 1 MiB "
        "never touch the disk.")
    max_upload_form_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="Largest form upload (multipart: an import file, a delivered "
        "copy) a signed-in staff member may send without scripts: it is spooled to /tmp before it goes on, so /tmp "
        "must hold a few at once (`upload_spool_bytes`). Any other form on those pages keeps `max_form_bytes`; with "
        "scripts an import file streams through unspooled.")
    upload_spool_bytes: int = Field(
        default=256 * 1024 * 1024, ge=1024, description="Most bytes of staff file forms the process holds spooled "
        "to /tmp at once (four of `max_upload_form_bytes`), counted from each form's Content-Length (or as it "
        "arrives, without one) until its request ends; a form beyond it is refused (503, `Retry-After`) before it "
        "is read. /tmp must hold it (deploy/k8s/base/web: the emptyDir's sizeLimit).")
    demo_password: str = Field(default="", description="Shown on the home page when the demo accounts exist "
                               "(embedded `make run` only).")
    log_level: str = "INFO"
    log_json: bool = True
    otel_exporter: Literal["none", "console", "memory", "otlp"] = Field(
        default="none", description="Where spans go, as for the services and the gateway (`otlp`: the standard "
        "`OTEL_EXPORTER_OTLP_*` and `OTEL_TRACES_SAMPLER*` variables, read by the OpenTelemetry SDK).")

    @model_validator(mode="after")
    def _one_upload_fits_the_spool(self) -> WebSettings:
        if self.upload_spool_bytes < self.max_upload_form_bytes:
            raise ValueError("upload_spool_bytes must hold at least one form of max_upload_form_bytes")
        return self

    @property
    def api_base(self) -> str:
        return (self.api_url or self.public_url).rstrip("/")

    @property
    def public_base(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies whenever browsers come over https, and always in production."""
        return self.environment == "production" or self.public_url.startswith("https://")

    @property
    def redirect_uri(self) -> str:
        return f"{self.public_base}/callback"


def load_settings() -> WebSettings:
    return WebSettings()
