"""Secrets kept encrypted at rest and read back: rotation, a wrong key, values from before encryption, the
development key."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from meshkit.secret_box import PREFIX, SecretBox, open_secret_box


def test_a_sealed_secret_opens_after_a_new_key_is_put_in_front() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old], "X_SECRETS_KEY").seal("webhook-secret")
    rotated = open_secret_box(f"{new}, {old}", Path("/nonexistent"), "x")

    assert sealed.startswith(PREFIX) and "webhook-secret" not in sealed
    assert rotated.open(sealed) == "webhook-secret"
    assert SecretBox([new], "X_SECRETS_KEY").open(rotated.seal("again")) == "again"  # the first key encrypts


def test_a_wrong_key_names_the_setting_and_a_value_from_before_encryption_reads_as_it_is() -> None:
    sealed = SecretBox([Fernet.generate_key().decode()], "NOTIFY_SECRETS_KEY").seal("s")
    other = open_secret_box(Fernet.generate_key().decode(), Path("/nonexistent"), "notify")

    with pytest.raises(ValueError, match="NOTIFY_SECRETS_KEY"):
        other.open(sealed)
    assert other.open("plain-from-before") == "plain-from-before"


def test_without_a_configured_key_a_development_key_is_made_once_and_kept_private(tmp_path: Path) -> None:
    first = open_secret_box(None, tmp_path, "auth")
    sealed = first.seal("signing-key")

    assert open_secret_box(None, tmp_path, "auth").open(sealed) == "signing-key"  # a restart reads it back
    key_file = tmp_path / "auth-secrets.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    with pytest.raises(ValueError):
        SecretBox([], "AUTH_SECRETS_KEY")
