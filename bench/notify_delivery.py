"""Notifications: event to delivered e-mail and webhook, and event to live-stream push, on the embedded platform
(SQLite, embedded bus), each against a bare client doing the same delivery in the same run.

  email.bare_aiosmtplib     baseline: pre-built messages sent over one aiosmtplib connection to the same server
  email.event_to_inbox      `ill.request.submitted` events published on the bus -> consumer -> queued delivery ->
                            sender worker -> aiosmtpd has the message; first publish to last arrival
  webhook.bare_httpx        baseline: POSTs of the same bodies with httpx, 16 at a time, to the same receiver
  webhook.event_to_receiver events -> signed webhook posts received; first publish to last arrival
  stream.bus_p50/p99        baseline: publish -> a bare handler on its own queue of the same bus has the event
  stream.push_p50/p99       publish -> the notification arrives on an open `/notify/stream` (SSE over HTTP)
"""

from __future__ import annotations

import asyncio
import json
import socket
import tempfile
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib
import httpx
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.report import Measurement, percentile
from bibliomesh_contracts import EventEnvelope
from bibliomesh_contracts.events.directory import InstitutionSnapshot, PersonChangedV1
from bibliomesh_contracts.events.ill import STEP_EVENTS
from bibliomesh_notify.bootstrap import create_app
from bibliomesh_notify.settings import NotifySettings
from meshkit.bus import Delivery, Subscription
from meshkit.testing import TokenFactory, eventually, publish_event, publish_institution, running, trust
from tests.support.serving import serving

NAME = "notify"
DESCRIPTION = "notifications/s to SMTP and webhooks, and event -> SSE push delay, vs bare clients"
PATRONS = 100


class Arrivals:
    """Counts what the SMTP server and the webhook receiver got, with the time of the last arrival."""

    def __init__(self) -> None:
        self.mails = 0
        self.posts = 0
        self.last = 0.0

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        self.mails += 1
        self.last = time.perf_counter()
        return "250 OK"

    def receiver(self) -> Starlette:
        async def hook(request: Request) -> Response:
            await request.body()
            self.posts += 1
            self.last = time.perf_counter()
            return Response(status_code=204)

        return Starlette(routes=[Route("/hook", hook, methods=["POST"])])


def _step(step: str, n: int, patron: str) -> Any:
    return STEP_EVENTS[step](request_id=f"r-{n}", step=step, borrower="CN-U1", lender="CN-PL", patron_id=patron,
                             service_type="loan", title=f"Book {n}", requester_state="x", actor="system",
                             occurred_at=datetime.now(UTC))


async def _publish_steps(bus: Any, step: str, count: int, patron: Any) -> float:
    started = time.perf_counter()
    for n in range(count):
        await publish_event(bus, _step(step, n, patron(n)), producer="ill", aggregate_id=f"ill-request:{step}{n}",
                            aggregate_version=1)
    return started


async def _until(check: Any, within: float = 300) -> None:
    async def done() -> bool:
        return bool(check())

    await eventually(done, within=within, interval=0.01)


async def _bare_smtp(port: int, arrivals: Arrivals, count: int) -> float:
    before, started = arrivals.mails, time.perf_counter()
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as client:
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = "a@x.org", f"p{n}@x.org", f"Book {n}"
            message.set_content("Your request was received. " * 10)
            message.add_alternative("<p>Your request was received.</p>" * 10, subtype="html")
            await client.send_message(message)
    await _until(lambda: arrivals.mails - before >= count)
    return count / (arrivals.last - started)


async def _bare_http(url: str, arrivals: Arrivals, count: int) -> float:
    before, started = arrivals.posts, time.perf_counter()
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient() as client:
        async def post(n: int) -> None:
            async with gate:
                await client.post(url, content=json.dumps({"type": "x", "data": {"n": n}}),
                                  headers={"content-type": "application/json"})

        await asyncio.gather(*(post(n) for n in range(count)))
    await _until(lambda: arrivals.posts - before >= count)
    return count / (arrivals.last - started)


