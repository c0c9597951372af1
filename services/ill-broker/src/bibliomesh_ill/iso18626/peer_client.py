"""Sending ISO 18626 messages to peers over HTTP, and reading their confirmations. Pure transport: no state.

Network errors, HTTP 5xx and 429 are retried with exponential backoff and jitter, a bounded number of times.
A retried POST may reach a peer twice (its answer was lost, not its message); ISO 18626 peers key messages by
request id and timestamp, and the caller's outbox is at-least-once anyway. Each attempt is logged (never the
body: a request can carry the peer's security code).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType

import httpx

from bibliomesh_ill.iso18626.codes import MessageKind, Version
from bibliomesh_ill.iso18626.errors import Iso18626Error
from bibliomesh_ill.iso18626.models import Confirmation, ErrorData, Message
from bibliomesh_ill.iso18626.parse import MAX_MESSAGE_BYTES, parse
from bibliomesh_ill.iso18626.serialize import serialize

log = logging.getLogger(__name__)

HEADERS = {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml, text/xml",
           "User-Agent": "bibliomesh-ill-broker"}


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 4
    """Tries in all, the first included."""
    first_delay_seconds: float = 0.5
    max_delay_seconds: float = 30.0
    timeout_seconds: float = 10.0
    """For each of connect, write, read and waiting for a pooled connection."""

    def delay(self, attempt: int, jitter: float) -> float:
        """Pause after failed `attempt` (1-based): doubling, capped, with the upper half jittered (`jitter` in
        [0, 1)) so that many senders do not retry in step."""
        ceiling = min(self.max_delay_seconds, self.first_delay_seconds * 2.0 ** (attempt - 1))
        return ceiling / 2 + jitter * ceiling / 2


class PeerError(Exception):
    def __init__(self, peer_url: str, detail: str) -> None:
        super().__init__(f"{detail} ({peer_url})")
        self.peer_url = peer_url


class PeerUnreachable(PeerError):
    """Every attempt failed on the network or with HTTP 5xx/429; the message may or may not have arrived."""

    def __init__(self, peer_url: str, attempts: int, last_failure: str) -> None:
        super().__init__(peer_url, f"no answer after {attempts} attempts, last: {last_failure}")
        self.attempts = attempts
        self.last_failure = last_failure


class PeerRejected(PeerError):
    """The peer answered with an ERROR confirmation; `errors` holds its ISO error types and values."""

    def __init__(self, peer_url: str, confirmation: Confirmation) -> None:
        self.confirmation = confirmation
        self.errors: list[ErrorData] = list(confirmation.error_data)
        reasons = "; ".join(f"{e.error_type.value}: {e.error_value or ''}" for e in self.errors) or "no error data"
        super().__init__(peer_url, f"{confirmation.kind} ERROR: {reasons}")


class PeerProtocolError(PeerError):
    """The peer answered, but not with the ISO 18626 confirmation the message calls for."""

    def __init__(self, peer_url: str, detail: str, status_code: int) -> None:
        super().__init__(peer_url, f"HTTP {status_code}: {detail}")
        self.status_code = status_code


class PeerClient:
    """Sends messages to peers; reuse one (it pools connections) and close it, or use it as a context manager."""

    def __init__(self, *, retry: RetryPolicy | None = None, http: httpx.AsyncClient | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 jitter: Callable[[], float] = random.random) -> None:
        self.retry = retry or RetryPolicy()
        timeout = httpx.Timeout(self.retry.timeout_seconds)
        self._http = http or httpx.AsyncClient(timeout=timeout, follow_redirects=False)
        self._owns_http = http is None
        self._sleep = sleep
        self._jitter = jitter

    async def __aenter__(self) -> PeerClient:
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._owns_http:
            await self._http.aclose()

    async def send(self, message: Message, peer_url: str, version: Version | None = None, *,
                   basic_auth: tuple[str, str] | None = None) -> Confirmation:
        """POST `message` (in `version`, default `message.version`) to `peer_url`; return the peer's OK confirmation.
        `basic_auth` (user, password) adds HTTP Basic credentials, for peers that want them where the 2021 header
        has no room for `requestingAgencyAuthentication`.

        Raises `SerializationError` (the message is not schema-valid: nothing sent), `PeerRejected` (ERROR
        confirmation), `PeerProtocolError` (an answer that is not the right confirmation) or `PeerUnreachable`.
        """
        body = serialize(message, version)
        expected = MessageKind(message.kind).confirmed_by
        context = {"peer": _loggable(peer_url), "iso_message": message.kind,
                   "requesting_agency_request_id": message.header.requesting_agency_request_id}
        last_failure = ""
        for attempt in range(1, self.retry.attempts + 1):
            started = time.monotonic()
            status: int | None = None
            try:
                status, answer = await self._post(peer_url, body, basic_auth)
            except (httpx.TransportError, _TooLarge) as error:
                last_failure = f"{type(error).__name__}: {error}"
            else:
                if status < 500 and status != 429:
                    _log_attempt(logging.INFO, "iso18626 message delivered", context, attempt, status, started)
                    return self._confirmation(peer_url, status, answer, expected)
                last_failure = f"HTTP {status}"
            final = attempt == self.retry.attempts
            _log_attempt(logging.WARNING, "iso18626 peer gave up" if final else "iso18626 send failed, will retry",
                         context, attempt, status, started, last_failure)
            if not final:
                await self._sleep(self.retry.delay(attempt, self._jitter()))
        raise PeerUnreachable(peer_url, self.retry.attempts, last_failure)

    async def _post(self, peer_url: str, body: bytes, basic_auth: tuple[str, str] | None) -> tuple[int, bytes]:
        auth = httpx.BasicAuth(*basic_auth) if basic_auth else httpx.USE_CLIENT_DEFAULT
        async with self._http.stream("POST", peer_url, content=body, headers=HEADERS, auth=auth) as response:
            received = bytearray()
            async for chunk in response.aiter_bytes():
                received += chunk
                if len(received) > MAX_MESSAGE_BYTES:
                    raise _TooLarge(f"answer larger than {MAX_MESSAGE_BYTES} bytes")
            return response.status_code, bytes(received)

    @staticmethod
    def _confirmation(peer_url: str, status: int, answer: bytes, expected: MessageKind | None) -> Confirmation:
        try:
            confirmation = parse(answer)
        except Iso18626Error as error:
            raise PeerProtocolError(peer_url, f"the answer is not ISO 18626 ({error})", status) from None
        if confirmation.kind != expected:
            raise PeerProtocolError(peer_url, f"expected a {expected}, got a {confirmation.kind}", status)
        assert isinstance(confirmation, Confirmation)
        if not confirmation.ok:
            raise PeerRejected(peer_url, confirmation)
        if status >= 400:
            raise PeerProtocolError(peer_url, "an OK confirmation with an HTTP error status", status)
        return confirmation


class _TooLarge(Exception):
    pass


async def send(message: Message, peer_url: str, version: Version | None = None, *,
               basic_auth: tuple[str, str] | None = None, retry: RetryPolicy | None = None) -> Confirmation:
    """`PeerClient.send` with a client of its own, for one-off sends."""
    async with PeerClient(retry=retry) as client:
        return await client.send(message, peer_url, version, basic_auth=basic_auth)


def _loggable(url: str) -> str:
    """The URL without credentials or query (either may carry a secret)."""
    parsed = httpx.URL(url)
    return str(parsed.copy_with(username=None, password=None, query=None, fragment=None))


def _log_attempt(level: int, event: str, context: dict[str, str], attempt: int, status: int | None,
                 started: float, failure: str | None = None) -> None:
    log.log(level, event, extra={**context, "attempt": attempt, "http_status": status, "failure": failure,
                                 "elapsed_ms": round((time.monotonic() - started) * 1000)})
