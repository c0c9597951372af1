"""The operator commands every service has: serve, migrate, dead letters (list, replay) and parked outbox events
(list, release)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from sqlalchemy.ext.asyncio import AsyncEngine

from meshkit.bus import Subscription, Transport
from meshkit.db import create_engine
from meshkit.migrations import ensure_database, upgrade
from meshkit.parking import parked_events, release
from meshkit.runtime import build_transport
from meshkit.service_spec import ServiceSpec

T = TypeVar("T")


def service_cli(spec: ServiceSpec) -> typer.Typer:
    app = typer.Typer(help=f"Operate the {spec.name} service.", no_args_is_help=True)

    @app.command()
    def migrate(create_database: Annotated[bool, typer.Option(help="Create the database first if missing.")] = True
                ) -> None:
        """Bring the service's database schema up to date (what the Kubernetes migration Job runs)."""
        settings = spec.settings()
        url = settings.effective_database_url()
        if create_database:
            asyncio.run(ensure_database(url))
        upgrade(spec.migrations, url)
        typer.echo(f"{spec.name}: database at head")

    @app.command()
    def serve(host: str = "0.0.0.0", port: int = 8080) -> None:
        """Run the service alone (distributed mode)."""
        import uvicorn

        uvicorn.run(spec.create_app(settings=spec.settings()), host=host, port=port, log_config=None,
                    loop="uvloop", http="httptools", proxy_headers=True)

    dead = typer.Typer(help="Messages a consumer gave up on.", no_args_is_help=True)
    app.add_typer(dead, name="dead-letters")

    @dead.command("list")
    def list_dead(limit: int = 100, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Show parked messages with the error that parked them."""
        rows = asyncio.run(_with_transport(spec, lambda t, s: t.dead_letters(s, limit)))
        for queue, letters in rows:
            for letter in letters:
                item = {"queue": queue, "message_id": letter.message_id, "type": letter.routing_key,
                        "attempts": letter.attempts, "failed_at": letter.failed_at.isoformat() if letter.failed_at
                        else None, "error": letter.error}
                typer.echo(json.dumps(item) if as_json else
                           f"{queue}  {letter.message_id}  {letter.routing_key}  {letter.error}")
        if not as_json and not any(letters for _, letters in rows):
            typer.echo("no dead letters")

    @dead.command("replay")
    def replay(message_id: Annotated[list[str] | None, typer.Argument(help="Ids to replay; none means all.")] = None,
               queue: Annotated[str | None, typer.Option(help="Only this queue.")] = None) -> None:
        """Send parked messages back to their queue for another try."""
        ids = message_id or None
        rows = asyncio.run(_with_transport(spec, lambda t, s: t.replay(s, ids), queue))
        total = sum(count for _, count in rows)
        typer.echo(f"replayed {total} message(s)")

    outbox = typer.Typer(help="Events the relay parked: they failed on their own and no longer hold back the others.",
                         no_args_is_help=True)
    app.add_typer(outbox, name="outbox")

    @outbox.command("parked")
    def list_parked(limit: int = 100, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
        """Show parked events with the error that parked them (never their body)."""
        events = asyncio.run(_with_outbox(spec, lambda engine, table: parked_events(engine, table, limit)))
        for event in events:
            item = {"event_id": event.event_id, "type": event.event_type, "aggregate_id": event.aggregate_id,
                    "created_at": event.created_at.isoformat(), "parked_at": event.parked_at.isoformat(),
                    "attempts": event.attempts, "error": event.error}
            typer.echo(json.dumps(item) if as_json else
                       f"{event.event_id}  {event.event_type}  {event.aggregate_id}  {event.error}")
        if not as_json and not events:
            typer.echo("no parked events")

    @outbox.command("release")
    def release_parked(
        event_id: Annotated[list[str] | None, typer.Argument(help="Ids of the events to release.")] = None,
        release_all: Annotated[bool, typer.Option("--all", help="Release every parked event.")] = False,
    ) -> None:
        """Put parked events back in the queue, attempts reset: the relay publishes them at its next pass (in their
        original order) and parks again any that still fail."""
        if bool(event_id) == release_all:
            raise typer.BadParameter("give the ids of the events to release, or --all")
        wanted = None if release_all else event_id
        released = asyncio.run(_with_outbox(spec, lambda engine, table: release(engine, table, wanted)))
        typer.echo(f"released {len(released)} event(s)")
        missing = sorted(set(wanted or ()) - set(released))
        if missing:
            typer.echo(f"not parked: {' '.join(missing)}", err=True)
            raise typer.Exit(1)

    if spec.commands is not None:
        app.add_typer(spec.commands)
    return app


async def _with_transport(spec: ServiceSpec, action, only_queue: str | None = None):  # type: ignore[no-untyped-def]
    transport: Transport = build_transport(spec.settings())
    results = []
    try:
        await transport.start()
        subscriptions: list[Subscription] = [s for s in spec.subscriptions if only_queue in (None, s.queue)]
        for subscription in subscriptions:
            results.append((subscription.queue, await action(transport, subscription)))
    finally:
        await transport.close()
    return results


async def _with_outbox(spec: ServiceSpec, action: Callable[[AsyncEngine, sa.Table], Awaitable[T]]) -> T:
    engine = create_engine(spec.settings().effective_database_url())
    try:
        return await action(engine, spec.metadata.tables["outbox"])
    finally:
        await engine.dispose()
