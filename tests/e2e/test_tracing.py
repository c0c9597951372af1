"""One trace id follows a request from the gateway through the service into the events it caused."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from meshkit.telemetry import memory_exporter
from meshkit.testing import eventually
from tests.e2e.platform import admin_headers, embedded_platform

pytestmark = pytest.mark.e2e


async def test_a_trace_crosses_http_and_the_bus(tmp_path: Path) -> None:
    memory_exporter.clear()
    async with embedded_platform(tmp_path, otel_exporter="memory") as platform, httpx.AsyncClient(
        base_url=platform.public_url
    ) as client:
        headers = await admin_headers(client)
        parent_trace = "4bf92f3577b34da6a3ce929d0e0e4736"
        caller_span = "00f067aa0ba902b7"
        headers["traceparent"] = f"00-{parent_trace}-{caller_span}-01"
        created = await client.post("/auth/institutions", headers=headers, json={
            "code": "CN-DL-TRACE", "name_en": "Traced University", "kind": "university"})
        assert created.status_code == 201, created.text

        def spans_in_trace() -> list[str]:
            return [f"{s.name}@{(s.attributes or {}).get('messaging.destination', '')}"
                    for s in memory_exporter.get_finished_spans()
                    if format(s.context.trace_id, "032x") == parent_trace]

        async def consumed_everywhere() -> bool:
            consumed = {name for name in spans_in_trace() if name.startswith("consume ")}
            return consumed >= {f"consume directory.institution.created@{queue}"
                                for queue in ("catalog.directory", "ill.directory", "notify.directory")}

        await eventually(consumed_everywhere)
        names = spans_in_trace()
        # The gateway's span (named by its route to the service) and the auth service's span (by its route) both
        # belong to the caller's trace, one each: FastAPI's own instrumentation records no second one.
        assert names.count("POST /auth/*@") == 1 and names.count("POST /auth/institutions@") == 1
        # The gateway's span continues the caller's, and the service's continues the gateway's.
        in_trace = [s for s in memory_exporter.get_finished_spans()
                    if format(s.context.trace_id, "032x") == parent_trace]
        at_gateway = next(s for s in in_trace if s.name == "POST /auth/*")
        at_service = next(s for s in in_trace if s.name == "POST /auth/institutions")
        assert at_gateway.parent is not None and format(at_gateway.parent.span_id, "016x") == caller_span
        assert at_service.parent is not None and at_service.parent.span_id == at_gateway.context.span_id
        assert (at_service.attributes or {}).get("http.route") == "/auth/institutions"
        assert created.headers.get_list("x-request-id") == [created.headers["x-request-id"]]
