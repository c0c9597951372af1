from __future__ import annotations

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from meshkit.settings import ServiceSettings


class AuthSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="AUTH_", extra="ignore")

    service_name: str = "auth"
    access_token_ttl_seconds: int = Field(default=300, ge=30, le=3600)
    platform_institution: str = Field(default="PLATFORM", description="Institution code of the platform operator.")
    bootstrap_client_id: str | None = Field(default=None, description="Platform-admin client created on first start.")
    bootstrap_client_secret: SecretStr | None = None
    secrets_key: SecretStr | None = Field(
        default=None, description="Fernet key(s), comma-separated, newest first, encrypting secrets at rest.")
    refresh_token_ttl_days: int = Field(default=30, ge=1, le=365)
    authorization_code_ttl_seconds: int = Field(default=60, ge=10, le=600)
    password_grant_enabled: bool = Field(
        default=False, description="Resource-owner password grant for local accounts (on in the embedded demo).")
    login_failures_per_address: int = Field(
        default=50, ge=1, le=100_000, description="Failed local sign-ins (wrong password, unknown or locked account) "
        "one address may make within the window below; beyond it the address is refused (429) without a password "
        "being checked, whichever account it tries: against password spraying, which the per-account lockout misses.")
    login_failure_window_seconds: int = Field(default=900, ge=60, le=86_400,
                                              description="The window of `login_failures_per_address`.")
    identity_provider_allow_private: bool = Field(
        default=False, description="Allow identity providers (their discovery, keys, token and userinfo endpoints) "
        "on loopback, link-local or private addresses: local testing, or providers on the deployment's own network.")

    @model_validator(mode="after")
    def _bootstrap_pair(self) -> AuthSettings:
        if bool(self.bootstrap_client_id) != bool(self.bootstrap_client_secret):
            raise ValueError("AUTH_BOOTSTRAP_CLIENT_ID and AUTH_BOOTSTRAP_CLIENT_SECRET go together")
        if self.environment == "production" and self.secrets_key is None:
            raise ValueError("AUTH_SECRETS_KEY is required in production")
        secret = self.bootstrap_client_secret
        if self.environment == "production" and secret is not None and len(secret.get_secret_value()) < 24:
            raise ValueError("AUTH_BOOTSTRAP_CLIENT_SECRET must be at least 24 characters in production")
        return self


def load_settings() -> AuthSettings:
    return AuthSettings()
