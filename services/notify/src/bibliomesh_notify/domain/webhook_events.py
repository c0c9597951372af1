"""The events a partner system may subscribe a webhook to, and how a subscription matches an event type."""

from __future__ import annotations

from bibliomesh_contracts.registry import ILL_REQUEST_EVENTS

SUBSCRIBABLE: tuple[str, ...] = (*ILL_REQUEST_EVENTS, "ill.acquisition.suggested")
WILDCARDS = ("ill.request.*", "*")


def pattern_problem(pattern: str) -> str | None:
    if pattern in SUBSCRIBABLE or pattern in WILDCARDS:
        return None
    return f"unknown event type {pattern!r}; one of {', '.join(WILDCARDS)} or an event type such as ill.request.shipped"


def matches(patterns: list[str], event_type: str) -> bool:
    return any(p == event_type or p == "*" or (p.endswith(".*") and event_type.startswith(p[:-1]))
               for p in patterns)
