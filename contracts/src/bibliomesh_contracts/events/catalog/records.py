"""Catalogue record events: a member record was stored or withdrawn."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RecordUpsertedV1(BaseModel):
    """A member record was created or changed (content, holdings or cluster)."""

    model_config = ConfigDict(extra="ignore")

    institution: str = Field(description="Code of the contributing institution.")
    local_id: str = Field(description="The institution's own record id (001).")
    record_id: int = Field(description="The catalogue's record id.")
    cluster_id: int | None = Field(description="The cluster (union record) the record belongs to now.")
    created: bool = Field(description="True when the record was new (or re-contributed after a delete).")
    format: str = Field(description="`print` or `electronic`.")
    title: str = Field(description="Title as catalogued by the institution.")
    year: int | None = Field(default=None, description="Publication year.")
    isbns: list[str] = Field(default_factory=list, description="Normalized ISBN-13s.")
    issns: list[str] = Field(default_factory=list, description="Normalized ISSNs (`NNNN-NNNC`).")
    oclc_numbers: list[str] = Field(default_factory=list, description="OCLC numbers without prefix.")
    lccns: list[str] = Field(default_factory=list, description="Normalized LCCNs.")
    content_hash: str = Field(description="sha256 of the record as contributed; unchanged content keeps it.")


class RecordDeletedV1(BaseModel):
    """A member record was withdrawn by its institution; its holdings went with it."""

    model_config = ConfigDict(extra="ignore")

    institution: str = Field(description="Code of the contributing institution.")
    local_id: str = Field(description="The institution's own record id.")
    record_id: int = Field(description="The catalogue's record id.")
    former_cluster_id: int | None = Field(description="The cluster it belonged to before.")
