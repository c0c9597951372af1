"""The access log: one JSON line per request with the same fields as every other log line, written in batches
and never lost on a normal stop."""

from __future__ import annotations

import asyncio
import io
import json
import logging

import pytest

from meshkit import context, logs
from meshkit.logs import BufferedLines, JsonFormatter, flush_access_log, log_request


@pytest.fixture
def access_stream(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr(logs, "_access_writer", BufferedLines(stream, max_lines=3, max_seconds=0.05))
    logs.access_logger.setLevel(logging.INFO)
    return stream


async def test_a_line_carries_what_the_json_formatter_writes_and_the_request(access_stream: io.StringIO) -> None:
    tokens = [context.service.set("gateway"), context.request_id.set('id "with" quotes'),
              context.institution.set("CN-DL-LHU")]
    try:
        log_request("GET", '/catalog/search/"人民"\n', 200, 0.012345,
                    ("4bf92f3577b34da6a3ce929d0e0e4736", "0000000000f067aa"))
        formatted = json.loads(JsonFormatter("gateway").format(logging.makeLogRecord({
            "name": "bibliomesh.access", "msg": "request", "levelname": "INFO"})))
    finally:
        for var, token in zip((context.service, context.request_id, context.institution), tokens, strict=True):
            var.reset(token)
    assert access_stream.getvalue() == ""  # not yet: batched
    flush_access_log()

    line = json.loads(access_stream.getvalue())
    assert set(formatted) - {"trace_id", "span_id"} <= set(line)  # the shared fields, the same names
    assert line["logger"] == "bibliomesh.access" and line["level"] == "info" and line["service"] == "gateway"
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736" and line["span_id"] == "0000000000f067aa"
    assert line["request_id"] == 'id "with" quotes' and line["institution"] == "CN-DL-LHU"
    assert (line["method"], line["path"], line["status"], line["duration_ms"]) == (
        "GET", '/catalog/search/"人民"\n', 200, 12.35)
    assert "correlation_id" not in line
    assert line["ts"].endswith("+00:00") and len(line["ts"]) == len("2026-11-28T15:39:46.970806+00:00")


async def test_lines_go_out_when_a_batch_is_full_or_has_waited(access_stream: io.StringIO) -> None:
    for n in range(4):
        log_request("GET", f"/ill/requests/{n}", 200, 0.001)
    assert len(access_stream.getvalue().splitlines()) == 3  # the full batch at once
    await asyncio.sleep(0.2)  # the fourth after max_seconds, on the event loop's clock
    lines = [json.loads(line) for line in access_stream.getvalue().splitlines()]
    assert [line["path"] for line in lines] == [f"/ill/requests/{n}" for n in range(4)]
    assert all("trace_id" not in line for line in lines)  # no span: no ids


def test_without_a_running_loop_a_line_is_written_at_once(access_stream: io.StringIO) -> None:
    log_request("POST", "/auth/token", 401, 0.002)
    assert json.loads(access_stream.getvalue())["status"] == 401


def test_a_disabled_access_logger_writes_nothing(access_stream: io.StringIO) -> None:
    logs.access_logger.setLevel(logging.WARNING)
    try:
        log_request("GET", "/ill/requests", 200, 0.001)
        flush_access_log()
    finally:
        logs.access_logger.setLevel(logging.NOTSET)
    assert access_stream.getvalue() == ""


def test_a_closed_stream_does_not_raise() -> None:
    stream = io.StringIO()
    lines = BufferedLines(stream, max_lines=1)
    stream.close()
    lines.add("{}\n")
