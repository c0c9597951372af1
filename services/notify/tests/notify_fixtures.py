"""A running notify service with real peers on loopback: an SMTP server (aiosmtpd) that keeps what it receives,
and a webhook receiver served over HTTP. Events are published onto the service's bus as the broker's and the
directory's relays would."""

from __future__ import annotations

import email
import email.policy
import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bibliomesh_contracts.events.directory import InstitutionSnapshot, PersonChangedV1
from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_notify.adapters.tables import deliveries, library_contacts, people
from bibliomesh_notify.bootstrap import create_app
from bibliomesh_notify.service_layer.services import Clock
from bibliomesh_notify.settings import NotifySettings
from meshkit.testing import TokenFactory, eventually, free_port, publish_event, publish_institution, running, trust

FAST = {"log_json": False, "webhook_allow_private": True, "retry_first_seconds": 0.05, "retry_max_seconds": 0.3,
        "delivery_poll_seconds": 0.05, "stream_poll_seconds": 0.1, "digest_poll_seconds": 3600}


class MailServer:
    """aiosmtpd on loopback; `messages` are what arrived, parsed. Stop and start it to play a dead server."""

    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self._controller: Controller | None = None

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"

    def start(self) -> None:
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]


@asynccontextmanager
async def mail_server() -> AsyncIterator[MailServer]:
    server = MailServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class WebhookReceiver:
    """Records every POST to `/hooks/<name>`; answers `status` (set it to 500 to play a failing endpoint)."""

    received: list[Received] = field(default_factory=list)
    status: int = 204

    def app(self) -> Starlette:
        async def hook(request: Request) -> Response:
            self.received.append(Received(request.url.path, dict(request.headers), (await request.body()).decode()))
            return Response(status_code=self.status)

        return Starlette(routes=[Route("/hooks/{name}", hook, methods=["POST"])])

    def at(self, name: str) -> list[Received]:
        return [r for r in self.received if r.path == f"/hooks/{name}"]


