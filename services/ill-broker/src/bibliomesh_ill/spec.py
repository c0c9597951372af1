from __future__ import annotations

from bibliomesh_ill.adapters.tables import metadata
from bibliomesh_ill.bootstrap import MIGRATIONS, create_app
from bibliomesh_ill.entrypoints.consumers import SUBSCRIPTIONS
from bibliomesh_ill.settings import load_settings
from meshkit.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="ill",
    settings=load_settings,
    create_app=create_app,
    migrations=MIGRATIONS,
    metadata=metadata,
    subscriptions=SUBSCRIPTIONS,
)
