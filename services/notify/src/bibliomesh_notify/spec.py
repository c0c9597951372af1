from __future__ import annotations

from bibliomesh_notify.adapters.tables import metadata
from bibliomesh_notify.bootstrap import MIGRATIONS, create_app
from bibliomesh_notify.entrypoints.consumers import SUBSCRIPTIONS
from bibliomesh_notify.settings import load_settings
from meshkit.service_spec import ServiceSpec

SPEC = ServiceSpec(
    name="notify",
    settings=load_settings,
    create_app=create_app,
    migrations=MIGRATIONS,
    metadata=metadata,
    subscriptions=SUBSCRIPTIONS,
)
