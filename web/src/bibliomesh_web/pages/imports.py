"""Bulk record upload: the file streams through to `POST /catalog/imports` (never held whole here), then the page
follows the job (`GET /catalog/imports/{id}`) with a progress bar. With scripts the browser sends the file as the
request body and shows the upload's own progress; without them a plain form upload does the same."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from bibliomesh_web.platform import ApiError
from bibliomesh_web.views import FormPage, Page, PageDep

router = APIRouter()
CHUNK = 64 * 1024
MEDIA_TYPES = {".mrc": "application/marc", ".marc": "application/marc", ".xml": "application/marcxml+xml",
               ".json": "application/json", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}


def media_type_for(filename: str) -> str | None:
    suffix = filename[filename.rfind("."):].lower() if "." in filename else ""
    return MEDIA_TYPES.get(suffix)


@router.get("/staff/imports", response_class=HTMLResponse)
async def imports(page: PageDep) -> HTMLResponse:
    user = page.require_staff()
    listed = await page.api.get("/catalog/imports", institution=user.institution, limit=20)
    return await page.render("imports.html", jobs=listed.get("imports", []), accept=",".join(MEDIA_TYPES))


@router.post("/staff/imports")
async def upload(request: Request, page: FormPage) -> Response:
    """Script uploads send the file as the body (`?filename=`) and get JSON; the form fallback gets a redirect."""
    page.require_staff()
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form() as form:  # its spooled file goes as soon as it has been sent on
            file = form.get("file")
            if not isinstance(file, UploadFile) or not file.filename:
                page.flash("error", "imports.no_file")
                return page.redirect("/staff/imports")
            job = await _start(page, file.filename, _chunks(file))
        if isinstance(job, str):
            page.flash("error", "imports.failed", detail=job)
            return page.redirect("/staff/imports")
        return page.redirect(f"/staff/imports/{job['id']}")
    filename = request.query_params.get("filename", "")
    job = await _start(page, filename, request.stream())
    if isinstance(job, str):
        return JSONResponse({"error": page.t("imports.failed", detail=job)}, status_code=400)
    return JSONResponse({"id": job["id"], "url": f"/staff/imports/{job['id']}"}, status_code=202)


async def _start(page: Page, filename: str, body: AsyncIterator[bytes]) -> dict[str, Any] | str:
    media_type = media_type_for(filename)
    if media_type is None:
        return page.t("imports.unknown_type", types=", ".join(MEDIA_TYPES))
    try:
        response = await page.api.call("POST", "/catalog/imports", params={"filename": filename[-500:]},
                                       content=body, headers={"content-type": media_type})
    except ApiError as exc:
        return exc.detail
    started: dict[str, Any] = response.json()
    return started


async def _chunks(upload: UploadFile) -> AsyncIterator[bytes]:
    while chunk := await upload.read(CHUNK):
        yield chunk


@router.get("/staff/imports/{job_id}", response_class=HTMLResponse)
async def job_page(page: PageDep, job_id: str) -> HTMLResponse:
    page.require_staff()
    job = await page.api.get(f"/catalog/imports/{job_id}")
    return await page.render("import_job.html", job=job, percent=percent(job))


@router.get("/staff/imports/{job_id}/progress")
async def progress(page: PageDep, job_id: str) -> JSONResponse:
    page.require_staff()
    job = await page.api.get(f"/catalog/imports/{job_id}")
    counts = {k: job.get(k, 0) for k in ("records_read", "created", "updated", "unchanged", "rejected")}
    return JSONResponse({"status": job["status"], "percent": percent(job), "failure": job.get("failure"),
                         "text": page.t(f"imports.status.{job['status']}"),
                         "counts": page.t("imports.counts", **counts)})


def percent(job: dict[str, Any]) -> int:
    if job.get("status") == "succeeded":
        return 100
    total = job.get("bytes_total") or 0
    return min(99, int(100 * job.get("bytes_read", 0) / total)) if total else 0


