"""The MARCXML a cluster is served as (SRU, OAI-PMH) follows the MARC 21 slim schema: the leader, then every
control field, then the data fields; a leader whose record length and base address are the record's own."""

from __future__ import annotations

import io
import json
import re
from datetime import date
from typing import Any

import pymarc
from lxml import etree

from bibliomesh_catalog.adapters.search.holdings import ItemState
from bibliomesh_catalog.adapters.search.records_xml import MARC_NS, marcxml
from bibliomesh_catalog.domain.display import ClusterDisplay

NS = {"marc": MARC_NS}
# The patterns of MARC21slim.xsd (leaderDataType, controltagDataType, tagDataType, indicatorDataType).
LEADER = re.compile(r"[\d ]{5}[\dA-Za-z ][\dA-Za-z][\dA-Za-z ]{3}(2| )(2| )[\d ]{5}[\dA-Za-z ]{3}(4500|    )")
CONTROL_TAG = re.compile(r"00[1-9A-Za-z]")
DATA_TAG = re.compile(r"(0([1-9A-Z][0-9A-Z])|0([1-9a-z][0-9a-z]))|(([1-9A-Z][0-9A-Z]{2})|([1-9a-z][0-9a-z]{2}))")
INDICATOR = re.compile(r"[\da-z ]")

MEMBER: dict[str, Any] = {"leader": "01234cam a2200289 a 4500", "fields": [
    {"001": "law-0003"}, {"003": "CN-DL-LHU-LAW"}, {"005": "20240101120000.0"},
    {"008": "990101s1999    cc            000 0 chi d"},
    {"020": {"ind1": " ", "ind2": " ", "subfields": [{"a": "9780766016118"}]}},
    {"035": {"ind1": " ", "ind2": " ", "subfields": [{"a": "(OCoLC)12345"}]}},
    {"100": {"ind1": "1", "ind2": " ", "subfields": [{"a": "王利明"}]}},
    {"245": {"ind1": "1", "ind2": "0", "subfields": [{"a": "合同法研究"}, {"c": "王利明"}]}},
    {"852": {"ind1": " ", "ind2": " ", "subfields": [{"a": "the member's own shelf mark"}]}},
    {"856": {"ind1": "4", "ind2": "#", "subfields": [{"u": "http://example.org/law-0003"}]}},
    {"880": {"ind1": "1", "ind2": "0", "subfields": [{"6": "245-01"}, {"a": "Hetong fa yanjiu"}]}},
]}
ITEMS = [ItemState(1, "CN-DL-LHU-LAW", "LAW-B0003", "Law stacks", "D923.6", "print", "available", None, False),
         ItemState(2, "CN-DL-U1", "U1-7", None, None, "print", "on-loan", date(2031, 1, 15), False)]
UNION = ClusterDisplay.model_validate({"format": "print", "title": "合同法研究", "authors": ["王利明"], "year": 1999,
                                       "isbns": ["9780766016118"]})


def fields_of(record: etree._Element) -> list[tuple[str, str]]:
    return [(etree.QName(child).localname, child.get("tag", "")) for child in record]


def check_schema_rules(record: etree._Element) -> None:
    kinds = [kind for kind, _tag in fields_of(record)]
    assert kinds[0] == "leader" and kinds.count("leader") == 1
    assert kinds == ["leader", *sorted(kinds[1:], key=lambda k: k != "controlfield")], "control fields first"
    assert LEADER.fullmatch(record.findtext("marc:leader", namespaces=NS) or "")
    for field in record.findall("marc:controlfield", NS):
        assert CONTROL_TAG.fullmatch(field.get("tag"))
    for field in record.findall("marc:datafield", NS):
        assert DATA_TAG.fullmatch(field.get("tag")) and len(field) > 0
        assert INDICATOR.fullmatch(field.get("ind1")) and INDICATOR.fullmatch(field.get("ind2"))


def as_iso2709(record: etree._Element) -> bytes:
    """The record written by pymarc, which computes the length and base address a MARC record must carry."""
    collection = etree.Element(f"{{{MARC_NS}}}collection", nsmap={None: MARC_NS})
    collection.append(record)
    parsed = pymarc.parse_xml_to_array(io.BytesIO(etree.tostring(collection)))
    data: bytes = parsed[0].as_marc()
    return data


def test_a_member_record_keeps_control_fields_first_and_data_fields_in_tag_order() -> None:
    record = marcxml(42, UNION, json.dumps(MEMBER), ITEMS, "CN-DL-LHU-LAW")
    check_schema_rules(record)
    assert fields_of(record) == [
        ("leader", ""), ("controlfield", "001"), ("controlfield", "003"), ("controlfield", "005"),
        ("controlfield", "008"), ("datafield", "020"), ("datafield", "035"), ("datafield", "035"),
        ("datafield", "100"), ("datafield", "245"), ("datafield", "852"), ("datafield", "852"),
        ("datafield", "856"), ("datafield", "880")]
    assert record.xpath("marc:controlfield[@tag='001']/text()", namespaces=NS) == ["42"]
    assert record.xpath("marc:datafield[@tag='035']/marc:subfield/text()", namespaces=NS) == [
        "(OCoLC)12345", "(CN-DL-LHU-LAW)law-0003"]
    assert record.xpath("marc:datafield[@tag='852']/marc:subfield[@code='p']/text()", namespaces=NS) == [
        "LAW-B0003", "U1-7"]
    assert record.xpath("marc:datafield[@tag='856']/@ind2", namespaces=NS) == [" "]  # `#` is no indicator


def test_the_leader_has_this_records_length_and_base_address() -> None:
    for record in (marcxml(42, UNION, json.dumps(MEMBER), ITEMS, "CN-DL-LHU-LAW"), marcxml(7, UNION, None, ITEMS)):
        leader = record.findtext("marc:leader", namespaces=NS) or ""
        written = as_iso2709(record)
        assert leader[:5] == written[:5].decode() == f"{len(written):05d}"
        assert leader[12:17] == written[12:17].decode()
        assert leader[9] == "a" and leader[20:] == "4500"
    member = marcxml(42, UNION, json.dumps(MEMBER), ITEMS, "CN-DL-LHU-LAW").findtext("marc:leader", namespaces=NS)
    assert member is not None and member[5:12] == "cam a22" and member[17:20] == " a "


def test_a_damaged_stored_leader_is_made_valid() -> None:
    damaged = {**MEMBER, "leader": "zz\x01"}
    record = marcxml(42, UNION, json.dumps(damaged), [], "CN-DL-LHU-LAW")
    check_schema_rules(record)
