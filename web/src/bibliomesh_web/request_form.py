"""The request form of search results and record pages, read strictly: a value the form cannot have sent is an
error shown with the form again, never replaced by a default behind the person's back (a made-up service type is
not a loan, a made-up date is not "no date")."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bibliomesh_web.directory import Directory
from bibliomesh_web.i18n import Translator
from bibliomesh_web.sessions import User

SERVICE_TYPES = ("loan", "copy", "copy-or-loan")  # the API's; the form offers the first two
CITATION_LIMITS = {"article_title": 500, "pages": 40}  # the API's limits (`Citation`)
PICKUP_LIMIT = 200
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
FIELDS = ("service_type", "pickup_location", "needed_by", *CITATION_LIMITS)


@dataclass
class RequestForm:
    """What the form asked for (`values`, as sent, to fill the form again) and what is wrong with it (`errors`,
    translated, by field); `body` is the API's request body, to be sent only when there are no errors."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] = field(default_factory=dict)


def may_request(user: User | None) -> bool:
    """Whether the person may ask for interlibrary loans at all (a visitor is offered the sign-in link instead)."""
    return bool(user and "ill:request" in user.scopes)


def where_held(holders: Iterable[str], own: str | None) -> dict[str, bool]:
    """Which request box a search result or a record page offers: the request form where another library holds it
    (`held_elsewhere`), with a word that asking at the desk may be quicker where the person's own library holds it
    too (`held_here`), and only "ask at your desk" where nobody else does."""
    codes = set(holders)
    return {"held_here": own is not None and own in codes, "held_elsewhere": bool(codes - {own})}


def pickup_choices(directory: Directory, user: User) -> list[str]:
    """The pickup locations the form offers: the person's library's, and the person's own if it is not one."""
    choices = directory.pickup_locations(user.institution)
    if user.pickup_location and user.pickup_location not in choices:
        choices.insert(0, user.pickup_location)
    return choices


def read_request_form(form: dict[str, str], cluster_id: int, directory: Directory, user: User, today: date,
                      t: Translator) -> RequestForm:
    """The request for `cluster_id` the form asks for. The pickup location must be one the form offered, when
    the directory lists the person's library's (else the platform checks it); `today` is the earliest date the
    form lets one pick as needed by."""
    read = RequestForm(values={name: form.get(name, "") for name in FIELDS})
    service_type = form.get("service_type", "")
    if service_type not in SERVICE_TYPES:
        read.errors["service_type"] = t("request.invalid_service_type")
    pickup = form.get("pickup_location", "")
    listed = directory.pickup_locations(user.institution)
    if len(pickup) > PICKUP_LIMIT or (listed and pickup not in pickup_choices(directory, user)):
        read.errors["pickup_location"] = t("request.invalid_pickup")
    needed_raw = form.get("needed_by", "").strip()
    needed_by = _date(needed_raw) if needed_raw else None
    if needed_raw and (needed_by is None or needed_by < today):
        read.errors["needed_by"] = t("request.invalid_needed_by", today=today.isoformat())
    citation = {name: form.get(name, "").strip() for name in CITATION_LIMITS}
    for name, limit in CITATION_LIMITS.items():
        if len(citation[name]) > limit:
            read.errors[name] = t("request.too_long", limit=limit)
    if not read.errors:
        read.body = {"cluster_id": cluster_id, "service_type": service_type, "pickup_location": pickup or None,
                     "needed_by": needed_by.isoformat() if needed_by else None}
        if given := {name: value for name, value in citation.items() if value}:
            read.body["citation"] = given
    return read


def _date(raw: str) -> date | None:
    """The date `raw` spells as a date field sends it (YYYY-MM-DD), or None."""
    if not ISO_DATE.fullmatch(raw):
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        return None
