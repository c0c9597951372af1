"""`POST /ill/iso18626`: the ISO 18626 endpoint for library systems outside the platform (ReShare, CrossLink,
Alma, Koha, ILLiad).

Who may call: a peer of the directory (an institution with an ISO 18626 endpoint), proving itself with the
credential issued to it (`requestingAgencyAuthentication/securityCode`, or HTTP Basic `agency:secret`). Every
message gets the matching confirmation in the edition it used (1.2 or 2021): OK, or ERROR with ISO `errorData`
(an unknown agency and wrong credentials included) — never a bare HTTP error, and never a change when refused.
"""

from __future__ import annotations

import base64
import binascii
import logging

from fastapi import APIRouter, Request
from fastapi.responses import Response

from bibliomesh_ill.adapters.request_repository import PeerRequestExists
from bibliomesh_ill.iso18626 import ErrorType, Iso18626Error, confirm, confirm_failure, parse, serialize
from bibliomesh_ill.iso18626.models import Message
from bibliomesh_ill.service_layer.peers.inbound import receive, sender_of
from meshkit.web import get_runtime

log = logging.getLogger(__name__)
router = APIRouter(prefix="/ill", tags=["iso18626"])
XML = "application/xml"


async def _body(http: Request, limit: int) -> bytes:
    chunks, size = [], 0
    async for chunk in http.stream():
        size += len(chunk)
        if size > limit:
            raise Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, f"message: larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _basic_secret(http: Request) -> str | None:
    scheme, _, value = http.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        return base64.b64decode(value, validate=True).decode().partition(":")[2] or None
    except (binascii.Error, UnicodeDecodeError):
        return None


@router.post("/iso18626", response_class=Response, summary="ISO 18626 messages from peers outside the platform "
             "(peers with issued credentials; every answer is an ISO confirmation).",
             openapi_extra={"requestBody": {"content": {XML: {"schema": {"type": "string"}}}, "required": True}},
             responses={200: {"content": {XML: {}}, "description": "The matching ISO 18626 confirmation."}})
async def iso18626(http: Request) -> Response:
    runtime = get_runtime(http)
    settings = runtime.settings
    try:
        message = parse(await _body(http, settings.iso18626_max_bytes),  # type: ignore[attr-defined]
                        max_bytes=settings.iso18626_max_bytes)  # type: ignore[attr-defined]
    except Iso18626Error as exc:
        log.info("ISO 18626 message refused", extra={"error": str(exc)})
        return Response(serialize(confirm_failure(exc)), media_type=XML)
    if not isinstance(message, Message):
        refused = Iso18626Error(ErrorType.UNSUPPORTED_ACTION_TYPE, f"{message.kind}: confirmations are answers, "
                                "not messages to this endpoint", version=message.version)
        return Response(serialize(confirm_failure(refused)), media_type=XML)
    try:
        async with runtime.unit_of_work() as uow:
            error = await receive(uow, message, settings, _basic_secret(http))  # type: ignore[arg-type]
            if error is None:
                await uow.commit()
    except PeerRequestExists:
        error = None  # a retry that overtook the peer's first message: confirmed as any retry is
    log.info("ISO 18626 message", extra={"kind": message.kind, "agency": sender_of(message),
                                         "accepted": error is None, "error": error.error_value if error else None})
    return Response(serialize(confirm(message, error)), media_type=XML)
