from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"


def load_settings() -> CatalogSettings:
    return CatalogSettings()
