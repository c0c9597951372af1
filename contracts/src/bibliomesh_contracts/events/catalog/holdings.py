"""Holdings events: what the broker needs to route a request to an item without calling the catalogue."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

HoldingStatus = Literal["available", "on-loan", "missing", "not-for-loan", "in-process"]


class HoldingsChangedV1(BaseModel):
    """One item of one institution appeared, changed (status, due date, location, record, cluster) or went away.

    Carries the record's identifiers and title key so that a citation can be matched to holders directly, and its
    title so that a request for it can be named without asking the catalogue."""

    model_config = ConfigDict(extra="ignore")

    institution: str = Field(description="Code of the holding institution.")
    item_id: str = Field(description="The institution's item id (barcode).")
    change: Literal["appeared", "changed", "withdrawn"] = Field(
        description="`withdrawn`: the item is gone (record deleted or the item left its record).")
    status: HoldingStatus = Field(description="Circulation status (the last known one when withdrawn).")
    available: bool = Field(description="On the shelf and lendable now: status `available` and not withdrawn.")
    due_date: date | None = Field(default=None, description="Due date of an item on loan.")
    format: Literal["print", "electronic"] = Field(description="Print item or electronic resource.")
    ill_copy_allowed: bool = Field(description="Whether interlibrary copies may be supplied from it.")
    location: str | None = Field(default=None, description="Holding branch or shelving location.")
    call_number: str | None = Field(default=None)
    local_id: str = Field(description="The institution's record id the item belongs to.")
    record_id: int = Field(description="The catalogue's record id.")
    cluster_id: int | None = Field(description="The cluster of that record.")
    isbns: list[str] = Field(default_factory=list, description="The record's normalized ISBN-13s.")
    issns: list[str] = Field(default_factory=list, description="The record's normalized ISSNs.")
    oclc_numbers: list[str] = Field(default_factory=list, description="The record's OCLC numbers.")
    title_key: str = Field(description="Normalized title|first author|year key of the record, for citations "
                                       "without identifiers.")
    title: str | None = Field(
        default=None, description="The record's title as displayed (title proper, ` : ` subtitle, parts), in the "
                                  "record's own spelling. Null in events published before it was carried.")
    alt_title: str | None = Field(
        default=None, description="The record's first title in another script, if it has one (in MARC the 880 "
                                  "paired with 245, e.g. the Chinese title of a record catalogued in pinyin).")
