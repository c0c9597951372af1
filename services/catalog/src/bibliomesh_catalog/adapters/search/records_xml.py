"""A cluster as MARCXML (with holdings in 852 fields) or as Dublin Core (oai_dc), built with lxml.

MARCXML is the most complete member's record (kept as MARC-in-JSON) with the union's identity: 001 is the cluster
id, 003 `Bibliomesh`, the member's own 001 moves to a 035, and its local 852s give way to one 852 per holding of
every member: $a institution, $b location, $h call number, $p item id, $z availability. A cluster without stored
MARC gets a minimal record made from its union record. As the MARC 21 slim schema requires, every control field
comes before the data fields (which keep their catalogued order, the 035 and 852s the union adds going in by tag),
and the leader's record length and base address are this record's own, as a MARC writer would compute them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
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


# What the MARC 21 slim schema accepts (MARC21slim.xsd): tags, indicators, subfield codes, leader positions.
_CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
_DATA_TAG = re.compile(r"0[1-9A-Z][0-9A-Z]|0[1-9a-z][0-9a-z]|[1-9A-Z][0-9A-Z]{2}|[1-9a-z][0-9a-z]{2}")
_INDICATOR = re.compile(r"[0-9a-z ]")
_CODE = re.compile(r"[0-9A-Za-z!\"#$%&'()*+,\-./:;<=>?{}_^`~\[\]\\]")
_LEADER_CHAR = re.compile(r"[0-9A-Za-z ]")
_MAX_LENGTH = 99999


@dataclass
class _DataField:
    tag: str
    ind1: str
    ind2: str
    subfields: list[tuple[str, str]]

    def length(self) -> int:
        """Its length in an ISO 2709 record: indicators, each delimiter + code + UTF-8 data, field terminator."""
        return 2 + sum(2 + len(value.encode()) for _code, value in self.subfields) + 1


class _Fields:
    """A record's fields in the order the schema requires: every control field, then every data field. Data
    fields keep their catalogued order; the ones the union adds go among them in tag order."""

    def __init__(self) -> None:
        self.control: list[tuple[str, str]] = []
        self.data: list[_DataField] = []

    def add_control(self, tag: str, value: Any) -> None:
        if _CONTROL_TAG.fullmatch(tag):  # anything else cannot be a MARCXML control field
            self.control.append((tag, clean(value)))

    def add_data(self, tag: str, subfields: Iterable[tuple[str, Any]], ind1: str = " ", ind2: str = " ", *,
                 in_tag_order: bool = False) -> None:
        pairs = [(code, clean(value)) for code, value in subfields
                 if value not in (None, "") and _CODE.fullmatch(code)]
        pairs = [(code, value) for code, value in pairs if value]
        if not pairs or not _DATA_TAG.fullmatch(tag):
            return
        field = _DataField(tag, _indicator(ind1), _indicator(ind2), pairs)
        if in_tag_order:
            self.data.insert(next((i for i, f in enumerate(self.data) if f.tag > tag), len(self.data)), field)
        else:
            self.data.append(field)

    def leader(self, stored: str) -> str:
        """`stored` made valid for the schema, with the record length and base address this record would have
        in ISO 2709 (as a MARC writer computes them; blank past 99999 bytes, which ISO 2709 cannot hold) and
        leader/09 `a`: the text is Unicode."""
        raw = clean(stored)[:24].ljust(24)

        def keep(position: int, default: str, blank: bool = True) -> str:
            char = raw[position]
            return char if _LEADER_CHAR.fullmatch(char) and (blank or char != " ") else default

        def number(value: int) -> str:
            return f"{value:05d}" if value <= _MAX_LENGTH else " " * 5

        base = 24 + 12 * (len(self.control) + len(self.data)) + 1
        length = (base + sum(len(value.encode()) + 1 for _tag, value in self.control)
                  + sum(f.length() for f in self.data) + 1)
        return (number(length) + keep(5, "n") + keep(6, "a", blank=False) + keep(7, " ") + keep(8, " ") + "a22"
                + number(base) + keep(17, " ") + keep(18, " ") + keep(19, " ") + "4500")

    def write(self, record: etree._Element, stored_leader: str) -> None:
        etree.SubElement(record, _marc("leader")).text = self.leader(stored_leader)
        for tag, value in self.control:
            etree.SubElement(record, _marc("controlfield"), tag=tag).text = value
        for field in self.data:
            element = etree.SubElement(record, _marc("datafield"), tag=field.tag, ind1=field.ind1, ind2=field.ind2)
            for code, value in field.subfields:
                etree.SubElement(element, _marc("subfield"), code=code).text = value


def _indicator(value: Any) -> str:
    text = clean(value or " ")[:1]
    return text if _INDICATOR.fullmatch(text) else " "


def _availability(item: ItemState) -> str:
    if item.available:
        return "available" if item.format == "print" else "available (electronic, licence allows ILL copies)"
    shelf = item.status.replace("_", " ")
    if item.due_date is not None:
        shelf = f"{shelf}, due {item.due_date.isoformat()}"
    return f"not lending now: the library is suspended (item {shelf})" if item.suspended else shelf


def _holdings(fields: _Fields, items: Sequence[ItemState]) -> None:
    for item in items:
        fields.add_data("852", [("a", item.institution), ("b", item.location), ("h", item.call_number),
                                ("p", item.item_id), ("z", _availability(item))], in_tag_order=True)


def _from_marc_json(fields: _Fields, marc: dict[str, Any], cluster_id: int, institution: str | None) -> None:
    fields.add_control("001", cluster_id)
    fields.add_control("003", CONTROL_ID)
    member_id = None
    for entry in marc.get("fields", []):
        if not isinstance(entry, dict):
            continue
        for tag, value in entry.items():
            if tag == "001":
                member_id = member_id or value
            elif tag in ("003", "852"):
                continue
            elif isinstance(value, str):
                fields.add_control(tag, value)
            elif isinstance(value, dict):
                subfields = [(code, text) for sub in value.get("subfields", []) if isinstance(sub, dict)
                             for code, text in sub.items()]
                fields.add_data(tag, subfields, value.get("ind1", " "), value.get("ind2", " "))
    if member_id and institution:
        fields.add_data("035", [("a", f"({institution}){member_id}")], in_tag_order=True)


def _from_display(fields: _Fields, union: ClusterDisplay, cluster_id: int) -> None:
    fields.add_control("001", cluster_id)
    fields.add_control("003", CONTROL_ID)
    year = f"{union.year:04d}" if union.year else "    "
    language = (union.language or "und")[:3].ljust(3)
    fields.add_control("008", f"000000s{year}    xx {' ' * 17}{language} d")
    for isbn in union.isbns:
        fields.add_data("020", [("a", isbn)])
    for issn in union.issns:
        fields.add_data("022", [("a", issn)])
    for number in union.oclc_numbers:
        fields.add_data("035", [("a", f"(OCoLC){number}")])
    if union.authors:
        fields.add_data("100", [("a", union.authors[0])], "1")
    title, _, subtitle = union.title.partition(" : ")
    fields.add_data("245", [("a", title), ("b", subtitle)], "1" if union.authors else "0", "0")
    fields.add_data("250", [("a", union.edition)])
    fields.add_data("264", [("a", union.place), ("b", union.publisher), ("c", union.year)], " ", "1")
    fields.add_data("300", [("a", union.extent)])
    fields.add_data("490", [("a", union.series)], "0")
    for note in union.notes:
        fields.add_data("500", [("a", note)])
    for subject in union.subjects:
        fields.add_data("650", [("a", subject)], " ", "4")
    for author in union.authors[1:]:
        fields.add_data("700", [("a", author)], "1")
    for url in union.urls:
        fields.add_data("856", [("u", url)], "4", "0")


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
    fields = _Fields()
    if marc is not None:
        _from_marc_json(fields, marc, cluster_id, institution)
        leader = str(marc.get("leader") or "")
    else:
        _from_display(fields, union, cluster_id)
        leader = f"00000na{'m' if not union.issns else 's'} a2200000" + "7a 4500"
    _holdings(fields, items)
    fields.write(record, leader)
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
