"""`bibliomesh catalog ...`: the service's operator commands plus `import`, which streams a catalogue file to
`POST /catalog/imports` and follows the job with a progress bar, and `harvest`, which asks the catalogue to
harvest an institution's OAI-PMH source now and follows the run."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer

from bibliomesh_catalog.adapters.holder_repository import KNOWN_STATUSES
from meshkit.problems import NotInDirectoryCopy

commands = typer.Typer(help="Bulk imports, OAI-PMH harvests and re-announcing holdings.")
MEDIA_TYPES = {".mrc": "application/marc", ".marc": "application/marc", ".xml": "application/marcxml+xml",
               ".json": "application/json", ".ndjson": "application/x-ndjson", ".jsonl": "application/x-ndjson"}
CHUNK = 256 * 1024
DIRECTORY_ATTEMPTS = 5
"""Times `import` asks the catalogue's copy of the directory (`GET /catalog/holders`) for the institution before
giving up: auth announces a newly registered institution within seconds, and until then an upload would be
refused (409 with Retry-After), after sending the whole file."""


def _chunks(path: Path, advance: Any) -> Iterator[bytes]:
    with path.open("rb") as stream:
        while chunk := stream.read(CHUNK):
            advance(len(chunk))
            yield chunk


@commands.command("import")
def import_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The catalogue file.")],
    institution: Annotated[str, typer.Option(help="Institution code the records belong to.")],
    url: Annotated[str, typer.Option(envvar="BIBLIOMESH_URL", help="Base URL of the catalogue (or gateway).")]
    = "http://localhost:8080",
    token: Annotated[str | None, typer.Option(envvar="BIBLIOMESH_TOKEN", help="Access token (catalog:write).")]
    = None,
    media_type: Annotated[str | None, typer.Option(help="Content type; guessed from the file name if omitted.")]
    = None,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between progress checks.")] = 1.0,
) -> None:
    """Stream FILE to the catalogue as a bulk import and follow it until it finishes."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

    content_type = media_type or MEDIA_TYPES.get(file.suffix.lower())
    if content_type is None:
        typer.echo(f"cannot tell the format of {file.name}; pass --media-type", err=True)
        raise typer.Exit(2)
    if not token:
        typer.echo("an access token is required: --token or BIBLIOMESH_TOKEN", err=True)
        raise typer.Exit(2)
    headers = {"authorization": f"Bearer {token}", "content-type": content_type}
    size = file.stat().st_size
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(), TimeRemainingColumn(),
               TextColumn("{task.fields[counts]}"))
    with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=httpx.Timeout(60, read=600)) as client, \
            Progress(*columns) as progress:
        if not _wait_for_directory(client, institution):
            progress.stop()
            typer.echo(f"refused: {institution} is still not in the catalogue's directory after "
                       f"{DIRECTORY_ATTEMPTS} checks; a newly registered institution is announced within seconds, "
                       "so check the code (or that auth's events reach the catalogue)", err=True)
            raise typer.Exit(1)
        upload = progress.add_task("upload", total=size, counts="")
        response = client.post("/catalog/imports", params={"institution": institution, "filename": file.name},
                               content=_chunks(file, lambda n: progress.advance(upload, n)))
        if response.status_code != 202:
            progress.stop()
            typer.echo(f"refused ({response.status_code}): {_detail(response)}", err=True)
            raise typer.Exit(1)
        job = response.json()
        work = progress.add_task("import", total=job.get("bytes_total") or size, counts="")
        while True:
            progress.update(work, completed=job["bytes_read"], counts=_counts(job))
            if job["status"] != "running":
                break
            time.sleep(poll)
            reply = client.get(f"/catalog/imports/{job['id']}")
            if reply.status_code != 200:
                progress.stop()
                typer.echo(f"cannot follow import {job['id']} ({reply.status_code}): {_detail(reply)}", err=True)
                raise typer.Exit(1)
            job = reply.json()
    typer.echo(f"import {job['id']} {job['status']}: {_counts(job)}")
    for error in job.get("errors", [])[:10]:
        typer.echo(f"  #{error.get('position')} {error.get('local_id') or ''}: {error.get('reason')}", err=True)
    if job["status"] != "succeeded":
        typer.echo(f"failed: {job.get('failure')}", err=True)
        raise typer.Exit(1)


