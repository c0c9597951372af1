"""How a model field is written as an ISO 18626 element, in each edition of the schema.

By default a field `requesting_agency_request_id` is the element `requestingAgencyRequestId` in both editions;
an `Xml` marker in the field's `Annotated` metadata says otherwise (renamed, only in one edition, repeated
fewer times in 1.2, ...). The reader and the writer both walk the models through these functions, so the
mapping is written once.
"""

from __future__ import annotations

import types
from dataclasses import dataclass
from typing import Annotated, Any, Final, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from bibliomesh_ill.iso18626.codes import Version

_SAME: Final = "<field name>"


@dataclass(frozen=True)
class Xml:
    v1_2: str | None = _SAME
    """Element name in 1.2; None where 1.2 has no such element."""
    v2021: str | None = _SAME
    """Element name in 2021; None where 2021 has no such element."""
    max_in_1_2: int | None = None
    """A list field that 1.2 allows at most this many times (the writer keeps the first ones)."""
    plain_in_2021: bool = False
    """A scheme/value pair that 2021 turned into a plain string (the writer drops the scheme)."""
    xs_boolean: bool = False
    """A boolean written `true`/`false` (xs:boolean) rather than ISO's `Y`/`N`."""


NOT_XML = Xml(v1_2=None, v2021=None)
ONLY_2021 = Xml(v1_2=None)
ONLY_1_2 = Xml(v2021=None)
ONCE_IN_1_2 = Xml(max_in_1_2=1)


def renamed(*, v1_2: str, v2021: str, max_in_1_2: int | None = None) -> Xml:
    return Xml(v1_2=v1_2, v2021=v2021, max_in_1_2=max_in_1_2)


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def marker(field: FieldInfo) -> Xml:
    return next((item for item in field.metadata if isinstance(item, Xml)), Xml())


def element_name(name: str, field: FieldInfo, version: Version) -> str | None:
    """The field's element name in `version`, or None if that edition has no such element."""
    chosen = marker(field).v1_2 if version is Version.V1_2 else marker(field).v2021
    return camel(name) if chosen == _SAME else chosen


def element_names(name: str, field: FieldInfo, version: Version) -> list[str]:
    """Names to look for when reading: `version`'s name first, then the other edition's (peers mix them up)."""
    other = Version.V2021 if version is Version.V1_2 else Version.V1_2
    names = [element_name(name, field, version), element_name(name, field, other)]
    return list(dict.fromkeys(n for n in names if n is not None))


def in_xml(field: FieldInfo) -> bool:
    return marker(field) != NOT_XML


def _strip_annotated(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def field_shape(field: FieldInfo) -> tuple[Any, bool]:
    """(the item type, whether the field is a list) with Optional and Annotated taken off."""
    annotation = _strip_annotated(field.annotation)
    if get_origin(annotation) in (Union, types.UnionType):
        annotation = _strip_annotated(next(a for a in get_args(annotation) if a is not type(None)))
    if get_origin(annotation) is list:
        return _strip_annotated(get_args(annotation)[0]), True
    return annotation, False
