"""What the notify API takes and gives."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import Path
from pydantic import BaseModel, ConfigDict, Field

from bibliomesh_contracts.events.directory import INSTITUTION_CODE_PATTERN
from bibliomesh_notify.service_layer.template_limits import MAX_SOURCE_CHARS

INSTITUTION_CODE = "An institution's code as the directory has it, e.g. `CN-DL-UNI1`."
InstitutionCode = Annotated[str, Path(pattern=INSTITUTION_CODE_PATTERN, description=INSTITUTION_CODE)]
"""A path segment naming the institution a setting is stored for: of the directory's shape (or 422)."""


class Notification(BaseModel):
    id: int = Field(description="Use with `POST /notify/notifications/{id}/read`.")
    seq: int = Field(description="Position in the caller's own sequence; the SSE event id (`Last-Event-ID`).")
    message_kind: str = Field(description="What the message is about, e.g. `patron.shipped`.")
    event_type: str | None = Field(description="The event that caused it, if any.")
    institution: str = Field(description="The recipient's institution.")
    request_id: str | None = Field(description="The ILL request it concerns, if any.")
    title: str
    body: str
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    items: list[Notification] = Field(description="Newest first.")
    unread: int = Field(description="Unread notifications of the caller in all.")
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null at the end.")


class Marked(BaseModel):
    marked: int = Field(description="How many notifications became read.")


class PreferencesBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channels: dict[str, list[Literal["email", "in_app"]]] = Field(
        default_factory=dict, description="Message kind -> channels; kinds not named keep every channel. "
        "An empty list silences a kind.")
    digest: bool = Field(default=False, description="E-mails as one daily digest instead of one by one.")


class PreferencesOut(BaseModel):
    owner: str = Field(description="The person's subject, or `mailbox:<code>` for a library's ILL mailbox.")
    channels: dict[str, list[str]] = Field(description="Every message kind with the channels it goes to.")
    digest: bool


class WebhookIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(description="Where events are posted: https, on a public address.")
    event_types: list[str] = Field(min_length=1, description="Event types (`ill.request.shipped`), "
                                   "`ill.request.*` or `*`.")
    description: str | None = Field(default=None, max_length=500)
    institution: str | None = Field(default=None, pattern=INSTITUTION_CODE_PATTERN,
                                    description="Platform admins only: whose webhook it is (default: the caller's "
                                                "institution). " + INSTITUTION_CODE)


class WebhookPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = None
    event_types: list[str] | None = Field(default=None, min_length=1)
    description: str | None = Field(default=None, max_length=500)
    enabled: bool | None = Field(default=None, description="true re-enables a disabled endpoint and sends what "
                                 "was held for it.")


class WebhookOut(BaseModel):
    id: int
    institution: str
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: str | None
    consecutive_failures: int
    created_at: datetime
    updated_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="The signing secret (`whsec_...`), shown this once: store it now.")


class DeliveryOut(BaseModel):
    id: int
    event_type: str | None
    webhook_id: str = Field(description="The `webhook-id` header value: the same on every retry.")
    status: str = Field(description="pending, sending, sent, failed, held (endpoint disabled).")
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    sent_at: datetime | None
    body: str = Field(description="What is (or was) posted.")


class TemplateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source: str = Field(min_length=1, max_length=MAX_SOURCE_CHARS, description="Jinja2 with the blocks the "
                        "channel needs: e-mail `subject`, `text`, `html`; in-app `title`, `body`. It must render "
                        "within the template limits (see the README), checked with a sample message.")


class TemplateOut(BaseModel):
    institution: str
    message_kind: str
    channel: str
    language: str
    source: str
    updated_at: datetime | None
    updated_by: str | None
    overridden: bool = Field(description="false: this is the platform's default wording.")
    problem: str | None = Field(default=None, description="Why this saved template cannot be used: it does not "
                                "render a sample message within the template limits (a template saved before a "
                                "limit was introduced may break it). While set, messages of this kind fall back to "
                                "the default wording; save a corrected template to clear it.")
