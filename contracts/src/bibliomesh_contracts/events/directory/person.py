"""Person events: what other services may know about a person with an account, so that they can reach them
(notifications) without calling the auth service."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class PersonChangedV1(BaseModel):
    """A person's account was created or changed (profile, roles, status)."""

    model_config = ConfigDict(extra="ignore")

    subject: str = Field(description="The `sub` of the person's tokens, e.g. `user:<id>`.")
    institution: str = Field(description="The institution the account belongs to.")
    display_name: str | None = Field(default=None, description="How to address the person.")
    email: str | None = Field(default=None, description="Where to send e-mail, if the person has an address.")
    language: Literal["en", "zh"] = Field(default="en", description="Language of messages to the person.")
    roles: list[str] = Field(description="patron, staff, institution-admin, platform-admin.")
    status: Literal["active", "disabled"] = Field(description="Disabled accounts get no messages.")
    version: int = Field(ge=1, description="Account version; grows with each change.")
