"""`bibliomesh`: run the platform and operate it."""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from bibliomesh_launcher.credentials import demo_bootstrap_client
from bibliomesh_launcher.demo import DEMO_PASSWORD, DemoData, load_demo_data, token_command
from bibliomesh_launcher.services import SERVICES
from meshkit.cli import service_cli

app = typer.Typer(help="Bibliomesh: the regional library sharing platform.", no_args_is_help=True)
for _spec in SERVICES:
    app.add_typer(service_cli(_spec), name=_spec.name)


@app.command()
def run(
    port: Annotated[int, typer.Option(envvar="PORT", help="Gateway port.")] = 8000,
    data_dir: Annotated[Path, typer.Option(envvar="DATA_DIR", help="Where the SQLite files live.")] = Path(".data"),
    demo: Annotated[bool, typer.Option(help="Load the demo institutions (idempotent).")] = True,
) -> None:
    """Embedded mode: every service in this one process, SQLite files under DATA_DIR, the embedded bus."""
    from bibliomesh_launcher.embedded import EmbeddedPlatform
    from meshkit.logs import configure_logging

    configure_logging("bibliomesh")
    client = demo_bootstrap_client(data_dir)
    platform = EmbeddedPlatform(data_dir=data_dir, port=port, bootstrap_client=client,
                                web_demo_password=DEMO_PASSWORD if demo else "")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, platform.stop)
        ready = asyncio.Event()
        serving = asyncio.create_task(platform.serve(ready))
        await ready.wait()
        loaded = None
        if demo and not serving.done():
            loaded = await load_demo_data(platform.public_url, *client)
            if loaded.created:
                typer.echo(f"demo data: created {', '.join(loaded.created)}")
            if loaded.records_created:
                typer.echo(f"demo catalogue: {loaded.records_created} records loaded; try "
                           f"{platform.public_url}/catalog/search?q=history")
        if not serving.done():
            _print_welcome(platform.public_url, client, data_dir, loaded)
        await serving

    asyncio.run(main())


@app.command("run-distributed")
def run_distributed(
    demo: Annotated[bool, typer.Option(help="Load the demo institutions (idempotent).")] = True,
) -> None:
    """One process per service plus the gateway, against PostgreSQL and RabbitMQ (URLs from the environment)."""
    from bibliomesh_launcher import distributed

    config = distributed.DistributedConfig()
    env = config.service_env(distributed.base_environment())
    if not env.get("AUTH_BOOTSTRAP_CLIENT_SECRET"):
        typer.echo("set AUTH_BOOTSTRAP_CLIENT_ID and AUTH_BOOTSTRAP_CLIENT_SECRET (distributed mode has no default)",
                   err=True)
        raise typer.Exit(2)
    processes = distributed.start_processes(config, env)
    public = f"http://{config.host}:{config.gateway_port}"
    try:
        distributed.wait_ready(public)
        if demo:
            asyncio.run(load_demo_data(public, env["AUTH_BOOTSTRAP_CLIENT_ID"], env["AUTH_BOOTSTRAP_CLIENT_SECRET"]))
        typer.echo(f"Bibliomesh (distributed) is up at {public}  —  readiness: {public}/readyz")
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        typer.echo("a process exited; stopping the others", err=True)
    except KeyboardInterrupt:
        pass
    finally:
        distributed.stop_processes(processes)


@app.command()
def migrate() -> None:
    """Migrate every service's database (settings from the environment), creating databases that are missing."""
    from meshkit.migrations import ensure_database, upgrade

    for spec in SERVICES:
        url = spec.settings().effective_database_url()
        asyncio.run(ensure_database(url))
        upgrade(spec.migrations, url)
        typer.echo(f"{spec.name}: database at head")


def _print_welcome(url: str, client: tuple[str, str], data_dir: Path, demo: DemoData | None = None) -> None:
    text = (
        f"\nBibliomesh is running (embedded mode)\n"
        f"  web          {url}/  (sign in, search, request, staff queues)\n"
        f"  gateway      {url}\n"
        f"  readiness    {url}/readyz\n"
        f"  directory    {url}/auth/institutions\n"
        f"  data         {data_dir.resolve()}\n"
        f"  admin client id={client[0]} secret={client[1]}\n"
        f"    token:     curl -s -u '{client[0]}:{client[1]}' -d grant_type=client_credentials {url}/auth/token\n")
    if demo is not None:
        text += (
            f"  demo people  {', '.join(demo.usernames)} at each of {', '.join(demo.institutions)}\n"
            f"               password {demo.password}; operator at CN-DL-RPL is the platform admin\n")
        if demo.cli_client:
            text += f"    token:     {token_command(url, demo)}\n"
    typer.echo(text + "Stop with Ctrl-C; a second run keeps what this one stored.\n", err=False)
    sys.stdout.flush()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
