"""Secrets for development only: made once per data folder and kept there, so restarts keep them.

Production passes secrets through settings (Kubernetes Secrets); settings classes refuse to start without them.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path


def development_secret(data_dir: Path, name: str, make: Callable[[], str] = lambda: secrets.token_urlsafe(32)) -> str:
    """The secret kept in `data_dir/name`, made by `make` (owner-readable only) the first time it is asked for."""
    path = data_dir / name
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    value = make()
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write(value)
    return value
