"""Secrets the auth service must be able to read back (signing keys, IdP client secrets), encrypted at rest.

The key comes from AUTH_SECRETS_KEY (a Kubernetes Secret in production); in development a key file is made once
in DATA_DIR. Values written before encryption existed are read as they are and re-encrypted on the next write.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        # The first key encrypts; all decrypt, so a new key can be put in front and old data still reads.
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def seal(self, plaintext: str) -> str:
        return PREFIX + self._fernet.encrypt(plaintext.encode()).decode()

    def open(self, stored: str) -> str:
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX):].encode()).decode()
        except InvalidToken as exc:
            raise ValueError("a stored secret cannot be decrypted with the configured AUTH_SECRETS_KEY") from exc


def development_key(data_dir: Path) -> str:
    path = data_dir / "auth-secrets.key"
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key().decode()
    path.write_text(key)
    os.chmod(path, 0o600)
    return key
