"""From what an institution's identity provider says about a person to a Bibliomesh account: pure, no I/O.

The same claim names and role rules serve SAML later: there the "claims" are attribute values keyed by attribute
name (e.g. `urn:oid:1.3.6.1.4.1.5923.1.1.1.1` for eduPersonAffiliation).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bibliomesh_auth.domain.text import defused, formula_problem, has_control_character, without_control_characters
from bibliomesh_auth.federation.errors import NoRoleGranted, UntrustedAnswer

ROLES_AN_IDP_MAY_GRANT = frozenset({"patron", "staff", "institution-admin"})
"""Never `platform-admin`: an institution's directory cannot make someone an operator of the whole platform."""

_USERNAME_LENGTH, _EMAIL_LENGTH, _NAME_LENGTH = 200, 320, 300


@dataclass(frozen=True)
class ClaimNames:
    """Which claim (or, for SAML, attribute) carries each piece of the account."""

    username: str = "preferred_username"
    email: str = "email"
    name: str = "name"
    affiliation: str = "eduPersonAffiliation"

    def as_dict(self) -> dict[str, str]:
        return {"username": self.username, "email": self.email, "name": self.name, "affiliation": self.affiliation}

    def all(self) -> tuple[str, ...]:
        return self.username, self.email, self.name, self.affiliation


@dataclass(frozen=True)
class RoleRules:
    """Affiliation → roles (the union over every affiliation a person has); `default_roles` when none matches.

    `affiliation_scopes`, when given, are the institution's own scopes (domains): a scoped affiliation
    (`staff@uni.example`, eduPersonScopedAffiliation) counts only if its scope is one of them, as a SAML service
    provider checks `shibmd:Scope`. A provider serving several institutions (a university and its branches, a
    federation's proxy) otherwise makes a person staff here for being staff elsewhere."""

    by_affiliation: Mapping[str, frozenset[str]] = field(default_factory=dict)
    default_roles: frozenset[str] = frozenset()
    affiliation_scopes: frozenset[str] = frozenset()

    @classmethod
    def of(cls, rules: Mapping[str, Iterable[str]], default_roles: Iterable[str] = (),
           affiliation_scopes: Iterable[str] = ()) -> RoleRules:
        return cls({name.strip().lower(): frozenset(roles) for name, roles in rules.items()}, frozenset(default_roles),
                   frozenset(scope.strip().lower() for scope in affiliation_scopes))

    def roles_for(self, affiliations: Iterable[str]) -> frozenset[str]:
        matched: set[str] = set()
        for affiliation in affiliations:
            matched |= self.by_affiliation.get(affiliation, frozenset())
        return frozenset(matched) or self.default_roles

    def granted_roles(self) -> frozenset[str]:
        """Every role these rules can hand out (checked against ROLES_AN_IDP_MAY_GRANT when saved)."""
        return frozenset().union(*self.by_affiliation.values(), self.default_roles)


@dataclass(frozen=True)
class FederatedIdentity:
    """A person as their institution describes them, with the roles our rules give them."""

    subject: str
    username: str
    email: str | None
    display_name: str | None
    affiliations: tuple[str, ...]
    roles: frozenset[str]
    authenticated_at: datetime | None = None
    """When the person last authenticated at the provider (its `auth_time`), which a single sign-on session there
    may put well before this sign-in; None when the provider does not say."""
    out_of_scope: tuple[str, ...] = ()
    """Scoped affiliations the provider stated for another institution's scope: not counted, kept for the audit."""


def affiliations_of(value: Any, scopes: frozenset[str] = frozenset()) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The affiliations (a list, or one string of space- or comma-separated values) without their scopes, and the
    scoped ones left out because `scopes` (when given) does not hold their scope."""
    if value is None:
        return (), ()
    items = value if isinstance(value, list) else str(value).replace(",", " ").split()
    kept: set[str] = set()
    refused: set[str] = set()
    for item in items:
        text = str(item).strip().lower()
        name, scoped, scope = text.partition("@")
        if not name:
            continue
        if scoped and scopes and scope not in scopes:
            refused.add(without_control_characters(text)[:100])
        else:
            kept.add(name)
    return tuple(sorted(kept)), tuple(sorted(refused))


def map_identity(claims: Mapping[str, Any], names: ClaimNames, rules: RoleRules) -> FederatedIdentity:
    """The identity, or NoRoleGranted when the person's affiliations earn no role here."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise UntrustedAnswer("the identity provider named no subject")
    if has_control_character(subject):
        raise UntrustedAnswer("the identity provider's subject holds control characters")
    affiliations, out_of_scope = affiliations_of(claims.get(names.affiliation), rules.affiliation_scopes)
    roles = rules.roles_for(affiliations)
    if not roles:
        refused = f" (not counted, another institution's scope: {list(out_of_scope)})" if out_of_scope else ""
        raise NoRoleGranted(f"affiliations {list(affiliations)} match no role rule and there is no default "
                            f"role{refused}")
    username = _text(claims.get(names.username), _USERNAME_LENGTH) or subject[:_USERNAME_LENGTH]
    email = _text(claims.get(names.email), _EMAIL_LENGTH)
    if email is not None and ("@" not in email or claims.get("email_verified") is False or formula_problem(email)):
        email = None
    return FederatedIdentity(subject=subject, username=username, email=email,
                             display_name=_text(claims.get(names.name), _NAME_LENGTH, defuse=True),
                             affiliations=affiliations, roles=roles, authenticated_at=_moment(claims.get("auth_time")),
                             out_of_scope=out_of_scope)


def _moment(value: Any) -> datetime | None:
    """A NumericDate claim as a time, never later than now (a provider's clock may run ahead)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 2**40:
        return None
    return min(datetime.fromtimestamp(value, UTC), datetime.now(UTC))


def _text(value: Any, limit: int, defuse: bool = False) -> str | None:
    """A claim as text we keep: control characters dropped (an API or import would refuse them), and for what staff
    read in exports, the leading characters a spreadsheet would run as a formula (the provider is not ours to
    refuse: the person would not get in)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if not isinstance(value, str):
        return None
    text = without_control_characters(value).strip()
    if defuse:
        text = defused(text)
    return text[:limit] or None
