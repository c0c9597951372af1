"""Outbound targets (webhooks, harvest sources): an allowed scheme and public addresses only, unless private
targets are allowed."""

import asyncio
import contextlib
import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from meshkit import outbound_urls
from meshkit.outbound_urls import Address, public_only_transport, resolved_problem, url_problem

BOTH = ("http", "https")


@pytest.mark.parametrize("url", ["http://partner.example.org/hook", "https://127.0.0.1/hook",
                                 "https://10.1.2.3/hook", "https://169.254.169.254/latest/meta-data",
                                 "https://[::1]/hook", "https://[::ffff:192.168.0.1]/hook", "ftp://x.org/",
                                 "https://user:pw@partner.example.org/", "https:///nohost"])
def test_refused_unless_private_targets_are_allowed(url: str) -> None:
    assert url_problem(url, allow_private=False) is not None


def test_allowed_targets() -> None:
    assert url_problem("https://partner.example.org/hooks/ill", allow_private=False) is None
    assert url_problem("https://93.184.215.14/hook", allow_private=False) is None
    assert url_problem("http://127.0.0.1:8080/hook", allow_private=True) is None


def test_the_caller_chooses_the_schemes_allowed_for_public_targets() -> None:
    assert url_problem("http://koha.example.edu/oai", allow_private=False, public_schemes=BOTH) is None
    assert url_problem("http://koha.example.edu/oai", allow_private=False) == "must be an https:// URL"
    assert url_problem("ftp://koha.example.edu/oai", allow_private=False,
                       public_schemes=BOTH) == "must be an http:// or https:// URL"
    assert "non-public" in (url_problem("http://10.0.0.5/oai", allow_private=False, public_schemes=BOTH) or "")


async def test_a_name_that_resolves_to_loopback_is_refused() -> None:
    problem = await resolved_problem("https://localhost/hook", allow_private=False)
    assert problem is not None and "non-public" in problem
    assert await resolved_problem("http://localhost/hook", allow_private=True) is None


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    problem = await resolved_problem("https://nowhere.invalid/hook", allow_private=False)
    assert problem is not None and "does not resolve" in problem


@contextlib.asynccontextmanager
async def http_server() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A one-page HTTP server on loopback; yields its port and the request heads it received."""
    heads: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        heads.append(await reader.readuntil(b"\r\n\r\n"))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1], heads


def answers(*results: list[str]) -> Callable[[str, int], Awaitable[list[Address]]]:
    """A resolver giving `results` in turn (a name that changes its answer), for `outbound_urls.resolve`."""
    queue = list(results)

    async def resolve(host: str, port: int) -> list[Address]:
        return [ipaddress.ip_address(address) for address in queue.pop(0)]

    return resolve


async def test_a_name_re_pointed_after_its_check_reaches_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    async with http_server() as (port, heads):
        url = f"http://library.example:{port}/oai"
        # DNS rebinding: public when checked, loopback when the connection is made.
        monkeypatch.setattr(outbound_urls, "resolve", answers(["93.184.215.14"], ["127.0.0.1"]))
        assert await resolved_problem(url, allow_private=False) is None
        async with httpx.AsyncClient(transport=public_only_transport(allow_private=False)) as client:
            with pytest.raises(httpx.ConnectError, match="non-public address"):
                await client.get(url)
        assert heads == []


async def test_the_connection_goes_to_the_address_checked_with_the_urls_host(monkeypatch: pytest.MonkeyPatch) -> None:
    async with http_server() as (port, heads):
        monkeypatch.setattr(outbound_urls, "resolve", answers(["127.0.0.1"]))
        monkeypatch.setattr(outbound_urls, "addresses_problem", lambda addresses: None)  # loopback plays a public one
        async with httpx.AsyncClient(transport=public_only_transport(allow_private=False)) as client:
            response = await client.get(f"http://library.example:{port}/oai")
        assert response.text == "ok"
        assert f"host: library.example:{port}".encode() in heads[0].lower()


async def test_private_targets_when_allowed_and_never_otherwise() -> None:
    async with http_server() as (port, heads):
        async with httpx.AsyncClient(transport=public_only_transport(allow_private=True)) as client:
            assert (await client.get(f"http://localhost:{port}/")).text == "ok"
        async with httpx.AsyncClient(transport=public_only_transport(allow_private=False)) as client:
            with pytest.raises(httpx.ConnectError, match="non-public address"):
                await client.get(f"http://localhost:{port}/")
        assert len(heads) == 1
