"""What notify can say, to whom, and over which channels."""

from __future__ import annotations

from enum import StrEnum


class Audience(StrEnum):
    PATRON = "patron"
    BORROWER_STAFF = "borrower_staff"
    LENDER_STAFF = "lender_staff"
    INSTITUTION_ADMINS = "institution_admins"


class Channel(StrEnum):
    EMAIL = "email"
    IN_APP = "in_app"
    WEBHOOK = "webhook"


PERSONAL_CHANNELS = (Channel.EMAIL, Channel.IN_APP)
"""Channels a person or a library mailbox chooses per message kind; webhooks are per institution."""

# Every message kind, with the audience it is written for. Templates exist for each kind, channel and language.
MESSAGE_KINDS: dict[str, Audience] = {
    "patron.submitted": Audience.PATRON,
    "patron.routed": Audience.PATRON,
    "patron.shipped": Audience.PATRON,
    "patron.ready_for_pickup": Audience.PATRON,
    "patron.copy_delivered": Audience.PATRON,
    "patron.due_soon": Audience.PATRON,
    "patron.overdue": Audience.PATRON,
    "patron.recalled": Audience.PATRON,
    "patron.renewal_answered": Audience.PATRON,
    "patron.cancelled": Audience.PATRON,
    "patron.unfilled": Audience.PATRON,
    "lender.new_request": Audience.LENDER_STAFF,
    "lender.cancel_requested": Audience.LENDER_STAFF,
    "lender.item_returned": Audience.LENDER_STAFF,
    "lender.renewal_requested": Audience.LENDER_STAFF,
    "borrower.conditions_to_accept": Audience.BORROWER_STAFF,
    "borrower.item_shipped": Audience.BORROWER_STAFF,
    "borrower.unfilled": Audience.BORROWER_STAFF,
    "admin.acquisition_suggested": Audience.INSTITUTION_ADMINS,
    "admin.webhook_disabled": Audience.INSTITUTION_ADMINS,
    "admin.import_finished": Audience.INSTITUTION_ADMINS,
}

DIGEST = "digest"
"""The daily digest e-mail that gathers a recipient's messages (e-mail only)."""

LANGUAGES = {"en": "en", "zh": "zh-CN"}
"""Directory language -> template folder."""


def template_language(language: str | None) -> str:
    return LANGUAGES.get(language or "en", "en")
