"""Hardening of every pod, and the network: default deny, then exactly the calls the design makes."""

from __future__ import annotations

import pytest

from tests.deploy.images import image_user
from tests.deploy.manifests import (
    NAMESPACES,
    OVERLAYS,
    containers,
    find,
    one,
    pod_spec,
    render,
)
from tests.deploy.netpol import Endpoint, Network
from tests.deploy.workloads import (
    EVERYTHING,
    FRONT,
    SERVICES,
    container_ports,
    ingress_targets,
    resolve_env,
    scraped,
    server,
)

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
    context = pod_spec(server(render("overlays/prod"), name))["securityContext"]  # type: ignore[index]
    assert (context["runAsUser"], context["runAsGroup"]) == image_user()


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
    # The gateway's and the web front end's metrics ports: nobody without the observability component.
    ("ingress", "gateway", 9000), ("internet", "gateway", 9000), ("web", "gateway", 9000), ("gateway", "web", 9005),
    ("prometheus", "gateway", 9000), ("prometheus", "web", 9005),
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


@pytest.mark.parametrize("name", FRONT)
def test_prometheus_reaches_the_front_metrics_port_and_the_ingress_does_not(name: str) -> None:
    docs = render("overlays/prod-observability")
    network = Network(find(docs, "NetworkPolicy"), "bibliomesh")
    pods = endpoints("bibliomesh")
    ports = container_ports(server(docs, name))
    assert {port for port, _ in scraped(docs, name)} == {"metrics"}
    assert ingress_targets(docs, name) <= {"http"}  # the gateway's `http`; the web front end is no Ingress backend
    metrics, public = ports["metrics"], ports["http"]
    assert network.allows(pods["prometheus"], pods[name], metrics)
    assert not network.allows(pods["prometheus"], pods[name], public)  # nothing to scrape there any more
    others = [p for p in pods.values() if p.name not in ("prometheus", name)]
    reaching = [p.name for p in others if network.allows(p, pods[name], metrics)]
    assert not reaching, f"{reaching} may reach {name}'s metrics port"
    if name == "gateway":
        assert ingress_targets(docs, name) == {"http"}
        assert network.allows(pods["ingress"], pods[name], public)
