from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class IllSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ILL_", extra="ignore")

    service_name: str = "ill"
    catalog_url: str = Field(default="http://127.0.0.1:8000",
                             description="Base URL of the catalogue, to resolve citations to clusters.")
    timer_poll_seconds: float = Field(default=30.0, gt=0, description="How often answer deadlines and due dates "
                                                                     "are checked.")
    acquisition_threshold: int = Field(default=3, ge=2, description="Requests for one item by one institution's "
                                                                   "patrons that make a purchase suggestion.")
    acquisition_window_days: int = Field(default=365, ge=1, description="Window those requests are counted in.")
    agency_id_type: str = Field(default="ISIL", description="Agency id type of platform institutions in ISO 18626.")
    iso18626_max_bytes: int = Field(default=1_000_000, ge=10_000, description="Largest ISO 18626 message accepted.")


def load_settings() -> IllSettings:
    return IllSettings()
