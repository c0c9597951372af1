"""Where a webhook may point (server-side request forgery): https, and only to addresses on the public internet,
unless the deployment allows private targets for local testing."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit

MAX_URL_LENGTH = 2000


def url_problem(url: str, *, allow_private: bool) -> str | None:
    """Why `url` cannot be a webhook target, judged from the text alone; None if it may be."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    parts = urlsplit(url)
    allowed_schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in allowed_schemes:
        return "must be an https:// URL" if not allow_private else "must be an http:// or https:// URL"
    if not parts.hostname:
        return "has no host"
    if parts.username or parts.password:
        return "may not carry credentials"
    try:
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return "has an invalid port"
    if not allow_private:
        try:
            literal = ipaddress.ip_address(parts.hostname)
        except ValueError:
            return None
        return _address_problem(literal)
    return None


def _address_problem(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return f"points at a non-public address ({address}): loopback, link-local and private networks are refused"
    return None


async def resolved_problem(url: str, *, allow_private: bool) -> str | None:
    """Resolve the host and refuse if any address it has is not public (checked at registration and before each
    send, so a name later pointed at an internal address is refused too)."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"host {host} does not resolve ({exc.strerror or exc})"
    for info in infos:
        problem = _address_problem(ipaddress.ip_address(info[4][0]))
        if problem:
            return problem
    return None
