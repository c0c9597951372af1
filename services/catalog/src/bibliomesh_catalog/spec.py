from __future__ import annotations

from meshkit.service_spec import ServiceSpec

from bibliomesh_catalog.bootstrap import MIGRATIONS, create_app
from bibliomesh_catalog.entrypoints.consumers import CONSUMERS
from bibliomesh_catalog.settings import load_settings

SPEC = ServiceSpec(name="catalog", settings=load_settings, create_app=create_app, migrations=MIGRATIONS,
                   subscriptions=tuple(c.subscription for c in CONSUMERS))
