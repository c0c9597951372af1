from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class CatalogSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CATALOG_", extra="ignore")

    service_name: str = "catalog"
    records_max_bytes: int = Field(default=20 * 1024 * 1024, ge=1024,
                                   description="Largest body `POST /catalog/records` accepts.")
    max_import_bytes: int = Field(
        default=2 * 1024 * 1024 * 1024, ge=1024, description="Largest file `POST /catalog/imports` accepts (413 "
        "beyond it). It is spooled to DATA_DIR while it is parsed, so DATA_DIR must hold a few at once.")
    import_spool_bytes: int = Field(
        default=6 * 1024 * 1024 * 1024, ge=1024, description="Most bytes of import files one replica holds spooled "
        "at once (uploads in progress and imports still reading theirs): an import that would pass it is a 503 with "
        "Retry-After until others finish, so concurrent imports never fill DATA_DIR. Keep it below DATA_DIR's size.")
    job_lease_seconds: float = Field(
        default=60.0, gt=0, description="How long a replica's claim on a running import or harvest lasts without "
        "a heartbeat (renewed every third of it); after that another replica may fail or take over the job.")
    harvest_scheduler: bool = Field(default=True, description="Run due OAI-PMH harvests, scheduled or requested, "
                                    "in the background (a replica with it off only queues requested runs for the "
                                    "others) and fail imports whose heartbeat stopped.")
    harvest_poll_seconds: float = Field(default=30.0, gt=0, description="How often the scheduler looks for due "
                                        "harvests (a requested run wakes it at once).")
    harvest_timeout_seconds: float = Field(default=60.0, gt=0, description="Timeout of one OAI-PMH request.")
    harvest_attempts: int = Field(default=4, ge=1, le=10, description="Tries per OAI-PMH request on 503 or a "
                                  "network error.")
    harvest_retry_seconds: float = Field(default=2.0, ge=0, description="First pause between tries, doubled each "
                                         "time (a 503's Retry-After wins, up to 10 minutes).")
    harvest_max_response_bytes: int = Field(default=64 * 1024 * 1024, ge=1024,
                                            description="Largest OAI-PMH response accepted.")
    harvest_allow_private: bool = Field(default=False, description="Allow harvest sources on loopback, link-local "
                                        "or private addresses (local testing only).")


    oai_admin_email: str = Field(default="catalogue@bibliomesh.invalid", pattern=r"^[^@\s]+@[^@\s]+$",
                                 description="The address OAI-PMH Identify gives harvesters.")
    oai_token_secret: SecretStr | None = Field(default=None, description="Key that signs OAI-PMH resumption "
                                               "tokens; every replica needs the same one. Without it a key is made "
                                               "and kept in DATA_DIR (development only).")

    @model_validator(mode="after")
    def _oai_key_in_production(self) -> CatalogSettings:
        if self.environment == "production" and self.oai_token_secret is None:
            raise ValueError("production needs CATALOG_OAI_TOKEN_SECRET (shared by every catalogue replica)")
        return self


def load_settings() -> CatalogSettings:
    return CatalogSettings()
