"""`loyalty-admin create-offer`: an offer of a programme for the Kwegg API. A Kwegg tenant needs
no command of its own: it is a partner of the programme (its YAML) and its License-Key is the
partner's API key (`loyalty-admin create-key --programme P --partner TENANT`)."""

import argparse
from datetime import datetime

import asyncpg

from gateway.kwegg import offers


def add_command(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    offer = commands.add_parser("create-offer", help="add an offer to a programme (Kwegg API)")
    offer.add_argument("--programme", required=True)
    offer.add_argument("--name", required=True)
    offer.add_argument("--points", type=int, required=True, help="what redeeming it costs")
    offer.add_argument("--description", default="")
    offer.add_argument("--id", help="the offer's id; a new UUID by default")
    offer.add_argument(
        "--valid-until", type=datetime.fromisoformat, help="ISO 8601 with a time zone"
    )


async def create_offer(database_url: str, arguments: argparse.Namespace) -> None:
    async with asyncpg.create_pool(database_url, min_size=1, max_size=2) as pool:
        offer_id = await offers.create(
            pool,
            arguments.programme,
            arguments.name,
            arguments.points,
            description=arguments.description,
            offer_id=arguments.id,
            valid_until=arguments.valid_until,
        )
    print(f"offer {offer_id}: {arguments.points} points")
