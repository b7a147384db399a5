"""`loyalty-admin create-admin`, `grant`, `create-token`, `revoke-token`: who may use the console
and the admin API. The CLI acts as `cli:<os user>`, an owner of every programme, and each change
is audited like the console's."""

import asyncio
from typing import Annotated

import typer

from gateway.admin.help import example
from gateway.admin.resources import AdminSettings, database
from gateway.admin.service import admins, passwords, tokens
from gateway.admin.service.actors import ROLES, Actor

ProgrammeOption = Annotated[
    list[str] | None,
    typer.Option("--programme", help="A programme the admin may see (repeat the option for more)."),
]
AllProgrammes = Annotated[
    bool,
    typer.Option("--all-programmes", help="Every programme, present and future (owners only)."),
]
EmailOption = Annotated[str, typer.Option("--email", help="The admin's email, their login.")]


def register(app: typer.Typer) -> None:
    app.command(
        "create-admin",
        epilog=example(
            "loyalty-admin create-admin --email owner@example.com --role owner --all-programmes",
            "loyalty-admin create-admin --email ops@example.com --role viewer --programme demo "
            "--generate-password",
        ),
    )(create_admin)
    app.command(
        "grant",
        epilog=example("loyalty-admin grant --email ops@example.com --programme demo"),
    )(grant)
    app.command(
        "create-token",
        epilog=example("loyalty-admin create-token --email owner@example.com --name deploy-bot"),
    )(create_token)
    app.command("revoke-token", epilog=example("loyalty-admin revoke-token 3f9a1c0e2b7d"))(
        revoke_token
    )


def create_admin(
    email: EmailOption,
    role: Annotated[str, typer.Option("--role", help=f"One of {', '.join(ROLES)}.")],
    programme: ProgrammeOption = None,
    all_programmes: AllProgrammes = False,
    generate_password: Annotated[
        bool,
        typer.Option(
            "--generate-password", help="Print a random password once instead of asking for one."
        ),
    ] = False,
) -> None:
    """Create an admin of the console and the admin API. The password is asked for (twice,
    hidden), or generated and printed once; only its argon2 hash is stored.

    Owners change everything of their programmes and manage admins, editors change
    configuration and keys, viewers only read.
    """
    if role not in ROLES:
        raise typer.BadParameter(
            f"'{role}' is not one of {', '.join(ROLES)}", param_hint="'--role'"
        )
    if generate_password:
        password = passwords.generated()
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    admin = asyncio.run(
        _create_admin(AdminSettings(), email, role, password, programme or [], all_programmes)
    )
    typer.echo(f"admin {admin.email}: {admin.role} of {_programmes(admin)}")
    if generate_password:
        typer.echo(f"password (shown once): {password}")


async def _create_admin(
    settings: AdminSettings,
    email: str,
    role: str,
    password: str,
    programmes: list[str],
    all_programmes: bool,
) -> admins.Admin:
    async with database(settings.database_url) as pool:
        return await admins.create(
            pool, Actor.cli(), email, role, password, programmes, all_programmes
        )


def _programmes(admin: admins.Admin) -> str:
    if admin.all_programmes:
        return "every programme"
    return ", ".join(admin.programmes) or "no programme yet (see loyalty-admin grant)"


def grant(
    email: EmailOption, programme: ProgrammeOption = None, all_programmes: AllProgrammes = False
) -> None:
    """Let an admin see (and, with their role, change) more programmes."""
    if not programme and not all_programmes:
        raise typer.BadParameter("name a --programme, or --all-programmes")
    admin = asyncio.run(_grant(AdminSettings(), email, programme or [], all_programmes))
    typer.echo(f"admin {admin.email}: {admin.role} of {_programmes(admin)}")


async def _grant(
    settings: AdminSettings, email: str, programmes: list[str], all_programmes: bool
) -> admins.Admin:
    async with database(settings.database_url) as pool:
        return await admins.grant(pool, Actor.cli(), email, programmes, all_programmes)


def create_token(
    email: EmailOption,
    name: Annotated[str, typer.Option("--name", help="What the token is for.")],
) -> None:
    """Issue an admin API token (`Authorization: Bearer <token>`) that acts as the admin; it is
    printed once and stored only as its SHA-256."""
    issued = asyncio.run(_create_token(AdminSettings(), email, name))
    typer.echo(issued.secret)


async def _create_token(settings: AdminSettings, email: str, name: str) -> tokens.IssuedToken:
    async with database(settings.database_url) as pool:
        return await tokens.create(pool, Actor.cli(), email, name)


def revoke_token(
    token_id: Annotated[str, typer.Argument(help="The token's id (the part after lat_).")],
) -> None:
    """Revoke an admin API token: it is refused from the next request on."""
    token = asyncio.run(_revoke_token(AdminSettings(), token_id))
    typer.echo(f"token {token.token_id} ({token.name}, of {token.email}): revoked")


async def _revoke_token(settings: AdminSettings, token_id: str) -> tokens.Token:
    async with database(settings.database_url) as pool:
        return await tokens.revoke(pool, Actor.cli(), token_id)
