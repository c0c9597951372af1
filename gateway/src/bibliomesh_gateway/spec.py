"""How the gateway describes itself to the contract generator (`contracts/tools/generate.py`): its own OpenAPI
document (the merged one of the whole platform is built at run time, at `GET /openapi.json`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import FastAPI

from bibliomesh_gateway.app import create_app


@dataclass(frozen=True)
class GatewaySpec:
    name: str
    create_app: Callable[[], FastAPI]


SPEC = GatewaySpec(name="gateway", create_app=create_app)
