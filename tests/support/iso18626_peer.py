"""A loopback ISO 18626 peer: a real HTTP server on 127.0.0.1 that speaks ISO 18626 through the broker's own codec,
so everything it sends is schema-valid.

It records every message it receives and answers each with a confirmation. Scripted, it plays
- a supplier: `act_as_supplier(callback_url)`; on a request it confirms, then sends supplying-agency messages
  (ExpectToSupply, WillSupply, Loaned; or Unfilled...) to the callback URL, and answers the borrower's later
  actions (ShippedReturn completes the loan, Cancel cancels, Renew is granted);
- a requester: `send_request(platform_url, supplier)`, then `send_action(platform_url, request, Action.RECEIVED)`.
`fail_next(n)` makes it answer the next n messages with HTTP 503 instead, to exercise retries.

    async with iso18626_peer() as peer:
        peer.act_as_supplier(f"{platform}/ill/iso18626")
        ...
        await peer.wait_received(lambda m: m.kind == "requestingAgencyMessage", "a Received")
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import socket
from collections import deque
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.requests import Request as HttpRequest
from starlette.responses import Response
from starlette.routing import Route

from bibliomesh_ill.iso18626 import (
    Action,
    AgencyId,
    AnyMessage,
    Authentication,
    BibliographicInfo,
    BibliographicItemId,
    Confirmation,
    DeliveryInfo,
    ErrorData,
    Header,
    Iso18626Error,
    Message,
    MessageInfo,
    ReasonForMessage,
    Request,
    RequestingAgencyMessage,
    SchemeValue,
    ServiceInfo,
    ServiceType,
    Status,
    StatusInfo,
    SupplyingAgencyMessage,
    Version,
    confirm,
    confirm_failure,
    parse,
    serialize,
)
from bibliomesh_ill.iso18626.peer_client import PeerClient, RetryPolicy
from tests.support.waiting import wait_for

log = logging.getLogger(__name__)
PATH = "/iso18626"
QUICK_RETRIES = RetryPolicy(attempts=3, first_delay_seconds=0.05, max_delay_seconds=0.2, timeout_seconds=5)


def now() -> datetime:
    return datetime.now(UTC)


@dataclass
class SupplierScript:
    """How the peer answers requests when it plays the supplier."""

    callback_url: str
    statuses: Sequence[Status] = (Status.EXPECT_TO_SUPPLY, Status.WILL_SUPPLY, Status.LOANED)
    """Sent in this order after each request; the first is the RequestResponse, the others StatusChanges."""
    pause_seconds: float = 0.0
    """Before each of them (the first comes only after the request's confirmation has gone out)."""
    loan_days: int = 28
    complete_on_return: bool = True
    """Answer ShippedReturn with LoanCompleted."""


@dataclass
class Sent:
    message: Message
    answer: Confirmation | Exception


class Iso18626Peer:
    def __init__(self, agency: AgencyId, version: Version, client: PeerClient, secret: str | None = None) -> None:
        self.agency = agency
        self.version = version
        self.client = client
        self.secret = secret
        """Sent as `requestingAgencyAuthentication` where the edition has room for it, and as HTTP Basic."""
        self.url = ""
        self.raw: list[bytes] = []
        """Every body POSTed to the peer, answered or not."""
        self.received: list[AnyMessage] = []
        self.authorization: list[str | None] = []
        """The HTTP Authorization header of each message received, in order."""
        self.refused: list[Iso18626Error] = []
        self.sent: list[Sent] = []
        self.supplier: SupplierScript | None = None
        self.reject: Callable[[Message], ErrorData | None] | None = None
        """Return error data to answer a message with an ERROR confirmation (and not act on it)."""
        self._failures: deque[int] = deque()
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self.app = Starlette(routes=[Route(PATH, self._receive, methods=["POST"])])

    # --- scripting ---------------------------------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 503) -> None:
        """Answer the next `count` messages with bare HTTP `status` (and record nothing but their bytes)."""
        self._failures.extend([status] * count)

    def act_as_supplier(self, callback_url: str, statuses: Sequence[Status] = SupplierScript.statuses, *,
                        pause_seconds: float = 0.0, loan_days: int = 28, complete_on_return: bool = True
                        ) -> SupplierScript:
        self.supplier = SupplierScript(callback_url, tuple(statuses), pause_seconds, loan_days, complete_on_return)
        return self.supplier

    # --- acting as a requester ----------------------------------------------------------------------------------

    def new_request(self, supplier: AgencyId | None, *, title: str = "Dream of the Red Chamber",
                    isbn: str | None = None, service_type: ServiceType = ServiceType.LOAN,
                    request_id: str | None = None) -> Request:
        isbn_code = SchemeValue(value="ISBN")
        ids = [BibliographicItemId(bibliographic_item_identifier_code=isbn_code, bibliographic_item_identifier=isbn)] \
            if isbn else []
        header = Header(supplying_agency_id=supplier, requesting_agency_id=self.agency, timestamp=now(),
                        requesting_agency_request_id=request_id or f"{self.agency.agency_id_value}-{next(self._ids)}",
                        requesting_agency_authentication=self.credentials())
        return Request(version=self.version, header=header,
                       bibliographic_info=BibliographicInfo(title=title, bibliographic_item_id=ids),
                       service_info=ServiceInfo(service_type=service_type))

    async def send_request(self, platform_url: str, supplier: AgencyId | None, *, title: str = "Dream of the Red "
                           "Chamber", isbn: str | None = None, service_type: ServiceType = ServiceType.LOAN
                           ) -> tuple[Request, Confirmation]:
        request = self.new_request(supplier, title=title, isbn=isbn, service_type=service_type)
        return request, await self.send(request, platform_url)

    async def send_action(self, platform_url: str, request: Request, action: Action, note: str | None = None
                          ) -> Confirmation:
        """Tell the supplier of `request` about `action` (Received, ShippedReturn, Cancel, Renew...)."""
        header = request.header.model_copy(update={
            "timestamp": now(), "supplying_agency_request_id": self.supplier_request_id(request),
            "requesting_agency_authentication": self.credentials(),
        })
        return await self.send(RequestingAgencyMessage(version=self.version, header=header, action=action,
                                                       note=note), platform_url)

    def credentials(self) -> Authentication | None:
        return Authentication(account_id=self.agency.agency_id_value, security_code=self.secret) \
            if self.secret else None

    def supplier_request_id(self, request: Request) -> str | None:
        """The supplier's id for `request`, from the last supplying-agency message about it."""
        for message in reversed(self.received):
            if isinstance(message, SupplyingAgencyMessage) and message.header.requesting_agency_request_id == \
                    request.header.requesting_agency_request_id and message.header.supplying_agency_request_id:
                return message.header.supplying_agency_request_id
        return None

    async def send(self, message: Message, url: str) -> Confirmation:
        """Send through the broker's own peer client; raises what it raises. Recorded in `sent` either way."""
        basic = (self.agency.agency_id_value, self.secret) if self.secret else None
        try:
            answer = await self.client.send(message, url, basic_auth=basic)
        except Exception as error:
            self.sent.append(Sent(message, error))
            raise
        self.sent.append(Sent(message, answer))
        return answer

    # --- waiting -------------------------------------------------------------------------------------------------

    async def wait_received(self, matches: Callable[[AnyMessage], bool], what: str, timeout: float = 10.0
                            ) -> AnyMessage:
        async def latest() -> AnyMessage | None:
            return next((m for m in reversed(self.received) if matches(m)), None)
        found = await wait_for(latest, lambda m: m is not None, what=f"the peer to receive {what}", timeout=timeout)
        assert found is not None
        return found

    async def wait_sent(self, count: int, timeout: float = 10.0) -> list[Sent]:
        """Wait until the peer has sent `count` messages in all and had their answers."""
        async def sent() -> list[Sent]:
            return list(self.sent)
        return await wait_for(sent, lambda s: len(s) >= count, what=f"the peer to send {count} messages",
                              timeout=timeout)

    # --- serving -------------------------------------------------------------------------------------------------

    async def _receive(self, http: HttpRequest) -> Response:
        body = await http.body()
        self.raw.append(body)
        if self._failures:
            return Response(b"unavailable", status_code=self._failures.popleft(), media_type="text/plain")
        try:
            message = parse(body)
        except Iso18626Error as error:
            self.refused.append(error)
            return _xml(serialize(confirm_failure(error)))
        self.received.append(message)
        self.authorization.append(http.headers.get("authorization"))
        if not isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage):
            return Response(b"a confirmation is an answer, not a message", status_code=400)
        rejection = self.reject(message) if self.reject else None
        reaction = None if rejection else self._reaction(message)
        return _xml(serialize(confirm(message, rejection)),
                    BackgroundTask(self._spawn, reaction) if reaction is not None else None)

    def _reaction(self, message: Message) -> Callable[[], Coroutine[Any, Any, None]] | None:
        script = self.supplier
        if script is None:
            return None
        if isinstance(message, Request):
            supplier_id = f"{self.agency.agency_id_value}-S{next(self._ids)}"
            return lambda: self._answer_request(script, message, supplier_id)
        if isinstance(message, RequestingAgencyMessage):
            answer = self._answer_action(script, message)
            return (lambda: self._send_all(script, [answer])) if answer is not None else None
        return None

    async def _spawn(self, reaction: Callable[[], Coroutine[Any, Any, None]]) -> None:
        # A task of its own: the HTTP exchange that caused it ends first, as a real supplier's would.
        task = asyncio.get_running_loop().create_task(reaction())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _answer_request(self, script: SupplierScript, request: Request, supplier_id: str) -> None:
        header = request.header.model_copy(update={
            "supplying_agency_id": self.agency, "supplying_agency_request_id": supplier_id,
            "requesting_agency_authentication": self.credentials(),
        })
        messages = []
        for position, status in enumerate(script.statuses):
            reason = ReasonForMessage.REQUEST_RESPONSE if position == 0 else ReasonForMessage.STATUS_CHANGE
            messages.append(self.supplying_message(header, status, reason, loan_days=script.loan_days))
        await self._send_all(script, messages)

    def _answer_action(self, script: SupplierScript, message: RequestingAgencyMessage
                       ) -> SupplyingAgencyMessage | None:
        header = message.header.model_copy(update={"supplying_agency_id": self.agency,
                                                   "requesting_agency_authentication": self.credentials()})
        if message.action is Action.SHIPPED_RETURN and script.complete_on_return:
            return self.supplying_message(header, Status.LOAN_COMPLETED, ReasonForMessage.STATUS_CHANGE)
        if message.action is Action.CANCEL:
            return self.supplying_message(header, Status.CANCELLED, ReasonForMessage.CANCEL_RESPONSE, answer=True)
        if message.action is Action.RENEW:
            return self.supplying_message(header, Status.LOANED, ReasonForMessage.RENEW_RESPONSE, answer=True,
                                          loan_days=script.loan_days)
        return None

    def supplying_message(self, header: Header, status: Status, reason: ReasonForMessage, *,
                          answer: bool | None = None, loan_days: int = 28, note: str | None = None
                          ) -> SupplyingAgencyMessage:
        """A supplying-agency message about the request `header` names (its timestamp is set to now)."""
        moment = now()
        loaned = status is Status.LOANED
        return SupplyingAgencyMessage(
            version=self.version, header=header.model_copy(update={"timestamp": moment}),
            message_info=MessageInfo(reason_for_message=reason, answer_yes_no=answer, note=note,
                                     reason_unfilled=SchemeValue(value="NotAvailableForILL")
                                     if status is Status.UNFILLED else None),
            status_info=StatusInfo(status=status, last_change=moment,
                                   due_date=moment + timedelta(days=loan_days) if loaned else None),
            delivery_info=DeliveryInfo(date_sent=moment) if loaned else None,
        )

    async def _send_all(self, script: SupplierScript, messages: Sequence[SupplyingAgencyMessage]) -> None:
        for message in messages:
            await asyncio.sleep(script.pause_seconds)
            try:
                await self.send(message, script.callback_url)
            except Exception:  # recorded in `sent`; a scripted supplier keeps going like a real one
                log.warning("loopback peer could not deliver %s", message.status_info.status, exc_info=True)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _xml(body: bytes, background: BackgroundTask | None = None) -> Response:
    return Response(body, media_type="application/xml", background=background)


@asynccontextmanager
async def iso18626_peer(*, agency: AgencyId | None = None, version: Version = Version.V1_2,
                        secret: str | None = None, retry: RetryPolicy = QUICK_RETRIES) -> AsyncIterator[Iso18626Peer]:
    """A peer listening on an ephemeral loopback port; `peer.url` is its ISO 18626 endpoint. With `secret` it
    proves who it is on every message it sends (header and HTTP Basic, as the broker's peers do)."""
    agency = agency or AgencyId(agency_id_type="ISIL", agency_id_value="ZZ-PEER")
    async with PeerClient(retry=retry) as client:
        peer = Iso18626Peer(agency, version, client, secret)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        server = uvicorn.Server(uvicorn.Config(peer.app, lifespan="off", log_level="warning", access_log=False))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            async with asyncio.timeout(10):
                while not server.started:
                    if serving.done():
                        serving.result()
                    await asyncio.sleep(0.01)
            peer.url = f"http://127.0.0.1:{sock.getsockname()[1]}{PATH}"
            yield peer
        finally:
            await peer.stop()
            server.should_exit = True
            await asyncio.wait_for(serving, 10)
            sock.close()
