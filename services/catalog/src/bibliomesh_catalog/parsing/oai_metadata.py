"""The metadata of one harvested OAI-PMH record as a catalogue record, whatever format the source sent.

The format is told by the element's namespace, not by the metadataPrefix (prefixes are the source's own names):
MARCXML goes through the MARCXML parser, simple Dublin Core through `dublin_core`. The record's local id is its
OAI identifier, the one id OAI-PMH keeps stable and the one deletions name.
"""

from __future__ import annotations

import io
from typing import Any

from lxml import etree

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.dublin_core import OAI_DC_NS, read_dublin_core
from bibliomesh_catalog.parsing.marcxml import MARC_NS, read_marcxml

MAX_LOCAL_ID = 200


def read_oai_metadata(identifier: str, element: Any, position: int) -> ParsedRecord | RejectedRecord:
    """Parse `element` (the child of `<metadata>`) into a record whose local id is `identifier`."""
    if not identifier or len(identifier) > MAX_LOCAL_ID:
        return RejectedRecord(position, f"the OAI identifier is empty or longer than {MAX_LOCAL_ID} characters",
                              identifier[:MAX_LOCAL_ID] or None)
    if element is None:
        return RejectedRecord(position, "the record has no metadata", identifier)
    name = etree.QName(element)
    if name.namespace == OAI_DC_NS and name.localname == "dc":
        return read_dublin_core(element, identifier, position)
    if name.namespace == MARC_NS and name.localname in ("record", "collection"):
        return _marcxml(element, identifier, position)
    return RejectedRecord(position, f"unsupported metadata format {{{name.namespace}}}{name.localname}"[:300],
                          identifier)


def _marcxml(element: Any, identifier: str, position: int) -> ParsedRecord | RejectedRecord:
    record = element if etree.QName(element).localname == "record" else element.find(f"{{{MARC_NS}}}record")
    if record is None:
        return RejectedRecord(position, "the MARCXML collection holds no record", identifier)
    if record.find(f"{{{MARC_NS}}}controlfield[@tag='001']") is None:
        # The OAI identifier is the local id anyway; a record without 001 should not be refused for it.
        control = etree.Element(f"{{{MARC_NS}}}controlfield", tag="001")
        control.text = identifier
        record.insert(1, control)
    parsed = next(iter(read_marcxml(io.BytesIO(etree.tostring(record, with_tail=False)))), None)
    if parsed is None:
        return RejectedRecord(position, "the MARCXML record could not be read", identifier)
    if isinstance(parsed, RejectedRecord):
        return RejectedRecord(position, parsed.reason, identifier)
    parsed.local_id = identifier
    parsed.position = position
    return parsed
