"""The bulk account import format: CSV with a header row, or a JSON array of objects with the same fields.

Each row is validated on its own, so one bad row is reported and the others still go in.
"""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bibliomesh_auth.entrypoints.api.schemas_accounts import (
    DisplayName,
    Email,
    Language,
    Password,
    PickupLocation,
    Role,
    Username,
)
from bibliomesh_auth.service_layer.account_import import ParsedRow, RowResult
from meshkit.problems import ContentTooLarge, Problem

MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 2000
COLUMNS = ("username", "email", "display_name", "roles", "pickup_location", "language", "password")


class ImportRow(BaseModel):
    """One account to create, or to bring up to date if the username exists (passwords of existing accounts are
    never changed by an import)."""

    model_config = ConfigDict(extra="forbid")

    username: Username
    email: Email | None = None
    display_name: DisplayName | None = None
    roles: list[Role] | None = Field(default=None, min_length=1, max_length=4,
                                     description="In CSV: separated by `;`, `|` or spaces.")
    pickup_location: PickupLocation | None = None
    language: Language | None = None
    password: Password | None = Field(default=None, description="Only used when the account is created.")

    @field_validator("roles", mode="before")
    @classmethod
    def _split_roles(cls, value: Any) -> Any:
        return [r for r in re.split(r"[;|,\s]+", value) if r] if isinstance(value, str) else value


class ImportRowResult(BaseModel):
    row: int = Field(description="1-based position among the data rows.")
    username: str | None
    result: Literal["created", "updated", "unchanged", "rejected"]
    id: str | None = Field(default=None, description="The account's id when created, updated or unchanged.")
    field: str | None = Field(default=None, description="The offending field of a rejected row.")
    reason: str | None = Field(default=None, description="Why a row was rejected.")

    @classmethod
    def of(cls, result: RowResult) -> ImportRowResult:
        """The wire form of one row's outcome."""
        return cls(row=result.row, username=result.username, result=result.result, id=result.user_id,
                   field=result.field, reason=result.reason)


class ImportReport(BaseModel):
    created: int
    updated: int
    unchanged: int
    rejected: int
    rows: list[ImportRowResult]


def parse_upload(body: bytes, content_type: str) -> list[ParsedRow]:
    """Rows from a CSV or JSON upload; problems with the whole file are 4xx, problems with a row are per row."""
    if len(body) > MAX_IMPORT_BYTES:
        raise ContentTooLarge(f"an import may be at most {MAX_IMPORT_BYTES} bytes; split the file",
                             max_bytes=MAX_IMPORT_BYTES)
    media = content_type.split(";")[0].strip().lower()
    if media == "text/csv":
        raw = _csv_rows(body)
    elif media == "application/json":
        raw = _json_rows(body)
    else:
        raise Problem("send text/csv (with a header row) or application/json (an array of objects)", status=415)
    if len(raw) > MAX_IMPORT_ROWS:
        raise ContentTooLarge(f"an import may have at most {MAX_IMPORT_ROWS} rows; it has {len(raw)}",
                             max_rows=MAX_IMPORT_ROWS)
    return [_validated(number, row) for number, row in enumerate(raw, start=1)]


def _csv_rows(body: bytes) -> list[Any]:
    try:
        text = body.decode("utf-8-sig")  # spreadsheets often write a byte-order mark
    except UnicodeDecodeError:
        raise Problem("the CSV must be UTF-8", status=400) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        lines = [line for line in reader if any(cell.strip() for cell in line)]
    except csv.Error as exc:
        raise Problem(f"unreadable CSV near line {reader.line_num}: {exc}", status=400) from None
    if not lines:
        raise Problem("the CSV is empty; it needs a header row naming the columns", status=400)
    header = [cell.strip().lower() for cell in lines[0]]
    unknown = [name for name in header if name not in COLUMNS]
    if unknown or "username" not in header:
        errors = [{"field": name, "message": "unknown column"} for name in unknown]
        if "username" not in header:
            errors.append({"field": "username", "message": "the header must name a username column"})
        raise Problem(f"bad CSV header; the columns are {', '.join(COLUMNS)}", status=422, errors=errors)
    rows: list[Any] = []
    for line in lines[1:]:
        if len(line) > len(header):
            rows.append(f"has {len(line)} cells but the header names {len(header)} columns")
            continue
        rows.append({name: cell for name, cell in zip(header, line, strict=False) if cell.strip()})
    return rows


def _json_rows(body: bytes) -> list[Any]:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise Problem("the body is not valid JSON", status=400) from None
    except RecursionError:
        raise Problem("the JSON body is nested too deeply", status=422,
                      errors=[{"field": "body", "message": "nested too deeply"}]) from None
    if not isinstance(data, list):
        raise Problem("the JSON body must be an array of account objects", status=422,
                      errors=[{"field": "body", "message": "must be an array"}])
    return data


def _validated(number: int, raw: Any) -> ParsedRow:
    username = raw.get("username") if isinstance(raw, dict) else None
    username = username if isinstance(username, str) else None
    if isinstance(raw, str):
        return ParsedRow(row=number, username=None, fields=None, field="row", reason=raw)
    if not isinstance(raw, dict):
        return ParsedRow(row=number, username=None, fields=None, field="row", reason="must be an object")
    try:
        row = ImportRow.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "row"
        return ParsedRow(row=number, username=username, fields=None, field=field, reason=first["msg"])
    return ParsedRow(row=number, username=row.username, fields=row.model_dump(exclude_unset=True))
