"""deploy/k8s renders, is schema-valid, and agrees with the code it deploys; all without a cluster.

Each overlay is rendered once with `kubectl kustomize` (tests/deploy/manifests.py). The checks then read the
services themselves wherever they can (launcher ports, settings classes, the apps' routes, the event-bus
declarations) instead of repeating what they say.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from tests.deploy.manifests import (
    K8S,
    NAMESPACES,
    OVERLAYS,
    REPO,
    Doc,
    containers,
    find,
    one,
    pod_spec,
    render,
    schema_errors,
)
from tests.deploy.netpol import Endpoint, Network

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
# Settings the manifests already pass but whose field has not landed yet: the name, and what will read it.
PENDING_SETTINGS = {"GATEWAY_WEB_URL": "the gateway's route from / to the web front end (issues 7 and 8)"}
# Read by no settings class of that part: uvicorn's trusted proxies, the parts the URLs are composed of, and
# DATA_DIR (the services' settings read it; the gateway's and the web front end's do not need it).
HELPER_VARIABLES = {"FORWARDED_ALLOW_IPS", "DATA_DIR", "DB_USERNAME", "DB_PASSWORD", "BUS_USERNAME", "BUS_PASSWORD",
                    "REDIS_PASSWORD"}


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


def dockerfile_port(name: str) -> int:
    directory = {"ill": "services/ill-broker", "gateway": "gateway", "web": "web"}.get(name, f"services/{name}")
    match = re.search(r"^EXPOSE (\d+)$", (REPO / directory / "Dockerfile").read_text(), re.M)
    assert match, f"{directory}/Dockerfile exposes no port"
    return int(match.group(1))


# -------------------------------------------------------------------------------------------------------------
# Rendering and schemas


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_renders_into_one_namespace_without_duplicates(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    keys = [(d["apiVersion"].split("/")[0], d["kind"], d["metadata"]["name"]) for d in docs]
    assert len(keys) == len(set(keys)), "an object is rendered twice"
    namespace = NAMESPACES[overlay]
    assert one(docs, "Namespace", namespace)
    strays = [k for d, k in zip(docs, keys, strict=True)
              if d["kind"] != "Namespace" and d["metadata"].get("namespace") != namespace]
    assert not strays, f"objects outside namespace {namespace}: {strays}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_object_is_valid_against_its_schema(overlay: str) -> None:
    errors = [e for d in render(f"overlays/{overlay}") for e in schema_errors(d)]
    assert not errors, "schema violations:\n" + "\n".join(errors)


def test_the_validation_would_catch_a_misspelt_field() -> None:
    docs = render("overlays/prod")
    deployment = {**server(docs, "catalog")}
    deployment["spec"] = {**deployment["spec"], "replica": 2}
    cluster = one(docs, "Cluster", "catalog-db")
    queue = find(docs, "Queue")[0]
    assert schema_errors(deployment)
    assert schema_errors({**cluster, "spec": {**cluster["spec"], "instance": 3}})
    assert schema_errors({**queue, "spec": {**queue["spec"], "durabel": True}})


# -------------------------------------------------------------------------------------------------------------
# The full set per service, wired together


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("name", EVERYTHING)
def test_every_service_has_its_full_set_of_resources(overlay: str, name: str) -> None:
    docs = render(f"overlays/{overlay}")
    deployment = server(docs, name)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = deployment["spec"]["selector"]["matchLabels"]
    assert selector.items() <= pod_labels.items()
    assert pod_labels["app.kubernetes.io/part-of"] == "bibliomesh"

    service = one(docs, "Service", name)
    assert service["spec"]["selector"] == selector, "the Service must select the server pods only (not Jobs)"
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]

    account = one(docs, "ServiceAccount", name)
    assert account["automountServiceAccountToken"] is False
    assert pod_spec(deployment)["serviceAccountName"] == name  # type: ignore[index]

    budget = one(docs, "PodDisruptionBudget", name)
    assert budget["spec"]["selector"]["matchLabels"] == selector

    autoscaler = one(docs, "HorizontalPodAutoscaler", name)
    assert autoscaler["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
    assert [m["resource"]["name"] for m in autoscaler["spec"]["metrics"]] == ["cpu"]
    assert "replicas" not in deployment["spec"], "the HPA owns the replica count"
    assert one(docs, "NetworkPolicy", name)

    if name in SERVICES:
        job = one(docs, "Job", f"{name}-migrate")
        container = app_container(job)
        assert container["args"] == ["migrate", "--no-create-database"]
        assert container["command"] == app_container(deployment)["command"]
        assert container["image"] == app_container(deployment)["image"]
        assert one(docs, "Cluster", f"{name}-db")


@pytest.mark.parametrize("name", EVERYTHING)
def test_commands_are_the_packages_console_scripts(name: str) -> None:
    import tomllib

    directory = {"ill": "services/ill-broker", "gateway": "gateway", "web": "web"}.get(name, f"services/{name}")
    pyproject = REPO / directory / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip(f"{directory}/ has no package yet")
    scripts = tomllib.loads(pyproject.read_text())["project"]["scripts"]
    command = app_container(server(render("overlays/prod"), name))["command"]
    assert command[0] in scripts, f"{command[0]} is not a console script of {directory} ({sorted(scripts)})"
    dockerfile = (REPO / directory / "Dockerfile").read_text()
    assert f'ENTRYPOINT ["{command[0]}"]' in dockerfile


# -------------------------------------------------------------------------------------------------------------
# Ports and probes match what the apps serve


@pytest.mark.parametrize("name", EVERYTHING)
def test_ports_match_what_the_apps_listen_on(name: str) -> None:
    docs = render("overlays/prod")
    container = app_container(server(docs, name))
    port = served_port(name)
    assert container["args"][0] == "serve"
    assert option(container["args"], "--host") == "0.0.0.0"
    assert int(option(container["args"], "--port")) == port
    assert container["ports"] == [{"name": "http", "containerPort": port, "protocol": "TCP"}]
    assert dockerfile_port(name) == port
    policy = one(docs, "NetworkPolicy", name)
    assert [p["port"] for rule in policy["spec"]["ingress"] for p in rule["ports"]] == [port]


def build_app(name: str, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The real app, as `serve` builds it (development settings, SQLite under a temporary DATA_DIR)."""
    monkeypatch.setenv("DATA_DIR", str(data_dir))
    if name in SERVICES:
        from bibliomesh_launcher.services import BY_NAME

        spec = BY_NAME[name]
        return spec.create_app(settings=spec.settings())
    if name == "gateway":
        monkeypatch.setenv("GATEWAY_MODE", "embedded")
        from bibliomesh_gateway.app import create_app

        return create_app()
    web = pytest.importorskip("bibliomesh_web.app", reason="the web front end is not installed yet")
    return web.create_app()


