"""How a service describes itself to the command line and to the one-process launcher."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from sqlalchemy import MetaData

from meshkit.bus import Subscription
from meshkit.settings import ServiceSettings


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    """Short name, also the URL prefix (`/catalog`) and the producer name on events."""
    settings: Callable[[], ServiceSettings]
    """Reads the environment; called at start, never at import."""
    create_app: Callable[..., FastAPI]
    """`create_app(settings=None, transport=None, **overrides)`."""
    migrations: Path
    metadata: MetaData
    """The service's tables as the code sees them; the migrations must build exactly these."""
    subscriptions: tuple[Subscription, ...] = ()
    commands: Any = None
    """Extra typer commands (imports, key rotation) added under the service's CLI."""
