"""`bibliomesh auth ...`: the service's operator commands (serve, migrate, dead letters) plus key rotation and
client registration, which work directly on the auth database."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Annotated, TypeVar

import typer

from bibliomesh_auth.adapters.tables import messaging
from bibliomesh_auth.domain.scopes import PLATFORM_ADMIN_SCOPES
from bibliomesh_auth.service_layer import clients, directory, keys
from bibliomesh_auth.settings import AuthSettings, load_settings
from meshkit.db import create_engine, session_factory
from meshkit.problems import Problem
from meshkit.secret_box import SecretBox
from meshkit.security import Principal
from meshkit.unit_of_work import UnitOfWork

T = TypeVar("T")
commands = typer.Typer(help="Signing keys, API clients and the directory.")


def _run(action: Callable[[UnitOfWork, AuthSettings, SecretBox], Awaitable[T]]) -> T:
    """Run one use case in one committed transaction against the configured database."""
    from bibliomesh_auth.bootstrap import secret_box

    settings = load_settings()

    async def main() -> T:
        engine = create_engine(settings.effective_database_url())
        try:
            async with UnitOfWork(session_factory(engine), messaging.outbox, "auth") as uow:
                result = await action(uow, settings, secret_box(settings))
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except Problem as exc:
        typer.echo(f"refused: {exc.detail}", err=True)
        raise typer.Exit(1) from None


@commands.command("rotate-keys")
def rotate_keys(
    publish_ahead: Annotated[int, typer.Option(min=0, help="Seconds the new key is published before it signs; "
                                               "longer than any verifier's JWKS cache.")] = 120,
) -> None:
    """Publish a new signing key now; it signs after --publish-ahead seconds, when the current key retires."""
    rotation = _run(lambda uow, settings, box: keys.rotate_keys(uow, settings, box, timedelta(seconds=publish_ahead),
                                                                 actor="operator:cli"))
    typer.echo(f"new key {rotation.new_kid} published; signs from {rotation.activates_at.isoformat()}")
    if rotation.retiring:
        typer.echo(f"retiring {', '.join(rotation.retiring)}: published until "
                   f"{rotation.old_keys_published_until.isoformat()}; run purge-keys after that")


@commands.command("purge-keys")
def purge_keys() -> None:
    """Delete signing keys retired longer than one token lifetime (plus leeway) ago."""
    purged = _run(lambda uow, settings, box: keys.purge_keys(uow, settings, box, actor="operator:cli"))
    typer.echo(f"purged {purged} key(s)")


@commands.command("list-keys")
def list_keys(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Show every signing key and its state (pending, signing, retired, expired); never key material."""
    described = _run(keys.describe_keys)
    for key in described:
        typer.echo(json.dumps(key) if as_json else
                   f"{key['kid']}  {key['state']:8}  activates {key['activates_at']}  retired {key['retired_at']}")


@commands.command("create-client")
def create_client(
    name: Annotated[str, typer.Option(help="What the client is.")],
    institution: Annotated[str | None, typer.Option(
        help="Institution code the client acts for (default for --public: the platform's).")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="A scope to grant (repeat for several).")] = None,
    client_id: Annotated[str | None, typer.Option(help="Chosen client id (default: generated).")] = None,
    public: Annotated[bool, typer.Option("--public", help="A browser app without a secret, signing people in "
                                         "with the authorization code flow and PKCE (e.g. bibliomesh-web).")] = False,
    redirect_uri: Annotated[list[str] | None, typer.Option(
        help="An exact redirect URI of a --public client (repeat for several), e.g. <PUBLIC_URL>/callback.")] = None,
) -> None:
    """Register an API client as the platform operator: a confidential one (its secret printed this one time only)
    or, with --public, a browser app such as the web front end."""

    async def action(uow: UnitOfWork, settings: AuthSettings, _box: SecretBox) -> clients.NewClient:
        operator = _operator(settings)
        fields = {"institution": institution or (settings.platform_institution if public else None), "name": name,
                  "scopes": scope or [], "client_id": client_id, "is_public": public,
                  "redirect_uris": redirect_uri or []}
        return await clients.create_client(uow, settings, operator, fields)

    if redirect_uri and not public:
        typer.echo("refused: --redirect-uri is for --public clients", err=True)
        raise typer.Exit(1)
    created = _run(action)
    typer.echo(f"client_id={created.client.client_id}")
    if created.secret is None:
        typer.echo(f"public client; redirect URIs: {' '.join(created.client.redirect_uris)}", err=True)
        return
    typer.echo(f"client_secret={created.secret}")
    typer.echo("The secret is shown only now; store it in the partner system's configuration.", err=True)


@commands.command("announce-directory")
def announce_directory(
    people: Annotated[bool, typer.Option("--people/--no-people", help="Announce every person too.")] = True,
) -> None:
    """Publish every institution (and person) again with a new version, so the other services rebuild their copies
    (after restoring one of them from a backup, or when an upgrade's notes ask for it)."""

    async def action(uow: UnitOfWork, settings: AuthSettings, _box: SecretBox) -> tuple[int, int]:
        return await directory.announce_directory(uow, _operator(settings), people=people)

    institutions, persons = _run(action)
    typer.echo(f"announced {institutions} institution(s) and {persons} person(s); the services apply them as their "
               "events arrive")


def _operator(settings: AuthSettings) -> Principal:
    return Principal(subject="operator:cli", institution=settings.platform_institution,
                     roles=frozenset({"platform-admin"}), scopes=PLATFORM_ADMIN_SCOPES)


def main() -> None:
    """The `bibliomesh-auth` command: the shared service commands plus the ones above."""
    from bibliomesh_auth.spec import SPEC
    from meshkit.cli import service_cli

    service_cli(SPEC)()
