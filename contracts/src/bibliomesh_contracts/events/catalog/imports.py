"""Import events: a bulk load of an institution's records ended, so its admins can be told how it went."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ImportFinishedV1(BaseModel):
    """A streamed import (`POST /catalog/imports`) succeeded or failed."""

    model_config = ConfigDict(extra="ignore")

    job_id: str = Field(description="The import job's id (`GET /catalog/imports/{id}`).")
    institution: str = Field(description="Whose records were imported.")
    status: Literal["succeeded", "failed"] = Field(description="How it ended.")
    filename: str | None = Field(default=None, description="The uploaded file's name, if given.")
    records_read: int = Field(ge=0)
    created: int = Field(ge=0)
    updated: int = Field(ge=0)
    unchanged: int = Field(ge=0)
    rejected: int = Field(ge=0)
    failure: str | None = Field(default=None, description="Why it failed.")
    started_by: str = Field(description="Who started it (token subject).")
    finished_at: datetime = Field(description="When it ended.")
