"""The operator commands every service has: serve, migrate, and dead letters (list, replay)."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

import typer

from meshkit.bus import Subscription, Transport
from meshkit.migrations import ensure_database, upgrade
from meshkit.runtime import build_transport
from meshkit.service_spec import ServiceSpec


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
