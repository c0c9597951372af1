"""The OAI-PMH 2.0 response envelope and its parts, built with lxml."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from lxml import etree

from bibliomesh_catalog.adapters.search.records_xml import MARC_NS, OAI_DC_NS, clean

OAI_NS = "http://www.openarchives.org/OAI/2.0/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
MARC_SCHEMA = "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd"
IDENTIFIER_PREFIX = "oai:bibliomesh:cluster/"
# metadataPrefix -> (schema, namespace)
FORMATS = {"oai_dc": (OAI_DC_SCHEMA, OAI_DC_NS), "marc21": (MARC_SCHEMA, MARC_NS)}
_SCHEMA_LOCATION = f"{{{XSI_NS}}}schemaLocation"


def oai(tag: str) -> str:
    return f"{{{OAI_NS}}}{tag}"


def datestamp(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def identifier(cluster_id: int) -> str:
    return f"{IDENTIFIER_PREFIX}{cluster_id}"


def envelope(base_url: str, verb: str | None, arguments: Mapping[str, str], now: datetime,
             ) -> tuple[etree._Element, etree._Element]:
    """The `<OAI-PMH>` root and its `<request>` (attributes only when the request was valid: pass verb None)."""
    root = etree.Element(oai("OAI-PMH"), nsmap={None: OAI_NS, "xsi": XSI_NS})
    root.set(_SCHEMA_LOCATION, f"{OAI_NS} {OAI_SCHEMA}")
    etree.SubElement(root, oai("responseDate")).text = datestamp(now)
    request = etree.SubElement(root, oai("request"))
    request.text = base_url
    if verb is not None:
        request.set("verb", verb)
        for name, value in arguments.items():
            request.set(name, clean(value))
    return root, request


def error(root: etree._Element, code: str, message: str) -> None:
    etree.SubElement(root, oai("error"), code=code).text = clean(message)


def header(parent: etree._Element, cluster_id: int, stamp: datetime, deleted: bool, sets: list[str],
           ) -> etree._Element:
    element = etree.SubElement(parent, oai("header"))
    if deleted:
        element.set("status", "deleted")
    etree.SubElement(element, oai("identifier")).text = identifier(cluster_id)
    etree.SubElement(element, oai("datestamp")).text = datestamp(stamp)
    for spec in sets:
        etree.SubElement(element, oai("setSpec")).text = clean(spec)
    return element


def with_schema_location(metadata: etree._Element, prefix: str) -> etree._Element:
    schema, namespace = FORMATS[prefix]
    metadata.set(_SCHEMA_LOCATION, f"{namespace} {schema}")
    return metadata


def metadata_format(parent: etree._Element, prefix: str) -> None:
    schema, namespace = FORMATS[prefix]
    element = etree.SubElement(parent, oai("metadataFormat"))
    etree.SubElement(element, oai("metadataPrefix")).text = prefix
    etree.SubElement(element, oai("schema")).text = schema
    etree.SubElement(element, oai("metadataNamespace")).text = namespace


def resumption_token(parent: etree._Element, token: str | None, complete_size: int, cursor: int) -> None:
    element = etree.SubElement(parent, oai("resumptionToken"), completeListSize=str(complete_size),
                               cursor=str(cursor))
    element.text = token


def serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


__all__ = ["FORMATS", "IDENTIFIER_PREFIX", "OAI_NS", "datestamp", "envelope", "error", "header",
           "identifier", "metadata_format", "oai", "resumption_token", "serialize", "with_schema_location"]
