"""Every real sample message (../shared/iso18626/samples) posted to `/ill/iso18626` is understood and answered
correctly: the matching confirmation in its edition, echoing its header, and the effect a supplier or a
requester must see — a new request at the platform library it names, or the state change the message means
on a request the broker holds, or the ISO error that explains why not.

The samples come from two public toolkits whose agencies play different parts in different files, so they are
replayed in two setups: one where outside peers borrow from platform libraries, one where the platform borrows
from outside peers. Before each message the request it talks about is put in the state the message assumes."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from broker_fixtures import REGION, Broker, broker

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import Iso18626Peer as PeerConfig
from bibliomesh_ill.adapters.tables import peer_message_fingerprints, request_steps, requests, rota_entries
from bibliomesh_ill.iso18626 import parse
from bibliomesh_ill.iso18626.models import Confirmation, Message

SAMPLES = Path(__file__).resolve().parents[1] / "unit" / "iso18626" / "samples"  # ../shared/iso18626, with licences
SECRETS = {"US-ocolcm": "ABC-Easy-As", "US-ocolcwe": "SecurityCode-5678", "agencyIdValue1": "securityCode1"}
DEFAULT_SECRET = "sample-peer-secret"
DUE = date(2030, 1, 31)


@dataclass(frozen=True)
class Case:
    sample: str
    answer: str                                  # "OK" or the ISO errorType
    before: tuple[str, str | None] | None = None  # (requester, supplier) state the request is put in first
    after: tuple[str, str | None] | None = None   # the states the message leaves it in
    renewal_pending: bool = False
    service_type: str = "loan"


PEERS_BORROW = {  # outside peers borrow from platform libraries
    "platform": ["OCLC-ABCDE", "TEMPLEI", "KNOWINT01", "oclc-ABCDE", "US-ocolcwe"],
    "peers": ["OCLC-BCDEF", "US-ocolcm", "MILL", "TESTINST01", "oclc-BCDEF", "agencyIdValue1"],
    "cases": [
        Case("mod-rs/case1_request.xml", "OK", after=("sent_to_supplier", "new")),
        Case("mod-rs/iso18626_req_1.xml", "OK", after=("sent_to_supplier", "new")),
        Case("oclc-circill-toolkit/NewRequest.xml", "OK", after=("sent_to_supplier", "new")),
        Case("oclc-circill-toolkit/RequestSample2ForISOService.xml", "OK", after=("sent_to_supplier", "new")),
        # a platform library does not borrow through the outside endpoint, and may not send as a peer
        Case("oclc-circill-toolkit/RequestSample1.xml", "UnrecognisedDataValue"),
        Case("oclc-circill-toolkit/RequestFullWSILLMappingSample1.xml", "UnrecognisedDataValue"),
        Case("oclc-circill-toolkit/RequestSample1ForISOService.xml", "UnrecognisedDataValue"),
        # addressed to an agency that is not a platform library
        Case("mod-rs/request.xml", "UnrecognisedDataValue"),
        Case("oclc-circill-toolkit/RequestingAgencyMessageCancel.xml", "OK", ("sent_to_supplier", "new"),
             ("cancelled", "cancelled")),
        Case("oclc-circill-toolkit/RequestingAgencyMessageReceived.xml", "OK", ("shipped", "shipped"),
             ("received", "shipped")),
        Case("oclc-circill-toolkit/RequestingAgencyMessageRenew.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped")),
        Case("oclc-circill-toolkit/RequestingAgencyMessageReturned.xml", "OK", ("checked_out", "shipped"),
             ("returned", "return_shipped")),
        # received before it was shipped: refused, nothing changes
        Case("oclc-circill-toolkit/RequestingAgencyMessageReceived.xml", "UnsupportedActionType",
             ("sent_to_supplier", "new"), ("sent_to_supplier", "new")),
        Case("oclc-circill-toolkit/RequestingAgencyMessageNotification1.xml", "OK", ("shipped", "shipped"),
             ("shipped", "shipped")),
        Case("oclc-circill-toolkit/RequestingAgencyMessageSample1.xml", "OK", ("shipped", "shipped"),
             ("shipped", "shipped")),
        Case("mod-rs/requestingAgencyMessage.xml", "UnrecognisedDataValue"),  # no such request
    ],
}
PLATFORM_BORROWS = {  # platform libraries borrow from outside peers
    "platform": ["OCLC-ABCDE", "US-ocolcm"],
    "peers": ["OCLC-BCDEF", "US-ocolcwe", "agencyIdValue1"],
    "cases": [
        Case("oclc-circill-toolkit/SupplyingAgencyMessageLoaned.xml", "OK", ("will_supply", "awaiting_ship"),
             ("shipped", "shipped")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageOverdue.xml", "OK", ("checked_out", "shipped"),
             ("overdue", "overdue")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageRecall.xml", "OK", ("checked_out", "shipped"),
             ("recalled", "recalled")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageRenewYes.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped"), renewal_pending=True),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageRenewNo.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped"), renewal_pending=True),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageCancelYes.xml", "OK", ("cancel_pending", "cancel_requested"),
             ("cancelled", "cancelled")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageCancelNo.xml", "OK", ("cancel_pending", "cancel_requested"),
             ("will_supply", "awaiting_ship")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageRefused.xml", "OK", ("sent_to_supplier", "new"),
             ("unfilled", None)),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageClosedSupplied.xml", "OK", ("returned", "return_shipped"),
             ("completed", "completed")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageNotification1.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageNotificationSample1.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageSample1.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped"), renewal_pending=True),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageShippedCopy.xml", "OK", ("checked_out", "shipped"),
             ("checked_out", "shipped"), renewal_pending=True),
        Case("mod-rs/supplyingAgencyMessage.xml", "OK", ("sent_to_supplier", "new"), ("sent_to_supplier", "new")),
        # a loan shipped twice is confirmed without a change (peers resend)
        Case("oclc-circill-toolkit/SupplyingAgencyMessageLoaned.xml", "OK", ("shipped", "shipped"),
             ("shipped", "shipped")),
        # Loaned without WillSupply first (ReShare sends ExpectToSupply, then Loaned) is taken as both
        Case("oclc-circill-toolkit/SupplyingAgencyMessageLoaned.xml", "OK", ("sent_to_supplier", "new"),
             ("shipped", "shipped")),
        Case("oclc-circill-toolkit/SupplyingAgencyMessageLoaned.xml", "OK", ("expects_to_supply", "expect_to_supply"),
             ("shipped", "shipped")),
        # a status the request cannot take now: refused, nothing changes
        Case("oclc-circill-toolkit/SupplyingAgencyMessageOverdue.xml", "UnsupportedActionType",
             ("sent_to_supplier", "new"), ("sent_to_supplier", "new")),
    ],
}
CONFIRMATIONS = [path.relative_to(SAMPLES).as_posix() for path in sorted(SAMPLES.glob("*/*onfirmation*.xml"))]


def _institutions(setup: dict[str, Any]) -> list[InstitutionSnapshot]:
    hasher = PasswordHasher()
    return [InstitutionSnapshot(code=code, name_en=code, kind="university", regions=REGION, version=1)
            for code in setup["platform"]] + [
        InstitutionSnapshot(code=code, name_en=code, kind="external-peer", regions=REGION, version=1,
                            iso18626=PeerConfig(endpoint_url="http://127.0.0.1:9/iso18626", schema_version="1.2",
                                                credential_hash=hasher.hash(SECRETS.get(code, DEFAULT_SECRET))))
        for code in setup["peers"]]


@asynccontextmanager
async def _broker(tmp_path: Path, setup: dict[str, Any]) -> AsyncIterator[Broker]:
    async with broker(tmp_path) as b:
        await b.add_institutions(_institutions(setup))
        yield b


async def _post(b: Broker, message: Message, body: bytes) -> Confirmation:
    sender = message.header.supplying_agency_id if message.kind == "supplyingAgencyMessage" else \
        message.header.requesting_agency_id
    code = sender.agency_id_value if sender else ""
    basic = base64.b64encode(f"{code}:{SECRETS.get(code, DEFAULT_SECRET)}".encode()).decode()
    answer = await b.client.post("/ill/iso18626", content=body, headers={
        "Content-Type": "application/xml", "Authorization": f"Basic {basic}"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("application/xml"), answer.text
    confirmation = parse(answer.content)
    assert isinstance(confirmation, Confirmation)
    assert confirmation.kind == f"{message.kind}Confirmation"
    assert confirmation.version == message.version
    assert confirmation.confirmation_header.requesting_agency_request_id == message.header.requesting_agency_request_id
    return confirmation


async def _seed(b: Broker, message: Message, case: Case) -> str:
    """Put the request the message talks about into the state the message assumes."""
    header = message.header
    assert case.before is not None and header.supplying_agency_id is not None
    requester, supplier = header.requesting_agency_id.agency_id_value, header.supplying_agency_id.agency_id_value
    peer_borrows = message.kind == "requestingAgencyMessage"
    request_id = f"seeded-{header.requesting_agency_request_id}"[:40] if peer_borrows else \
        header.requesting_agency_request_id
    now = datetime.now(UTC)
    async with b.runtime.engine.begin() as conn:
        for table, column in ((requests, requests.c.id), (rota_entries, rota_entries.c.request_id),
                              (request_steps, request_steps.c.request_id),
                              (peer_message_fingerprints, peer_message_fingerprints.c.request_id)):
            await conn.execute(sa.delete(table).where(column == request_id))
        await conn.execute(sa.insert(requests).values(
            id=request_id, borrower=requester, patron_id=None, created_by="seed",
            origin="iso18626" if peer_borrows else "platform",
            peer_request_id=header.requesting_agency_request_id if peer_borrows else None, cluster_id=None,
            item_key=f"seed:{request_id}", citation={"title": "Seeded"}, title="Seeded",
            service_type=case.service_type, service_level="normal", requester_state=case.before[0],
            supplier_state=case.before[1], lender=supplier, rota_position=1, due_date=DUE,
            renewal_pending=case.renewal_pending, created_at=now, updated_at=now, version=1))
        await conn.execute(sa.insert(rota_entries).values(
            request_id=request_id, seq=1, position=1, lender=supplier, tier="region", on_shelf=True,
            reason="seeded", status="asked", asked_at=now))
    return request_id


async def _states(b: Broker, request_id: str) -> tuple[str, str | None, bool, date | None]:
    async with b.runtime.engine.connect() as conn:
        row = (await conn.execute(sa.select(requests).where(requests.c.id == request_id))).one()
    return row.requester_state, row.supplier_state, row.renewal_pending, row.due_date


async def _replay(b: Broker, case: Case) -> None:
    body = (SAMPLES / case.sample).read_bytes()
    message = parse(body)
    assert isinstance(message, Message)
    request_id = await _seed(b, message, case) if case.before else None
    confirmation = await _post(b, message, body)
    errors = [e.error_type.value for e in confirmation.error_data]
    assert (errors[0] if errors else "OK") == case.answer, (case.sample, confirmation.error_data)
    if message.kind == "request" and case.answer == "OK":
        async with b.runtime.engine.connect() as conn:
            row = (await conn.execute(sa.select(requests).where(
                requests.c.borrower == message.header.requesting_agency_id.agency_id_value,
                requests.c.peer_request_id == message.header.requesting_agency_request_id))).one()
        assert (row.requester_state, row.supplier_state) == case.after
        assert row.lender == message.header.supplying_agency_id.agency_id_value  # type: ignore[union-attr]
        return
    if request_id is None:
        return
    requester, supplier, pending, due = await _states(b, request_id)
    assert (requester, supplier) == case.after, case.sample
    if case.renewal_pending:
        assert not pending, f"{case.sample}: the renewal answer was not applied"
        approved = message.message_info.answer_yes_no if message.kind == "supplyingAgencyMessage" else None  # type: ignore[union-attr]
        assert (due != DUE) == bool(approved), case.sample
    if case.sample.endswith("Renew.xml"):
        assert pending


@pytest.mark.parametrize("setup", [PEERS_BORROW, PLATFORM_BORROWS], ids=["peers-borrow", "platform-borrows"])
async def test_every_sample_message_is_answered_and_applied(tmp_path: Path, setup: dict[str, Any]) -> None:
    async with _broker(tmp_path, setup) as b:
        for case in setup["cases"]:
            await _replay(b, case)


async def test_confirmation_samples_are_answers_not_messages(tmp_path: Path) -> None:
    async with _broker(tmp_path, PEERS_BORROW) as b:
        for sample in CONFIRMATIONS:
            answer = await b.client.post("/ill/iso18626", content=(SAMPLES / sample).read_bytes())
            confirmation = parse(answer.content)
            assert isinstance(confirmation, Confirmation)
            assert [e.error_type.value for e in confirmation.error_data] == ["UnsupportedActionType"], sample


def test_every_sample_is_covered() -> None:
    covered = {c.sample for setup in (PEERS_BORROW, PLATFORM_BORROWS) for c in setup["cases"]} | set(CONFIRMATIONS)
    assert covered == {p.relative_to(SAMPLES).as_posix() for p in SAMPLES.glob("*/*.xml")}
