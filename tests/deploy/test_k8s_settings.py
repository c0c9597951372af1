"""Every setting the code needs is provided by the manifests, and production mode accepts it."""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from opentelemetry.sdk.trace import TracerProvider
from pydantic import ValidationError

from tests.deploy.manifests import (
    NAMESPACES,
    OVERLAYS,
    REPO,
    Doc,
    containers,
    find,
    one,
    pod_spec,
    render,
)
from tests.deploy.netpol import Endpoint, Network
from tests.deploy.workloads import (
    EVERYTHING,
    HELPER_VARIABLES,
    OTEL_SDK_VARIABLES,
    SERVICES,
    SETTINGS,
    app_container,
    resolve_env,
    server,
)

# -------------------------------------------------------------------------------------------------------------
# Every setting the code needs is provided, and production mode accepts it


def settings_class(name: str) -> tuple[type, str]:
    module_name, class_name, prefix = SETTINGS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        if name == "web":
            pytest.skip("the web front end's package is not installed yet")
        raise
    return getattr(module, class_name), prefix


def env_name(field_name: str, field: Any, prefix: str) -> str:
    alias = field.validation_alias
    return alias if isinstance(alias, str) else f"{prefix}{field_name.upper()}"


def workloads(docs: tuple[Doc, ...], name: str) -> list[Doc]:
    return [d for d in docs if pod_spec(d) is not None
            and d["metadata"].get("labels", {}).get("app.kubernetes.io/name") == name]


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", EVERYTHING)
def test_settings_are_complete_and_accepted_in_production(overlay: str, name: str,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    cls, prefix = settings_class(name)
    docs = render(f"overlays/{overlay}")
    fields = cls.model_fields  # type: ignore[attr-defined]
    known = {env_name(n, f, prefix) for n, f in fields.items()}
    for workload in workloads(docs, name):
        for container in containers(pod_spec(workload)):  # type: ignore[arg-type]
            where = f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}"
            env, _ = resolve_env(docs, container)
            unknown = {k for k in env if k not in known and k not in HELPER_VARIABLES}
            assert not unknown, f"{where}: no setting reads {sorted(unknown)} (misspelt?)"
            missing = [env_name(n, f, prefix) for n, f in fields.items()
                       if f.is_required() and env_name(n, f, prefix) not in env]
            assert not missing, f"{where}: required settings not provided: {missing}"
            for key in list(os.environ):
                if key.startswith(prefix) or key == "DATA_DIR" or key in OTEL_SDK_VARIABLES:
                    monkeypatch.delenv(key)
            for key, value in env.items():
                monkeypatch.setenv(key, value)
            try:
                settings = cls()
            except ValidationError as exc:
                pytest.fail(f"{where}: the settings class refuses this environment:\n{exc}")
            assert settings.environment == "production", where
            if name in SERVICES:
                assert settings.database_url.startswith("postgresql+asyncpg://"), where
                assert settings.bus_url.startswith("amqp://"), where
                assert urlsplit(settings.effective_bus_url()).username, f"{where}: no broker user"


