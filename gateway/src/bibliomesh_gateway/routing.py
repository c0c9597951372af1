"""Which service a path goes to, and the timeout and body limit of that route."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp

from bibliomesh_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class Route:
    service: str
    base_url: str
    timeout: aiohttp.ClientTimeout
    body_limit: int
    """Largest request body in bytes; 0 means the gateway sets none."""


class RouteTable:
    def __init__(self, settings: GatewaySettings) -> None:
        self._defaults = {name: Route(name, url.rstrip("/"), _timeout(settings, settings.upstream_timeout_seconds),
                                      settings.max_body_bytes)
                          for name, url in settings.upstreams().items()}
        prefixes = sorted(set(settings.route_timeouts) | set(settings.route_body_limits), key=len, reverse=True)
        # Per service, its routes with settings of their own, longest prefix first: a call looks only at its own.
        self._overrides: dict[str, list[tuple[str, Route]]] = {}
        for prefix in prefixes:
            default = self._defaults.get(_service_of(prefix))
            if default is None:
                continue
            timeout = settings.route_timeouts.get(prefix, longest_prefix_value(settings.route_timeouts, prefix))
            limit = settings.route_body_limits.get(prefix, longest_prefix_value(settings.route_body_limits, prefix))
            self._overrides.setdefault(default.service, []).append((prefix, Route(
                default.service, default.base_url,
                default.timeout if timeout is None else _timeout(settings, timeout),
                default.body_limit if limit is None else int(limit))))

    @property
    def services(self) -> dict[str, str]:
        return {name: route.base_url for name, route in self._defaults.items()}

    def match(self, path: str) -> Route | None:
        route = self._defaults.get(_service_of(path))
        if route is None:
            return None
        for prefix, special in self._overrides.get(route.service, ()):
            if path.startswith(prefix):
                return special
        return route


def _service_of(path: str) -> str:
    segment = path[1:].split("/", 1)[0]
    return "auth" if segment == ".well-known" else segment


def longest_prefix_value(values: dict[str, float] | dict[str, int], path: str) -> float | None:
    """The value of the longest configured prefix of `path`, so a timeout and a limit set apart still combine."""
    matching = [prefix for prefix in values if path.startswith(prefix)]
    return values[max(matching, key=len)] if matching else None


def _timeout(settings: GatewaySettings, seconds: float) -> aiohttp.ClientTimeout:
    # No total: a large upload or a live stream may take as long as it takes, as long as data keeps moving.
    return aiohttp.ClientTimeout(total=None, connect=settings.connect_timeout_seconds, sock_read=seconds or None)
