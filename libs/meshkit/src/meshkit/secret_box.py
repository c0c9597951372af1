"""Secrets a service must read back (signing keys, IdP client secrets, webhook secrets), encrypted at rest.

They cannot be hashed: each is used as it is (to sign, to call an identity provider, to sign a webhook). The keys
come from the service's `<PREFIX>SECRETS_KEY` setting (a Kubernetes Secret in production, comma-separated: the
first encrypts, all decrypt, so a new key can be put in front); in development a key file is made once in
`DATA_DIR`. A value without the prefix was written before encryption existed: it is read as it is and sealed on
its next write.
"""

from __future__ import annotations

from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from meshkit.dev_secrets import development_secret

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, keys: list[str], key_setting: str) -> None:
        """`key_setting` names the setting the keys came from, for the error when one cannot decrypt."""
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])
        self._key_setting = key_setting

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise ValueError(f"a stored secret cannot be decrypted with the configured {self._key_setting}") from exc


def open_secret_box(configured: str | None, data_dir: Path, service: str) -> SecretBox:
    """The box of `service`: its `<SERVICE>_SECRETS_KEY` keys (comma-separated) if set, else the development key."""
    keys = [key.strip() for key in configured.split(",") if key.strip()] if configured else []
    return SecretBox(keys or [development_key(data_dir, service)], f"{service.upper()}_SECRETS_KEY")


def development_key(data_dir: Path, service: str) -> str:
    """The Fernet key kept in `data_dir/<service>-secrets.key`, made once (owner-readable only)."""
    return development_secret(data_dir, f"{service}-secrets.key", make=lambda: Fernet.generate_key().decode())
