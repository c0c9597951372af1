"""The gateway's public-route list says exactly what the services serve without a bearer token."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bibliomesh_gateway.public_routes import PUBLIC_ROUTES, compile_routes, is_public

SNAPSHOTS = Path(__file__).resolve().parents[2] / "contracts" / "openapi"
SERVICES = ("auth", "catalog", "ill", "notify")
METHODS = {"get", "post", "put", "patch", "delete"}


def operations() -> list[tuple[str, str, bool]]:
    """(method, concrete path, needs a bearer token) of every operation the gateway routes to a service."""
    found = []
    for service in SERVICES:
        document = json.loads((SNAPSHOTS / f"{service}.json").read_text())
        for template, item in document["paths"].items():
            if not (template.startswith(f"/{service}/") or template.startswith("/.well-known/")):
                continue  # a service's own /healthz and /readyz are not reachable through the gateway
            path = re.sub(r"\{[^}]+\}", "x1", template)
            for method, operation in item.items():
                if method in METHODS:
                    found.append((method.upper(), path, bool(operation.get("security"))))
    return found


def test_every_operation_without_a_bearer_token_is_public_and_no_other() -> None:
    wrong = [f"{method} {path}: {'needs a token' if secured else 'open'} in the service, "
             f"{'public' if is_public(method, path) else 'not public'} at the gateway"
             for method, path, secured in operations() if is_public(method, path) == secured]
    assert not wrong, "\n".join(wrong)


def test_every_public_route_names_something_a_service_serves() -> None:
    open_operations = [(method, path) for method, path, secured in operations() if not secured]
    unused = [route for route in PUBLIC_ROUTES if "{service}" not in route and not any(
        _matches(route, method, path) for method, path in open_operations)]
    assert not unused, f"public routes no service serves: {unused}"


def test_head_is_public_where_get_is() -> None:
    assert is_public("HEAD", "/catalog/search")
    assert not is_public("HEAD", "/ill/requests")
    assert is_public("GET", "/.well-known/openid-configuration")
    assert not is_public("GET", "/catalog/clusters/c1/members")


def test_the_catalogue_protocols_are_public_over_get_and_post() -> None:
    for path in ("/catalog/sru", "/catalog/oai"):
        assert is_public("GET", path) and is_public("POST", path)


def _matches(route: str, method: str, path: str) -> bool:
    pattern = compile_routes((route,)).get(method)
    return pattern is not None and pattern.fullmatch(path) is not None
