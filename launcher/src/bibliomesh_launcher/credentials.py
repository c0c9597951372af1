"""The embedded demo's bootstrap client: taken from the environment, or made once and kept in DATA_DIR."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def demo_bootstrap_client(data_dir: Path) -> tuple[str, str]:
    client_id = os.environ.get("AUTH_BOOTSTRAP_CLIENT_ID")
    secret = os.environ.get("AUTH_BOOTSTRAP_CLIENT_SECRET")
    if client_id and secret:
        return client_id, secret
    stored = data_dir / "demo-credentials.json"
    if stored.exists():
        saved = json.loads(stored.read_text())
        return saved["client_id"], saved["client_secret"]
    data_dir.mkdir(parents=True, exist_ok=True)
    client_id, secret = "platform-admin", secrets.token_urlsafe(24)
    stored.write_text(json.dumps({"client_id": client_id, "client_secret": secret}))
    stored.chmod(0o600)
    return client_id, secret
