"""A cluster as MARCXML (with holdings in 852 fields) or as Dublin Core (oai_dc), built with lxml.

MARCXML is the most complete member's record (kept as MARC-in-JSON) with the union's identity: 001 is the cluster
id, 003 `Bibliomesh`, the member's own 001 moves to a 035, and its local 852s give way to one 852 per holding of
every member: $a institution, $b location, $h call number, $p item id, $z availability. A cluster without stored
MARC gets a minimal record made from its union record.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from typing import Any

from lxml import etree

from bibliomesh_catalog.adapters.search.holdings import ItemState
from bibliomesh_catalog.domain.display import ClusterDisplay

MARC_NS = "http://www.loc.gov/MARC21/slim"
OAI_DC_NS = "http://www.openarchives.org/OAI/2.0/oai_dc/"
DC_NS = "http://purl.org/dc/elements/1.1/"
CONTROL_ID = "Bibliomesh"
_NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def clean(value: Any) -> str:
    """Text safe for XML 1.0 (real MARC carries stray control characters, which lxml refuses)."""
    return _NOT_XML.sub("", str(value))


def _marc(tag: str) -> str:
    return f"{{{MARC_NS}}}{tag}"


def _datafield(parent: etree._Element, tag: str, subfields: Iterable[tuple[str, Any]], ind1: str = " ",
               ind2: str = " ") -> None:
    pairs = [(code, value) for code, value in subfields if value not in (None, "")]
    if not pairs:
        return
    field = etree.SubElement(parent, _marc("datafield"), tag=tag, ind1=clean(ind1)[:1] or " ",
                             ind2=clean(ind2)[:1] or " ")
    for code, value in pairs:
        etree.SubElement(field, _marc("subfield"), code=clean(code)[:1] or "a").text = clean(value)


def _availability(item: ItemState) -> str:
    if item.available:
        return "available" if item.format == "print" else "available (electronic, licence allows ILL copies)"
    if item.due_date is not None:
        return f"{item.status.replace('_', ' ')}, due {item.due_date.isoformat()}"
    return item.status.replace("_", " ")


def _holdings(record: etree._Element, items: Sequence[ItemState]) -> None:
    for item in items:
        _datafield(record, "852", [("a", item.institution), ("b", item.location), ("h", item.call_number),
                                   ("p", item.item_id), ("z", _availability(item))])


def _from_marc_json(record: etree._Element, marc: dict[str, Any], cluster_id: int, institution: str | None) -> None:
    etree.SubElement(record, _marc("leader")).text = clean(marc.get("leader") or " " * 24)[:24].ljust(24)
    etree.SubElement(record, _marc("controlfield"), tag="001").text = str(cluster_id)
    etree.SubElement(record, _marc("controlfield"), tag="003").text = CONTROL_ID
    for entry in marc.get("fields", []):
        for tag, value in entry.items():
            if tag in ("001", "003"):
                if tag == "001" and institution:
                    _datafield(record, "035", [("a", f"({institution}){value}")])
            elif tag == "852":
                continue
            elif isinstance(value, str):
                etree.SubElement(record, _marc("controlfield"), tag=clean(tag)[:3]).text = clean(value)
            elif isinstance(value, dict):
                subfields = [(code, text) for sub in value.get("subfields", []) for code, text in sub.items()]
                _datafield(record, clean(tag)[:3], subfields, value.get("ind1", " "), value.get("ind2", " "))


def _from_display(record: etree._Element, union: ClusterDisplay, cluster_id: int) -> None:
    kind = "m" if not union.issns else "s"
    etree.SubElement(record, _marc("leader")).text = f"00000na{kind} a22000007a 4500"
    etree.SubElement(record, _marc("controlfield"), tag="001").text = str(cluster_id)
    etree.SubElement(record, _marc("controlfield"), tag="003").text = CONTROL_ID
    year = f"{union.year:04d}" if union.year else "    "
    language = (union.language or "und")[:3].ljust(3)
    etree.SubElement(record, _marc("controlfield"), tag="008").text = (
        f"000000s{year}    xx {' ' * 17}{language} d")
    for isbn in union.isbns:
        _datafield(record, "020", [("a", isbn)])
    for issn in union.issns:
        _datafield(record, "022", [("a", issn)])
    for number in union.oclc_numbers:
        _datafield(record, "035", [("a", f"(OCoLC){number}")])
    if union.authors:
        _datafield(record, "100", [("a", union.authors[0])], "1")
    title, _, subtitle = union.title.partition(" : ")
    _datafield(record, "245", [("a", title), ("b", subtitle)], "1" if union.authors else "0", "0")
    _datafield(record, "250", [("a", union.edition)])
    _datafield(record, "264", [("a", union.place), ("b", union.publisher), ("c", union.year)], " ", "1")
    _datafield(record, "300", [("a", union.extent)])
    _datafield(record, "490", [("a", union.series)], "0")
    for note in union.notes:
        _datafield(record, "500", [("a", note)])
    for subject in union.subjects:
        _datafield(record, "650", [("a", subject)], " ", "4")
    for author in union.authors[1:]:
        _datafield(record, "700", [("a", author)], "1")
    for url in union.urls:
        _datafield(record, "856", [("u", url)], "4", "0")


def marcxml(cluster_id: int, union: ClusterDisplay, marc_json: str | None, items: Sequence[ItemState],
            institution: str | None = None) -> etree._Element:
    """The cluster's MARCXML `<record>` (MARC 21 slim) with an 852 per holding."""
    record = etree.Element(_marc("record"), nsmap={None: MARC_NS})
    marc: dict[str, Any] | None = None
    if marc_json:
        try:
            loaded = json.loads(marc_json)
            marc = loaded if isinstance(loaded, dict) and isinstance(loaded.get("fields"), list) else None
        except ValueError:
            marc = None
    if marc is not None:
        _from_marc_json(record, marc, cluster_id, institution)
    else:
        _from_display(record, union, cluster_id)
    _holdings(record, items)
    return record


def dublin_core(cluster_id: int, union: ClusterDisplay) -> etree._Element:
    """The cluster as an `oai_dc:dc` element (simple Dublin Core)."""
    root = etree.Element(f"{{{OAI_DC_NS}}}dc", nsmap={"oai_dc": OAI_DC_NS, "dc": DC_NS})

    def add(name: str, value: Any) -> None:
        if value not in (None, ""):
            etree.SubElement(root, f"{{{DC_NS}}}{name}").text = clean(value)

    add("title", union.title)
    for author in union.authors:
        add("creator", author)
    for subject in union.subjects:
        add("subject", subject)
    for note in union.notes:
        add("description", note)
    add("publisher", union.publisher)
    add("date", union.year)
    add("type", "Text")
    add("format", union.format)
    add("language", union.language)
    add("identifier", f"bibliomesh:cluster:{cluster_id}")
    for isbn in union.isbns:
        add("identifier", f"urn:isbn:{isbn}")
    for issn in union.issns:
        add("identifier", f"urn:issn:{issn}")
    for url in union.urls:
        add("identifier", url)
    return root
