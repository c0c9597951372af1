"""MARCXML (`application/marcxml+xml`), one `<record>` at a time, with a parser that trusts nothing.

lxml is told not to resolve entities, not to load or validate a DTD, not to touch the network and not to accept
huge trees; on top of that any document type declaration is refused outright, so neither external entities (XXE)
nor entity expansion ("billion laughs") get a chance. Each record element is cleared once used, so memory stays
flat however long the file. A malformed record (no leader, no 001, no title) is rejected and the next one read; a
document that stops being well-formed XML ends with one rejection saying where, keeping the records before it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, BinaryIO

from lxml import etree
from pymarc import Field, Indicators, Record, Subfield

from bibliomesh_catalog.domain.records import ParsedRecord, RejectedRecord
from bibliomesh_catalog.parsing.marc_fields import record_from_marc

MARC_NS = "http://www.loc.gov/MARC21/slim"


class _DoctypeRefused(Exception):
    pass


def read_marcxml(stream: BinaryIO) -> Iterator[ParsedRecord | RejectedRecord]:
    """Yield each `<record>` of a MARCXML stream (a `<collection>` or a single record), parsed or rejected."""
    events = etree.iterparse(
        stream, events=("start", "end"), resolve_entities=False, load_dtd=False, dtd_validation=False,
        no_network=True, huge_tree=False, remove_comments=True, remove_pis=True,
    )
    position = 0
    checked = False
    try:
        for event, element in events:
            if not checked:
                checked = True
                if element.getroottree().docinfo.doctype:
                    raise _DoctypeRefused
            if event != "end" or _local(element.tag) != "record":
                continue
            position += 1
            yield _record(element, position)
            element.clear()
            parent = element.getparent()
            if parent is not None:
                while element.getprevious() is not None:
                    del parent[0]
    except _DoctypeRefused:
        yield RejectedRecord(position + 1, "refused: XML with a document type declaration (DTD/entities) is not "
                                           "accepted")
    except etree.XMLSyntaxError as exc:
        yield RejectedRecord(position + 1, f"malformed XML, reading stopped: {exc.msg} (line {exc.lineno})"[:300])


def _local(tag: Any) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _record(element: Any, position: int) -> ParsedRecord | RejectedRecord:
    leader = None
    fields: list[Field] = []
    for child in element:
        name = _local(child.tag)
        if name == "leader":
            leader = child.text or ""
        elif name == "controlfield":
            tag = child.get("tag") or ""
            if not _valid_tag(tag):
                return RejectedRecord(position, f"bad control field tag {tag[:10]!r}")
            fields.append(Field(tag=tag, data=child.text or ""))
        elif name == "datafield":
            tag = child.get("tag") or ""
            if not _valid_tag(tag):
                return RejectedRecord(position, f"bad data field tag {tag[:10]!r}")
            indicators = Indicators((child.get("ind1") or " ")[:1], (child.get("ind2") or " ")[:1])
            subfields = [Subfield(code=(sub.get("code") or " ")[:1], value=sub.text or "")
                         for sub in child if _local(sub.tag) == "subfield"]
            fields.append(Field(tag=tag, indicators=indicators, subfields=subfields))
    if leader is None or len(leader) != 24 or not leader.isascii():
        return RejectedRecord(position, "bad leader: a MARCXML record needs a 24-character leader")
    record = Record(leader=leader)
    record.leader = type(record.leader)(leader)
    record.fields = fields
    try:
        return record_from_marc(record, position)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError) as exc:
        return RejectedRecord(position, f"unusable record: {type(exc).__name__} {exc}"[:300])


def _valid_tag(tag: str) -> bool:
    return len(tag) == 3 and tag.isascii() and tag.isalnum()
