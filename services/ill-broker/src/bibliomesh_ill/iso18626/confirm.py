"""Confirmations: the answer to every message, OK or ERROR, echoing the header as ISO 18626 asks."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bibliomesh_ill.iso18626.codes import MessageKind, MessageStatus, Version
from bibliomesh_ill.iso18626.errors import HeaderEcho, Iso18626Error
from bibliomesh_ill.iso18626.models import (
    Confirmation,
    ConfirmationHeader,
    ErrorData,
    Message,
    RequestConfirmation,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
)

_MODELS: dict[MessageKind, type[Confirmation]] = {
    MessageKind.REQUEST_CONFIRMATION: RequestConfirmation,
    MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION: SupplyingAgencyMessageConfirmation,
    MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION: RequestingAgencyMessageConfirmation,
}


def confirm(message: Message, error: ErrorData | Iso18626Error | None = None, *,
            now: datetime | None = None) -> Confirmation:
    """The confirmation answering `message`, in its edition: OK, or ERROR carrying `error`.

    It repeats the message's agencies and request id, its `timestamp` as `timestampReceived`, and the reason for
    message or action it confirms.
    """
    header = message.header
    echo = HeaderEcho(supplying_agency_id=header.supplying_agency_id, requesting_agency_id=header.requesting_agency_id,
                      requesting_agency_request_id=header.requesting_agency_request_id,
                      multiple_item_request_id=header.multiple_item_request_id, timestamp=header.timestamp)
    echoed: dict[str, Any] = {}
    if isinstance(message, SupplyingAgencyMessage):
        echoed["reason_for_message"] = message.message_info.reason_for_message
    if isinstance(message, RequestingAgencyMessage):
        echoed["action"] = message.action
    answer = MessageKind(message.kind).confirmed_by
    assert answer is not None
    return _confirmation(answer, echo, message.version, error, now, echoed)


def confirm_failure(error: Iso18626Error, *, now: datetime | None = None) -> Confirmation:
    """The ERROR confirmation for a message `parse` refused: of the kind the peer sent (a request confirmation if
    even that is unknown), in its edition, echoing what of its header could be read."""
    answer = (error.kind.confirmed_by if error.kind else None) or MessageKind.REQUEST_CONFIRMATION
    return _confirmation(answer, error.echo or HeaderEcho(), error.version, error, now, {})


def _confirmation(answer: MessageKind, echo: HeaderEcho, version: Version, error: ErrorData | Iso18626Error | None,
                  now: datetime | None, echoed: dict[str, Any]) -> Confirmation:
    now = now or datetime.now(UTC)
    header = ConfirmationHeader(
        supplying_agency_id=echo.supplying_agency_id, requesting_agency_id=echo.requesting_agency_id,
        timestamp=now, requesting_agency_request_id=echo.requesting_agency_request_id,
        multiple_item_request_id=echo.multiple_item_request_id, timestamp_received=echo.timestamp or now,
        message_status=MessageStatus.OK if error is None else MessageStatus.ERROR,
    )
    errors = [] if error is None else [error.error_data if isinstance(error, Iso18626Error) else error]
    return _MODELS[answer](version=version, confirmation_header=header, error_data=errors, **echoed)
