from __future__ import annotations

from bibliomesh_catalog.adapters.tables import metadata
from bibliomesh_catalog.bootstrap import MIGRATIONS, create_app
from bibliomesh_catalog.cli import commands
from bibliomesh_catalog.entrypoints.consumers import SUBSCRIPTIONS
from bibliomesh_catalog.settings import load_settings
from meshkit.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="catalog",
    settings=load_settings,
    create_app=create_app,
    migrations=MIGRATIONS,
    metadata=metadata,
    subscriptions=SUBSCRIPTIONS,
    commands=commands,
)
