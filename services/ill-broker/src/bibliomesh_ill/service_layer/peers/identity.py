"""Who an ISO 18626 message is from, and whether it proves it.

A peer is an institution of the directory with an ISO 18626 endpoint. Its messages carry its agency id and the
shared secret the directory issued to it (`requestingAgencyAuthentication`, or HTTP Basic where the 2021
edition has no place for it in the header); the broker checks the secret against the argon2id hash in its copy
of the directory. Inside the broker a peer acts through a principal of its own institution, so the same
transition table decides what it may do.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bibliomesh_ill.domain.tiers import Member
from bibliomesh_ill.iso18626 import ErrorData, ErrorType
from meshkit.security import Principal

_HASHER = PasswordHasher()
PEER_SCOPES = frozenset({"ill:request", "ill:manage", "ill:lend"})


def peer_principal(code: str) -> Principal:
    return Principal(subject=f"iso18626:{code}", institution=code, roles=frozenset({"iso18626-peer"}),
                     scopes=PEER_SCOPES)


def unrecognised(element: str, detail: str) -> ErrorData:
    return ErrorData(error_type=ErrorType.UNRECOGNISED_DATA_VALUE, error_value=f"{element}: {detail}")


def check_credentials(member: Member | None, agency: str, element: str, secret: str | None) -> ErrorData | None:
    """None if `secret` is the peer's issued credential; otherwise the ISO error to answer with. The same answer
    for an unknown agency and a wrong secret would hide which agencies exist, but peers need to tell a typo in
    their agency id from a wrong secret, and agency ids are public (ISIL)."""
    if member is None or not member.external:
        return unrecognised(element, f"{agency} is not an ISO 18626 peer of this broker")
    stored = (member.iso18626 or {}).get("credential_hash")
    if not stored:
        return unrecognised("requestingAgencyAuthentication", f"no ISO 18626 credentials are issued to {agency}")
    if not secret:
        return unrecognised("requestingAgencyAuthentication", "the message carries no securityCode")
    try:
        _HASHER.verify(stored, secret)
    except (VerificationError, InvalidHashError):
        return unrecognised("requestingAgencyAuthentication", "wrong credentials")
    return None
