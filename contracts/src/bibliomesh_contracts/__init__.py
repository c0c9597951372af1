"""Bibliomesh wire contracts: what crosses a service boundary, and nothing else."""

from bibliomesh_contracts.envelope import EventEnvelope, new_envelope
from bibliomesh_contracts.registry import EVENT_TYPES, EventType, payload_model, routing_key

__all__ = ["EVENT_TYPES", "EventEnvelope", "EventType", "new_envelope", "payload_model", "routing_key"]