@pytest.mark.parametrize("name", EVERYTHING)
async def test_probe_paths_are_served_by_the_apps(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    container = app_container(server(render("overlays/prod"), name))
    probes = {kind: container[f"{kind}Probe"]["httpGet"] for kind in ("startup", "liveness", "readiness")}
    assert all(p["port"] == "http" for p in probes.values())
    alive, ready = probes["liveness"]["path"], probes["readiness"]["path"]
    assert probes["startup"]["path"] == alive
    if name in SERVICES:
        assert (alive, ready) == ("/healthz", "/readyz")  # alive = the process; ready = database and bus reachable
    else:
        # The gateway's /readyz is 503 while any one service is unready: as its readiness it would take the whole
        # front door out of rotation for one service's outage (each service's readiness guards its own routes).
        # The web front end has a health endpoint only (under /web/: the gateway owns /healthz on that origin).
        assert ready == alive

    app = build_app(name, tmp_path, monkeypatch)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)  # no lifespan: nothing connects
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        assert (await client.get(alive)).status_code == 200, f"{name} does not serve {alive}"
        status = (await client.get(ready)).status_code
        assert status in (200, 503), f"{name} {ready}: {status}"
        assert (await client.get("/no-such-probe")).status_code in (404, 401, 303)  # the checks above can fail