async def _stream_delays(app: Any, client: Any, tokens: TokenFactory, samples: int) -> tuple[list[float], list[float]]:
    bus = app.state.runtime.bus
    seen: dict[str, float] = {}

    async def bare(delivery: Delivery) -> None:
        seen[str(EventEnvelope.model_validate_json(delivery.body).id)] = time.perf_counter()

    await bus.subscribe(Subscription(queue="bench.baseline", bindings=("ill.request.submitted",)), bare,
                        app.state.runtime.retry)
    headers = tokens.headers("CN-U1", roles=["patron"], subject="user:watcher")
    pushes, baseline = [], []
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=30) as http, \
            http.stream("GET", "/notify/stream", headers=headers) as live:
        lines = live.aiter_lines()
        for n in range(samples):
            started = time.perf_counter()
            event_id = await publish_event(bus, _step("submitted", 10_000 + n, "user:watcher"), producer="ill",
                                           aggregate_id=f"ill-request:sse{n}", aggregate_version=1)
            async for line in lines:
                if line.startswith("data: "):
                    break
            pushes.append((time.perf_counter() - started) * 1000)
            await _until(lambda: event_id in seen)  # noqa: B023 - awaited within the iteration
            baseline.append((seen[event_id] - started) * 1000)
    return pushes, baseline


async def run(quick: bool) -> list[Measurement]:
    count, samples = (300, 30) if quick else (2000, 200)
    arrivals = Arrivals()
    smtp = Controller(arrivals, hostname="127.0.0.1", port=_free_port())
    smtp.start()
    tokens = TokenFactory()
    try:
        with tempfile.TemporaryDirectory(prefix="bm-bench-notify-") as folder:
            settings = NotifySettings(data_dir=Path(folder), log_json=False, log_level="WARNING",
                                      smtp_host="127.0.0.1", smtp_port=smtp.port, email_per_minute=1_000_000,
                                      webhook_allow_private=True, delivery_poll_seconds=0.05)
            app = create_app(settings=settings, migrate=True)
            trust(app, tokens)
            async with running(app) as client, serving(arrivals.receiver(), "/hook") as hook_url:
                bus = app.state.runtime.bus
                await publish_institution(bus, InstitutionSnapshot(code="CN-U1", name_en="U1", kind="university",
                                                                   version=1))
                for n in range(PATRONS):
                    await publish_event(bus, PersonChangedV1(subject=f"user:p{n}", institution="CN-U1",
                                                             email=f"p{n}@u1.example.edu", roles=["patron"],
                                                             status="active", version=1),
                                        producer="auth", aggregate_id=f"user:p{n}", aggregate_version=1)
                await publish_event(bus, PersonChangedV1(subject="user:watcher", institution="CN-U1",
                                                         roles=["patron"], status="active", version=1),
                                    producer="auth", aggregate_id="user:watcher", aggregate_version=1)
                admin = tokens.headers("CN-U1", scopes=["notify:manage"], roles=["institution-admin"])
                created = await client.post("/notify/webhooks", headers=admin, json={
                    "url": hook_url, "event_types": ["ill.request.checked_out"]})
                assert created.status_code == 201, created.text
                await asyncio.sleep(1)  # the directory copies are in

                smtp_bare = await _bare_smtp(smtp.port, arrivals, count)
                before = arrivals.mails
                started = await _publish_steps(bus, "submitted", count, lambda n: f"user:p{n % PATRONS}")
                await _until(lambda: arrivals.mails - before >= count)
                mail_rate = count / (arrivals.last - started)

                http_bare = await _bare_http(hook_url, arrivals, count)
                before = arrivals.posts
                started = await _publish_steps(bus, "checked_out", count, lambda n: None)
                await _until(lambda: arrivals.posts - before >= count)
                hook_rate = count / (arrivals.last - started)

                pushes, bus_delays = await _stream_delays(app, client, tokens, samples)
    finally:
        smtp.stop()
    return [
        Measurement("email", "bare_aiosmtplib", smtp_bare, "messages/s"),
        Measurement("email", "event_to_inbox", mail_rate, "notifications/s", baseline="bare_aiosmtplib",
                    detail={"events": count}),
        Measurement("webhook", "bare_httpx", http_bare, "posts/s"),
        Measurement("webhook", "event_to_receiver", hook_rate, "notifications/s", baseline="bare_httpx",
                    detail={"events": count}),
        Measurement("stream", "bus_p50", percentile(bus_delays, 50), "ms", samples=bus_delays),
        Measurement("stream", "bus_p99", percentile(bus_delays, 99), "ms"),
        Measurement("stream", "push_p50", percentile(pushes, 50), "ms", baseline="bus_p50", samples=pushes),
        Measurement("stream", "push_p99", percentile(pushes, 99), "ms", baseline="bus_p99"),
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
