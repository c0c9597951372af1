from __future__ import annotations

from meshkit.service_spec import ServiceSpec

from bibliomesh_auth.bootstrap import MIGRATIONS, create_app
from bibliomesh_auth.settings import load_settings

SPEC = ServiceSpec(name="auth", settings=load_settings, create_app=create_app, migrations=MIGRATIONS)
