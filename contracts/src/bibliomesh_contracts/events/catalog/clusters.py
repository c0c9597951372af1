"""Cluster events: the membership or the merged display of a union record changed."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ClusterMember(BaseModel):
    model_config = ConfigDict(extra="ignore")

    institution: str = Field(description="Code of the contributing institution.")
    local_id: str = Field(description="The institution's own record id.")
    joined_by: str | None = Field(
        default=None, description="The key that joined it, e.g. `isbn:9780306406157`, `override`; null alone.")


class ClusterChangedV1(BaseModel):
    """A cluster was created, changed membership or display, or went away (`status: deleted`)."""

    model_config = ConfigDict(extra="ignore")

    cluster_id: int = Field(description="The cluster's id.")
    status: Literal["active", "deleted"] = Field(description="`deleted` when no member is left.")
    merged_into: int | None = Field(
        default=None, description="For a deleted cluster whose members moved: the cluster that took most of them.")
    format: str = Field(description="`print` or `electronic`.")
    work_id: int | None = Field(default=None, description="Shared by the clusters of the same work in other formats.")
    title: str = Field(description="Title of the merged display record.")
    year: int | None = Field(default=None)
    isbns: list[str] = Field(default_factory=list, description="Every member's normalized ISBN-13s.")
    issns: list[str] = Field(default_factory=list)
    oclc_numbers: list[str] = Field(default_factory=list)
    members: list[ClusterMember] = Field(default_factory=list, description="The member records now.")
