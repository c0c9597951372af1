from __future__ import annotations

from bibliomesh_auth.adapters.tables import metadata
from bibliomesh_auth.bootstrap import MIGRATIONS, create_app
from bibliomesh_auth.cli import commands
from bibliomesh_auth.settings import load_settings
from meshkit.service_spec import ServiceSpec

SPEC = ServiceSpec(name="auth", settings=load_settings, create_app=create_app, migrations=MIGRATIONS, metadata=metadata,
                   commands=commands)