def notify_app(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> FastAPI:
    return create_app(settings=NotifySettings(**{"data_dir": tmp_path, **FAST, **settings}), migrate=True,
                      clock=clock)


@dataclass
class Notify:
    app: FastAPI
    client: httpx.AsyncClient
    tokens: TokenFactory
    versions: dict[str, int] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        return self.app.state.runtime

    async def institution(self, code: str, *, ill_email: str | None, language: str = "en",
                          name_zh: str | None = None, kind: str = "university",
                          parent_code: str | None = None) -> None:
        version = self.versions[code] = self.versions.get(code, 0) + 1
        await publish_institution(self.runtime.bus, InstitutionSnapshot(
            code=code, name_en=f"{code} Library", name_zh=name_zh, kind=kind, parent_code=parent_code,
            ill_email=ill_email, language=language, version=version))  # type: ignore[arg-type]
        await self._applied(library_contacts, library_contacts.c.code, code, version)

    async def person(self, subject: str, institution: str, *, email: str | None, language: str = "en",
                     roles: tuple[str, ...] = ("patron",), name: str | None = None, status: str = "active") -> None:
        version = self.versions[subject] = self.versions.get(subject, 0) + 1
        await publish_event(self.runtime.bus, PersonChangedV1(
            subject=subject, institution=institution, display_name=name, email=email, language=language,
            roles=list(roles), status=status, version=version),  # type: ignore[arg-type]
            producer="auth", aggregate_id=subject, aggregate_version=version)
        await self._applied(people, people.c.subject, subject, version)

    async def _applied(self, table: sa.Table, key: Any, value: str, version: int) -> None:
        async def known() -> bool:
            async with self.runtime.engine.connect() as conn:
                found = await conn.scalar(sa.select(table.c.version).where(key == value))
            return bool(found and found >= version)

        await eventually(known)

    async def step(self, step: str, request_id: str, *, borrower: str, lender: str | None, patron: str | None,
                   title: str = "Dream of the Red Chamber", due: date | None = None, version: int = 1,
                   actor: str = "system", **extra: Any) -> str:
        payload = STEP_EVENTS[step](
            request_id=request_id, step=step, borrower=borrower, lender=lender, patron_id=patron,
            service_type="loan", title=title, requester_state="x", actor=actor, due_date=due,
            occurred_at=datetime.now(UTC), **extra)
        return await publish_event(self.runtime.bus, payload, producer="ill",
                                   aggregate_id=f"ill-request:{request_id}", aggregate_version=version)

    def person_headers(self, subject: str, institution: str, roles: tuple[str, ...] = ("patron",)) -> dict[str, str]:
        return self.tokens.headers(institution, scopes=["ill:request"], roles=roles, subject=subject)

    def admin_headers(self, institution: str, subject: str | None = None) -> dict[str, str]:
        return self.tokens.headers(institution, scopes=["notify:manage"], roles=["institution-admin"],
                                   subject=subject or f"user:admin-{institution}")

    async def counts(self) -> tuple[int, int]:
        """Deliveries in all, and those not yet settled (waiting, being sent)."""
        async with self.runtime.engine.connect() as conn:
            rows = (await conn.execute(sa.select(deliveries.c.status))).scalars().all()
        return len(rows), sum(1 for status in rows if status in ("pending", "sending"))

    async def settled(self, at_least: int = 1, within: float = 20.0) -> None:
        """Wait until at least `at_least` deliveries exist and none is waiting or being sent."""
        async def done() -> bool:
            total, outstanding = await self.counts()
            return total >= at_least and outstanding == 0

        await eventually(done, within=within)


@asynccontextmanager
async def notify(tmp_path: Path, clock: Clock | None = None, **settings: Any) -> AsyncIterator[Notify]:
    tokens = TokenFactory()
    app = notify_app(tmp_path, clock, **settings)
    trust(app, tokens)
    async with running(app) as client:
        yield Notify(app, client, tokens)


def new_request_id() -> str:
    return f"r-{uuid.uuid4().hex[:8]}"


async def read_events(response: httpx.Response, count: int) -> list[tuple[int, dict[str, object]]]:
    """The next `count` SSE events (id, data) from a streaming response."""
    events: list[tuple[int, dict[str, object]]] = []
    event_id, data = None, None
    async for line in response.aiter_lines():
        if line.startswith("id: "):
            event_id = int(line[4:])
        elif line.startswith("data: "):
            data = json.loads(line[6:])
        elif line == "" and event_id is not None and data is not None:
            events.append((event_id, data))
            event_id, data = None, None
            if len(events) == count:
                return events
    return events


class Events:
    """The events (name, data) of one streaming response, read as they come."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.aiter_lines()

    async def first_line(self) -> str:
        """Once the stream has sent something, it is counted among the person's open streams."""
        return await anext(self.lines)

    async def take(self, count: int | None) -> list[tuple[str, dict[str, object]]]:
        """The next `count` events; None: every event until the server closes the stream."""
        events: list[tuple[str, dict[str, object]]] = []
        name, data = "message", None
        async for line in self.lines:
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and data is not None:
                events.append((name, data))
                name, data = "message", None
                if len(events) == count:
                    break
        return events


async def ada(n: Notify) -> None:
    """CN-U1 and its patron user:ada, who has no e-mail address."""
    await n.institution("CN-U1", ill_email=None)
    await n.person("user:ada", "CN-U1", email=None)


StreamOpener = Callable[..., Awaitable[Events]]


@asynccontextmanager
async def stream_opener(http: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[StreamOpener]:
    """Opens streams with `headers` (`await open_stream(url)`, by default `/notify/stream` of `http`), each counted
    among the person's once it returns; all are closed at the end of the block."""
    responses: list[httpx.Response] = []

    async def open_stream(url: str = "/notify/stream") -> Events:
        response = await http.send(http.build_request("GET", url, headers=headers), stream=True)
        responses.append(response)
        assert response.status_code == 200, await response.aread()
        events = Events(response)
        await events.first_line()
        return events

    try:
        yield open_stream
    finally:
        for response in responses:
            await response.aclose()
