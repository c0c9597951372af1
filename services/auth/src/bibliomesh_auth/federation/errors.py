"""Why a federated sign-in could not go on. Each kind becomes its own page; none reveals tokens or secrets."""

from __future__ import annotations


class FederationError(Exception):
    """Base of all upstream failures; `reason` is for logs and the audit trail, never for the browser."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ProviderUnavailable(FederationError):
    """Discovery, keys, token or userinfo endpoint unreachable, or the provider's metadata is unusable."""


class UntrustedAnswer(FederationError):
    """The provider answered, but its answer failed validation (signature, issuer, audience, nonce, expiry...)."""


class NoRoleGranted(FederationError):
    """The person authenticated, but no role rule matches them and the institution grants no default role."""
