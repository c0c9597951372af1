"""`GET /readyz`: each service's own readiness, asked through its `/readyz`, and the state of its breaker."""

from __future__ import annotations

import asyncio

import aiohttp

from bibliomesh_gateway.breaker import CircuitBreaker


async def service_states(session: aiohttp.ClientSession, services: dict[str, str],
                         wait_seconds: float) -> dict[str, str]:
    timeout = aiohttp.ClientTimeout(total=wait_seconds)
    states = await asyncio.gather(*(_state(session, url, wait=timeout) for url in services.values()))
    return dict(zip(services, states, strict=True))


def breaker_states(breakers: dict[str, CircuitBreaker]) -> dict[str, str]:
    return {name: breaker.state.value for name, breaker in breakers.items()}


def answers(state: str) -> bool:
    """Whether a service in `state` answers calls: ready, or degraded (its events wait in its outbox)."""
    return state == "ready" or state.startswith("degraded")


async def _state(session: aiohttp.ClientSession, base_url: str, *, wait: aiohttp.ClientTimeout) -> str:
    try:
        async with session.get(f"{base_url}/readyz", timeout=wait) as response:
            try:
                body = await response.json(content_type=None)
            except ValueError:
                body = None
    except (aiohttp.ClientError, TimeoutError):
        return "unreachable"
    checks = body.get("checks") if isinstance(body, dict) else None
    failing = [name for name, state in checks.items() if state != "ok"] if isinstance(checks, dict) else []
    if response.status == 200:
        return f"degraded: {', '.join(failing)}" if failing else "ready"
    return f"unready: {', '.join(failing)}" if failing else f"unready: HTTP {response.status}"
