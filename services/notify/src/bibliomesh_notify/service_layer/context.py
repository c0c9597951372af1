"""The variables each template gets. Every key is always present (empty when unknown), so a template may test
any of them and StrictUndefined only catches real mistakes."""

from __future__ import annotations

from typing import Any

from bibliomesh_contracts.events.catalog import ImportFinishedV1
from bibliomesh_contracts.events.ill import AcquisitionSuggestedV1, RequestStepV1


def institution_name(contact: dict[str, Any] | None, code: str | None, language: str) -> str:
    if contact is None:
        return code or ""
    if language == "zh" and contact.get("name_zh"):
        return str(contact["name_zh"])
    return str(contact["name_en"])


def base_context(recipient_name: str | None, institution: str) -> dict[str, Any]:
    return {"recipient_name": recipient_name or "", "institution_name": institution}


def request_context(step: RequestStepV1, contacts: dict[str, dict[str, Any] | None], language: str
                    ) -> dict[str, Any]:
    """Facts of a request step, with library names in the recipient's language."""
    return {
        "request_id": step.request_id, "title": step.title, "service_type": step.service_type,
        "step": step.step,
        "borrower": institution_name(contacts.get(step.borrower), step.borrower, language),
        "lender": institution_name(contacts.get(step.lender or ""), step.lender, language) if step.lender else "",
        "due_date": step.due_date.isoformat() if step.due_date else "",
        "reason": step.reason or "", "note": step.note or "", "rush": step.service_level == "rush",
        "approved": step.approved,
    }


def import_context(finished: ImportFinishedV1) -> dict[str, Any]:
    return {"job_id": finished.job_id, "succeeded": finished.status == "succeeded",
            "filename": finished.filename or "", "records_read": finished.records_read,
            "created": finished.created, "updated": finished.updated, "unchanged": finished.unchanged,
            "rejected": finished.rejected, "failure": finished.failure or ""}


def suggestion_context(suggestion: AcquisitionSuggestedV1) -> dict[str, Any]:
    return {"title": suggestion.title, "item_key": suggestion.item_key, "request_count": suggestion.request_count,
            "window_days": suggestion.window_days}


def webhook_disabled_context(url: str, failures: int, last_error: str | None) -> dict[str, Any]:
    return {"webhook_url": url, "failures": failures, "last_error": last_error or ""}
