"""OAI-PMH sources for the harvester tests, served over real HTTP on loopback.

`serving` puts any started ASGI app (our own catalogue's provider, say) on an ephemeral port. `StaticProvider`
is a small OAI-PMH 2.0 repository over real records, the Caltech oai_dc response shipped with Debian's
idzebra examples: it pages them with resumption tokens, filters by `from` at day granularity, can change and
delete records, can be told to answer the next requests with faults (503 + Retry-After, 404, bad XML, OAI
error codes) or to hold back its next pages, and logs every request it receives.
"""

from __future__ import annotations

import asyncio
import copy
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import uvicorn
from lxml import etree
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from services.catalog.tests.catalog_fixtures import Catalog
from tests.support import testdata

OAI = "http://www.openarchives.org/OAI/2.0/"
LOOPBACK_SOURCES = {"harvest_allow_private": True}
"""Catalogue settings for harvesting these loopback sources (refused by default, as in production)."""
DC = "http://purl.org/dc/elements/1.1/"
OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS = {"o": OAI, "dc": DC, "oai_dc": OAI_DC}


@asynccontextmanager
async def serving(app: Any, path: str) -> AsyncIterator[str]:
    """Serve an ASGI app over real HTTP on a loopback port; yields the URL of `path` on it."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, lifespan="off", log_level="warning"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}{path}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)
        sock.close()


def caltech_records() -> list[Any]:
    """The 100 `<record>` elements of the Caltech ListRecords response, in file order."""
    root = etree.parse(str(testdata.zebra("oai-pmh", "data", "oai-caltech.xml"))).getroot()
    return list(root.findall("o:ListRecords/o:record", NS))


def identifier_of(record: Any) -> str:
    return str(record.findtext("o:header/o:identifier", namespaces=NS))


def datestamp_of(record: Any) -> str:
    return str(record.findtext("o:header/o:datestamp", namespaces=NS))


@dataclass
class StaticProvider:
    records: list[Any]
    page_size: int = 40
    response_date: str = "2005-12-20T08:40:20Z"
    formats: tuple[str, ...] = ("oai_dc",)
    requests: list[dict[str, str]] = field(default_factory=list)
    faults: list[Response | None] = field(default_factory=list)
    """Answers for the next requests, in order (None: answer normally)."""
    delay: float = 0.0
    gate: asyncio.Event | None = None
    """If given, requests that resume a list (with a resumptionToken) wait until it is set."""

    def list_requests(self) -> list[dict[str, str]]:
        return [r for r in self.requests if r.get("verb") == "ListRecords"]

    def change_title(self, identifier: str, title: str, datestamp: str) -> None:
        record = self._find(identifier)
        record.find("o:metadata/oai_dc:dc/dc:title", NS).text = title
        record.find("o:header/o:datestamp", NS).text = datestamp

    def delete(self, identifier: str, datestamp: str) -> None:
        record = self._find(identifier)
        header = record.find("o:header", NS)
        header.set("status", "deleted")
        header.find("o:datestamp", NS).text = datestamp
        record.remove(record.find("o:metadata", NS))

    def add_copy(self, of: str, identifier: str, title: str, datestamp: str) -> None:
        record = copy.deepcopy(self._find(of))
        record.find("o:header/o:identifier", NS).text = identifier
        self.records.append(record)
        self.change_title(identifier, title, datestamp)

    def _find(self, identifier: str) -> Any:
        return next(r for r in self.records if identifier_of(r) == identifier)

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/oai", self._answer), Route("/missing", self._missing)])

    async def _missing(self, request: Request) -> Response:
        return Response("not here", status_code=404)

    async def _answer(self, request: Request) -> Response:
        params = dict(request.query_params)
        self.requests.append(params)
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.gate is not None and "resumptionToken" in params:
            await self.gate.wait()
        fault = self.faults.pop(0) if self.faults else None
        if fault is not None:
            return fault
        root = etree.Element(f"{{{OAI}}}OAI-PMH", nsmap={None: OAI})
        etree.SubElement(root, f"{{{OAI}}}responseDate").text = self.response_date
        etree.SubElement(root, f"{{{OAI}}}request", verb=params.get("verb", "")).text = str(request.url)
        verb = params.get("verb")
        if verb == "Identify":
            identify = etree.SubElement(root, f"{{{OAI}}}Identify")
            for tag, text in (("repositoryName", "Static"), ("baseURL", str(request.url)), ("protocolVersion", "2.0"),
                              ("earliestDatestamp", "2001-01-01"), ("deletedRecord", "persistent"),
                              ("granularity", "YYYY-MM-DD")):
                etree.SubElement(identify, f"{{{OAI}}}{tag}").text = text
        elif verb == "ListMetadataFormats":
            listing = etree.SubElement(root, f"{{{OAI}}}ListMetadataFormats")
            for prefix in self.formats:
                entry = etree.SubElement(listing, f"{{{OAI}}}metadataFormat")
                etree.SubElement(entry, f"{{{OAI}}}metadataPrefix").text = prefix
                etree.SubElement(entry, f"{{{OAI}}}schema").text = "http://example.invalid/schema.xsd"
                etree.SubElement(entry, f"{{{OAI}}}metadataNamespace").text = OAI_DC if prefix == "oai_dc" else \
                    "http://www.loc.gov/MARC21/slim"
        elif verb == "ListRecords":
            self._list_records(root, params)
        else:
            etree.SubElement(root, f"{{{OAI}}}error", code="badVerb").text = "not a verb"
        return Response(etree.tostring(root, xml_declaration=True, encoding="UTF-8"), media_type="text/xml")

    def _list_records(self, root: Any, params: dict[str, str]) -> None:
        token = params.get("resumptionToken")
        if token:
            _, page, since = token.split("|")
            number = int(page)
        else:
            if params.get("metadataPrefix") not in self.formats:
                etree.SubElement(root, f"{{{OAI}}}error", code="cannotDisseminateFormat").text = "no such format"
                return
            number, since = 0, params.get("from", "")
        matching = [r for r in self.records if datestamp_of(r) >= since]
        if not matching:
            etree.SubElement(root, f"{{{OAI}}}error", code="noRecordsMatch").text = "nothing"
            return
        listing = etree.SubElement(root, f"{{{OAI}}}ListRecords")
        for record in matching[number * self.page_size:(number + 1) * self.page_size]:
            listing.append(copy.deepcopy(record))
        if (number + 1) * self.page_size < len(matching):
            etree.SubElement(listing, f"{{{OAI}}}resumptionToken").text = f"p|{number + 1}|{since}"


def oai_error(code: str, message: str = "refused") -> Response:
    body = (f'<?xml version="1.0"?><OAI-PMH xmlns="{OAI}"><responseDate>2005-12-20T08:40:20Z</responseDate>'
            f'<request>x</request><error code="{code}">{message}</error></OAI-PMH>')
    return Response(body, media_type="text/xml")


async def harvest_now(cat: Catalog, institution: str, token_for: str | None = None) -> dict[str, Any]:
    """Ask for a run and wait until it finished; returns the run."""
    headers = cat.headers(token_for or institution)
    response = await cat.client.post(f"/catalog/harvest-sources/{institution}/runs", headers=headers)
    assert response.status_code == 202, response.text
    return await finished(cat.client, headers, institution, response.json()["id"])


async def finished(client: httpx.AsyncClient, headers: dict[str, str], institution: str, run_id: str
                   ) -> dict[str, Any]:
    for _ in range(1200):
        response = await client.get(f"/catalog/harvest-sources/{institution}/runs/{run_id}", headers=headers)
        assert response.status_code == 200, response.text
        run: dict[str, Any] = response.json()
        if run["status"] in ("succeeded", "failed"):
            return run
        await asyncio.sleep(0.05)
    raise AssertionError(f"harvest run {run_id} did not finish")


async def register(cat: Catalog, institution: str, base_url: str, **config: Any) -> dict[str, Any]:
    """Register the source; not `enabled` unless asked, so that only requested runs happen (no scheduled run
    racing the test's)."""
    response = await cat.client.put(f"/catalog/harvest-sources/{institution}",
                                    json={"base_url": base_url, "enabled": False, **config},
                                    headers=cat.headers(institution))
    assert response.status_code in (200, 201), response.text
    source: dict[str, Any] = response.json()
    return source
