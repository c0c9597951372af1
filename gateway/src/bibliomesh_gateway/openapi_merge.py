"""One OpenAPI document for the whole platform, merged from every service's own.

Each service's component names (schemas, security schemes, ...) and operation ids get the service's name as a
prefix (`catalog.SearchResults`), and every reference is rewritten to match, so two services may both have a
`Problem` without a clash. Only paths the gateway routes to the service are kept (not its root `/healthz`).
Each service's document is fetched from `<service>/<name>/openapi.json` and reused for a while; a service that
cannot be reached is left out (and named in `x-unavailable-services`) instead of failing the whole document.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import aiohttp

log = logging.getLogger(__name__)
Document = dict[str, Any]
COMPONENTS = "#/components/"


class OpenApiCache:
    def __init__(self, services: dict[str, str], ttl_seconds: float, timeout_seconds: float = 3.0) -> None:
        self.services = services
        self.ttl = ttl_seconds
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._documents: dict[str, tuple[Document, float]] = {}

    async def documents(self, session: aiohttp.ClientSession) -> dict[str, Document | None]:
        names = list(self.services)
        fetched = await asyncio.gather(*(self._document(session, name) for name in names))
        return dict(zip(names, fetched, strict=True))

    async def _document(self, session: aiohttp.ClientSession, name: str) -> Document | None:
        cached = self._documents.get(name)
        if cached is not None and time.monotonic() - cached[1] < self.ttl:
            return cached[0]
        try:
            async with session.get(f"{self.services[name]}/{name}/openapi.json", timeout=self.timeout) as response:
                response.raise_for_status()
                document: Document = await response.json()
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            log.warning("no OpenAPI document from a service", extra={"upstream": name, "error": type(exc).__name__})
            return cached[0] if cached is not None else None  # an older copy beats none
        self._documents[name] = (document, time.monotonic())
        return document


def merge(own: Document, documents: dict[str, Document | None]) -> Document:
    """The gateway's own document with every available service's paths and components added."""
    merged: Document = {**own, "paths": dict(own.get("paths", {})), "components": {}}
    _add_components(merged, "gateway", own)
    merged["paths"] = _prefixed("gateway", merged["paths"])
    tags = [{"name": "gateway", "description": "The gateway itself."}]
    for name, document in documents.items():
        if document is None:
            continue
        tags.append({"name": name, "description": document.get("info", {}).get("description", "")})
        for path, item in _prefixed(name, document.get("paths", {})).items():
            if _routed_to(name, path):
                merged["paths"][path] = {method: _tagged(name, op) for method, op in item.items()}
        _add_components(merged, name, document)
    merged["tags"] = tags
    merged["x-unavailable-services"] = sorted(name for name, document in documents.items() if document is None)
    return merged


def _routed_to(name: str, path: str) -> bool:
    return path.startswith(f"/{name}/") or (name == "auth" and path.startswith("/.well-known/"))


def _tagged(name: str, operation: Any) -> Any:
    if not isinstance(operation, dict):
        return operation  # path-level `parameters` or `summary`
    tagged = {**operation, "tags": [name]}
    if "operationId" in operation:
        tagged["operationId"] = f"{name}.{operation['operationId']}"
    return tagged


def _add_components(merged: Document, name: str, document: Document) -> None:
    for section, entries in _prefixed(name, document.get("components", {})).items():
        merged["components"].setdefault(section, {}).update(
            {f"{name}.{key}": value for key, value in entries.items()})


def _prefixed(name: str, node: Any) -> Any:
    """`node` with every component reference and security requirement renamed with the service's prefix."""
    if isinstance(node, list):
        return [_prefixed(name, item) for item in node]
    if not isinstance(node, dict):
        return node
    renamed: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str) and value.startswith(COMPONENTS):
            section, _, component = value[len(COMPONENTS):].partition("/")
            renamed[key] = f"{COMPONENTS}{section}/{name}.{component}"
        elif key == "mapping" and isinstance(value, dict):  # discriminator mappings hold references too
            renamed[key] = {k: _prefixed(name, {"$ref": v})["$ref"] for k, v in value.items()}
        elif key == "security" and isinstance(value, list):
            renamed[key] = [{f"{name}.{scheme}": scopes for scheme, scopes in requirement.items()}
                            for requirement in value]
        else:
            renamed[key] = _prefixed(name, value)
    return renamed
