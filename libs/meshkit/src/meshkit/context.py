"""Per-request and per-message context that logs and outgoing calls pick up."""

from __future__ import annotations

from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
institution: ContextVar[str | None] = ContextVar("institution", default=None)
correlation_id: ContextVar[str | None] = ContextVar("correlation_id", default=None)
service: ContextVar[str | None] = ContextVar("service", default=None)
