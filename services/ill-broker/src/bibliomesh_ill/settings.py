from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class IllSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ILL_", extra="ignore")

    service_name: str = "ill"


def load_settings() -> IllSettings:
    return IllSettings()
