"""An ISO 18626 request, read as the broker's request input."""

from __future__ import annotations

from typing import Any

from bibliomesh_ill.iso18626 import Request, ServiceType
from bibliomesh_ill.service_layer.submit import RequestInput
from meshkit.numbers import whole_number
from meshkit.problems import InvalidField

_SERVICE = {ServiceType.LOAN: "loan", ServiceType.COPY: "copy", ServiceType.COPY_OR_LOAN: "copy-or-loan"}
_RUSH = {"rush", "express", "urgent", "priority"}


def citation_of(message: Request) -> dict[str, Any]:
    bib = message.bibliographic_info
    citation: dict[str, Any] = {"title": bib.title, "author": bib.author, "edition": bib.edition,
                                "article_title": bib.title_of_component, "pages": bib.pages_requested,
                                "issue": bib.issue, "volume": bib.volume[0] if bib.volume else None}
    for item in bib.bibliographic_item_id:
        code = item.bibliographic_item_identifier_code.value.upper()
        if code in ("ISBN", "ISSN"):
            citation.setdefault(code.lower(), item.bibliographic_item_identifier)
    for record in bib.bibliographic_record_id:
        if record.bibliographic_record_identifier_code.value.upper() in ("OCLC", "OCOLC"):
            citation["oclc"] = record.bibliographic_record_identifier
    publication = message.publication_info
    if publication is not None:
        citation.update(publisher=publication.publisher, year=publication.publication_date)
    return {key: value for key, value in citation.items() if value}


def cluster_of(record_id: str | None) -> int | None:
    """The cluster a `supplierUniqueRecordId` of digits (`cluster:<id>` or bare) names; None for other record ids
    (the peer's own, say), which leave the citation to find the item."""
    digits = (record_id or "").removeprefix("cluster:")
    if not digits.isdigit():  # any digits, `²` too: it looks like a cluster id, so a bad one is an error
        return None
    cluster_id = whole_number(digits)
    if cluster_id is None:
        raise InvalidField("supplierUniqueRecordId", "names no cluster this platform could have")
    return cluster_id


def request_input(message: Request, agency: str, only_lender: str | None) -> RequestInput:
    service = message.service_info
    level = (service.service_level.value if service and service.service_level else "").lower()
    patron = message.patron_info
    return RequestInput(
        service_type=_SERVICE.get(service.service_type, "loan") if service else "loan",
        cluster_id=cluster_of(message.bibliographic_info.supplier_unique_record_id),
        citation=citation_of(message), service_level="rush" if level in _RUSH else "normal",
        needed_by=service.need_before_date.date() if service and service.need_before_date else None,
        note=service.note if service else None, patron_id=patron.patron_id if patron else None, borrower=agency,
        allow_duplicate=True, origin="iso18626", peer_request_id=message.header.requesting_agency_request_id,
        only_lender=only_lender)
