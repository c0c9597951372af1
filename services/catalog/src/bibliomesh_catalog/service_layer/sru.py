"""SRU (Search/Retrieve via URL) 1.2 and 2.0 over the union catalogue: explain and searchRetrieve with CQL.

Whatever goes wrong with a request is answered as an SRU response with diagnostics, never as an HTTP error, so
harvesters and ILL peers can read what to change.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bibliomesh_catalog.adapters.search import engine_for
from bibliomesh_catalog.adapters.search.holdings import load_displays, load_items, load_representative_marc
from bibliomesh_catalog.adapters.search.query import SearchRequest
from bibliomesh_catalog.adapters.search.records_xml import dublin_core, marcxml
from bibliomesh_catalog.domain.display import ClusterDisplay
from bibliomesh_catalog.service_layer.cql import CqlSyntaxError, Diagnostic, parse, translate
from bibliomesh_catalog.service_layer.sru_response import (
    DC_SCHEMA,
    MARCXML_SCHEMA,
    SruRecord,
    explain_response,
    search_retrieve_response,
)

log = logging.getLogger(__name__)

DEFAULT_RECORDS = 10
MAX_RECORDS = 100
MAX_QUERY_LENGTH = 2000
BEYOND_ANY_POSITION = 2**63  # SQLite and PostgreSQL take an OFFSET up to 2**63 - 1 (a signed 64-bit integer)
SCHEMAS = {"marcxml": MARCXML_SCHEMA, MARCXML_SCHEMA: MARCXML_SCHEMA, "info:srw/schema/1/marcxml-v1.2": MARCXML_SCHEMA,
           "marc21": MARCXML_SCHEMA, "dc": DC_SCHEMA, DC_SCHEMA: DC_SCHEMA, "oai_dc": DC_SCHEMA}
MEDIA_TYPE = "application/xml; charset=utf-8"


@dataclass(frozen=True)
class SruReply:
    """The XML body of the response; the status is always 200, problems travel as diagnostics."""

    body: bytes
    media_type: str = MEDIA_TYPE


def _version(params: Mapping[str, str]) -> str:
    requested = params.get("version") or "2.0"
    if requested in ("1.1", "1.2"):
        return "1.2"
    if requested == "2.0":
        return "2.0"
    raise Diagnostic(5, "2.0")


def _integer(params: Mapping[str, str], name: str, default: int, minimum: int) -> int:
    """The parameter's value, or BEYOND_ANY_POSITION for one past what a database offset can hold."""
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    digits = raw.strip()
    if not (digits.isascii() and digits.isdigit()):
        raise Diagnostic(6, f"{name}={raw}")
    # Compared as text first: int() refuses strings of more than 4,300 digits.
    significant = digits.lstrip("0") or "0"
    value = int(significant) if len(significant) <= len(str(BEYOND_ANY_POSITION)) else BEYOND_ANY_POSITION
    if value < minimum:
        raise Diagnostic(6, f"{name}={raw}")
    return min(value, BEYOND_ANY_POSITION)


def _packing(params: Mapping[str, str], version: str) -> str:
    if version == "1.2":
        packing = params.get("recordPacking") or "xml"
    else:
        if (params.get("recordPacking") or "packed") not in ("packed", "xml"):
            raise Diagnostic(71, params.get("recordPacking"))
        packing = params.get("recordXMLEscaping") or "xml"
    if packing not in ("xml", "string"):
        raise Diagnostic(71, packing)
    return packing


async def handle_sru(session: AsyncSession, params: Mapping[str, str], base_url: str) -> SruReply:
    """Answer one SRU request (the query parameters as given) with an explain or searchRetrieve response."""
    try:
        version = _version(params)
    except Diagnostic as diagnostic:
        return SruReply(search_retrieve_response("2.0", 0, [], "xml", None, [diagnostic]))
    operation = params.get("operation") or ("searchRetrieve" if params.get("query") is not None else "explain")
    if operation == "explain":
        return SruReply(explain_response(version, base_url, DEFAULT_RECORDS, MAX_RECORDS))
    if operation != "searchRetrieve":
        return SruReply(search_retrieve_response(version, 0, [], "xml", None, [Diagnostic(4, operation)]))
    try:
        return await _search_retrieve(session, params, version)
    except Diagnostic as diagnostic:
        return SruReply(search_retrieve_response(version, 0, [], "xml", None, [diagnostic]))
    except Exception:
        log.exception("SRU searchRetrieve failed", extra={"query": params.get("query")})
        return SruReply(search_retrieve_response(version, 0, [], "xml", None, [Diagnostic(1, "try again later")]))


async def _search_retrieve(session: AsyncSession, params: Mapping[str, str], version: str) -> SruReply:
    query_text = params.get("query")
    if query_text is None:
        raise Diagnostic(7, "query")
    if len(query_text) > MAX_QUERY_LENGTH:
        raise Diagnostic(10, f"the query is longer than {MAX_QUERY_LENGTH} characters")
    start = _integer(params, "startRecord", 1, minimum=1)
    if start >= BEYOND_ANY_POSITION:
        raise Diagnostic(61, f"startRecord must be below {BEYOND_ANY_POSITION}")
    maximum = min(_integer(params, "maximumRecords", DEFAULT_RECORDS, minimum=0), MAX_RECORDS)
    schema_name = params.get("recordSchema") or "marcxml"
    schema = SCHEMAS.get(schema_name) or SCHEMAS.get(schema_name.lower())
    if schema is None:
        raise Diagnostic(66, schema_name)
    packing = _packing(params, version)
    if params.get("sortKeys"):
        raise Diagnostic(80, "use sortby in the query")
    try:
        translation = translate(parse(query_text))
    except CqlSyntaxError as error:
        raise Diagnostic(10, str(error)) from error
    request = SearchRequest(query=translation.query, sort=translation.sort or "relevance", offset=start - 1,
                            limit=maximum, facets=False)
    found = await engine_for(session).search(session, request)
    if found.total and start > found.total:
        return SruReply(search_retrieve_response(version, found.total, [], packing, None,
                                                 [Diagnostic(61, f"startRecord={start}, {found.total} records")]))
    records = await _records(session, found.cluster_ids, schema, start)
    following = start + len(found.cluster_ids)
    next_position = following if maximum and following <= found.total else None
    return SruReply(search_retrieve_response(version, found.total, records, packing, next_position))


async def _records(session: AsyncSession, cluster_ids: list[int], schema: str, start: int) -> list[SruRecord]:
    displays = await load_displays(session, cluster_ids)
    marc = await load_representative_marc(session, cluster_ids) if schema == MARCXML_SCHEMA else {}
    items = await load_items(session, cluster_ids) if schema == MARCXML_SCHEMA else {}
    records = []
    for offset, cluster_id in enumerate(cluster_ids):
        if cluster_id not in displays:
            continue
        format_, raw = displays[cluster_id]
        union = ClusterDisplay.model_validate({"format": format_, **raw})
        if schema == MARCXML_SCHEMA:
            member_marc, institution = marc.get(cluster_id, (None, None))
            data = marcxml(cluster_id, union, member_marc, items.get(cluster_id, []), institution)
        else:
            data = dublin_core(cluster_id, union)
        records.append(SruRecord(schema, data, start + offset))
    return records