@pytest.mark.parametrize("name", EVERYTHING)
def test_with_observability_every_part_sends_sampled_traces_to_the_collector(name: str,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    docs = render("overlays/prod-observability")
    prefix = SETTINGS[name][2]
    env, _ = resolve_env(docs, app_container(server(docs, name)))
    assert env[f"{prefix}OTEL_EXPORTER"] == "otlp"

    # The endpoint the SDK derives reaches the collector's OTLP/HTTP receiver through its Service.
    endpoint = urlsplit(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    collector = one(docs, "Service", endpoint.hostname or "")
    [port] = [p for p in collector["spec"]["ports"] if p["port"] == endpoint.port]
    collector_pods = server(docs, "otel-collector")
    [receiver] = [p for p in app_container(collector_pods)["ports"] if p["name"] == port["targetPort"]]
    assert (endpoint.scheme, receiver["containerPort"]) == ("http", 4318)  # the OTLP/HTTP receiver, not gRPC
    namespace = NAMESPACES["prod-observability"]
    network = Network(find(docs, "NetworkPolicy"), namespace)
    sender = Endpoint(name, "10.0.1.1", namespace, server(docs, name)["spec"]["template"]["metadata"]["labels"])
    otel = Endpoint("otel-collector", "10.0.7.1", namespace, collector_pods["spec"]["template"]["metadata"]["labels"])
    assert network.allows(sender, otel, receiver["containerPort"])

    # The SDK understands the sampling asked for: one new trace in ten, a caller's decision followed.
    for key in OTEL_SDK_VARIABLES:
        monkeypatch.setenv(key, env[key])
    assert TracerProvider().sampler.get_description() == (  # type: ignore[attr-defined]
        "ParentBased{root:TraceIdRatioBased{0.1},remoteParentSampled:AlwaysOnSampler,"
        "remoteParentNotSampled:AlwaysOffSampler,localParentSampled:AlwaysOnSampler,"
        "localParentNotSampled:AlwaysOffSampler}")


@pytest.mark.parametrize("name", SERVICES)
def test_database_and_bus_urls_point_at_the_operators_resources(name: str) -> None:
    docs = render("overlays/prod")
    prefix = SETTINGS[name][2]
    env, secrets = resolve_env(docs, app_container(server(docs, name)))

    cluster = one(docs, "Cluster", f"{name}-db")
    database = urlsplit(env[f"{prefix}DATABASE_URL"])
    assert database.hostname == f"{cluster['metadata']['name']}-rw"  # CloudNativePG's read-write Service
    assert database.path == "/" + cluster["spec"]["bootstrap"]["initdb"]["database"]
    assert (f"{name}-db-app", "password") in secrets  # the owner's Secret CloudNativePG generates

    bus = urlsplit(env[f"{prefix}BUS_URL"])
    assert bus.username is None and bus.password is None  # BUS_USERNAME / BUS_PASSWORD, encoded by the service
    broker = one(docs, "RabbitmqCluster", bus.hostname or "")
    assert broker and bus.port == 5672
    vhost = one(docs, "Vhost", "bibliomesh")["spec"]["name"]
    assert bus.path == f"/{vhost}"
    user = one(docs, "User", f"{name}-bus")
    assert (f"{user['metadata']['name']}-user-credentials", "username") in secrets
    assert (f"{user['metadata']['name']}-user-credentials", "password") in secrets
    permission = one(docs, "Permission", f"{name}-bus")
    assert permission["spec"]["userReference"]["name"] == user["metadata"]["name"]
    assert permission["spec"]["vhost"] == vhost


# Secrets whose values are URL-safe by construction: CloudNativePG's `<cluster>-app` (the owner named in the Cluster,
# a generated password of letters and digits) and `gateway-redis` (hex, made as docs/operations.md says). Any other,
# such as the Messaging Topology Operator's base64 credentials with `/`, `+` and `=`, must reach the code on its own
# and be percent-encoded there.
URL_SAFE_SECRETS = re.compile(r"^([a-z0-9-]+-db-app|gateway-redis)$")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_secret_is_expanded_raw_into_a_url(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    raw = []
    for workload in docs:
        spec = pod_spec(workload)
        if spec is None:
            continue
        for container in containers(spec):
            from_secrets: dict[str, str] = {}
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref is not None:
                    from_secrets[item["name"]] = ref["name"]
                    continue
                value = str(item.get("value", ""))
                unsafe = [name for name in re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", value)
                          if name in from_secrets and not URL_SAFE_SECRETS.match(from_secrets[name])]
                if "://" in value and unsafe:
                    raw.append(f"{workload['kind']}/{workload['metadata']['name']}/{container['name']}: "
                               f"{item['name']} expands {unsafe}")
    assert not raw, "Secret values expanded unencoded into URLs:\n" + "\n".join(raw)


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_public_url_token_issuer_and_ingress_host_agree(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    platform = find(docs, "ConfigMap")
    platform_data = next(d["data"] for d in platform if d["metadata"]["name"].startswith("bibliomesh-platform"))
    ingress = one(docs, "Ingress", "gateway")
    host = ingress["spec"]["rules"][0]["host"]
    assert ingress["spec"]["tls"][0]["hosts"] == [host]
    assert platform_data["PUBLIC_URL"] == platform_data["TOKEN_ISSUER"] == f"https://{host}"


def test_every_secret_referenced_is_documented_in_the_runbook() -> None:
    docs = render("overlays/prod-observability")
    runbook = (REPO / "docs" / "operations.md").read_text()
    names: set[str] = set()
    for workload in docs:
        spec = pod_spec(workload)
        if spec is None:
            continue
        for container in containers(spec):
            for item in container.get("env", []):
                if "secretKeyRef" in item.get("valueFrom", {}):
                    names.add(item["valueFrom"]["secretKeyRef"]["name"])
    names.update(t["secretName"] for d in find(docs, "Ingress") for t in d["spec"]["tls"])
    names.update(c["spec"]["backup"]["barmanObjectStore"]["s3Credentials"]["accessKeyId"]["name"]
                 for c in find(docs, "Cluster"))
    undocumented = sorted(n for n in names if f"`{n}`" not in runbook)
    assert not undocumented, f"docs/operations.md does not say how to create: {undocumented}"


