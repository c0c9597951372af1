"""The stateful engines under node drains and full disks, and the alerts that say a part is gone: RabbitMQ's disk
alarm leaves room on its volume, no single-instance database blocks a drain, RabbitMQ loses at most one node at
a time, and every scraped part has a "down" alert that fires even when it has no target left."""

from __future__ import annotations

import re

import pytest

from tests.deploy.manifests import OVERLAYS, Doc, find, pod_spec, render
from tests.deploy.netpol import selects

# Kubernetes quantities (binary and decimal suffixes) and RabbitMQ's information units
# (rabbit_resource_monitor_misc: kB/MB/GB decimal; k/M/G, kiB/MiB/GiB binary).
_K8S_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
              "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
_RABBITMQ_UNITS = {"": 1, "kB": 10**3, "KB": 10**3, "MB": 10**6, "GB": 10**9,
                   "k": 2**10, "K": 2**10, "kiB": 2**10, "KiB": 2**10, "M": 2**20, "MiB": 2**20,
                   "G": 2**30, "GiB": 2**30}


def _bytes(quantity: str, units: dict[str, int]) -> int:
    match = re.fullmatch(r"([0-9]+)([A-Za-z]*)", quantity.strip())
    assert match and match[2] in units, f"cannot read the size {quantity!r}"
    return int(match[1]) * units[match[2]]


def _rabbitmq_setting(cluster: Doc, key: str) -> str | None:
    config = cluster["spec"].get("rabbitmq", {}).get("additionalConfig", "")
    values = re.findall(rf"^\s*{re.escape(key)}\s*=\s*(\S+)\s*$", config, re.MULTILINE)
    assert len(values) <= 1, f"{key} is set {len(values)} times"
    return values[0] if values else None


def rabbitmq_pod_labels(cluster: Doc) -> dict[str, str]:
    """The labels the RabbitMQ Cluster Operator gives the server pods (internal/metadata/label.go): its own three;
    the RabbitmqCluster's app.kubernetes.io/* labels are not passed on, its other labels are."""
    name = cluster["metadata"]["name"]
    passed_on = {k: v for k, v in cluster["metadata"].get("labels", {}).items()
                 if not k.startswith("app.kubernetes.io")}
    return {**passed_on, "app.kubernetes.io/name": name, "app.kubernetes.io/component": "rabbitmq",
            "app.kubernetes.io/part-of": "rabbitmq"}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_disk_alarm_leaves_room_on_its_volume(overlay: str) -> None:
    clusters = find(render(f"overlays/{overlay}"), "RabbitmqCluster")
    assert clusters
    for cluster in clusters:
        limit = _rabbitmq_setting(cluster, "disk_free_limit.absolute")
        assert limit is not None, "without an absolute limit RabbitMQ's default (50MB) blocks publishers too late"
        storage = _bytes(cluster["spec"]["persistence"]["storage"], _K8S_UNITS)
        # At or above the volume's size the alarm is raised from the start and every publisher is blocked.
        assert _bytes(limit, _RABBITMQ_UNITS) <= storage // 2, (
            f"{overlay}: disk_free_limit {limit} on a {cluster['spec']['persistence']['storage']} volume")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_single_instance_database_never_blocks_a_node_drain(overlay: str) -> None:
    clusters = find(render(f"overlays/{overlay}"), "Cluster")
    assert clusters
    for cluster in clusters:
        spec = cluster["spec"]
        # CloudNativePG's budget keeps the primary (minAvailable 1); with no replica to fail over to, no drain
        # of its node could ever finish.
        if spec.get("instances", 1) < 2:
            assert spec.get("enablePDB", True) is False, f"{overlay}: {cluster['metadata']['name']}"
        if overlay.startswith("prod"):
            assert spec["instances"] > 1 and spec.get("enablePDB", True), cluster["metadata"]["name"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rabbitmq_nodes_are_disrupted_one_at_a_time(overlay: str) -> None:
    docs = render(f"overlays/{overlay}")
    budgets = find(docs, "PodDisruptionBudget")
    app_pods = [(d["metadata"]["name"], d["spec"]["template"]["metadata"]["labels"])
                for d in docs if pod_spec(d) is not None and d["kind"] != "CronJob"]
    for cluster in find(docs, "RabbitmqCluster"):
        pods = rabbitmq_pod_labels(cluster)
        covering = [b for b in budgets if selects(b["spec"]["selector"], pods)]
        assert len(covering) == 1, f"{overlay}: {len(covering)} budgets select the {cluster['metadata']['name']} pods"
        budget = covering[0]["spec"]
        assert budget.get("maxUnavailable") == 1 and "minAvailable" not in budget
        others = [name for name, labels in app_pods if selects(budget["selector"], labels)]
        assert not others, f"the RabbitMQ budget also selects {others}"
        if overlay.startswith("prod"):
            # A majority of the quorum queues' replicas survives one node out.
            assert cluster["spec"]["replicas"] >= 3


def _scraped_jobs(docs: tuple[Doc, ...], monitor: Doc) -> set[str]:
    """The `job` label of a ServiceMonitor's targets: the name of each Service it selects (no jobLabel set)."""
    assert "jobLabel" not in monitor["spec"]
    return {s["metadata"]["name"] for s in find(docs, "Service")
            if selects(monitor["spec"]["selector"], s["metadata"].get("labels", {}))}


def test_every_scraped_part_has_a_down_alert_even_without_targets() -> None:
    docs = render("overlays/prod-observability")
    jobs = set().union(*(_scraped_jobs(docs, m) for m in find(docs, "ServiceMonitor") if m["metadata"]["name"]
                         .startswith("bibliomesh")))
    assert jobs == {"auth", "catalog", "ill", "notify", "gateway", "web"}
    rules = {r["alert"]: r["expr"] for d in find(docs, "PrometheusRule") for g in d["spec"]["groups"]
             for r in g["rules"] if "alert" in r}
    down = re.search(r'up\{job=~"([^"]+)"\}', rules["BibliomeshServiceDown"])
    assert down and set(down[1].split("|")) == jobs
    absent = set(re.findall(r'absent\(up\{job="([^"]+)"\}\)', rules["BibliomeshServiceNotScraped"]))
    assert absent == jobs
