"""Demand-driven acquisition: repeated ILL demand at one institution becomes a purchase suggestion."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class AcquisitionSuggestedV1(BaseModel):
    """An institution's patrons requested the same item through ILL at least the institution's threshold times."""

    model_config = ConfigDict(extra="ignore")

    institution: str = Field(description="The borrowing institution the suggestion is for.")
    item_key: str = Field(description="What identifies the item: `cluster:<id>`, `isbn:<isbn13>` or `title:<key>`.")
    title: str = Field(description="Title of the item.")
    request_count: int = Field(ge=1, description="Requests counted within the window.")
    request_ids: list[str] = Field(description="The requests that are the evidence.")
    window_days: int = Field(ge=1, description="The window the requests were counted in.")
    suggested_at: datetime = Field(description="When the threshold was reached.")
