"""`loyalty-admin create-offer`: an offer of a programme for the Kwegg API. A Kwegg tenant needs
no command of its own: it is a partner of the programme (its YAML) and its License-Key is the
partner's API key (`loyalty-admin create-key --programme P --partner TENANT`)."""

import asyncio
from datetime import datetime
from typing import Annotated

import typer

from gateway.admin import programmes
from gateway.admin.help import example
from gateway.admin.options import Programme
from gateway.admin.resources import AdminSettings, database
from gateway.kwegg import offers


def aware_datetime(text: str) -> datetime:
    """ISO 8601 with a time zone (an offer ends at one instant, wherever its users are)."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise typer.BadParameter(f"'{text}' is not an ISO 8601 date and time") from exc
    if moment.tzinfo is None:
        raise typer.BadParameter(f"'{text}' has no time zone (add Z or +00:00)")
    return moment


def register(app: typer.Typer) -> None:
    app.command(
        "create-offer",
        epilog=example(
            "loyalty-admin create-offer --programme kwegg-demo --name 'Free coffee' "
            "--points 150 --valid-until 2027-01-01T00:00:00+00:00"
        ),
    )(create_offer)


def create_offer(
    programme: Programme,
    name: Annotated[str, typer.Option("--name", help="What users see.")],
    points: Annotated[
        int, typer.Option("--points", min=1, max=10**12, help="What redeeming it costs.")
    ],
    description: Annotated[str, typer.Option("--description")] = "",
    offer_id: Annotated[
        str | None, typer.Option("--id", help="The offer's id; a new UUID by default.")
    ] = None,
    valid_until: Annotated[
        datetime | None,
        typer.Option("--valid-until", parser=aware_datetime, help="ISO 8601 with a time zone."),
    ] = None,
) -> None:
    """Add an offer to a programme (Kwegg API): its users can redeem points for it."""
    created = asyncio.run(
        _create(AdminSettings(), programme, name, points, description, offer_id, valid_until)
    )
    typer.echo(f"offer {created}: {points} points")


async def _create(
    settings: AdminSettings,
    programme_id: str,
    name: str,
    points: int,
    description: str,
    offer_id: str | None,
    valid_until: datetime | None,
) -> str:
    async with database(settings.database_url) as pool:
        await programmes.require(pool, programme_id)
        return await offers.create(
            pool,
            programme_id,
            name,
            points,
            description=description,
            offer_id=offer_id,
            valid_until=valid_until,
        )
