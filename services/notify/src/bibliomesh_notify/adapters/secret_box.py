"""Webhook secrets, encrypted at rest. They cannot be hashed: every delivery is signed with the secret itself
(HMAC), so notify must read it back. The key comes from NOTIFY_SECRETS_KEY (required in production); in
development a key file is made once in DATA_DIR."""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        # The first key encrypts; all decrypt, so a new key can be put in front and old secrets still read.
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        try:
            return self._fernet.decrypt(stored.removeprefix(PREFIX).encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a webhook secret cannot be decrypted with the configured NOTIFY_SECRETS_KEY") from exc


def development_key(data_dir: Path) -> str:
    path = data_dir / "notify-secrets.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    path.write_text(key)
    os.chmod(path, 0o600)
    return key
