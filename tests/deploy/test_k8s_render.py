"""deploy/k8s renders with `kubectl kustomize`, every object is schema-valid, and every part has its full set of
resources, with commands, ports and probe paths that the packages and apps really have."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.deploy.images import image_command, image_port
from tests.deploy.manifests import (
    NAMESPACES,
    OVERLAYS,
    REPO,
    find,
    one,
    pod_spec,
    render,
    schema_errors,
)
from tests.deploy.workloads import (
    EVERYTHING,
    FRONT,
    SERVICES,
    SETTINGS,
    app_container,
    container_ports,
    option,
    resolve_env,
    scraped,
    served_port,
    server,
)

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
    # The gateway and the web front end: their metrics port too (scraped by Prometheus, never routed).
    assert [p["targetPort"] for p in service["spec"]["ports"]] == (["http", "metrics"] if name in FRONT else ["http"])

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
    assert command[0] == image_command(name), "the pod runs another console script than its image"


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
    assert container["ports"][0] == {"name": "http", "containerPort": port, "protocol": "TCP"}
    assert [p["name"] for p in container["ports"]] == (["http", "metrics"] if name in FRONT else ["http"])
    assert image_port(name) == port
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
        assert (alive, ready) == ("/healthz", "/readyz")  # alive = the process; ready = database reachable
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




@pytest.mark.parametrize("name", FRONT)
async def test_front_metrics_are_scraped_on_the_port_serve_gives_them_and_not_on_the_public_one(
        name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gateway and the web front end as their `serve` command runs them with the manifests' arguments and
    environment: what Prometheus scrapes is served on the metrics port, and the public port answers it with 404."""
    from meshkit import serving

    monitored = scraped(render("overlays/prod-observability"), name)
    assert [port for port, _ in monitored] == ["metrics"]
    [(_, path)] = monitored

    docs = render("overlays/prod")  # not the observability overlay's environment: no spans exported from tests
    deployment = server(docs, name)
    container, ports = app_container(deployment), container_ports(deployment)
    env, _ = resolve_env(docs, container)
    prefix = SETTINGS[name][2]
    for key in list(os.environ):
        if key.startswith(prefix):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    served: dict[str, Any] = {}
    monkeypatch.setattr(serving, "serve", lambda app, **options: served.update(app=app, **options))
    cli = importlib.import_module(f"bibliomesh_{name}.cli")
    cli.serve(host=option(container["args"], "--host"), port=int(option(container["args"], "--port")))

    assert served["metrics"] is not None, "serve would serve no metrics port"
    assert (served["host"], served["port"], served["metrics_port"]) == ("0.0.0.0", ports["http"], ports["metrics"])
    public = httpx.ASGITransport(app=served["app"], raise_app_exceptions=False)  # no lifespan: nothing connects
    async with httpx.AsyncClient(transport=public, base_url="http://public") as client:
        assert (await client.get(path)).status_code == 404
        assert (await client.get(f"/web{path}")).status_code == 404
    metrics = httpx.ASGITransport(app=serving.metrics_app(served["metrics"]))
    async with httpx.AsyncClient(transport=metrics, base_url="http://metrics") as client:
        response = await client.get(path)
    assert response.status_code == 200
    [requests] = [f for f in text_string_to_metric_families(response.text) if f.name == "http_requests"]
    assert sum(s.value for s in requests.samples  # the two calls above
               if s.name == "http_requests_total" and s.labels["status"] == "404") == 2
