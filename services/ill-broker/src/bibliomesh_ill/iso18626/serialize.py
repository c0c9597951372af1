"""`serialize`: a message to the bytes of one edition, checked against that edition's official schema.

What the chosen edition cannot carry is left out rather than refused, so a message read in 2021 can be answered
or passed on in 1.2: fields only 2021 has (consortial id, retry and shipping info, delivery URL...), the scheme of
a 2021 region, and list items beyond what 1.2 allows (the first are kept). Everything else must be valid: a
message the schema rejects raises `SerializationError` and is never returned.
"""

from __future__ import annotations

from lxml import etree

from bibliomesh_ill.iso18626.codes import MessageKind, Version
from bibliomesh_ill.iso18626.errors import SerializationError
from bibliomesh_ill.iso18626.models import (
    AnyMessage,
    Header,
    Request,
    RequestingAgencyMessage,
    RetryInfo,
    SupplyingAgencyMessage,
)
from bibliomesh_ill.iso18626.models.supplying import RetryInfoElement
from bibliomesh_ill.iso18626.reader import NAMESPACE
from bibliomesh_ill.iso18626.writer import qualified, write_model
from bibliomesh_ill.iso18626.xsd import schema_problems

# Header elements each 2021 message does without (1.2 has one header for all three).
_NOT_IN_2021_HEADER = {
    MessageKind.REQUEST: ("supplying_agency_request_id",),
    MessageKind.SUPPLYING_AGENCY_MESSAGE: ("consortial_id", "multiple_item_request_id",
                                           "requesting_agency_authentication"),
    MessageKind.REQUESTING_AGENCY_MESSAGE: ("multiple_item_request_id",),
}


def serialize(message: AnyMessage, version: Version | None = None) -> bytes:
    """The UTF-8 XML of `message` in `version` (default: `message.version`), valid against its schema.

    Raises `SerializationError` if the schema rejects it (e.g. a status missing, an action 1.2 does not know).
    """
    version = version or message.version
    root = etree.Element(qualified("ISO18626Message"), nsmap={None: NAMESPACE, "ill": NAMESPACE})
    root.set(qualified("version"), version.value)
    try:
        write_model(root, message.kind, _shaped(message, version), version)
    except ValueError as error:  # lxml refuses text XML cannot hold (control characters)
        raise SerializationError(f"the {message.kind} cannot be written as XML", [str(error)]) from None
    problems = schema_problems(root, version)
    if problems:
        raise SerializationError(f"the {message.kind} is not valid ISO 18626 {version.value}", problems)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def _shaped(message: AnyMessage, version: Version) -> AnyMessage:
    if isinstance(message, Request | SupplyingAgencyMessage | RequestingAgencyMessage):
        message = message.model_copy(update={"header": _header(message.header, MessageKind(message.kind), version)})
    if isinstance(message, SupplyingAgencyMessage) and version is Version.V2021:
        message = message.model_copy(update={"retry_info": _retry_element(message)})
    return message


def _header(header: Header, kind: MessageKind, version: Version) -> Header:
    if version is Version.V1_2:
        # Mandatory in 1.2, though few know one: written empty, as OCLC does.
        return header if header.multiple_item_request_id is not None else \
            header.model_copy(update={"multiple_item_request_id": ""})
    return header.model_copy(update=dict.fromkeys(_NOT_IN_2021_HEADER[kind]))


def _retry_element(message: SupplyingAgencyMessage) -> RetryInfoElement | None:
    info = message.message_info
    if message.retry_info is None and not (info.offered_costs or info.retry_before or info.retry_after):
        return None
    retry = message.retry_info or RetryInfo()
    return RetryInfoElement(**{name: getattr(retry, name) for name in RetryInfo.model_fields},
                            offered_costs=info.offered_costs, retry_before=info.retry_before,
                            retry_after=info.retry_after)
