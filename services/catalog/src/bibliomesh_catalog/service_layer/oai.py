"""OAI-PMH 2.0 data provider over the union catalogue: one item per cluster, sets per holding institution.

Every answer is a 200 OAI-PMH document; what a harvester got wrong comes back as an OAI error code. Deleted
clusters keep their headers (deletedRecord `persistent`) and the sets they were in, so that a harvester of one
institution's set sees them go (see `adapters/oai_queries`). Lists page by (datestamp, id) with stateless resumption
tokens (see `oai_arguments`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree
from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters import oai_queries as queries
from bibliomesh_catalog.adapters.search.holdings import load_displays, load_items, load_representative_marc
from bibliomesh_catalog.adapters.search.records_xml import clean, dublin_core, marcxml
from bibliomesh_catalog.domain.display import ClusterDisplay
from bibliomesh_catalog.service_layer import oai_xml as xml
from bibliomesh_catalog.service_layer.oai_arguments import (
    ListRequest,
    OaiError,
    Position,
    check_arguments,
    decode_token,
    encode_token,
)
from bibliomesh_catalog.service_layer.oai_set_specs import institution_of, set_spec

log = logging.getLogger(__name__)

PAGE_SIZE = 100
REPOSITORY_NAME = "Bibliomesh union catalogue"


@dataclass(frozen=True)
class Provider:
    """Who answers: the base URL harvesters use, the address in Identify, the key resumption tokens are signed with."""

    base_url: str
    admin_email: str
    token_key: bytes
MEDIA_TYPE = "text/xml; charset=utf-8"
VERBS = ("Identify", "ListMetadataFormats", "ListSets", "ListIdentifiers", "ListRecords", "GetRecord")


@dataclass(frozen=True)
class OaiReply:
    body: bytes
    media_type: str = MEDIA_TYPE


async def handle_oai(session: AsyncSession, pairs: Sequence[tuple[str, str]], provider: Provider,
                     now: datetime | None = None) -> OaiReply:
    """Answer one OAI-PMH request, given its arguments as (name, value) pairs in order (GET query or POST form)."""
    now = now or datetime.now(UTC)
    arguments: dict[str, str] = {}
    repeated = set()
    for name, value in pairs:
        if name in arguments:
            repeated.add(name)
        arguments[name] = value
    verb = arguments.pop("verb", None)
    if verb not in VERBS or "verb" in repeated:
        root, _ = xml.envelope(provider.base_url, None, {}, now)
        xml.error(root, "badVerb", "verb is missing, repeated or not an OAI-PMH verb")
        return OaiReply(xml.serialize(root))
    assert verb is not None
    try:
        if repeated:
            raise OaiError("badArgument", f"repeated argument(s): {', '.join(sorted(repeated))}")
        check_arguments(verb, arguments)
    except OaiError as problem:
        root, _ = xml.envelope(provider.base_url, None, {}, now)
        xml.error(root, problem.code, problem.message)
        return OaiReply(xml.serialize(root))
    root, request = xml.envelope(provider.base_url, verb, arguments, now)
    try:
        await _VERB_HANDLERS[verb](session, root, arguments, provider)
    except OaiError as problem:
        for child in root[2:]:
            root.remove(child)
        if problem.code == "badArgument":
            request.attrib.clear()
        xml.error(root, problem.code, problem.message)
    return OaiReply(xml.serialize(root))


def _cluster_id(identifier: str) -> int:
    suffix = identifier.removeprefix(xml.IDENTIFIER_PREFIX)
    if suffix == identifier or not suffix.isascii() or not suffix.isdigit() or len(suffix) > 18:
        raise OaiError("idDoesNotExist", f"{identifier} is not an identifier of this repository")
    return int(suffix)


def _format(prefix: str) -> str:
    if prefix not in xml.FORMATS:
        raise OaiError("cannotDisseminateFormat", f"{prefix} is not a metadata format of this repository")
    return prefix


def _institution(spec: str | None) -> str | None:
    if spec is None:
        return None
    institution = institution_of(spec)
    if institution is None:
        raise OaiError("badArgument", f"set={spec} is not a setSpec of this repository (see ListSets)")
    return institution


async def _identify(session: AsyncSession, root: etree._Element, _args: dict[str, str], provider: Provider) -> None:
    earliest = await queries.earliest_datestamp(session) or datetime(2000, 1, 1, tzinfo=UTC)
    identify = etree.SubElement(root, xml.oai("Identify"))
    for tag, text in (("repositoryName", REPOSITORY_NAME), ("baseURL", provider.base_url), ("protocolVersion", "2.0"),
                      ("adminEmail", provider.admin_email), ("earliestDatestamp", xml.datestamp(earliest)),
                      ("deletedRecord", "persistent"), ("granularity", "YYYY-MM-DDThh:mm:ssZ")):
        etree.SubElement(identify, xml.oai(tag)).text = text


async def _list_metadata_formats(session: AsyncSession, root: etree._Element, args: dict[str, str],
                                 _provider: Provider) -> None:
    if "identifier" in args:
        found = await queries.header(session, _cluster_id(args["identifier"]))
        if found is None:
            raise OaiError("idDoesNotExist", f"{args['identifier']} is not in this repository")
    element = etree.SubElement(root, xml.oai("ListMetadataFormats"))
    for prefix in xml.FORMATS:
        xml.metadata_format(element, prefix)


async def _list_sets(session: AsyncSession, root: etree._Element, args: dict[str, str], _provider: Provider) -> None:
    if "resumptionToken" in args:
        raise OaiError("badResumptionToken", "the set list is never split, so no token is valid")
    element = etree.SubElement(root, xml.oai("ListSets"))
    for code, name in await queries.holder_sets(session):
        entry = etree.SubElement(element, xml.oai("set"))
        etree.SubElement(entry, xml.oai("setSpec")).text = set_spec(code)
        etree.SubElement(entry, xml.oai("setName")).text = clean(name)


async def _metadata(session: AsyncSession, cluster_ids: list[int], prefix: str) -> dict[int, etree._Element]:
    """The metadata of the live clusters among `cluster_ids` in `prefix`'s format."""
    displays = await load_displays(session, cluster_ids)
    live = list(displays)
    marc = await load_representative_marc(session, live) if prefix == "marc21" else {}
    items = await load_items(session, live) if prefix == "marc21" else {}
    found = {}
    for cluster_id, (format_, raw) in displays.items():
        union = ClusterDisplay.model_validate({"format": format_, **raw})
        if prefix == "marc21":
            member_marc, institution = marc.get(cluster_id, (None, None))
            data = marcxml(cluster_id, union, member_marc, items.get(cluster_id, []), institution)
        else:
            data = dublin_core(cluster_id, union)
        found[cluster_id] = xml.with_schema_location(data, prefix)
    return found


