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
    broker_agency_id: str = Field(default="BIBLIOMESH", description="The broker's own ISO 18626 agency id: "
                                  "a peer's request addressed to it is routed across the platform.")
    agency_id_type: str = Field(default="ISIL", description="Agency id type of platform institutions in ISO 18626.")
    peer_attempts: int = Field(default=4, ge=1, le=10, description="Tries per ISO 18626 message to a peer before the "
                               "bus retries it later.")
    peer_first_retry_seconds: float = Field(default=0.5, ge=0, description="First pause between tries, doubled.")
    peer_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one ISO 18626 exchange.")
    peer_poll_seconds: float = Field(default=1.0, gt=0, description="How often queued ISO 18626 messages are "
                                     "looked for when there is nothing to send.")
    delivery_max_bytes: int = Field(default=50 * 1024 * 1024, ge=1024, description="Largest copy a lender may "
                                    "upload as a file.")
    iso18626_max_bytes: int = Field(default=1_000_000, ge=10_000, description="Largest ISO 18626 message accepted.")


def load_settings() -> IllSettings:
    return IllSettings()
