"""The services the platform is made of. Only the launcher knows them all."""

from __future__ import annotations

from bibliomesh_auth.spec import SPEC as AUTH
from bibliomesh_catalog.spec import SPEC as CATALOG
from bibliomesh_ill.spec import SPEC as ILL
from bibliomesh_notify.spec import SPEC as NOTIFY
from meshkit.service_spec import ServiceSpec

SERVICES: tuple[ServiceSpec, ...] = (AUTH, CATALOG, ILL, NOTIFY)
BY_NAME = {spec.name: spec for spec in SERVICES}
