"""Where a service may send a request on a user's say-so: a guard against server-side request forgery.

A webhook target or a harvest source is a URL someone outside the platform chose; fetched as given, it could
reach the cloud metadata service (169.254.169.254), a database on loopback or anything on the cluster's private
network. So the URL must use an allowed scheme, carry no credentials, and every address its host resolves to must
be on the public internet, checked at registration and again before use (a name can be re-pointed later), and
the connection itself goes only to an address that was checked (`public_only_transport`): a name that answers
with a public address to the check and a private one to the connection (DNS rebinding) reaches nothing. A
deployment may allow private targets for local testing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

MAX_URL_LENGTH = 2000
# A registration waits this long for the host's addresses at most (the system resolver has no deadline of its own).
RESOLVE_TIMEOUT_SECONDS = 5
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def url_problem(url: str, *, allow_private: bool, public_schemes: tuple[str, ...] = ("https",)) -> str | None:
    """Why `url` cannot be a target, judged from the text alone; None if it may be. `public_schemes` are the
    schemes allowed for public targets; with private targets allowed, http and https both are."""
    if len(url) > MAX_URL_LENGTH:
        return f"at most {MAX_URL_LENGTH} characters"
    parts = urlsplit(url)
    allowed_schemes = ("http", "https") if allow_private else public_schemes
    if parts.scheme not in allowed_schemes:
        return "must be an " + " or ".join(f"{scheme}://" for scheme in allowed_schemes) + " URL"
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
        return address_problem(literal)
    return None


def address_problem(address: Address) -> str | None:
    """Why `address` may not be sent to (loopback, link-local, private, CGNAT, ...); None if it is public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global:
        return f"points at a non-public address ({address}): loopback, link-local and private networks are refused"
    return None


def addresses_problem(addresses: Iterable[Address]) -> str | None:
    """The first non-public address's problem; None if all are public."""
    return next((problem for problem in map(address_problem, addresses) if problem), None)


async def resolve(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to (a literal address gives itself); OSError if it does not resolve."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0]) for info in infos]


async def resolved_problem(url: str, *, allow_private: bool) -> str | None:
    """Resolve the host and refuse if any address it has is not public, or if it does not resolve (checked at
    registration and before each use, so a name later pointed at an internal address is refused too)."""
    if allow_private:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
            addresses = await resolve(host, parts.port or (80 if parts.scheme == "http" else 443))
    except TimeoutError:
        return f"host {host} does not resolve within {RESOLVE_TIMEOUT_SECONDS} s"
    except OSError as exc:
        return f"host {host} does not resolve ({exc.strerror or exc})"
    return addresses_problem(addresses)


class PublicAddressesOnly(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves each host itself, refuses it if any of its addresses is not
    public, and connects to the addresses it checked, never to a fresh answer for the name."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,  # noqa: ASYNC109 - httpcore's signature
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"host {host} does not resolve ({exc.strerror or exc})") from exc
        problem = addresses_problem(addresses)
        if problem:
            raise httpcore.ConnectError(f"refused to connect to {host}: it {problem}")
        failure: httpcore.ConnectError | None = None
        for address in dict.fromkeys(addresses):  # in the resolver's order, as a socket connect would try them
            try:
                return await self.inner.connect_tcp(str(address), port, timeout=timeout, local_address=local_address,
                                                    socket_options=socket_options)
            except httpcore.ConnectError as exc:
                failure = exc
        raise failure or httpcore.ConnectError(f"host {host} has no address")

    async def connect_unix_socket(self, path: str, timeout: float | None = None,  # noqa: ASYNC109 - as above
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("outbound targets are reached over TCP only")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def public_only_transport(*, allow_private: bool, **options: Any) -> httpx.AsyncHTTPTransport:
    """An httpx transport (`options` as for `httpx.AsyncHTTPTransport`) whose connections reach public addresses
    only, unless private targets are allowed. TLS still checks the certificate against the URL's host name."""
    transport = httpx.AsyncHTTPTransport(**options)
    if not allow_private:
        pool = getattr(transport, "_pool", None)  # httpx keeps its httpcore pool here and offers no other way in
        if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool, "_network_backend"):
            raise RuntimeError("this httpx/httpcore version keeps its connection pool elsewhere: update "
                               "meshkit.outbound_urls.public_only_transport")
        pool._network_backend = PublicAddressesOnly(pool._network_backend)
    return transport
