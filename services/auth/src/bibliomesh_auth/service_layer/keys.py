"""Signing-key rotation, as the operator runs it (`bibliomesh auth rotate-keys`, `purge-keys`).

The lifecycle of a key:
1. published: in the JWKS at once, but not signing until `publish_ahead` has passed, so every verifier has had
   the chance to fetch it (verifiers refetch on an unknown key id at most every few seconds, and HTTP caches may
   hold the JWKS for its `max-age` of 60 s; the default of 120 s covers both);
2. signing: the newest activated key signs; the previous key stops signing at that same moment;
3. retired: still published for one access-token lifetime plus 5 minutes of clock leeway, so tokens signed just
   before the switch keep verifying until they expire;
4. purged: `purge-keys` deletes keys retired longer than that; a token still carrying such a key id is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bibliomesh_auth.service_layer import audit
from bibliomesh_auth.service_layer.token_signing import key_store
from bibliomesh_auth.settings import AuthSettings
from meshkit.secret_box import SecretBox
from meshkit.unit_of_work import UnitOfWork

DEFAULT_PUBLISH_AHEAD = timedelta(seconds=120)


@dataclass(frozen=True)
class Rotation:
    new_kid: str
    retiring: list[str]
    activates_at: datetime
    old_keys_published_until: datetime


async def rotate_keys(uow: UnitOfWork, settings: AuthSettings, box: SecretBox,
                      publish_ahead: timedelta = DEFAULT_PUBLISH_AHEAD, actor: str = "operator") -> Rotation:
    """Publish a new signing key now; it starts signing after `publish_ahead`, when the current keys retire."""
    keys = key_store(uow, settings, box)
    new_kid, retiring = await keys.rotate(publish_ahead)
    activates_at = datetime.now(UTC) + publish_ahead
    await audit.record(uow, "signing-key-rotated", actor=actor, target=new_kid, retiring=retiring,
                       activates_at=activates_at.isoformat())
    return Rotation(new_kid=new_kid, retiring=retiring, activates_at=activates_at,
                    old_keys_published_until=activates_at + keys.publish_retired_for)


async def purge_keys(uow: UnitOfWork, settings: AuthSettings, box: SecretBox, actor: str = "operator") -> int:
    """Delete keys retired longer than a token lifetime (plus leeway) ago; returns how many."""
    purged = await key_store(uow, settings, box).purge_expired()
    if purged:
        await audit.record(uow, "signing-keys-purged", actor=actor, count=purged)
    return purged


async def describe_keys(uow: UnitOfWork, settings: AuthSettings, box: SecretBox) -> list[dict[str, str | None]]:
    """Each stored key's id and state (`pending`, `signing`, `retired`, `expired`), newest first."""
    keys = key_store(uow, settings, box)
    now = datetime.now(UTC)
    described: list[dict[str, str | None]] = []
    for key in await keys.describe():
        activates, retired = _aware(key["activates_at"]), _aware(key["retired_at"])
        if activates is not None and activates > now:
            state = "pending"
        elif retired is None or retired > now:
            state = "signing"
        elif retired + keys.publish_retired_for > now:
            state = "retired"
        else:
            state = "expired"
        described.append({"kid": str(key["kid"]), "state": state,
                          "activates_at": activates.isoformat() if activates else None,
                          "retired_at": retired.isoformat() if retired else None})
    return described


def _aware(value: object) -> datetime | None:
    if not isinstance(value, datetime):
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
