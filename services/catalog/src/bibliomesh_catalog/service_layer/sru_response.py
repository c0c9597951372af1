"""SRU response documents (1.2 in the LoC `zing/srw` namespace, 2.0 in OASIS `search-ws`), built with lxml."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from lxml import etree

from bibliomesh_catalog.adapters.search.records_xml import clean
from bibliomesh_catalog.service_layer.cql.diagnostics import Diagnostic

NAMESPACES = {
    "1.2": ("http://www.loc.gov/zing/srw/", "srw", "http://www.loc.gov/zing/srw/diagnostic/"),
    "2.0": ("http://docs.oasis-open.org/ns/search-ws/sruResponse", "sruResponse",
            "http://docs.oasis-open.org/ns/search-ws/diagnostic"),
}
ZEEREX_NS = "http://explain.z3950.org/dtd/2.0/"
MARCXML_SCHEMA = "info:srw/schema/1/marcxml-v1.1"
DC_SCHEMA = "info:srw/schema/1/dc-v1.1"
INDEXES = (("cql", "anywhere", "Any field"), ("cql", "serverChoice", "Any field"), ("dc", "title", "Title"),
           ("dc", "creator", "Author"), ("dc", "subject", "Subject"), ("dc", "publisher", "Publisher"),
           ("dc", "date", "Year of publication"), ("bath", "isbn", "ISBN"), ("bath", "issn", "ISSN"),
           ("rec", "id", "Cluster id"), ("cql", "allRecords", "Every record"))
CONTEXT_SETS = (("cql", "info:srw/cql-context-set/1/cql-v1.2"), ("dc", "info:srw/cql-context-set/1/dc-v1.1"),
                ("bath", "http://zing.z3950.org/cql/bath/2.0/"), ("rec", "info:srw/cql-context-set/2/rec-1.1"))


@dataclass(frozen=True)
class SruRecord:
    """One record of a response: its schema identifier and data element."""

    schema: str
    data: etree._Element
    position: int


class _Writer:
    def __init__(self, version: str) -> None:
        self.version = version
        self.ns, self.prefix, self.diag_ns = NAMESPACES[version]

    def root(self, name: str) -> etree._Element:
        root = etree.Element(f"{{{self.ns}}}{name}", nsmap={self.prefix: self.ns})
        self.add(root, "version", self.version)
        return root

    def add(self, parent: etree._Element, name: str, text: str | None = None) -> etree._Element:
        element = etree.SubElement(parent, f"{{{self.ns}}}{name}")
        if text is not None:
            element.text = text
        return element

    def record(self, parent: etree._Element, schema: str, data: etree._Element, packing: str,
               position: int | None) -> None:
        record = self.add(parent, "record")
        self.add(record, "recordSchema", schema)
        self.add(record, "recordPacking" if self.version == "1.2" else "recordXMLEscaping", packing)
        holder = self.add(record, "recordData")
        if packing == "string":
            holder.text = etree.tostring(data, encoding="unicode")
        else:
            holder.append(data)
        if position is not None:
            self.add(record, "recordPosition", str(position))

    def diagnostics(self, parent: etree._Element, diagnostics: Sequence[Diagnostic]) -> None:
        if not diagnostics:
            return
        holder = self.add(parent, "diagnostics")
        for diagnostic in diagnostics:
            element = etree.SubElement(holder, f"{{{self.diag_ns}}}diagnostic", nsmap={"diag": self.diag_ns})
            etree.SubElement(element, f"{{{self.diag_ns}}}uri").text = diagnostic.uri
            # Details echo what the client sent, which may hold characters XML 1.0 cannot carry.
            details = clean(diagnostic.details or "")
            if details:
                etree.SubElement(element, f"{{{self.diag_ns}}}details").text = details
            etree.SubElement(element, f"{{{self.diag_ns}}}message").text = diagnostic.message


def _serialize(root: etree._Element) -> bytes:
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def search_retrieve_response(version: str, total: int, records: Sequence[SruRecord], packing: str,
                             next_position: int | None, diagnostics: Sequence[Diagnostic] = ()) -> bytes:
    """A searchRetrieveResponse: count, records, next position, diagnostics."""
    writer = _Writer(version)
    root = writer.root("searchRetrieveResponse")
    writer.add(root, "numberOfRecords", str(total))
    if records:
        holder = writer.add(root, "records")
        for record in records:
            writer.record(holder, record.schema, record.data, packing, record.position)
    if next_position is not None:
        writer.add(root, "nextRecordPosition", str(next_position))
    writer.diagnostics(root, diagnostics)
    return _serialize(root)


def _zeerex(base_url: str, version: str, default_records: int, max_records: int) -> etree._Element:
    def sub(parent: etree._Element, tag: str, text: str | None = None, **attributes: str) -> etree._Element:
        element = etree.SubElement(parent, f"{{{ZEEREX_NS}}}{tag}", **attributes)
        element.text = text
        return element

    url = urlsplit(base_url)
    explain = etree.Element(f"{{{ZEEREX_NS}}}explain", nsmap={"zr": ZEEREX_NS})
    server = sub(explain, "serverInfo", protocol="SRU", version=version, transport=url.scheme or "http")
    sub(server, "host", url.hostname or "localhost")
    sub(server, "port", str(url.port or (443 if url.scheme == "https" else 80)))
    sub(server, "database", url.path.lstrip("/") or "catalog/sru")
    database = sub(explain, "databaseInfo")
    sub(database, "title", "Bibliomesh union catalogue", lang="en", primary="true")
    sub(database, "description", "Every partner library's records, one per edition, with holdings and availability.",
        lang="en", primary="true")
    index_info = sub(explain, "indexInfo")
    for name, identifier in CONTEXT_SETS:
        sub(index_info, "set", name=name, identifier=identifier)
    for context_set, name, title in INDEXES:
        index = sub(index_info, "index", search="true", scan="false", sort=str(name in ("title", "date")).lower())
        sub(index, "title", title, lang="en")
        sub(sub(index, "map"), "name", name, set=context_set)
    schemas = sub(explain, "schemaInfo")
    for identifier, name, title in ((MARCXML_SCHEMA, "marcxml", "MARCXML with holdings (852)"),
                                    (DC_SCHEMA, "dc", "Dublin Core (oai_dc)")):
        schema = sub(schemas, "schema", identifier=identifier, name=name, sort="false", retrieve="true")
        sub(schema, "title", title, lang="en")
    config = sub(explain, "configInfo")
    sub(config, "default", str(default_records), type="numberOfRecords")
    sub(config, "setting", str(max_records), type="maximumRecords")
    for relation in ("=", "==", "all", "any", "adj", "<", ">", "<=", ">="):
        sub(config, "supports", relation, type="relation")
    for boolean in ("and", "or", "not"):
        sub(config, "supports", boolean, type="boolean")
    sub(config, "supports", "*", type="maskingCharacter")
    return explain


def explain_response(version: str, base_url: str, default_records: int, max_records: int,
                     diagnostics: Sequence[Diagnostic] = ()) -> bytes:
    """An explainResponse carrying a ZeeRex 2.0 record: indexes, schemas, relations, limits."""
    writer = _Writer(version)
    root = writer.root("explainResponse")
    writer.record(root, ZEEREX_NS, _zeerex(base_url, version, default_records, max_records), "xml", None)
    writer.diagnostics(root, diagnostics)
    return _serialize(root)
