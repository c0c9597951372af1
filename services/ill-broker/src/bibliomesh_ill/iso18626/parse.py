"""`parse`: bytes from a peer to a message, safely.

The XML is parsed with entities unresolved, no network and no huge trees, after a size check; any DOCTYPE or
entity declaration is refused (it has no place in ISO 18626 and is how entity-expansion and external-entity
attacks come in). The edition comes from the root's `ill:version`; without one the message is read as 1.2 (what
ReShare, CrossLink and OCLC send) unless it holds elements only 2021 has. Bare messages without the
`ISO18626Message` envelope (as some ReShare tests send) are accepted.
"""

from __future__ import annotations

import re

from lxml import etree

from bibliomesh_ill.iso18626.codes import ErrorType, MessageKind, Version, code_from_text, version_from_text
from bibliomesh_ill.iso18626.errors import HeaderEcho, Iso18626Error
from bibliomesh_ill.iso18626.models import (
    AnyMessage,
    IsoModel,
    Request,
    RequestConfirmation,
    RequestingAgencyMessage,
    RequestingAgencyMessageConfirmation,
    SupplyingAgencyMessage,
    SupplyingAgencyMessageConfirmation,
)
from bibliomesh_ill.iso18626.models.supplying import RetryInfoElement
from bibliomesh_ill.iso18626.reader import attribute, children, local_name, read_leniently, read_model

MAX_MESSAGE_BYTES = 1024 * 1024
"""Real messages are a few kilobytes; anything near a megabyte is not an ISO 18626 message."""

MODELS: dict[MessageKind, type[IsoModel]] = {
    MessageKind.REQUEST: Request,
    MessageKind.REQUEST_CONFIRMATION: RequestConfirmation,
    MessageKind.SUPPLYING_AGENCY_MESSAGE: SupplyingAgencyMessage,
    MessageKind.SUPPLYING_AGENCY_MESSAGE_CONFIRMATION: SupplyingAgencyMessageConfirmation,
    MessageKind.REQUESTING_AGENCY_MESSAGE: RequestingAgencyMessage,
    MessageKind.REQUESTING_AGENCY_MESSAGE_CONFIRMATION: RequestingAgencyMessageConfirmation,
}
_ONLY_IN_2021 = {"retryinfo", "shippinginfo", "consortialid", "authorid", "publisherid", "preferrededition",
                 "couriername"}
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_KIND_HINT = re.compile(rb"<(?:[\w.-]+:)?(request|supplyingAgencyMessage|requestingAgencyMessage)[\s/>]")
_VERSION_HINT = re.compile(rb"""<[^?!>][^>]*?version\s*=\s*["']([^"']{1,20})["']""")  # in a tag, not <?xml


def parse(data: bytes, *, max_bytes: int = MAX_MESSAGE_BYTES) -> AnyMessage:
    """Read one ISO 18626 message (any of the six), in either edition; `message.version` tells which.

    Raises `Iso18626Error` with the ISO error type: `BadlyFormedMessage` (not XML, too large, DOCTYPE, missing
    mandatory element), `UnrecognisedDataElement` (an envelope around something that is not a message),
    `UnrecognisedDataValue` (unknown version, status, date...), `UnsupportedActionType`,
    `UnsupportedReasonForMessageType`.
    """
    root = _safe_root(data, max_bytes)
    kind, element, version = _locate(root)
    try:
        return _read(kind, element, version)
    except Iso18626Error as error:
        error.kind, error.version, error.echo = kind, version, _echo(element, version)
        raise


def _hints(data: bytes) -> tuple[MessageKind | None, Version]:
    """Best guesses at the message kind and edition of bytes that could not be parsed."""
    kind = _KIND_HINT.search(data[:4096])
    version = _VERSION_HINT.search(data[:4096])
    return (MessageKind(kind.group(1).decode()) if kind else None,
            (version_from_text(version.group(1).decode("ascii", "replace")) if version else None) or Version.V1_2)


def _refuse(data: bytes, reason: str) -> Iso18626Error:
    kind, version = _hints(data)
    return Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, reason, kind=kind, version=version)


def _safe_root(data: bytes, max_bytes: int) -> etree._Element:
    if len(data) > max_bytes:
        raise _refuse(data, f"the message is larger than {max_bytes} bytes")
    if _DECLARATION.search(data):
        raise _refuse(data, "DOCTYPE and entity declarations are not allowed")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             remove_comments=True, remove_pis=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        raise _refuse(data, f"not well-formed XML: {error.msg}") from None
    if root is None:
        raise _refuse(data, "the message is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:  # declarations the byte scan missed (e.g. UTF-16)
        raise _refuse(data, "DOCTYPE and entity declarations are not allowed")
    return root


def _kind(element: etree._Element) -> MessageKind | None:
    name = local_name(element)
    return code_from_text(MessageKind, name) if name else None


def _locate(root: etree._Element) -> tuple[MessageKind, etree._Element, Version]:
    name = local_name(root)
    if name is not None and name.lower() == "iso18626message":
        carried = [child for child in root if local_name(child)]
        if not carried:
            raise Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE, "ISO18626Message carries no message")
        kind = _kind(carried[0])
        if kind is None:
            raise Iso18626Error(ErrorType.UNRECOGNISED_DATA_ELEMENT,
                                f"ISO18626Message/{local_name(carried[0])} is not an ISO 18626 message")
        return kind, carried[0], _version(root, kind)
    kind = _kind(root)
    if kind is None:
        raise Iso18626Error(ErrorType.BADLY_FORMED_MESSAGE,
                            f"the root element {name or root.tag!s} is not an ISO 18626 message")
    return kind, root, _version(root, kind)


def _version(root: etree._Element, kind: MessageKind) -> Version:
    stated = (attribute(root, "version") or "").strip()
    if not stated:
        return Version.V2021 if any((local_name(e) or "").lower() in _ONLY_IN_2021 for e in root.iter()) \
            else Version.V1_2
    version = version_from_text(stated)
    if version is None:
        raise Iso18626Error(ErrorType.UNRECOGNISED_DATA_VALUE,
                            f"ISO18626Message/@version: {stated[:40]!r} is not a supported version (1.2 or 2021)",
                            kind=kind)
    return version


def _read(kind: MessageKind, element: etree._Element, version: Version) -> AnyMessage:
    message = read_model(MODELS[kind], element, kind.value, version, {"version": version})
    if isinstance(message, SupplyingAgencyMessage):
        return _with_retry_fields(message, element, version)
    return message  # type: ignore[return-value]


def _with_retry_fields(message: SupplyingAgencyMessage, element: etree._Element,
                       version: Version) -> SupplyingAgencyMessage:
    """2021 keeps offered costs and the retry window in `retryInfo`; the model keeps them in `messageInfo`."""
    retry = children(element).get("retryinfo")
    if not retry:
        return message
    found = read_model(RetryInfoElement, retry[0], f"{message.kind}/retryInfo", version)
    info = message.message_info
    moved = {"offered_costs": info.offered_costs or found.offered_costs,
             "retry_before": info.retry_before or found.retry_before,
             "retry_after": info.retry_after or found.retry_after}
    return message.model_copy(update={"message_info": info.model_copy(update=moved)})


def _echo(element: etree._Element, version: Version) -> HeaderEcho | None:
    found = children(element)
    header = found.get("header") or found.get("confirmationheader")
    return read_leniently(HeaderEcho, header[0], version) if header else None