# -------------------------------------------------------------------------------------------------------------
# Every setting the code needs is provided, and production mode accepts it


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


@pytest.mark.parametrize("overlay", ["dev", "prod"])
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
            unknown = {k for k in env if k not in known and k not in HELPER_VARIABLES and k not in PENDING_SETTINGS}
            assert not unknown, f"{where}: no setting reads {sorted(unknown)} (misspelt?)"
            missing = [env_name(n, f, prefix) for n, f in fields.items()
                       if f.is_required() and env_name(n, f, prefix) not in env]
            assert not missing, f"{where}: required settings not provided: {missing}"
            for key in list(os.environ):
                if key.startswith(prefix) or key == "DATA_DIR":
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
    broker = one(docs, "RabbitmqCluster", bus.hostname or "")
    assert broker and bus.port == 5672
    vhost = one(docs, "Vhost", "bibliomesh")["spec"]["name"]
    assert bus.path == f"/{vhost}"
    user = one(docs, "User", f"{name}-bus")
    assert (f"{user['metadata']['name']}-user-credentials", "password") in secrets
    permission = one(docs, "Permission", f"{name}-bus")
    assert permission["spec"]["userReference"]["name"] == user["metadata"]["name"]
    assert permission["spec"]["vhost"] == vhost


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


# -------------------------------------------------------------------------------------------------------------
# Hardening


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_is_hardened(overlay: str) -> None:
    problems = []
    docs = render(f"overlays/{overlay}")
    for doc in docs:
        spec = pod_spec(doc)
        if spec is None:
            continue
        where = f"{doc['kind']}/{doc['metadata']['name']}"
        pod = spec.get("securityContext", {})
        if pod.get("runAsNonRoot") is not True or pod.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            problems.append(f"{where}: pod must run as non-root with seccomp RuntimeDefault")
        if spec.get("automountServiceAccountToken") is not False:
            problems.append(f"{where}: service account token mounted")
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            problems.append(f"{where}: shares a host namespace")
        tmp_volumes = {v["name"] for v in spec.get("volumes", []) if "emptyDir" in v}
        for container in containers(spec):
            context = container.get("securityContext", {})
            capabilities = context.get("capabilities", {})
            hardened = (context.get("allowPrivilegeEscalation") is False and context.get("readOnlyRootFilesystem")
                        is True and "ALL" in capabilities.get("drop", []) and not capabilities.get("add")
                        and not context.get("privileged"))
            if not hardened:
                problems.append(f"{where}/{container['name']}: container securityContext not hardened")
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            if not {"cpu", "memory"} <= set(requests) or "memory" not in limits:
                problems.append(f"{where}/{container['name']}: needs cpu+memory requests and a memory limit")
            writable = {m["mountPath"]: m["name"] for m in container.get("volumeMounts", [])}
            if doc["metadata"].get("labels", {}).get("app.kubernetes.io/name") in EVERYTHING:
                if writable.get("/tmp") not in tmp_volumes:
                    problems.append(f"{where}/{container['name']}: /tmp is not a writable emptyDir")
                data_dir = resolve_env(docs, container)[0].get("DATA_DIR")
                if data_dir and writable.get(data_dir) not in tmp_volumes:
                    problems.append(f"{where}/{container['name']}: DATA_DIR {data_dir} is not a writable emptyDir")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", EVERYTHING)
def test_pods_run_as_the_images_user(name: str) -> None:
    directory = {"ill": "services/ill-broker", "gateway": "gateway", "web": "web"}.get(name, f"services/{name}")
    user = re.search(r"^USER (\d+):(\d+)$", (REPO / directory / "Dockerfile").read_text(), re.M)
    assert user
    context = pod_spec(server(render("overlays/prod"), name))["securityContext"]  # type: ignore[index]
    assert (context["runAsUser"], context["runAsGroup"]) == (int(user[1]), int(user[2]))


# -------------------------------------------------------------------------------------------------------------
# Network: default deny, then exactly the calls the design makes


