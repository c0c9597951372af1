"""Credentials of outside ISO 18626 peers: a shared secret shown once, published only as an argon2id hash so the
broker can check inbound messages against its own copy of the directory."""

from __future__ import annotations

import secrets

from bibliomesh_auth.adapters.institution_repository import InstitutionRepository, VersionConflict
from bibliomesh_auth.domain.permissions import require_directory_admin
from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.local_login import hasher
from bibliomesh_contracts.events.directory import InstitutionSnapshot, InstitutionUpdatedV1
from meshkit.problems import Conflict, NotFound
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork


async def issue_peer_credentials(uow: UnitOfWork, caller: Principal, code: str, ip: str | None = None
                                 ) -> tuple[InstitutionSnapshot, str]:
    """A new secret for an external peer (replacing any earlier one) and the institution as now published."""
    require_directory_admin(caller, "issue peer credentials")
    repo = InstitutionRepository(uow.session)
    current = await repo.get(code)
    if current is None:
        raise NotFound(f"no institution {code}")
    if current.kind != "external-peer" or current.iso18626 is None:
        raise Conflict(f"{code} is not an external ISO 18626 peer")
    secret = secrets.token_urlsafe(32)
    peer = current.iso18626.model_copy(update={"credential_hash": hasher.hash(secret)})
    updated = current.model_copy(update={"iso18626": peer, "version": current.version + 1})
    try:
        await repo.replace(updated, current.version)
    except VersionConflict:
        raise Conflict(f"{code} was changed by someone else; retry") from None
    uow.publish(InstitutionUpdatedV1(institution=updated, changed_fields=["iso18626"]), aggregate_id=code,
                aggregate_version=updated.version, institution=code)
    await audit.record(uow, "peer-credentials-issued", actor=caller.subject, institution=code, target=code, ip=ip,
                       replaced=current.iso18626.credential_hash is not None)
    return updated, secret
