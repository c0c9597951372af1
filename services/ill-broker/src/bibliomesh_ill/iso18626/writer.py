"""Writing models as ISO 18626 elements of one edition: only what that edition defines, in its order."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from lxml import etree

from bibliomesh_ill.iso18626.codes import Version
from bibliomesh_ill.iso18626.models import IsoModel, SchemeValue
from bibliomesh_ill.iso18626.reader import NAMESPACE
from bibliomesh_ill.iso18626.xml_fields import Xml, element_name, marker


def qualified(name: str) -> str:
    return f"{{{NAMESPACE}}}{name}"


def write_datetime(value: datetime) -> str:
    # isoformat, not strftime: years before 1000 keep their four digits.
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


def _text(value: Any, xml: Xml) -> str:
    if isinstance(value, bool):
        return ("true" if value else "false") if xml.xs_boolean else ("Y" if value else "N")
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, datetime):
        return write_datetime(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _write_value(parent: etree._Element, tag: str, value: Any, version: Version, xml: Xml) -> None:
    if isinstance(value, IsoModel) and not isinstance(value, SchemeValue):
        write_model(parent, tag, value, version)
        return
    element = etree.SubElement(parent, qualified(tag))
    if isinstance(value, SchemeValue):
        element.text = value.value
        if value.scheme is not None and not (xml.plain_in_2021 and version is Version.V2021):
            element.set(qualified("scheme"), value.scheme)
    else:
        element.text = _text(value, xml)


def write_model(parent: etree._Element, tag: str, model: IsoModel, version: Version) -> etree._Element:
    """Append `model` to `parent` as element `tag`, leaving out fields `version` does not have."""
    element = etree.SubElement(parent, qualified(tag))
    cls = type(model)
    for name in cls.xml_order.get(version, tuple(cls.model_fields)):
        field = cls.model_fields[name]
        child_tag = element_name(name, field, version)
        value = getattr(model, name)
        if child_tag is None or value is None:
            continue
        items = value if isinstance(value, list) else [value]
        limit = marker(field).max_in_1_2
        if version is Version.V1_2 and limit is not None:
            items = items[:limit]
        for item in items:
            _write_value(element, child_tag, item, version, marker(field))
    return element
