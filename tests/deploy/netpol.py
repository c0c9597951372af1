"""A small model of NetworkPolicy semantics, enough to ask "may A open a TCP/UDP connection to B on port P?".

A connection is allowed when the source's egress and the destination's ingress both allow it. A pod not selected
by any policy of a direction is unrestricted in that direction; once selected, only what some rule of some
selecting policy allows. Peers: podSelector (same namespace), namespaceSelector (+ podSelector), ipBlock with
except (matched on the endpoint's address: pod addresses are private, as in real clusters). Ports: number,
protocol, endPort; named ports are not used by our policies and count as no match. Endpoints outside the
cluster have no ingress policies.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

Doc = dict[str, Any]


@dataclass(frozen=True)
class Endpoint:
    name: str
    ip: str
    namespace: str | None = None  # None: outside the cluster
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def namespace_labels(self) -> dict[str, str]:
        return {"kubernetes.io/metadata.name": self.namespace} if self.namespace else {}


def selects(selector: Doc | None, labels: dict[str, str]) -> bool:
    if selector is None:
        return False
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        key, operator, values = expression["key"], expression["operator"], expression.get("values", [])
        if operator == "In" and labels.get(key) not in values:
            return False
        if operator == "NotIn" and labels.get(key) in values:
            return False
        if operator == "Exists" and key not in labels:
            return False
        if operator == "DoesNotExist" and key in labels:
            return False
    return True


def _peer_matches(peer: Doc, other: Endpoint, policy_namespace: str) -> bool:
    if "ipBlock" in peer:
        address = ipaddress.ip_address(other.ip)
        block = peer["ipBlock"]
        network = ipaddress.ip_network(block["cidr"])
        if address.version != network.version or address not in network:
            return False
        return not any(address in ipaddress.ip_network(e) for e in block.get("except", [])
                       if ipaddress.ip_network(e).version == address.version)
    if other.namespace is None:
        return False
    if "namespaceSelector" in peer:
        if not selects(peer["namespaceSelector"], other.namespace_labels):
            return False
    elif other.namespace != policy_namespace:
        return False
    return "podSelector" not in peer or selects(peer["podSelector"], other.labels)


def _port_matches(rule: Doc, port: int, protocol: str) -> bool:
    ports = rule.get("ports")
    if not ports:
        return True
    for entry in ports:
        if entry.get("protocol", "TCP") != protocol:
            continue
        if "port" not in entry:
            return True
        if isinstance(entry["port"], int) and entry["port"] <= port <= entry.get("endPort", entry["port"]):
            return True
    return False


class Network:
    def __init__(self, policies: list[Doc], namespace: str) -> None:
        self.policies = policies
        self.namespace = namespace

    def _side_allows(self, subject: Endpoint, other: Endpoint, port: int, protocol: str, direction: str) -> bool:
        if subject.namespace != self.namespace:
            return True  # we only model the policies of our own namespace
        key, peers_key = ("ingress", "from") if direction == "Ingress" else ("egress", "to")
        selecting = [p for p in self.policies if direction in p["spec"].get("policyTypes", ["Ingress"])
                     and selects(p["spec"]["podSelector"], subject.labels)]
        if not selecting:
            return True
        for policy in selecting:
            for rule in policy["spec"].get(key) or []:
                peers = rule.get(peers_key)
                peer_ok = not peers or any(_peer_matches(peer, other, self.namespace) for peer in peers)
                if peer_ok and _port_matches(rule, port, protocol):
                    return True
        return False

    def allows(self, source: Endpoint, destination: Endpoint, port: int, protocol: str = "TCP") -> bool:
        return (self._side_allows(source, destination, port, protocol, "Egress")
                and self._side_allows(destination, source, port, protocol, "Ingress"))
