"""Overlays, ordering and the stateful engines: prod is highly available, dev is small, migrations run between
the engines and the rollout, and the RabbitMQ topology is what the services declare."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from typing import Any

import pytest

from tests.deploy.manifests import (
    K8S,
    containers,
    find,
    one,
    pod_spec,
    render,
)
from tests.deploy.workloads import (
    EVERYTHING,
    SERVICES,
    server,
    wave,
)

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
