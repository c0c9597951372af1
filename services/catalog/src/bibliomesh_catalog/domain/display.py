"""The union record shown for a cluster: each field taken from the most complete member (see ingest)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ClusterDisplay(BaseModel):
    """Stored as `clusters.display`; read by search, SRU, OAI-PMH and the cluster API."""

    model_config = ConfigDict(extra="ignore")

    title: str = Field(description="Title proper (245 $a, with $b subtitle appended after ' : ').")
    authors: list[str] = Field(default_factory=list, description="Main and added personal/corporate names.")
    year: int | None = None
    publisher: str | None = None
    place: str | None = None
    language: str | None = Field(default=None, description="MARC language code (008/35-37), e.g. `eng`, `chi`.")
    format: str = Field(description="`print` or `electronic`.")
    edition: str | None = None
    extent: str | None = Field(default=None, description="Physical description (300 $a), e.g. `xii, 320 p.`.")
    series: str | None = None
    subjects: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="General and summary notes (500, 520).")
    isbns: list[str] = Field(default_factory=list, description="Normalized ISBN-13s.")
    issns: list[str] = Field(default_factory=list)
    oclc_numbers: list[str] = Field(default_factory=list)
    lccns: list[str] = Field(default_factory=list)
    urls: list[str] = Field(default_factory=list, description="Links to electronic versions (856 $u).")