def endpoints(namespace: str) -> dict[str, Endpoint]:
    def pod(name: str, ip: str, **labels: str) -> Endpoint:
        return Endpoint(name, ip, namespace, labels)

    found = {
        "ingress": Endpoint("ingress", "10.1.0.1", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
        "dns": Endpoint("dns", "10.2.0.10", "kube-system", {"k8s-app": "kube-dns"}),
        "prometheus": Endpoint("prometheus", "10.3.0.1", "monitoring", {"app.kubernetes.io/name": "prometheus"}),
        "cnpg-operator": Endpoint("cnpg-operator", "10.4.0.1", "cnpg-system", {}),
        "internet": Endpoint("internet", "93.184.216.34"),
        "internet6": Endpoint("internet6", "2606:2800:220:1::1"),
        "cloud-metadata": Endpoint("cloud-metadata", "169.254.169.254"),
        "private-host": Endpoint("private-host", "10.99.0.5"),
        "rabbitmq": pod("rabbitmq", "10.0.9.1", **{"app.kubernetes.io/name": "rabbitmq",
                                                   "app.kubernetes.io/component": "rabbitmq"}),
        "rabbitmq-2": pod("rabbitmq-2", "10.0.9.2", **{"app.kubernetes.io/name": "rabbitmq"}),
        "redis": pod("redis", "10.0.8.1", **{"app.kubernetes.io/name": "redis"}),
    }
    for i, name in enumerate(EVERYTHING):
        found[name] = pod(name, f"10.0.1.{i + 1}", **{"app.kubernetes.io/name": name,
                                                     "app.kubernetes.io/component": "server"})
    for i, name in enumerate(SERVICES):
        found[f"{name}-migrate"] = pod(f"{name}-migrate", f"10.0.2.{i + 1}", **{
            "app.kubernetes.io/name": name, "app.kubernetes.io/component": "migration"})
        found[f"{name}-db"] = pod(f"{name}-db", f"10.0.3.{i + 1}", **{"cnpg.io/cluster": f"{name}-db"})
    return found


ALLOWED = [
    ("ingress", "gateway", 8000), ("web", "gateway", 8000),
    ("gateway", "auth", 8001), ("gateway", "catalog", 8002), ("gateway", "ill", 8003), ("gateway", "notify", 8004),
    ("gateway", "web", 8005), ("gateway", "redis", 6379),
    *[(s, "auth", 8001) for s in ("auth", "catalog", "ill", "notify")],  # JWKS
    ("ill", "catalog", 8002),  # citations
    *[(s, f"{s}-db", 5432) for s in SERVICES], *[(f"{s}-migrate", f"{s}-db", 5432) for s in SERVICES],
    *[(s, "rabbitmq", 5672) for s in SERVICES],
    ("rabbitmq", "rabbitmq-2", 25672), ("catalog-db", "ill-db", 5432), ("cnpg-operator", "catalog-db", 8000),
    ("auth", "internet", 443),  # institutions' OpenID providers
    ("catalog", "internet", 80), ("catalog", "internet6", 443),  # OAI-PMH harvesting
    ("ill", "internet", 443), ("ill", "internet", 80),  # ISO 18626 peers
    ("notify", "internet", 443), ("notify", "private-host", 587),  # webhooks; the mail relay
]
DENIED = [
    ("internet", "gateway", 8000), ("ingress", "catalog", 8002), ("ingress", "web", 8005),
    ("catalog", "ill", 8003), ("notify", "catalog", 8002), ("web", "auth", 8001), ("web", "catalog-db", 5432),
    ("catalog", "auth-db", 5432), ("gateway", "catalog-db", 5432), ("gateway", "rabbitmq", 5672),
    ("web", "rabbitmq", 5672), ("catalog", "redis", 6379), ("web", "redis", 6379), ("auth", "rabbitmq", 15672),
    ("gateway", "internet", 443), ("web", "internet", 443), ("redis", "internet", 443),
    ("catalog", "cloud-metadata", 80), ("ill", "private-host", 443), ("notify", "private-host", 443),
    ("notify", "cloud-metadata", 80), ("auth", "internet", 25), ("prometheus", "catalog", 8002),
]


def test_the_namespace_denies_by_default() -> None:
    for overlay in OVERLAYS:
        deny = one(render(f"overlays/{overlay}"), "NetworkPolicy", "default-deny-all")["spec"]
        assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}


