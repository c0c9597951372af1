"""Reading ISO 18626 elements into models, forgiving what real peers get wrong.

Elements are matched by local name, in the ISO namespace or in none, ignoring case; either edition's name for a
field is accepted; values are trimmed; an empty optional element counts as absent; codes are matched ignoring
case and spelling variants. Unknown elements are skipped. What cannot be understood raises `Iso18626Error`
naming the element by its path.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any, TypeVar

from lxml import etree
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from bibliomesh_ill.iso18626.codes import Action, ErrorType, ReasonForMessage, Version, code_from_text
from bibliomesh_ill.iso18626.errors import Iso18626Error
from bibliomesh_ill.iso18626.models import IsoModel, SchemeValue
from bibliomesh_ill.iso18626.xml_fields import element_names, field_shape, in_xml

NAMESPACE = "http://illtransactions.org/2013/iso18626"
M = TypeVar("M", bound=IsoModel)

_YES = {"y", "yes", "true", "1"}
_NO = {"n", "no", "false", "0"}
_BAD_CODE = {Action: ErrorType.UNSUPPORTED_ACTION_TYPE,
             ReasonForMessage: ErrorType.UNSUPPORTED_REASON_FOR_MESSAGE_TYPE}


def local_name(node: Any) -> str | None:
    """The element's name if it is in the ISO namespace or in none; None for other namespaces and non-elements."""
    tag = node.tag
    if not isinstance(tag, str):
        return None
    if tag.startswith("{"):
        namespace, _, name = tag[1:].partition("}")
        return name if namespace == NAMESPACE else None
    return tag


def children(element: etree._Element) -> dict[str, list[etree._Element]]:
    found: dict[str, list[etree._Element]] = {}
    for child in element:
        name = local_name(child)
        if name is not None:
            found.setdefault(name.lower(), []).append(child)
    return found


def attribute(element: etree._Element, name: str) -> str | None:
    """An attribute in the ISO namespace or unqualified (as some peers write `scheme` and `version`)."""
    for key, value in element.attrib.items():
        qualified = etree.QName(key)
        if qualified.localname.lower() == name and qualified.namespace in (None, NAMESPACE):
            return str(value)
    return None


def _text(element: etree._Element) -> str:
    return (element.text or "").strip()


def _is_empty(element: etree._Element) -> bool:
    return not _text(element) and not any(local_name(child) for child in element)


def _bad_value(path: str, raw: str, what: str, error_type: ErrorType = ErrorType.UNRECOGNISED_DATA_VALUE
               ) -> Iso18626Error:
    shown = raw if len(raw) <= 80 else raw[:77] + "..."
    return Iso18626Error(error_type, f"{path}: {shown!r} is not {what}")


def read_datetime(raw: str, path: str) -> datetime:
    """xs:dateTime as peers write it: `Z`, `+00:00` or `+0000`, any fraction, no zone (read as UTC), or a date."""
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise _bad_value(path, raw, "a date and time") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _read_decimal(raw: str, path: str) -> Decimal:
    try:
        value = Decimal(raw) if re.fullmatch(r"[+-]?\d{0,20}(\.\d{0,10})?", raw) and raw not in ("", ".") else None
    except InvalidOperation:
        value = None
    if value is None:
        raise _bad_value(path, raw, "a decimal amount")
    return value


def _convert(item_type: Any, raw: str, path: str) -> Any:
    if item_type is str:
        return raw
    if item_type is bool:
        if raw.lower() in _YES | _NO:
            return raw.lower() in _YES
        raise _bad_value(path, raw, "Y or N")
    if item_type is int:
        if re.fullmatch(r"[+-]?\d{1,18}", raw):
            return int(raw)
        raise _bad_value(path, raw, "an integer")
    if item_type is Decimal:
        return _read_decimal(raw, path)
    if item_type is datetime:
        return read_datetime(raw, path)
    if isinstance(item_type, type) and issubclass(item_type, StrEnum):
        code = code_from_text(item_type, raw)
        if code is None:
            error_type = _BAD_CODE.get(item_type, ErrorType.UNRECOGNISED_DATA_VALUE)
            raise _bad_value(path, raw, "one of " + ", ".join(item_type), error_type)
        return code
    raise TypeError(f"no ISO 18626 reading for {item_type!r}")


def _read_value(item_type: Any, element: etree._Element, path: str, version: Version, required: bool) -> Any:
    if isinstance(item_type, type) and issubclass(item_type, SchemeValue):
        value = _text(element)
        return SchemeValue(value=value, scheme=attribute(element, "scheme")) if value or required else None
    if isinstance(item_type, type) and issubclass(item_type, IsoModel):
        has_required = any(f.is_required() for f in item_type.model_fields.values())
        if not required and has_required and _is_empty(element):
            return None
        return read_model(item_type, element, path, version)
    raw = _text(element)
    if not raw and not required:
        return None
    return _convert(item_type, raw, path)


def _field_elements(name: str, field: FieldInfo, found: dict[str, list[etree._Element]],
                    version: Version) -> tuple[str, list[etree._Element]]:
    names = element_names(name, field, version)
    for candidate in names:
        if candidate.lower() in found:
            return candidate, found[candidate.lower()]
    return names[0], []


def read_model(cls: type[M], element: etree._Element, path: str, version: Version,
               given: dict[str, Any] | None = None) -> M:
    """Read `element` as `cls` (with `given` field values); a missing mandatory element or an unreadable value
    raises `Iso18626Error`."""
    found = children(element)
    values: dict[str, Any] = dict(given or {})
    for name, field in cls.model_fields.items():
        if not in_xml(field):
            continue
        tag, elements = _field_elements(name, field, found, version)
        item_type, is_list = field_shape(field)
        field_path = f"{path}/{tag}"
        if is_list:
            items = (_read_value(item_type, e, field_path, version, required=False) for e in elements)
            values[name] = [item for item in items if item is not None]
        elif elements:
            value = _read_value(item_type, elements[0], field_path, version, required=field.is_required())
            if value is not None:
                values[name] = value
        if name not in values and field.is_required():
            raise Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, f"{field_path} is missing")
    try:
        return cls(**values)
    except ValidationError as error:
        problem = error.errors()[0]
        raise Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, f"{path}: {problem['msg']}") from None


def read_leniently(cls: type[M], element: etree._Element, version: Version) -> M:
    """Read what can be read of `element` as `cls` (all of whose fields are optional), skipping what cannot."""
    found = children(element)
    values: dict[str, Any] = {}
    for name, field in cls.model_fields.items():
        tag, elements = _field_elements(name, field, found, version)
        if elements:
            try:
                values[name] = _read_value(field_shape(field)[0], elements[0], tag, version, required=False)
            except Iso18626Error:
                continue
    return cls(**values)
