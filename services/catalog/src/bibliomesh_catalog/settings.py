from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"
    records_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024,
                                   description="Largest body `POST /catalog/records` accepts.")


def load_settings() -> CatalogSettings:
    return CatalogSettings()