@pytest.mark.parametrize("overlay", ["dev", "prod"])
def test_network_policies_allow_exactly_the_designed_calls(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    network = Network(find(docs, "NetworkPolicy"), NAMESPACES[overlay])
    pods = endpoints(NAMESPACES[overlay])
    blocked = [f for f in ALLOWED if not network.allows(pods[f[0]], pods[f[1]], f[2])]
    assert not blocked, f"designed calls that the policies block: {blocked}"
    open_ = [f for f in DENIED if network.allows(pods[f[0]], pods[f[1]], f[2])]
    assert not open_, f"calls the design does not make, yet allowed: {open_}"
    ours = [p for p in pods.values() if p.namespace == NAMESPACES[overlay]]
    assert all(network.allows(p, pods["dns"], 53, "UDP") for p in ours)
    assert not network.allows(pods["catalog"], pods["dns"], 80)


def test_observability_opens_scrapes_and_nothing_else() -> None:
    docs = render("overlays/prod-observability")
    network = Network(find(docs, "NetworkPolicy"), "bibliomesh")
    pods = endpoints("bibliomesh")
    assert network.allows(pods["prometheus"], pods["catalog"], 8002)
    assert network.allows(pods["prometheus"], pods["rabbitmq"], 15692)
    assert not network.allows(pods["prometheus"], pods["catalog-db"], 5432)
    assert not network.allows(pods["internet"], pods["catalog"], 8002)


# -------------------------------------------------------------------------------------------------------------
# Overlays, ordering, the stateful engines


def test_prod_is_highly_available() -> None:
    docs = render("overlays/prod")
    for name in EVERYTHING:
        autoscaler = one(docs, "HorizontalPodAutoscaler", name)["spec"]
        assert autoscaler["minReplicas"] >= 2 and autoscaler["maxReplicas"] > autoscaler["minReplicas"]
        assert one(docs, "PodDisruptionBudget", name)["spec"]["minAvailable"] == 1
        spread = pod_spec(server(docs, name))["topologySpreadConstraints"]  # type: ignore[index]
        zone = [c for c in spread if c["topologyKey"] == "topology.kubernetes.io/zone"]
        assert zone and zone[0]["whenUnsatisfiable"] == "DoNotSchedule"
        assert zone[0]["labelSelector"]["matchLabels"] == server(docs, name)["spec"]["selector"]["matchLabels"]
    assert one(docs, "RabbitmqCluster", "rabbitmq")["spec"]["replicas"] == 3
    for name in SERVICES:
        cluster = one(docs, "Cluster", f"{name}-db")["spec"]
        assert cluster["instances"] == 3
        assert cluster["backup"]["barmanObjectStore"]["destinationPath"].startswith("s3://")
        backup = one(docs, "ScheduledBackup", f"{name}-db-daily")["spec"]
        assert backup["cluster"] == {"name": f"{name}-db"} and backup["method"] == "barmanObjectStore"


def test_dev_is_one_small_replica_of_everything() -> None:
    docs = render("overlays/dev")
    for name in EVERYTHING:
        autoscaler = one(docs, "HorizontalPodAutoscaler", name)["spec"]
        assert autoscaler["minReplicas"] == autoscaler["maxReplicas"] == 1
        budget = one(docs, "PodDisruptionBudget", name)["spec"]
        assert "minAvailable" not in budget, "one replica with minAvailable 1 would block every node drain"
    assert one(docs, "RabbitmqCluster", "rabbitmq")["spec"]["replicas"] == 1
    assert all(c["spec"]["instances"] == 1 and "backup" not in c["spec"] for c in find(docs, "Cluster"))
    assert not find(docs, "ScheduledBackup")


def test_migrations_run_after_the_engines_and_before_the_rollout() -> None:
    docs = render("overlays/prod")
    engines = find(docs, "Cluster") + find(docs, "RabbitmqCluster")
    topology = [d for d in docs if d["apiVersion"].startswith("rabbitmq.com/") and d["kind"] != "RabbitmqCluster"]
    jobs = find(docs, "Job")
    assert {d["metadata"]["name"] for d in jobs} == {f"{s}-migrate" for s in SERVICES}
    needed_by_jobs = find(docs, "ConfigMap") + find(docs, "ServiceAccount") + find(docs, "NetworkPolicy")
    assert max(map(wave, engines)) < min(map(wave, topology)) <= max(map(wave, topology)) < min(map(wave, jobs))
    assert max(map(wave, needed_by_jobs)) <= min(map(wave, jobs))
    assert max(map(wave, jobs)) < min(wave(d) for d in find(docs, "Deployment") if d in [server(docs, n)
                                                                                         for n in EVERYTHING])
    for job in jobs:
        annotations = job["metadata"]["annotations"]
        assert annotations["argocd.argoproj.io/hook"] == "Sync"
        assert annotations["argocd.argoproj.io/hook-delete-policy"] == "BeforeHookCreation"


def test_a_browser_keeps_reaching_the_web_replica_holding_its_session() -> None:
    sessions = importlib.import_module("bibliomesh_web.sessions") if importlib.util.find_spec(
        "bibliomesh_web") else None
    if sessions is not None and "memory" not in (sessions.__doc__ or ""):
        pytest.skip("web sessions are no longer kept in process memory: the affinity below may go")
    docs = render("overlays/prod")
    annotations = one(docs, "Ingress", "gateway")["metadata"]["annotations"]
    assert annotations["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert annotations["nginx.ingress.kubernetes.io/affinity-mode"] == "persistent"
    web = one(docs, "Service", "web")["spec"]
    assert web["sessionAffinity"] == "ClientIP"


def test_key_rotation_cronjob_purges_then_rotates() -> None:
    docs = render("overlays/prod")
    cronjob = one(docs, "CronJob", "auth-rotate-keys")
    spec = pod_spec(cronjob)
    assert spec is not None
    assert [c["args"] for c in containers(spec)] == [["purge-keys"], ["rotate-keys"]]
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"


def _generator() -> Any:
    path = K8S / "tools" / "generate_topology.py"
    spec = importlib.util.spec_from_file_location("bibliomesh_generate_topology", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_rabbitmq_topology_is_what_the_services_declare() -> None:
    generator = _generator()
    assert generator.OUTPUT.read_text() == generator.render(), (
        "deploy/k8s/base/rabbitmq/topology.yaml is out of date with the services' subscriptions or meshkit's "
        "queue arguments: run `make k8s-topology` (RabbitMQ refuses a declaration whose arguments differ)")


def test_every_consumer_queue_is_declared_with_retries_and_a_dead_letter_queue() -> None:
    from bibliomesh_launcher.services import SERVICES as SPECS
    from meshkit.settings import ServiceSettings

    docs = render("overlays/prod")
    queues = {q["spec"]["name"]: q["spec"] for q in find(docs, "Queue")}
    bindings = {(b["spec"]["destination"], b["spec"]["routingKey"]) for b in find(docs, "Binding")}
    delays = ServiceSettings.model_fields["retry_delays_seconds"].default
    for spec in SPECS:
        for subscription in spec.subscriptions:
            main = queues[subscription.queue]
            assert main["type"] == "quorum" and main["arguments"]["x-delivery-limit"] > 0
            assert main["arguments"]["x-dead-letter-routing-key"] == subscription.dead_letter_queue
            assert subscription.dead_letter_queue in queues
            for attempt, delay in enumerate(delays, start=1):
                retry = queues[f"{subscription.queue}.retry.{attempt}"]
                assert retry["arguments"]["x-message-ttl"] == int(delay * 1000)
            assert all((subscription.queue, key) in bindings for key in subscription.bindings)
    events = one(docs, "Exchange", "bibliomesh-events")["spec"]
    assert events["type"] == "topic" and events["arguments"] == {"alternate-exchange": "bibliomesh.unrouted"}
