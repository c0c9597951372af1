"""New requests from ISO 18626 peers: identifiers the broker cannot use are answered with ISO `errorData` or
ignored, never with a bare HTTP 500, and a peer's retry that overtakes its first message makes no second request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, nullcontext
from pathlib import Path

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from broker_fixtures import REGION, Broker, broker, item, region

from bibliomesh_contracts.events.directory import InstitutionSnapshot
from bibliomesh_contracts.events.directory.institution import Iso18626Peer as PeerConfig
from bibliomesh_ill.adapters.tables import requests
from bibliomesh_ill.iso18626 import AgencyId, ErrorType, Request
from bibliomesh_ill.iso18626.peer_client import PeerRejected
from tests.support.infra import postgres_database
from tests.support.iso18626_peer import Iso18626Peer, iso18626_peer
from tests.support.serving import serving

PEER = "ZZ-PEER"
SECRET = "peer-shared-secret-0123456789"
LENDER = AgencyId(agency_id_type="ISIL", agency_id_value="CN-PL")


@asynccontextmanager
async def peer_and_broker(tmp_path: Path, database_url: str | None = None
                          ) -> AsyncIterator[tuple[Broker, Iso18626Peer, str]]:
    async with broker(tmp_path, database_url, catalog_url="http://127.0.0.1:9") as b, \
            serving(b.app, "/ill/iso18626") as endpoint, \
            iso18626_peer(agency=AgencyId(agency_id_type="ISIL", agency_id_value=PEER), secret=SECRET) as peer:
        config = PeerConfig(endpoint_url=peer.url, schema_version="1.2", credential_hash=PasswordHasher().hash(SECRET))
        await b.add_institutions([*region(), InstitutionSnapshot(
            code=PEER, name_en="A ReShare library", kind="external-peer", regions=REGION, version=1, iso18626=config)])
        await b.add_holdings([item("CN-PL", "p1", 12, isbns=["9787020002207"])])
        yield b, peer, endpoint


def naming_record(request: Request, record_id: str) -> Request:
    bib = request.bibliographic_info.model_copy(update={"supplier_unique_record_id": record_id})
    return request.model_copy(update={"bibliographic_info": bib})


async def peer_requests(b: Broker, peer_request_id: str) -> list[str]:
    async with b.runtime.engine.connect() as conn:
        return list(await conn.scalars(sa.select(requests.c.id).where(
            requests.c.borrower == PEER, requests.c.peer_request_id == peer_request_id)))


async def test_an_isbn_with_an_x_before_the_check_digit_is_not_an_isbn(tmp_path: Path) -> None:
    async with peer_and_broker(tmp_path) as (b, peer, endpoint):
        request = peer.new_request(LENDER, isbn="X123456789")
        confirmation = await peer.send(request, endpoint)
        assert confirmation.ok, confirmation
        made = await peer_requests(b, request.header.requesting_agency_request_id)
        assert len(made) == 1
        assert (await b.stored(made[0]))["lender"] == "CN-PL"


@pytest.mark.parametrize("record_id", ["cluster:\u00b2", "cluster:99999999999999999999", f"cluster:{'9' * 5000}",
                                       "\u0663"], ids=["superscript", "beyond-max-id", "5000-digits", "arabic-indic"])
async def test_a_supplier_record_id_that_cannot_be_a_cluster_is_an_iso_error(tmp_path: Path, record_id: str) -> None:
    async with peer_and_broker(tmp_path) as (b, peer, endpoint):
        request = naming_record(peer.new_request(LENDER), record_id)
        with pytest.raises(PeerRejected) as refused:
            await peer.send(request, endpoint)
        error = refused.value.confirmation.error_data[0]
        assert error.error_type is ErrorType.UNRECOGNISED_DATA_VALUE
        assert "supplierUniqueRecordId" in (error.error_value or "")
        assert await peer_requests(b, request.header.requesting_agency_request_id) == []

        known = naming_record(peer.new_request(LENDER), "cluster:12")
        assert (await peer.send(known, endpoint)).ok
        elsewhere = naming_record(peer.new_request(LENDER), "ocm12345")   # the peer's own record id: ignored
        assert (await peer.send(elsewhere, endpoint)).ok


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
async def test_a_retry_that_overtakes_the_first_message_makes_no_second_request(tmp_path: Path, kind: str) -> None:
    async with postgres_database("bm_ill_peer_retry") if kind == "postgresql" else nullcontext() as url, \
            peer_and_broker(tmp_path, url) as (b, peer, endpoint):
        request = naming_record(peer.new_request(LENDER), "cluster:12")
        answers = await asyncio.gather(*(peer.send(request, endpoint) for _ in range(3)))
        assert all(answer.ok for answer in answers), answers
        assert len(await peer_requests(b, request.header.requesting_agency_request_id)) == 1
