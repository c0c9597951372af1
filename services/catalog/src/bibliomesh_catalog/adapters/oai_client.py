"""An OAI-PMH 2.0 harvester's side of the wire: requests with retries, responses parsed safely.

Each request is a GET, retried with a growing pause on network errors and on 429/502/503/504 (a 503's
`Retry-After`, in seconds or as a date, sets the pause). Bodies are read up to a size limit and parsed by lxml
with no entity resolution, no DTD, no network and no huge trees; a document type declaration is refused outright,
as for MARCXML uploads. OAI-PMH error codes become `OaiProtocolError`, anything else that stops a harvest
(HTTP status, unreachable host, not OAI-PMH XML) `HarvestError`.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from lxml import etree

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
DAY = "YYYY-MM-DD"
SECOND = "YYYY-MM-DDThh:mm:ssZ"
RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_PAUSE_SECONDS = 600.0
_NS = {"o": OAI_NS}


class HarvestError(Exception):
    """The source could not be harvested (HTTP status, network, a response that is not OAI-PMH)."""


class OaiProtocolError(HarvestError):
    """The source answered with an OAI-PMH error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


@dataclass(frozen=True)
class Identity:
    granularity: str
    response_date: datetime | None


@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    namespace: str


@dataclass(frozen=True)
class OaiItem:
    """One `<record>` of a ListRecords page: its header and its metadata element (None when deleted)."""

    identifier: str
    datestamp: str
    deleted: bool
    metadata: Any


@dataclass(frozen=True)
class OaiPage:
    items: list[OaiItem]
    token: str | None


def parse_datestamp(text: str | None) -> datetime | None:
    """A UTC datetime from an OAI datestamp (day or second granularity; lenient about fractions and offsets)."""
    if not text:
        return None
    value = text.strip()
    try:
        if len(value) == 10:
            return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def format_datestamp(moment: datetime, granularity: str) -> str:
    return moment.strftime("%Y-%m-%d") if granularity == DAY else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def parse_response(body: bytes) -> Any:
    """The `<OAI-PMH>` root of a response; HarvestError if it is not one, OaiProtocolError for an error code."""
    try:
        root = etree.fromstring(body, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise HarvestError(f"malformed XML from the source: {exc.msg} (line {exc.lineno})") from exc
    if root.getroottree().docinfo.doctype:
        raise HarvestError("refused: the response has a document type declaration (DTD/entities)")
    if root.tag != f"{{{OAI_NS}}}OAI-PMH":
        raise HarvestError(f"not an OAI-PMH response (root element {etree.QName(root).localname!r})")
    errors = root.findall("o:error", _NS)
    if errors:
        raise OaiProtocolError(errors[0].get("code") or "unknown", " ".join((e.text or "").strip() for e in errors))
    return root


def _response_date(root: Any) -> datetime | None:
    return parse_datestamp(root.findtext("o:responseDate", namespaces=_NS))


def _item(record: Any) -> OaiItem:
    header = record.find("o:header", _NS)
    metadata = record.find("o:metadata", _NS)
    content = next(iter(metadata.iterchildren(etree.Element)), None) if metadata is not None else None
    if header is None:
        return OaiItem("", "", False, content)
    return OaiItem((header.findtext("o:identifier", namespaces=_NS) or "").strip(),
                   (header.findtext("o:datestamp", namespaces=_NS) or "").strip(),
                   header.get("status") == "deleted", content)


def _pause(response: httpx.Response | None, attempt: int, base: float) -> float:
    retry_after = response.headers.get("retry-after", "").strip() if response is not None else ""
    if retry_after.isdigit():
        return min(float(retry_after), MAX_PAUSE_SECONDS)
    if retry_after:
        try:
            when = email.utils.parsedate_to_datetime(retry_after)
            return min(max((when - datetime.now(UTC)).total_seconds(), 0.0), MAX_PAUSE_SECONDS)
        except (TypeError, ValueError):
            pass
    return min(base * 2.0 ** attempt, MAX_PAUSE_SECONDS)


class OaiClient:
    """Talks to one OAI-PMH base URL through `http` (whose timeouts apply to each try)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str, *, attempts: int = 4, retry_seconds: float = 2.0,
                 max_bytes: int = 64 * 1024 * 1024) -> None:
        self.http = http
        self.base_url = base_url
        self.attempts = attempts
        self.retry_seconds = retry_seconds
        self.max_bytes = max_bytes

    async def identify(self) -> Identity:
        root = await self.request(verb="Identify")
        granularity = (root.findtext("o:Identify/o:granularity", namespaces=_NS) or DAY).strip()
        return Identity(SECOND if granularity == SECOND else DAY, _response_date(root))

    async def metadata_formats(self) -> list[MetadataFormat]:
        root = await self.request(verb="ListMetadataFormats")
        return [MetadataFormat((f.findtext("o:metadataPrefix", namespaces=_NS) or "").strip(),
                               (f.findtext("o:metadataNamespace", namespaces=_NS) or "").strip())
                for f in root.iterfind("o:ListMetadataFormats/o:metadataFormat", _NS)]

    async def list_records(self, prefix: str, from_: str | None = None, set_spec: str | None = None
                           ) -> AsyncIterator[OaiPage]:
        """Every page of a ListRecords harvest, following resumption tokens; none when noRecordsMatch."""
        params = {"verb": "ListRecords", "metadataPrefix": prefix}
        if from_:
            params["from"] = from_
        if set_spec:
            params["set"] = set_spec
        seen: set[str] = set()
        while True:
            try:
                root = await self.request(**params)
            except OaiProtocolError as exc:
                if exc.code == "noRecordsMatch" and "resumptionToken" not in params:
                    return
                raise
            listing = root.find("o:ListRecords", _NS)
            if listing is None:
                raise HarvestError("the ListRecords response has no ListRecords element")
            token = (listing.findtext("o:resumptionToken", namespaces=_NS) or "").strip() or None
            yield OaiPage([_item(r) for r in listing.iterfind("o:record", _NS)], token)
            if token is None:
                return
            if token in seen:
                raise HarvestError("the source sent the same resumption token twice")
            seen.add(token)
            params = {"verb": "ListRecords", "resumptionToken": token}

    async def request(self, **params: str) -> Any:
        """GET the base URL with `params`, retrying, and return the parsed `<OAI-PMH>` root."""
        for attempt in range(self.attempts):
            last = attempt + 1 == self.attempts
            try:
                status, body, response = await self._get(params)
            except httpx.TransportError as exc:
                if last:
                    raise HarvestError(f"could not reach the source: {type(exc).__name__} {exc}"[:500]) from exc
                await asyncio.sleep(_pause(None, attempt, self.retry_seconds))
                continue
            if status in RETRY_STATUSES and not last:
                await asyncio.sleep(_pause(response, attempt, self.retry_seconds))
                continue
            if status != 200:
                raise HarvestError(f"HTTP {status} from the source for verb {params.get('verb')}")
            return await asyncio.to_thread(parse_response, body)
        raise AssertionError("unreachable")

    async def _get(self, params: dict[str, str]) -> tuple[int, bytes, httpx.Response]:
        async with self.http.stream("GET", self.base_url, params=params) as response:
            if response.status_code != 200:
                return response.status_code, b"", response
            chunks, size = [], 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > self.max_bytes:
                    raise HarvestError(f"the source's response is larger than {self.max_bytes} bytes")
                chunks.append(chunk)
            return 200, b"".join(chunks), response
