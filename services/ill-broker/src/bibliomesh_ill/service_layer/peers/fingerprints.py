"""What identifies a peer's message, and the keys it is kept and found by (`resends.py` says why).

ISO 18626 messages carry no message id. Two sightings of one message share what it says (kind, action or answer,
agencies, note) and either its header `timestamp` or, from ReShare, which stamps each resend anew, the sequence
number ending its note (`#seq:12#`). So a message is kept under two keys, what it says with its timestamp and
what it says with its sequence number, and a message matching a kept one on either key is the same message.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from bibliomesh_ill.iso18626 import AgencyId, Message, Request, RequestingAgencyMessage, SupplyingAgencyMessage

_RESHARE_SEQUENCE = re.compile(r"#seq:(\d+)#\s*$")
_SAID = ("kind", "what", "requesting_agency", "supplying_agency", "note")


def fingerprint(message: Message) -> dict[str, Any]:
    """What identifies `message` among the peer's messages: its kind and what it says (action, or reason, status
    and answer), its header's agencies and `timestamp` (kept to the second), a digest of its note, and ReShare's
    sequence number if the note ends with one."""
    header, note = message.header, _note(message)
    sequence = _RESHARE_SEQUENCE.search(note or "")
    return {"kind": message.kind, "what": _what(message), "timestamp": header.timestamp.isoformat(),
            "requesting_agency": _agency(header.requesting_agency_id),
            "supplying_agency": _agency(header.supplying_agency_id),
            "note": hashlib.sha256(note.encode()).hexdigest()[:16] if note else None,
            "sequence": int(sequence.group(1)) if sequence else None}


def message_keys(kept: Mapping[str, Any]) -> tuple[str, str | None]:
    """The keys of fingerprint `kept`: what the message says with its timestamp, and with its sequence number (None
    without one). Missing fields count as empty, as in fingerprints kept by older versions."""
    said = [kept.get(name) for name in _SAID]
    sequence = kept.get("sequence")
    return _digest([*said, "timestamp", kept.get("timestamp")]), \
        _digest([*said, "sequence", sequence]) if sequence is not None else None


def _digest(values: list[Any]) -> str:
    return hashlib.sha256(json.dumps(values, separators=(",", ":")).encode()).hexdigest()


def _what(message: Message) -> str:
    if isinstance(message, RequestingAgencyMessage):
        return message.action.value
    if isinstance(message, SupplyingAgencyMessage):
        info, status = message.message_info, message.status_info.status
        answer = {True: "Y", False: "N", None: ""}[info.answer_yes_no]
        return "/".join((info.reason_for_message.value if info.reason_for_message else "",
                         status.value if status else "", answer))
    return ""


def _note(message: Message) -> str | None:
    if isinstance(message, RequestingAgencyMessage):
        return message.note
    if isinstance(message, SupplyingAgencyMessage):
        return message.message_info.note
    assert isinstance(message, Request)
    return message.service_info.note if message.service_info else None


def _agency(agency: AgencyId | None) -> str | None:
    return f"{agency.agency_id_type.value}:{agency.agency_id_value}" if agency else None
