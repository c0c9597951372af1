from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"


def load_settings() -> NotifySettings:
    return NotifySettings()
