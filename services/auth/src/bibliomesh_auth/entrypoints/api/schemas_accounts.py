"""Request and response bodies of `/auth/users`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field, StrictInt, StringConstraints

from bibliomesh_auth.domain.accounts import User
from bibliomesh_auth.domain.text import formula_problem, has_control_character


def _not_a_formula(value: str) -> str:
    """Names and addresses end up in spreadsheets staff open; none legitimately starts like a formula."""
    problem = formula_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _plain_text(value: str) -> str:
    if has_control_character(value):
        raise ValueError("must not contain control characters (such as NUL, a tab or a line break)")
    return _not_a_formula(value)


Username = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@\-]{0,99}$")]
Role = Literal["patron", "staff", "institution-admin", "platform-admin"]
Language = Literal["en", "zh"]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300),
                        AfterValidator(_plain_text)]
PickupLocation = Annotated[str, StringConstraints(min_length=1, max_length=200)]


def _utf8(value: str) -> str:
    # JSON can escape an unpaired surrogate, which argon2 cannot hash (UTF-8 has no form of it).
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no unpaired surrogates)") from None
    return value


Password = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_utf8)]
Email = Annotated[EmailStr, StringConstraints(max_length=320), AfterValidator(_not_a_formula)]


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username = Field(description="Sign-in name, unique within the institution.")
    institution: str | None = Field(default=None, max_length=64,
                                    description="The account's institution; default: the caller's.")
    email: Email | None = Field(default=None, description="Where notices go.")
    display_name: DisplayName | None = Field(default=None, description="Name shown to staff and in tokens.")
    roles: list[Role] = Field(default_factory=lambda: list[Role](["patron"]), min_length=1, max_length=4,
                              description="patron, staff, institution-admin; platform-admin only by a platform admin.")
    pickup_location: PickupLocation | None = Field(default=None,
                                                   description="One of the institution's `pickup_locations`.")
    language: Language = Field(default="en", description="Preferred language of messages.")
    password: Password | None = Field(default=None, description="Initial password (at least 10 characters, not "
                                      "containing the username); none for accounts that sign in by federation.")


class UserPatch(BaseModel):
    """Only the fields present change; `version` is the one last read (409 if someone changed it since)."""

    model_config = ConfigDict(extra="forbid")

    version: StrictInt = Field(ge=1, description="The account version this change is based on.")
    email: Email | None = None
    display_name: DisplayName | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=4)
    pickup_location: PickupLocation | None = None
    language: Language | None = None
    password: Password | None = Field(default=None, description="A new password set by an admin.")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    old_password: Password = Field(description="The current password.")
    new_password: Password = Field(description="The new password (same policy as on creation).")


class UserView(BaseModel):
    id: str = Field(description="Stable account id; tokens name it as `sub` = `user:<id>`.")
    institution: str
    username: str
    email: str | None
    display_name: str | None
    roles: list[str]
    pickup_location: str | None
    language: str
    status: Literal["active", "disabled"] | str
    federated: bool = Field(description="Signs in through the institution's identity provider.")
    has_password: bool = Field(description="Has a local password.")
    version: int

    @classmethod
    def of(cls, user: User) -> UserView:
        """The public view of an account: never the password hash."""
        return cls(id=user.id, institution=user.institution, username=user.username, email=user.email,
                   display_name=user.display_name, roles=sorted(user.roles), pickup_location=user.pickup_location,
                   language=user.language, status=user.status, federated=user.external_issuer is not None,
                   has_password=user.password_hash is not None, version=user.version)


class UserPage(BaseModel):
    items: list[UserView]
    limit: int
    offset: int
    next_offset: int | None = Field(description="Offset of the next page; null on the last one.")
