"""What the deploy tests share: the parts deployed, and reading their workloads out of the rendered manifests."""

from __future__ import annotations

import re

import pytest

from tests.deploy.manifests import (
    Doc,
    find,
    one,
    pod_spec,
)
from tests.deploy.netpol import selects

SERVICES = ("auth", "catalog", "ill", "notify")  # the four with a database and the event bus
FRONT = ("gateway", "web")
EVERYTHING = SERVICES + FRONT
SETTINGS = {
    "auth": ("bibliomesh_auth.settings", "AuthSettings", "AUTH_"),
    "catalog": ("bibliomesh_catalog.settings", "CatalogSettings", "CATALOG_"),
    "ill": ("bibliomesh_ill.settings", "IllSettings", "ILL_"),
    "notify": ("bibliomesh_notify.settings", "NotifySettings", "NOTIFY_"),
    "gateway": ("bibliomesh_gateway.settings", "GatewaySettings", "GATEWAY_"),
    "web": ("bibliomesh_web.settings", "WebSettings", "WEB_"),
}
# Read by no settings class of that part: uvicorn's trusted proxies, the parts the URLs are composed of,
# DATA_DIR (the services' settings read it; the gateway's and the web front end's do not need it), and the
# standard OpenTelemetry variables the SDK reads itself (the observability component). BUS_USERNAME and
# BUS_PASSWORD are not helpers: the services' settings read them and encode them into the bus URL.
OTEL_SDK_VARIABLES = {"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_TRACES_SAMPLER", "OTEL_TRACES_SAMPLER_ARG"}
HELPER_VARIABLES = {"FORWARDED_ALLOW_IPS", "DATA_DIR", "DB_USERNAME", "DB_PASSWORD", "REDIS_PASSWORD",
                    *OTEL_SDK_VARIABLES}


def server(docs: tuple[Doc, ...], name: str) -> Doc:
    return one(docs, "Deployment", name)


def app_container(deployment: Doc) -> Doc:
    spec = pod_spec(deployment)
    assert spec is not None
    return spec["containers"][0]  # type: ignore[no-any-return]


def option(args: list[str], flag: str) -> str:
    assert flag in args, f"{flag} missing from {args}"
    return args[args.index(flag) + 1]


def wave(doc: Doc) -> int:
    return int(doc["metadata"].get("annotations", {}).get("argocd.argoproj.io/sync-wave", "0"))


def served_port(name: str) -> int:
    """The port each part listens on in distributed mode: the launcher's; the gateway's and the web front end's
    `serve` defaults."""
    import inspect

    from bibliomesh_launcher.distributed import SERVICE_PORTS, DistributedConfig

    if name == "gateway":
        return DistributedConfig().gateway_port
    if name == "web":
        cli = pytest.importorskip("bibliomesh_web.cli", reason="the web front end is not installed yet")
        return int(inspect.signature(cli.serve).parameters["port"].default)
    return SERVICE_PORTS[name]


def resolve_env(docs: tuple[Doc, ...], container: Doc) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """The container's environment as Kubernetes builds it; Secret values become placeholders."""
    env: dict[str, str] = {}
    secrets: list[tuple[str, str]] = []
    for source in container.get("envFrom", []):
        env.update(one(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    for item in container.get("env", []):
        name = item["name"]
        if "value" in item:
            env[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", lambda m: env.get(m[1], m[0]), item["value"])
            continue
        ref = item["valueFrom"]
        if "configMapKeyRef" in ref:
            data = one(docs, "ConfigMap", ref["configMapKeyRef"]["name"])["data"]
            assert ref["configMapKeyRef"]["key"] in data, f"{name}: no key {ref['configMapKeyRef']['key']}"
            env[name] = data[ref["configMapKeyRef"]["key"]]
        else:
            secret = ref["secretKeyRef"]
            secrets.append((secret["name"], secret["key"]))
            if name.endswith("_SECRETS_KEY"):  # Fernet keys: 32 url-safe base64-encoded bytes
                env[name] = "0" * 43 + "="
            else:
                env[name] = f"placeholder-{secret['name']}-{secret['key']}-0123456789abcdef"
    unresolved = {k: v for k, v in env.items() if "$(" in v}
    assert not unresolved, f"variables referenced before they are defined: {unresolved}"
    return env, secrets


def container_ports(deployment: Doc) -> dict[str, int]:
    """The app container's named ports."""
    return {p["name"]: p["containerPort"] for p in app_container(deployment)["ports"]}


def _target(docs: tuple[Doc, ...], service: str, port_name: str) -> str:
    """The container port name a Service port (by name) sends to."""
    [port] = [p for p in one(docs, "Service", service)["spec"]["ports"] if p["name"] == port_name]
    return str(port["targetPort"])


def scraped(docs: tuple[Doc, ...], name: str) -> list[tuple[str, str]]:
    """(container port name, path) of every scrape the ServiceMonitors make of part `name`'s pods."""
    labels = one(docs, "Service", name)["metadata"]["labels"]
    return [(_target(docs, name, endpoint["port"]), endpoint["path"]) for monitor in find(docs, "ServiceMonitor")
            if selects(monitor["spec"]["selector"], labels) for endpoint in monitor["spec"]["endpoints"]]


def ingress_targets(docs: tuple[Doc, ...], name: str) -> set[str]:
    """The container port names of part `name` that the Ingress sends to."""
    backends = [path["backend"]["service"] for ingress in find(docs, "Ingress") for rule in ingress["spec"]["rules"]
                for path in rule["http"]["paths"]]
    return {_target(docs, name, backend["port"]["name"]) for backend in backends if backend["name"] == name}
