"""Demo records: 400 real Library of Congress records and a few Chinese ones, spread over the demo libraries with
overlaps (so the union catalogue shows clusters held by several libraries), each copy with its own items.

Loaded through `POST /catalog/records` with each library's own staff token, as a library system would.
"""

from __future__ import annotations

import asyncio
import copy
import io
import json
from importlib import resources
from typing import Any

import httpx
import pymarc

# Which slice of the sample each library holds; overlapping slices make shared clusters.
HOLDINGS_PLAN = {
    "CN-DL-LHU": range(0, 160),
    "CN-DL-LHU-ENG": range(120, 200),
    "CN-DL-LHU-MED": range(180, 270),
    "CN-DL-BNU": range(100, 320),
    "CN-DL-RPL": range(260, 400),
    "CN-SH-OSL": range(190, 280),
}
CHINESE_HOLDERS = ("CN-DL-BNU", "CN-DL-RPL")
DIRECTORY_ATTEMPTS = 30


def _sample() -> list[pymarc.Record]:
    data = resources.files("bibliomesh_launcher").joinpath("demo_data/loc-sample.mrc").read_bytes()
    return [r for r in pymarc.MARCReader(io.BytesIO(data), to_unicode=True, force_utf8=True) if r is not None]


def marc_for(institution: str, records: list[pymarc.Record], indexes: range) -> bytes:
    """The library's copy of each record: its own 001 and one item (852) per copy, some out on loan."""
    out = io.BytesIO()
    for index in indexes:
        record = copy.deepcopy(records[index])
        record.remove_fields("001", "852", "952")
        record.add_ordered_field(pymarc.Field(tag="001", data=f"{institution.lower()}-{index:04d}"))
        record.add_ordered_field(pymarc.Field(
            tag="852", indicators=pymarc.Indicators(" ", " "),
            subfields=[pymarc.Subfield("b", "Main stacks"), pymarc.Subfield("h", f"DEMO {index:04d}"),
                       pymarc.Subfield("p", f"{institution}-ITEM-{index:04d}")]))
        out.write(record.as_marc())
    return out.getvalue()


def chinese_records(institution: str) -> list[dict[str, Any]]:
    rows = json.loads(resources.files("bibliomesh_launcher").joinpath("demo_data/chinese.json").read_text("utf-8"))
    return [{**row, "holdings": [{"item_id": f"{institution}-{row['local_id']}", "location": "中文书库"}]}
            for row in rows]


async def load_demo_records(client: httpx.AsyncClient, staff_tokens: dict[str, str]) -> int:
    """Post each library's records (idempotent: a second run reports them unchanged). Returns how many were new."""
    records = _sample()
    created = 0
    for institution, indexes in HOLDINGS_PLAN.items():
        headers = {"Authorization": f"Bearer {staff_tokens[institution]}"}
        response = await _post_records(client, content=marc_for(institution, records, indexes),
                                       headers={**headers, "Content-Type": "application/marc"})
        response.raise_for_status()
        created += _created(response.json())
        if institution in CHINESE_HOLDERS:
            response = await _post_records(client, json=chinese_records(institution), headers=headers)
            response.raise_for_status()
            created += _created(response.json())
    return created


async def _post_records(client: httpx.AsyncClient, **request: Any) -> httpx.Response:
    """`POST /catalog/records`, sent again while the catalogue answers 409 with Retry-After: a library created a
    moment ago is known to the catalogue once auth's directory event reached it (within seconds)."""
    for _ in range(DIRECTORY_ATTEMPTS):
        response = await client.post("/catalog/records", **request)
        retry_after = response.headers.get("retry-after", "")
        if response.status_code != 409 or not retry_after.isdigit():
            break
        await asyncio.sleep(min(int(retry_after), 10))
    return response


def _created(report: dict[str, Any]) -> int:
    return int(report.get("counts", {}).get("created", 0))