async def _add_records(session: AsyncSession, parent: etree._Element, headers: list[queries.Header], prefix: str,
                       with_metadata: bool) -> None:
    sets = await queries.sets_of(session, headers)
    metadata = await _metadata(session, [h.cluster_id for h in headers if not h.deleted], prefix) \
        if with_metadata else {}
    for found in headers:
        deleted = found.deleted or (with_metadata and found.cluster_id not in metadata)
        holder = etree.SubElement(parent, xml.oai("record")) if with_metadata else parent
        specs = [set_spec(code) for code in sets.get(found.cluster_id, [])]
        xml.header(holder, found.cluster_id, found.datestamp, deleted, specs)
        if with_metadata and not deleted:
            etree.SubElement(holder, xml.oai("metadata")).append(metadata[found.cluster_id])


async def _get_record(session: AsyncSession, root: etree._Element, args: dict[str, str], _provider: Provider) -> None:
    cluster_id = _cluster_id(args["identifier"])
    found = await queries.header(session, cluster_id)
    if found is None:
        raise OaiError("idDoesNotExist", f"{args['identifier']} is not in this repository")
    prefix = _format(args["metadataPrefix"])
    await _add_records(session, etree.SubElement(root, xml.oai("GetRecord")), [found], prefix, with_metadata=True)


async def _list(session: AsyncSession, root: etree._Element, args: dict[str, str], with_metadata: bool,
                key: bytes) -> None:
    verb = "ListRecords" if with_metadata else "ListIdentifiers"
    if "resumptionToken" in args:
        resumed = decode_token(args["resumptionToken"], key)
        position: Position | None = resumed
        request = resumed.request
    else:
        position = None
        request = ListRequest(args["metadataPrefix"], args.get("from"), args.get("until"), args.get("set"))
    start, end = request.window()
    prefix = _format(request.metadata_prefix)
    institution = _institution(request.set_spec)
    after = (position.after_datestamp, position.after_id) if position else None
    cursor = position.cursor if position else 0
    page = await queries.page_of_headers(session, start, end, institution, after, PAGE_SIZE + 1)
    if not page:
        if position is not None:
            raise OaiError("badResumptionToken", "the resumption token is invalid or has expired")
        raise OaiError("noRecordsMatch", "no records match the request")
    more = len(page) > PAGE_SIZE
    page = page[:PAGE_SIZE]
    element = etree.SubElement(root, xml.oai(verb))
    await _add_records(session, element, page, prefix, with_metadata)
    if position is None and not more:
        return
    total = await queries.count_headers(session, start, end, institution)
    token = encode_token(Position(request, page[-1].datestamp, page[-1].cluster_id, cursor + len(page)), key) \
        if more else None
    xml.resumption_token(element, token, total, cursor)


async def _list_identifiers(session: AsyncSession, root: etree._Element, args: dict[str, str],
                            provider: Provider) -> None:
    await _list(session, root, args, False, provider.token_key)


async def _list_records(session: AsyncSession, root: etree._Element, args: dict[str, str],
                        provider: Provider) -> None:
    await _list(session, root, args, True, provider.token_key)


_VERB_HANDLERS = {"Identify": _identify, "ListMetadataFormats": _list_metadata_formats, "ListSets": _list_sets,
                  "ListIdentifiers": _list_identifiers, "ListRecords": _list_records, "GetRecord": _get_record}
