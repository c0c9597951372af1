"""`bibliomesh`: run the platform and operate it."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from bibliomesh_launcher import distributed
from bibliomesh_launcher.credentials import demo_bootstrap_client
from bibliomesh_launcher.demo import DEMO_PASSWORD, DemoData, load_demo_data, register_web_client, token_command
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
    port: Annotated[int, typer.Option(envvar="PORT", help="Gateway port; the other parts listen on the next five "
                                      "ports and the metrics 1000 above (8000: 8001-8005, 9000, 9005).")] = 8000,
    demo: Annotated[bool, typer.Option(help="Also load the demo institutions and accounts (idempotent); their "
                                       "published password makes this a local trial only.")] = False,
) -> None:
    """One process per service, the web front end and the gateway, on PostgreSQL, RabbitMQ and Redis.

    Needs AUTH_BOOTSTRAP_CLIENT_ID and AUTH_BOOTSTRAP_CLIENT_SECRET (the platform-admin client: no default here)
    and databases migrated with `bibliomesh migrate --distributed` (`make run-distributed` does both steps).
    Reads the environment for anything set, else: <P>DATABASE_URL
    postgresql+asyncpg://postgres@127.0.0.1:5432/bibliomesh_<service>, <P>BUS_URL amqp://guest:guest@127.0.0.1:5672/
    (P: AUTH_, CATALOG_, ILL_, NOTIFY_), GATEWAY_REDIS_URL redis://127.0.0.1:6379/0. Ports: the gateway on PORT
    (8000), auth, catalog, ill, notify and web on PORT+1..PORT+5, gateway and web metrics on PORT+1000 and
    PORT+1005. When one process exits the others are stopped.
    """
    config = distributed.DistributedConfig.on_port(port)
    env = config.service_env(distributed.base_environment())
    if not env.get("AUTH_BOOTSTRAP_CLIENT_ID") or not env.get("AUTH_BOOTSTRAP_CLIENT_SECRET"):
        typer.echo("set AUTH_BOOTSTRAP_CLIENT_ID and AUTH_BOOTSTRAP_CLIENT_SECRET (distributed mode has no default)",
                   err=True)
        raise typer.Exit(2)
    if demo:
        env.setdefault("WEB_DEMO_PASSWORD", DEMO_PASSWORD)
    client = (env["AUTH_BOOTSTRAP_CLIENT_ID"], env["AUTH_BOOTSTRAP_CLIENT_SECRET"])
    public = f"http://{config.host}:{config.gateway_port}"
    previous = signal.signal(signal.SIGTERM, _interrupt)  # stop the children on SIGTERM too, not only on Ctrl-C
    processes = distributed.start_processes(config, env)
    try:
        distributed.wait_ready(public, processes=processes)
        loaded = None
        if demo:
            loaded = asyncio.run(load_demo_data(public, *client))
            if loaded.created:
                typer.echo(f"demo data: created {', '.join(loaded.created)}")
        else:
            asyncio.run(register_web_client(public, *client))
        _print_distributed_welcome(public, config, client[0], loaded)
        while not (exited := distributed.first_exited(processes)):
            time.sleep(0.5)
        raise exited
    except (distributed.ProcessExited, TimeoutError) as error:
        typer.echo(f"{error}; stopping the others", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        pass
    finally:
        distributed.stop_processes(processes)
        signal.signal(signal.SIGTERM, previous)


@app.command()
def migrate(
    distributed_defaults: Annotated[bool, typer.Option(
        "--distributed", help="Where a <P>DATABASE_URL is not set, use run-distributed's default (PostgreSQL "
        "database bibliomesh_<service> at 127.0.0.1:5432, user postgres) instead of SQLite under DATA_DIR.")] = False,
) -> None:
    """Migrate every service's database (settings from the environment), creating databases that are missing."""
    from meshkit.migrations import ensure_database, upgrade

    if distributed_defaults:
        os.environ.update(distributed.DistributedConfig().service_env(dict(os.environ)))
    for spec in SERVICES:
        url = spec.settings().effective_database_url()
        asyncio.run(ensure_database(url))
        upgrade(spec.migrations, url)
        typer.echo(f"{spec.name}: database at head")


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _demo_notice(url: str, demo: DemoData) -> str:
    text = (f"  demo people  {', '.join(demo.usernames)} at each of {', '.join(demo.institutions)}\n"
            f"               password {demo.password}; operator at CN-DL-RPL is the platform admin\n")
    if demo.cli_client:
        text += f"    token:     {token_command(url, demo)}\n"
    return text


def _print_distributed_welcome(url: str, config: distributed.DistributedConfig, client_id: str,
                               demo: DemoData | None) -> None:
    ports = ", ".join(f"{name} {port}" for name, port in config.ports().items())
    text = (
        f"\nBibliomesh is running (distributed mode: one process per part)\n"
        f"  web          {url}/\n"
        f"  gateway      {url}\n"
        f"  readiness    {url}/readyz\n"
        f"  ports        {ports}\n"
        f"  admin client id={client_id} (the secret is AUTH_BOOTSTRAP_CLIENT_SECRET)\n")
    if demo is not None:
        text += _demo_notice(url, demo) + (
            "  the demo password is published: anyone who can reach these ports can sign in as the platform admin\n")
    typer.echo(text + "Stop with Ctrl-C; if one process exits, the others are stopped.\n")
    sys.stdout.flush()


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
        text += _demo_notice(url, demo)
    typer.echo(text + "Stop with Ctrl-C; a second run keeps what this one stored.\n", err=False)
    sys.stdout.flush()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
