from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class NotifySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFY_", extra="ignore")

    service_name: str = "notify"
    smtp_host: str = Field(default="", description="SMTP server; empty writes `.eml` files under "
                                                   "DATA_DIR/outbox-mail/ instead (the embedded default).")
    smtp_port: int = Field(default=25, ge=1, le=65535)
    smtp_username: str | None = Field(default=None, description="SMTP login, if the server wants one.")
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=False, description="Upgrade the connection with STARTTLS.")
    smtp_tls: bool = Field(default=False, description="Implicit TLS (port 465).")
    smtp_timeout_seconds: float = Field(default=30.0, gt=0)
    mail_from: str = Field(default="Bibliomesh <noreply@bibliomesh.invalid>", description="From: of every e-mail.")
    email_per_minute: int = Field(default=20, ge=1, description="Most e-mails one address gets per minute; "
                                                                "the rest wait their turn.")
    email_max_attempts: int = Field(default=25, ge=1, description="Tries before an e-mail is given up.")
    webhook_max_attempts: int = Field(default=12, ge=1, description="Tries before a webhook delivery is given up.")
    webhook_disable_after: int = Field(default=15, ge=1, description="Failed attempts in a row that disable an "
                                                                     "endpoint (its admins are told).")
    webhook_timeout_seconds: float = Field(default=10.0, gt=0)
    webhook_allow_private: bool = Field(default=False, description="Allow http:// and loopback, link-local or "
                                        "private addresses for webhooks (local testing only).")
    retry_first_seconds: float = Field(default=5.0, gt=0, description="First pause after a failed delivery; "
                                       "doubled each time, with jitter.")
    retry_max_seconds: float = Field(default=3600.0, gt=0, description="Longest pause between two tries.")
    delivery_poll_seconds: float = Field(default=1.0, gt=0, description="How often queued deliveries are looked "
                                         "for when nothing woke the sender.")
    email_linger_seconds: float = Field(default=0.05, ge=0, description="After new e-mail is queued, wait this "
                                        "long so that a burst goes out in one batch.")
    delivery_batch: int = Field(default=100, ge=1, le=1000)
    delivery_concurrency: int = Field(default=16, ge=1, le=256, description="Webhook posts in flight at once.")
    lease_seconds: float = Field(default=120.0, gt=0, description="How long a claimed delivery is held by the "
                                 "replica sending it before another may take it over.")
    stream_poll_seconds: float = Field(default=0.5, gt=0, description="How often an open stream looks for new "
                                       "notifications written by other replicas.")
    stream_heartbeat_seconds: float = Field(default=15.0, gt=0)
    stream_max_per_person: int = Field(default=5, ge=1, le=100, description="Live streams one person may have "
                                       "open, in all replicas together; opening one more ends their oldest.")
    stream_recheck_seconds: float = Field(default=5.0, gt=0, description="How often an open stream checks that "
                                          "its person is not disabled (a disable this replica consumes ends "
                                          "their streams at once) and that no newer streams of theirs in other "
                                          "replicas put it past the cap.")
    digest_hour: int = Field(default=7, ge=0, le=23, description="Hour of the day daily digests are sent.")
    digest_timezone: str = Field(default="UTC", description="Time zone of `digest_hour` (IANA name).")
    digest_poll_seconds: float = Field(default=60.0, gt=0)
    secrets_key: SecretStr | None = Field(default=None, description="Fernet key(s), comma-separated, newest first, "
                                          "encrypting webhook secrets at rest.")

    @model_validator(mode="after")
    def _production_secrets(self) -> NotifySettings:
        if self.environment == "production" and self.secrets_key is None:
            raise ValueError("NOTIFY_SECRETS_KEY is required in production")
        return self


def load_settings() -> NotifySettings:
    return NotifySettings()
