"""JSON log lines carrying trace id, request id and institution; never a token or a secret."""

from __future__ import annotations

import asyncio
import atexit
import json
import logging
import sys
import threading
import time
from datetime import UTC, datetime
from functools import lru_cache
from json.encoder import encode_basestring  # C-accelerated where available
from typing import IO, Any

from opentelemetry import trace

from meshkit import context

_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "service": context.service.get() or self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            line["trace_id"] = format(span.trace_id, "032x")
            line["span_id"] = format(span.span_id, "016x")
        for key, var in (
            ("request_id", context.request_id),
            ("institution", context.institution),
            ("correlation_id", context.correlation_id),
        ):
            value = var.get()
            if value:
                line[key] = value
        for key, value in record.__dict__.items():
            if key not in _RESERVED and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def configure_logging(service: str, level: str = "INFO", as_json: bool = True) -> None:
    """Idempotent: configuring twice (several services in one process) keeps one handler."""
    global _access_writer
    root = logging.getLogger()
    root.setLevel(level.upper())
    for handler in root.handlers:
        if getattr(handler, "_meshkit", False):
            return
    if as_json:
        _access_writer = BufferedLines(sys.stderr)
    handler = logging.StreamHandler(sys.stderr)
    handler._meshkit = True  # type: ignore[attr-defined]
    handler.setFormatter(JsonFormatter(service) if as_json else logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root.addHandler(handler)
    for noisy in ("aiormq", "aio_pika", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


access_logger = logging.getLogger("bibliomesh.access")
_REQUEST_ID, _INSTITUTION, _CORRELATION_ID = ', "request_id": ', ', "institution": ', ', "correlation_id": '
_access_writer: BufferedLines | None = None


def log_request(method: str, path: str, status: int, seconds: float,
                span_ids: tuple[str, str] | None = None, service: str | None = None,
                request_id: str | None = None) -> None:
    """The access log line of one served request: the JSON line `JsonFormatter` would write, with `method`, `path`,
    `status` and `duration_ms`, written in batches (`BufferedLines`) once `configure_logging` chose JSON.

    A gateway writes one per call, so this skips the `logging` machinery (a record, the formatter's dictionary
    and `json.dumps`, a write and flush per line): the access log was a sixth of a proxied call's cost before
    (bench/README.md, gateway). The line is put together at once (a string waiting for its batch costs less to
    keep than the values it is made of). `span_ids` are the request span's trace and span ids in hex, as its
    `traceparent` has them already (`ServerSpan.hex_ids`); `service` and `request_id`, when the caller has them at
    hand, spare looking them up in the context.
    """
    if not access_logger.isEnabledFor(logging.INFO):
        return
    if _access_writer is None:  # plain-text logs, or logging never configured (a library user, a test)
        access_logger.info("request", extra={"method": method, "path": path, "status": status,
                                              "duration_ms": round(seconds * 1000, 2)})
        return
    service = service or context.service.get()
    request_id = request_id or context.request_id.get()
    second, microsecond = divmod(time.time_ns() // 1000, 1_000_000)
    caller = ""  # who the request was for, when it is known
    if institution := context.institution.get():
        caller = _INSTITUTION + _quoted(institution)
    if correlation_id := context.correlation_id.get():
        caller += _CORRELATION_ID + encode_basestring(correlation_id)
    ids = f', "trace_id": "{span_ids[0]}", "span_id": "{span_ids[1]}"' if span_ids else ""
    request = _REQUEST_ID + encode_basestring(request_id) if request_id else ""
    hundredths = int(seconds * 100_000 + 0.5)  # the duration in milliseconds to two places, half up
    # One flat f-string (a `%` format of this length costs a third more, an f-string with nested calls twice as
    # much); padded numbers without a format spec, which would go through `__format__`.
    _access_writer.add(
        f'{{"ts": "{_date_and_time(second)}.{str(1_000_000 + microsecond)[1:]}+00:00", "level": "info", '
        f'"service": {_quoted(service or "")}, "logger": "bibliomesh.access", "msg": "request"{ids}{request}'
        f'{caller}, "method": {_quoted(method)}, "path": {encode_basestring(path)}, "status": {status}, '
        f'"duration_ms": {hundredths // 100}.{_TWO_DIGITS[hundredths % 100]}}}\n')


_TWO_DIGITS = [f"{n:02d}" for n in range(100)]


@lru_cache(maxsize=256)
def _quoted(value: str) -> str:
    """A JSON string of one of the few values that repeat on every line (service, method, institution)."""
    return encode_basestring(value)


class BufferedLines:
    """Lines written to a stream in batches, as nginx's `access_log ... buffer=... flush=1s` does: when
    `max_lines` are waiting, when the oldest has waited `max_seconds` (on the running event loop's clock), and at
    exit.

    A process killed outright (SIGKILL, out of memory) loses at most the last second of lines; a normal stop
    (SIGTERM, the end of a test) writes them all.
    """

    def __init__(self, stream: IO[str], max_lines: int = 512, max_seconds: float = 1.0) -> None:
        self.stream = stream
        self.max_lines = max_lines
        self.max_seconds = max_seconds
        self._entries: list[str] = []
        self._lock = threading.Lock()
        self._flush_scheduled = False
        atexit.register(self.flush)

    def add(self, line: str) -> None:
        with self._lock:
            self._entries.append(line)
            full = len(self._entries) >= self.max_lines
            schedule = not full and not self._flush_scheduled
            if schedule:
                self._flush_scheduled = True
        if full:
            self.flush()
        elif schedule:
            try:
                asyncio.get_running_loop().call_later(self.max_seconds, self.flush)
            except RuntimeError:  # no event loop: nothing would come back to write the line
                self.flush()

    def flush(self) -> None:
        with self._lock:
            entries, self._entries, self._flush_scheduled = self._entries, [], False
        if not entries:
            return
        try:
            self.stream.write("".join(entries))
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream (interpreter shutdown): as logging's handlers, go on
            pass


def flush_access_log() -> None:
    if _access_writer is not None:
        _access_writer.flush()


_second_prefix = (0, "")


def _date_and_time(second: int) -> str:
    """The date and time of day of a timestamp's whole second, in UTC; built once per second."""
    global _second_prefix
    if _second_prefix[0] != second:
        _second_prefix = (second, datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return _second_prefix[1]