@commands.command("harvest")
def harvest(
    institution: Annotated[str, typer.Option(help="Institution whose registered OAI-PMH source to harvest.")],
    url: Annotated[str, typer.Option(envvar="BIBLIOMESH_URL", help="Base URL of the catalogue (or gateway).")]
    = "http://localhost:8080",
    token: Annotated[str | None, typer.Option(envvar="BIBLIOMESH_TOKEN", help="Access token (catalog:write).")]
    = None,
    poll: Annotated[float, typer.Option(min=0.05, help="Seconds between progress checks.")] = 1.0,
) -> None:
    """Harvest the institution's source now (from where the last harvest got to) and follow the run."""
    if not token:
        typer.echo("an access token is required: --token or BIBLIOMESH_TOKEN", err=True)
        raise typer.Exit(2)
    path = f"/catalog/harvest-sources/{institution}/runs"
    with httpx.Client(base_url=url.rstrip("/"), headers={"authorization": f"Bearer {token}"}, timeout=60) as client:
        response = client.post(path)
        if response.status_code != 202:
            typer.echo(f"refused ({response.status_code}): {_detail(response)}", err=True)
            raise typer.Exit(1)
        run = response.json()
        while run["status"] in ("queued", "running"):
            typer.echo(f"{run['status']}: pages {run['pages']}, {_counts(run)}, deleted {run['deleted']}", err=True)
            time.sleep(poll)
            reply = client.get(f"{path}/{run['id']}")
            if reply.status_code != 200:
                typer.echo(f"cannot follow run {run['id']} ({reply.status_code}): {_detail(reply)}", err=True)
                raise typer.Exit(1)
            run = reply.json()
    typer.echo(f"harvest {run['id']} {run['status']}: pages {run['pages']}, {_counts(run)}, deleted {run['deleted']}")
    for error in run.get("errors", [])[:10]:
        typer.echo(f"  #{error.get('position')} {error.get('identifier') or ''}: {error.get('reason')}", err=True)
    if run["status"] != "succeeded":
        typer.echo(f"failed: {run.get('failure')}", err=True)
        raise typer.Exit(1)


@commands.command("announce-holdings")
def announce_holdings(
    institution: Annotated[str | None, typer.Option(help="Only this institution's items (default: every one).")]
    = None,
) -> None:
    """Publish every live item again (catalog.holdings.changed, a version newer), so the ILL broker rebuilds its copy
    of holdings: after restoring the broker from a backup, or when an upgrade's notes ask for it. Works on the
    catalogue's database directly (run it where the service runs); the running service's relay sends the events."""
    import asyncio

    from bibliomesh_catalog.adapters.tables import messaging
    from bibliomesh_catalog.service_layer.announcement import announce_holdings as announce
    from bibliomesh_catalog.settings import load_settings
    from meshkit.db import create_engine, session_factory
    from meshkit.unit_of_work import UnitOfWork

    settings = load_settings()

    async def main() -> int:
        engine = create_engine(settings.effective_database_url())
        sessions = session_factory(engine)
        try:
            return await announce(lambda: UnitOfWork(sessions, messaging.outbox, "catalog"), institution,
                                  progress=lambda done: typer.echo(f"{done} records announced", err=True))
        finally:
            await engine.dispose()

    typer.echo(f"announced the items of {asyncio.run(main())} record(s); the broker applies them as the events arrive")


def _wait_for_directory(client: httpx.Client, institution: str) -> bool:
    """Whether the catalogue's copy of the directory knows the institution, asked a few times with the pause a 409
    would name, before any byte of the file is sent. Any answer but a list of holders counts as known: the upload
    then tells what is wrong."""
    for attempt in range(1, DIRECTORY_ATTEMPTS + 1):
        response = client.get("/catalog/holders")
        if response.status_code != 200 or any(
                holder.get("code") == institution and holder.get("status") in KNOWN_STATUSES
                for holder in response.json()):
            return True
        if attempt == DIRECTORY_ATTEMPTS:
            return False
        wait = NotInDirectoryCopy.RETRY_AFTER_SECONDS
        typer.echo(f"{institution} is not in the catalogue's directory yet; waiting {wait:g} s for it to be "
                   f"announced (check {attempt} of {DIRECTORY_ATTEMPTS})", err=True)
        time.sleep(wait)
    return False


def _counts(job: dict[str, Any]) -> str:
    return (f"read {job['records_read']}, created {job['created']}, updated {job['updated']}, "
            f"unchanged {job['unchanged']}, rejected {job['rejected']}")


def _detail(response: httpx.Response) -> str:
    try:
        return str(response.json().get("detail", response.text))
    except ValueError:
        return response.text[:500]


def main() -> None:
    """The `bibliomesh-catalog` command: the shared service commands plus the ones above."""
    from bibliomesh_catalog.spec import SPEC
    from meshkit.cli import service_cli

    service_cli(SPEC)()
